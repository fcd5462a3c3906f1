"""Re-publish the events committed transitions still owe the bus (the transactional outbox)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from onestop.observability import logger
from onestop.ports import EventPublisher

from .ports import OutboxEntry


class Outbox(Protocol):
    """Where owed events wait (`DynamoApplicationRepository` keeps them under PK `OUTBOX`)."""

    def pending_outbox(self, limit: int = 100) -> list[OutboxEntry]: ...

    def clear_pending_event(self, application_id: str, detail_type: str) -> None: ...


@dataclass(frozen=True)
class OutboxResult:
    """What one drain did."""

    republished: int
    still_owed: int


def drain_outbox(outbox: Outbox, publisher: EventPublisher, limit: int = 100) -> OutboxResult:
    """Publish every owed event, then forget it. Delivery is at least once: an event whose API call
    published it just before the drain read it goes out twice, and every consumer is idempotent."""
    republished = failed = 0
    for entry in outbox.pending_outbox(limit):
        try:
            publisher.publish(entry.detail_type, entry.detail)
        except Exception:
            failed += 1
            logger.exception("owed event still not published", extra={"application": entry.application_id})
            continue
        outbox.clear_pending_event(entry.application_id, entry.detail_type)
        republished += 1
    return OutboxResult(republished=republished, still_owed=failed)
