"""Per-account quotas: open drafts, and upload tickets per account and per slot in a Beijing day.

Each quota is a counter the repository keeps per account and takes with one conditional write
("add one if below the limit"), so twenty parallel requests cannot all see room that only one of them
has; there is no count-then-write. A use case wraps its own write in the quota's context: when the
write fails after the counter was taken, the counter is given back, so a refused or failed request
never uses up a place.

- Open drafts: a place is taken when a draft is created and freed when the draft leaves the draft
  status (submitted or withdrawn), in the same transaction as that transition (the repository's
  `transition`). Waiting frees nothing, so the refusal is a 409 that says what to do, without a
  Retry-After that would invite a client to loop.
- Upload tickets: counted per Beijing day (the service's day), per account and per material slot, and
  never given back when a file is removed: taking a file out and asking again was the way to mint
  presigned URLs without end (MAX_UPLOAD_ATTEMPTS_PER_SLOT counts only the files still listed). The
  refusal is a 429 with Retry-After: the seconds to the next Beijing midnight.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING

from onestop.errors import Conflict, Reason, TooManyRequests

from .clock import SHANGHAI
from .identity import Principal

if TYPE_CHECKING:  # deps holds the Quotas below: only the type is needed here
    from .deps import ApplicationDeps

# The counter of open drafts; the repository frees a place under this name when a draft moves on.
OPEN_DRAFTS = "drafts"
# How long a day's counter is kept after its day ended (the table's TTL removes it then).
_KEEP_DAY_COUNTERS = timedelta(days=2)


@dataclass(frozen=True)
class Quotas:
    """The limits (settings.py: QUOTA_*; literal in tests)."""

    open_drafts: int = 10
    upload_tickets_per_day: int = 100
    # As many as the attempts a slot allows in all (uploads.MAX_UPLOAD_ATTEMPTS_PER_SLOT): a removed
    # file no longer counts there, but still counts here.
    upload_tickets_per_slot_per_day: int = 20


@contextmanager
def open_draft(deps: ApplicationDeps, principal: Principal) -> Iterator[None]:
    """A place for one more open draft of the caller, for the write in the `with` block."""
    owner = _owner(principal)
    limit = deps.config.quotas.open_drafts
    if not deps.repository.take_quota(owner, OPEN_DRAFTS, limit, expires_at=None):
        raise Conflict(
            "too_many_open_drafts",
            f"您已有 {limit} 件未提交的草稿，已达上限。请先提交或撤回其中一件，再新建申请。",
            f"You already have {limit} drafts that are not submitted, the most an account may hold. "
            "Submit or withdraw one of them, then open a new application.",
            [Reason("too_many_open_drafts", "草稿数已达上限。", "Too many open drafts.", "item_code")],
            extra={"limit": limit},
        )
    with _given_back_on_failure(deps, owner, [OPEN_DRAFTS]):
        yield


@contextmanager
def upload_ticket(
    deps: ApplicationDeps, principal: Principal, application_id: str, slot: str
) -> Iterator[None]:
    """Today's place for one more upload ticket of the caller, in total and for this slot."""
    owner = _owner(principal)
    now = deps.now()
    day = now.astimezone(SHANGHAI).date()
    next_midnight = datetime.combine(day + timedelta(days=1), time.min, tzinfo=SHANGHAI)
    retry_after = max(1, int((next_midnight - now).total_seconds()))
    expires_at = next_midnight + _KEEP_DAY_COUNTERS
    quotas = deps.config.quotas
    account = f"tickets#{day.isoformat()}"
    per_slot = f"{account}#{application_id}#{slot}"
    if not deps.repository.take_quota(owner, account, quotas.upload_tickets_per_day, expires_at=expires_at):
        limit = quotas.upload_tickets_per_day
        raise TooManyRequests(
            "upload_quota_account",
            f"本账号今天已申请 {limit} 个上传凭证，已达每日上限。请于北京时间明日零点后再上传。",
            f"This account has asked for {limit} upload tickets today, the daily limit. Upload again "
            "after midnight, Beijing time.",
            [Reason("upload_quota_account", "今日上传次数已达上限。", "Daily upload limit reached.", None)],
            extra={"limit": limit, "retry_after": retry_after},
        )
    if not deps.repository.take_quota(
        owner, per_slot, quotas.upload_tickets_per_slot_per_day, expires_at=expires_at
    ):
        deps.repository.give_back_quota(owner, account)
        limit = quotas.upload_tickets_per_slot_per_day
        raise TooManyRequests(
            "upload_quota_slot",
            f"该材料今天已申请 {limit} 次上传，已达每日上限。请核对文件后于北京时间明日零点后再上传，"
            "如有困难请联系窗口工作人员。",
            f"This material has been asked for {limit} times today, the daily limit. Check the file and "
            "upload again after midnight, Beijing time, or contact the service counter.",
            [
                Reason(
                    "upload_quota_slot",
                    "该材料今日上传次数已达上限。",
                    "Daily limit for this material.",
                    "slot",
                )
            ],
            extra={"limit": limit, "retry_after": retry_after},
        )
    with _given_back_on_failure(deps, owner, [account, per_slot]):
        yield


@contextmanager
def _given_back_on_failure(deps: ApplicationDeps, owner: str, counters: list[str]) -> Iterator[None]:
    try:
        yield
    except BaseException:
        # The write the place was taken for did not happen: nothing was opened or issued.
        for counter in counters:
            deps.repository.give_back_quota(owner, counter)
        raise


def _owner(principal: Principal) -> str:
    if principal.sub is None:  # the use cases require a signed-in caller before asking for a place
        raise ValueError("quotas are per account: the caller is anonymous")
    return principal.sub
