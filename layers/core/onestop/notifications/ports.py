"""What the notifier needs from outside (implemented in `onestop.aws.notifier*`)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from onestop.applications.models import Application, Page

from .models import DeliveryKey, InboxItem, Preferences, Recipient


class PermanentDeliveryError(Exception):
    """The provider refused the address or message for good (an invalid phone number or e-mail):
    recorded as failed with the reason, never retried."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class SmsSender(Protocol):
    def send_sms(self, phone: str, text: str) -> str:
        """Send; the provider's message id. PermanentDeliveryError for a refused number, any other
        exception for a failure worth retrying."""
        ...


class EmailSender(Protocol):
    def send_email(self, to: str, subject: str, text: str) -> str:
        """Send; the provider's message id (errors as `SmsSender.send_sms`)."""
        ...


class Applications(Protocol):
    def get(self, application_id: str) -> Application | None: ...


class AdminDirectory(Protocol):
    def admins(self) -> list[Recipient]:
        """The bureau's administrators (escalations go to them)."""
        ...


class NotificationStore(Protocol):
    def preferences(self, sub: str) -> Preferences | None: ...

    def save_preferences(self, sub: str, preferences: Preferences) -> None: ...

    def add_to_inbox(self, sub: str, item: InboxItem, event_key: str) -> bool:
        """Store the item unless this event's notice of this kind is in `sub`'s inbox already (whatever
        its id: a re-published event arrives at another time); True when stored now."""
        ...

    def inbox(self, sub: str, *, limit: int, cursor: str | None) -> Page[InboxItem]:
        """Newest first."""
        ...

    def unread(self, sub: str) -> int:
        """How many of `sub`'s inbox items were never read."""
        ...

    def mark_read(self, sub: str, item_id: str, at: datetime) -> InboxItem | None:
        """The item as read (the first read time kept), or None when `sub` has no such item."""
        ...

    def claim(self, key: DeliveryKey, now: datetime, lease_seconds: int) -> bool:
        """Take the send: True when no record exists, it is to be retried, or its sender's lease ran
        out (a crash mid-send); False when it was sent, failed for good, or is being sent now."""
        ...

    def finish(self, key: DeliveryKey, *, sent: bool, detail: str, at: datetime) -> None:
        """Record the send as done (`detail` the provider's id) or failed for good (`detail` why)."""
        ...

    def release(self, key: DeliveryKey, error: str, at: datetime) -> None:
        """Hand the claim back after a failure worth retrying (the redelivery takes it again)."""
        ...
