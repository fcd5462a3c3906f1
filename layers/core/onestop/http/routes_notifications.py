"""The caller's notification preferences and in-portal inbox (issue 18 item 2).

Everything here is the caller's own, read by the token's `sub`: there is no path or query parameter
naming an account, so one account can neither read nor mark another's messages.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.depends import Depends
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from pydantic import BaseModel, ConfigDict, Field

from onestop.applications.identity import Principal
from onestop.applications.models import utcnow
from onestop.aws import composition
from onestop.errors import NotFound
from onestop.notifications.models import InboxItem, Preferences
from onestop.notifications.service import choose_preferences

from .context import BEARER, current_principal
from .responses import responses
from .schemas import LocalisedText

router = Router()

Caller = Annotated[Principal, Depends(current_principal)]
INBOX_ID = r"^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{16}$"
ItemId = Annotated[str, Path(pattern=INBOX_ID, description="inbox item id")]
ChannelCode = Literal["sms", "email"]


def now() -> datetime:
    """The time the routes act at (tests replace it)."""
    return utcnow()


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, defer_build=True)


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True, defer_build=True)


class PreferencesIn(_In):
    """Which channels besides the inbox (always on), and the language of SMS and e-mail."""

    channels: list[ChannelCode] = Field(max_length=2, description="sms, email; [] = inbox only")
    language: Literal["zh", "en", "both"] = Field(description="both = Chinese with English below")


class PreferencesOut(_Out):
    channels: list[str] = Field(description="sms, email (the inbox is always on)")
    language: str
    inbox: bool = Field(default=True, description="always true: every notice is kept in the inbox")
    updated_at: datetime | None = None

    @classmethod
    def of(cls, p: Preferences) -> PreferencesOut:
        return cls(channels=sorted(c.value for c in p.channels), language=p.language, updated_at=p.updated_at)


class InboxItemOut(_Out):
    """One notice as the inbox shows it."""

    id: str
    kind: str
    event_type: str
    application_id: str | None = None
    title: LocalisedText
    body: LocalisedText
    link: str | None = None
    deadline: datetime | None = None
    created_at: datetime
    read: bool
    read_at: datetime | None = None

    @classmethod
    def of(cls, i: InboxItem) -> InboxItemOut:
        return cls(
            id=i.id,
            kind=i.kind,
            event_type=i.event_type,
            application_id=i.application_id,
            title=LocalisedText(zh=i.title_zh, en=i.title_en),
            body=LocalisedText(zh=i.body_zh, en=i.body_en),
            link=i.link,
            deadline=i.deadline,
            created_at=i.created_at,
            read=i.read_at is not None,
            read_at=i.read_at,
        )


class InboxPage(_Out):
    items: list[InboxItemOut]
    next_cursor: str | None = None
    unread: int = Field(description="unread messages in the whole inbox, not only this page")


def _not_found() -> NotFound:
    return NotFound("inbox_item_not_found", "没有这条消息。", "There is no such message in your inbox.")


@router.get(
    "/me/notification-preferences",
    summary="My notification preferences (channels, language)",
    tags=["notifications"],
    security=BEARER,
    responses=responses(200, 403, signed_in=True),
)
def get_preferences(caller: Caller) -> PreferencesOut:
    who = caller.require_authenticated()
    assert who.sub is not None
    return PreferencesOut.of(composition.notification_store().preferences(who.sub) or Preferences())


@router.put(
    "/me/notification-preferences",
    summary="Set my notification preferences",
    description="SMS and e-mail go to the contact given on each application; the inbox is always on.",
    tags=["notifications"],
    security=BEARER,
    responses=responses(200, 403, 422, signed_in=True),
)
def put_preferences(body: PreferencesIn, caller: Caller) -> PreferencesOut:
    who = caller.require_authenticated()
    assert who.sub is not None
    chosen = choose_preferences(list(dict.fromkeys(body.channels)), body.language, now())
    composition.notification_store().save_preferences(who.sub, chosen)
    return PreferencesOut.of(chosen)


@router.get(
    "/me/inbox",
    summary="My messages, newest first",
    tags=["notifications"],
    security=BEARER,
    responses=responses(200, 403, 422, signed_in=True),
)
def inbox(
    caller: Caller,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[
        str | None, Query(max_length=2000, description="next_cursor of the previous page")
    ] = None,
) -> InboxPage:
    who = caller.require_authenticated()
    assert who.sub is not None
    store = composition.notification_store()
    page = store.inbox(who.sub, limit=limit, cursor=cursor)
    return InboxPage(
        items=[InboxItemOut.of(i) for i in page.items],
        next_cursor=page.next_cursor,
        unread=store.unread(who.sub),
    )


@router.post(
    "/me/inbox/<item_id>/read",
    summary="Mark one of my messages read",
    tags=["notifications"],
    security=BEARER,
    responses=responses(200, 403, 404, 422, signed_in=True),
)
def mark_read(item_id: ItemId, caller: Caller) -> InboxItemOut:
    who = caller.require_authenticated()
    assert who.sub is not None
    item = composition.notification_store().mark_read(who.sub, item_id, now())
    if item is None:
        raise _not_found()
    return InboxItemOut.of(item)
