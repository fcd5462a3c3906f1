"""The notifier: one EventBridge event → inbox items and sends, each exactly once when it works.

Recipients come from the stored application (its owner's account and contact) or from the identity
provider's admin group — never from the event, which only names the application. Each notice goes to
the recipient's inbox (always), then to each channel the recipient's preferences choose and an address
exists for. A send is claimed first (one record per event, recipient, channel and notice), so a
duplicated delivery of the event sends nothing twice. "The event" is its detail type and content, not
only EventBridge's id: an owed event the scheduler re-publishes (onestop.outbox: at least once) is the
same detail under a new id, and must not text the applicant again. A provider's permanent refusal (an invalid
number or address) is recorded as failed with the reason and not retried; any other failure releases
the claim and, after the other channels were tried, raises, so EventBridge retries the event (and then
dead-letters it). The function runs off the request path: nothing here can hold up a decision.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from onestop.applications.models import Application, Page
from onestop.errors import InvalidInput, Reason
from onestop.events import parse_time
from onestop.observability import logger, metrics

from .messages import HANDLED_EVENTS, Links, SlotName, admin_notices, applicant_notices, body, render
from .models import Channel, DeliveryKey, InboxItem, Notice, Outcome, Preferences, Recipient, Text
from .ports import (
    AdminDirectory,
    Applications,
    EmailSender,
    NotificationStore,
    PermanentDeliveryError,
    SmsSender,
)

LEASE_SECONDS = 300  # longer than the function's timeout: a claim older than this was a crash mid-send


class DeliveryFailed(RuntimeError):
    """At least one send failed in a way worth retrying: EventBridge delivers the event again."""


@dataclass(frozen=True)
class Envelope:
    """The parts of an EventBridge event the notifier reads."""

    id: str
    detail_type: str
    time: datetime
    detail: Mapping[str, Any]

    @property
    def key(self) -> str:
        """What makes two deliveries the same event: the detail type and the detail's content (a
        re-published owed event carries its stored detail byte for byte under a new EventBridge id)."""
        canonical = json.dumps(dict(self.detail), sort_keys=True, ensure_ascii=False, default=str)
        digest = hashlib.sha256(f"{self.detail_type}\n{canonical}".encode()).hexdigest()[:32]
        return f"{self.detail_type}#{digest}"


# ----------------------------------------------------------------------------- addresses


_CN_MOBILE = re.compile(r"^1[3-9][0-9]{9}$")
_E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")


def phone_e164(phone: str | None) -> str | None:
    """A contact phone as SNS wants it (E.164): an 11-digit mainland mobile gets +86; anything else
    that is not E.164 already is returned as given (SNS refuses it: recorded as a permanent failure)."""
    if not phone:
        return None
    digits = re.sub(r"[ \-()]", "", phone)
    if _CN_MOBILE.match(digits):
        return "+86" + digits
    if digits.startswith("0086"):
        digits = "+" + digits[2:]
    return digits


def applicant_recipient(app: Application) -> Recipient:
    """The applicant as the bureau knows them: the owner's account and the application's contact."""
    contact = app.contact
    return Recipient(
        sub=app.owner_sub,
        phone=phone_e164(contact.phone) if contact else None,
        email=contact.email if contact else None,
        name=(contact.name if contact else None) or app.applicant.name,
    )


# ----------------------------------------------------------------------------- preferences


def choose_preferences(channels: list[str], language: str, now: datetime) -> Preferences:
    """Validated preferences from a request (the inbox is always on; 422 with zh/en reasons)."""
    problems = [
        Reason("unknown_channel", f"未知的通知渠道「{c}」。", f"Unknown channel '{c}'.", f"channels[{i}]")
        for i, c in enumerate(channels)
        if c not in {ch.value for ch in Channel}
    ]
    if language not in ("zh", "en", "both"):
        problems.append(
            Reason("unknown_language", "语言须为 zh、en 或 both。", "Language is zh, en or both.", "language")
        )
    if problems:
        raise InvalidInput(
            "invalid_preferences", "通知设置有误。", "The notification preferences are not valid.", problems
        )
    return Preferences(
        channels=frozenset(Channel(c) for c in channels),
        language=language,  # type: ignore[arg-type]  # checked above
        updated_at=now,
    )


def channels_for(notice: Notice, recipient: Recipient, preferences: Preferences) -> list[Channel]:
    """The channels a notice goes by: chosen, with an address, and SMS only for what is worth one."""
    out = []
    if Channel.SMS in preferences.channels and recipient.phone and notice.sms:
        out.append(Channel.SMS)
    if Channel.EMAIL in preferences.channels and recipient.email:
        out.append(Channel.EMAIL)
    return out


# ----------------------------------------------------------------------------- inbox


def inbox_id(event: Envelope, recipient: str, kind: str) -> str:
    """Deterministic per (event, recipient, notice): a redelivered event finds its item already there.
    Starts with the event time, so ids sort in time order."""
    digest = hashlib.sha256(f"{event.key}\n{recipient}\n{kind}".encode()).hexdigest()[:16]
    return f"{event.time.astimezone(UTC):%Y%m%dT%H%M%S}Z-{digest}"


def inbox_item(event: Envelope, recipient: str, notice: Notice) -> InboxItem:
    return InboxItem(
        id=inbox_id(event, recipient, notice.kind),
        kind=notice.kind,
        event_type=event.detail_type,
        application_id=notice.application_id,
        title_zh=notice.headline.zh,
        title_en=notice.headline.en,
        body_zh=body(notice, True),
        body_en=body(notice, False),
        link=notice.link,
        deadline=notice.deadline,
        created_at=event.time,
    )


# ----------------------------------------------------------------------------- the notifier


def slot_names(catalogue_of: Callable[[Application], Any]) -> SlotName:
    """A material slot's name in the catalogue version the application pinned (`catalogue_of`, e.g.
    `CatalogueBook.of`); the slot code when it cannot be read (a name is a nicety, not worth a retry)."""

    def name(app: Application, slot: str) -> Text:
        try:
            for material in catalogue_of(app).item(app.item_code).materials:
                if material.slot == slot:
                    return Text(material.name_zh, material.name_en)
        except Exception:  # the notice still goes, naming the slot by its code
            logger.warning("no catalogue name for the slot", extra={"slot": slot})
        return Text(slot, slot)

    return name


def _shipped_catalogue(app: Application) -> Any:
    from onestop.catalogue import load_catalogue

    return load_catalogue()


@dataclass
class Notifier:
    """Tells applicants (and admins) what happened; see the module docstring."""

    store: NotificationStore
    applications: Applications
    sms: SmsSender
    email: EmailSender
    links: Links
    admins: AdminDirectory | None = None
    licence_application: Callable[[str], str | None] = lambda _licence_id: None
    slot_name: SlotName = field(default=slot_names(_shipped_catalogue))
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    def handle(self, event: Envelope) -> Outcome:
        """Deliver one event's notices (DeliveryFailed when a send is worth retrying)."""
        if event.detail_type not in HANDLED_EVENTS:
            # The rules deliver only handled types: another one is a wiring error, not to be dropped.
            raise ValueError(f"the notify function does not handle {event.detail_type!r}")
        outcome = Outcome()
        errors: list[str] = []
        for recipient, notice in self.notices(event):
            self._deliver(event, recipient, notice, outcome, errors)
        if errors:
            metrics.add_metric(name="NotificationRetry", unit="Count", value=len(errors))
            raise DeliveryFailed("; ".join(errors))
        return outcome

    def notices(self, event: Envelope) -> list[tuple[Recipient, Notice]]:
        """Who is told what (empty when the event tells no one anything)."""
        if event.detail_type == "ApplicationEscalated":
            if self.admins is None:
                logger.warning("no admin directory configured: escalation told no one")
                return []
            notices = admin_notices(event.detail_type, event.detail, self.links)
            return [(admin, n) for admin in self.admins.admins() for n in notices]
        application_id = event.detail.get("application_id")
        if not application_id and event.detail.get("licence_id"):
            application_id = self.licence_application(str(event.detail["licence_id"]))
        app = self.applications.get(str(application_id)) if application_id else None
        if app is None:
            # Nothing to tell and no one to tell it to; retrying would not change that.
            logger.warning(
                "notification for an unknown application", extra={"application_id": application_id}
            )
            return []
        recipient = applicant_recipient(app)
        return [
            (recipient, n)
            for n in applicant_notices(event.detail_type, event.detail, app, self.links, self.slot_name)
        ]

    def _deliver(
        self, event: Envelope, recipient: Recipient, notice: Notice, outcome: Outcome, errors: list[str]
    ) -> None:
        if self.store.add_to_inbox(recipient.sub, inbox_item(event, recipient.sub, notice), event.key):
            outcome.inbox += 1
        preferences = self.store.preferences(recipient.sub) or Preferences()
        rendered = render(notice, preferences.language, recipient.name)
        for channel in channels_for(notice, recipient, preferences):
            key = DeliveryKey(event.key, recipient.sub, channel, notice.kind)
            label = f"{notice.kind}:{channel.value}"
            if not self.store.claim(key, self.now(), LEASE_SECONDS):
                outcome.skipped.append(label)  # sent before, failed for good, or being sent now
                continue
            try:
                if channel is Channel.SMS:
                    assert recipient.phone is not None
                    provider_id = self.sms.send_sms(recipient.phone, rendered.sms)
                else:
                    assert recipient.email is not None
                    provider_id = self.email.send_email(recipient.email, rendered.subject, rendered.text)
            except PermanentDeliveryError as refused:
                self.store.finish(key, sent=False, detail=refused.reason, at=self.now())
                outcome.failed.append(label)
                metrics.add_metric(name="NotificationRefused", unit="Count", value=1)
                logger.warning(
                    "notification refused for good",
                    extra={"channel": channel.value, "reason": refused.reason},
                )
            except Exception as exc:  # released, and raised after the other channels were tried
                self.store.release(key, f"{type(exc).__name__}: {exc}"[:500], self.now())
                outcome.retry.append(label)
                errors.append(f"{label}: {type(exc).__name__}")
                logger.exception(
                    "notification failed; the event will be retried", extra={"channel": channel.value}
                )
            else:
                self.store.finish(key, sent=True, detail=provider_id, at=self.now())
                outcome.sent.append(label)
                metrics.add_metric(name=f"NotificationSent_{channel.value}", unit="Count", value=1)


def event_of(raw_id: str, detail_type: str, time: str, detail: Mapping[str, Any]) -> Envelope:
    """An Envelope from the EventBridge event's fields."""
    return Envelope(id=raw_id, detail_type=detail_type, time=parse_time(time), detail=detail)


def page_of(items: list[InboxItem], next_cursor: str | None) -> Page[InboxItem]:
    return Page[InboxItem](items=items, next_cursor=next_cursor)
