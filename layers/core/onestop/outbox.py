"""Owed events: published now, kept owed on failure, cleared once published, republished later.

Every event that announces a committed change is stored as owed with that change (in the same write)
and only then published, so that no path loses it:

- application transitions: an outbox item (PK `OUTBOX`) and the application's `pending_events`, in
  the transition's transaction; republished by the scheduler's `drain`, every run;
- e-licence attachment: an outbox item, in the attachment's transaction; the scheduler's `drain`;
- ingest: the material's `announcement`, stored with its result; the queue's redelivery finds the
  material finished but unannounced and sends it;
- issue, renew, change: the licence record's `event_published` stays false until sent; the rule's
  retry (or a redrive) finds the licence valid but unannounced and sends it;
- deadline sweep: the flag's `published` stays false; the next sweep run sends it.

`deliver` is the one way to publish an owed event; `drain` republishes what the outbox still holds.
Delivery is at least once: an event published just before its marker was cleared goes out again,
and every consumer is idempotent.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, Protocol

from onestop.events import Event
from onestop.observability import logger, metrics
from onestop.ports import EventPublisher


@dataclass(frozen=True)
class OwedEvent:
    """An event a stored change owes the bus.

    `owner`: the application (or licence) it concerns. `key`: what tells it apart from the owner's
    other owed events of the same type ("" when there is one per type, as for a transition's).
    """

    detail_type: str
    detail: Mapping[str, Any]
    owner: str = ""
    key: str = ""

    @classmethod
    def of(cls, event: Event, owner: str = "", key: str = "") -> OwedEvent:
        return cls(event.DETAIL_TYPE, event.detail(), owner, key)


def deliver(
    publisher: EventPublisher,
    owed: OwedEvent | Sequence[OwedEvent],
    clear: Callable[[], None],
    *,
    retried: bool = False,
) -> bool:
    """Publish `owed` (in order), then `clear` what marks it owed. True once published.

    `retried=False`: the change stands whatever the bus does and a sweep republishes. A failed
    publish is logged and counted (`EventPublishFailed`) and the event stays owed (False); a failed
    clear is logged (the event went out: the marker only causes a duplicate later).

    `retried=True`: the caller's own delivery is retried (the ingest queue, the issue rule), so errors
    propagate and the retry finds the event still owed.
    """
    events = [owed] if isinstance(owed, OwedEvent) else list(owed)
    try:
        for event in events:
            publisher.publish(event.detail_type, event.detail)
    except Exception:
        if retried:
            raise
        logger.exception("event not published", extra=_about(event))
        metrics.add_metric(name="EventPublishFailed", unit="Count", value=1)
        return False
    try:
        clear()
    except Exception:
        if retried:
            raise
        logger.exception("owed event published but its marker not cleared", extra=_about(events[0]))
    return True


def _about(event: OwedEvent) -> dict[str, str]:
    return {"detail_type": event.detail_type, "owner": event.owner}


class Outbox(Protocol):
    """Where owed events wait for the drain (`DynamoApplicationRepository`: items under PK `OUTBOX`)."""

    def pending_outbox(self, limit: int = 100) -> list[OwedEvent]: ...

    def clear_owed(self, owed: OwedEvent) -> None: ...


@dataclass(frozen=True)
class DrainResult:
    """What one drain did."""

    republished: int
    still_owed: int


def drain(outbox: Outbox, publisher: EventPublisher, limit: int = 100) -> DrainResult:
    """Publish every owed event the outbox holds, then forget it (the scheduler, every run)."""
    republished = failed = 0
    for owed in outbox.pending_outbox(limit):
        if deliver(publisher, owed, partial(outbox.clear_owed, owed)):
            republished += 1
        else:
            failed += 1
    return DrainResult(republished=republished, still_owed=failed)
