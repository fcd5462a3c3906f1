"""Notification records: preferences, notices, inbox items and delivery outcomes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Channel(StrEnum):
    """Where a notice goes besides the inbox (which is always on)."""

    SMS = "sms"
    EMAIL = "email"


Language = Literal["zh", "en", "both"]


class Preferences(BaseModel):
    """One account's choices (stored per `owner_sub`). Unset: both channels, Chinese with English below."""

    model_config = ConfigDict(frozen=True, extra="ignore", defer_build=True)

    channels: frozenset[Channel] = Field(default=frozenset({Channel.SMS, Channel.EMAIL}))
    language: Language = "both"
    updated_at: datetime | None = None


@dataclass(frozen=True)
class Text:
    """One text in both languages."""

    zh: str
    en: str


@dataclass(frozen=True)
class Notice:
    """What one event tells one kind of recipient, before it is put into a language and a channel."""

    kind: str  # e.g. "correction_requested"; part of the delivery key (one event may give two)
    application_id: str | None
    item: Text | None
    headline: Text  # what happened, one line
    lines: tuple[Text, ...] = ()  # details: reasons, problems, the licence number …
    action: Text | None = None  # what to do next
    deadline: datetime | None = None  # shown in Asia/Shanghai time
    deadline_label: Text | None = None
    link: str | None = None
    sms: bool = True  # an invitation to rate goes by inbox and e-mail only


@dataclass(frozen=True)
class Recipient:
    """Who is told: their account (inbox, preferences) and the addresses the bureau holds for them."""

    sub: str
    phone: str | None = None
    email: str | None = None
    name: str | None = None  # how the e-mail greets them


@dataclass(frozen=True)
class Rendered:
    """A notice in one language choice: the e-mail's subject and text, and the short SMS."""

    subject: str
    text: str
    sms: str


class InboxItem(BaseModel):
    """A notice as kept in the recipient's in-portal inbox (both languages: the page shows its own)."""

    model_config = ConfigDict(frozen=True, extra="ignore", defer_build=True)

    id: str = Field(description="<event time>-<16 hex>: sorts newest last; unique per event and recipient")
    kind: str
    event_type: str
    application_id: str | None = None
    title_zh: str
    title_en: str
    body_zh: str
    body_en: str
    link: str | None = None
    deadline: datetime | None = None
    created_at: datetime
    read_at: datetime | None = None


class DeliveryState(StrEnum):
    """A delivery record's state: claimed and being sent, done, refused for good, or to be retried."""

    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    RETRY = "retry"


@dataclass(frozen=True)
class DeliveryKey:
    """One send: an event's notice to one recipient on one channel (sent at most once when it works)."""

    event_id: str  # the event's key (Envelope.key): its detail type and content
    recipient: str
    channel: Channel | None  # None: the inbox item's marker
    kind: str


@dataclass
class Outcome:
    """What one event did (the handler's reply, and what the tests read)."""

    inbox: int = 0
    sent: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    retry: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {
            "inbox": self.inbox,
            "sent": self.sent,
            "skipped": self.skipped,
            "failed": self.failed,
            "retry": self.retry,
        }
