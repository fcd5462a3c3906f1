"""Licence lifecycle for reviewers and administrators, each change with a reason, an actor and audit.

Status changes in place: suspend (02 暂扣), reinstate (back to 01), revoke (03 撤销), cancel (04 注销),
withdraw (07 吊销). New versions: renew (validity extended) and change (corrected or changed
particulars); both issue version n+1 under the same serial and mark version n `superseded`, atomically.
Expiry (05) is never written: it is derived from valid_until when a record is read.

Illegal transitions raise `onestop.errors.Conflict` (409) with the current status in `extra`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from onestop.errors import InvalidInput, NotFound, Reason
from onestop.events import LicenceStatusChanged, publish
from onestop.ports import BlobStore, EventPublisher

from .issuance import (
    IssuerProfile,
    finish_issue,
    reserve_or_resume,
    status_changed_event,
    successor_record,
    utc_now,
)
from .models import TRANSITIONS, Action, AuditEntry, LicenceRecord, china_date, next_status, validity_end
from .registry import LicenceRegistry

if TYPE_CHECKING:
    from pyhanko.sign.signers import Signer
    from pyhanko.sign.timestamps import TimeStamper

MAX_REASON_CHARS = 500


def _not_found(licence_id: str) -> NotFound:
    return NotFound(
        "licence_not_found",
        "未找到该电子证照。",
        "No such e-licence.",
        extra={"licence_id": licence_id},
    )


def get_licence(registry: LicenceRegistry, licence_id: str) -> LicenceRecord:
    """A visible licence (a record still being issued is reported as not found)."""
    record = registry.get(licence_id)
    if record is None or not record.visible:
        raise _not_found(licence_id)
    return record


def latest_version(registry: LicenceRegistry, licence_id: str, *, max_hops: int = 999) -> LicenceRecord:
    """Follow `superseded_by` from `licence_id` to the newest visible version."""
    record = get_licence(registry, licence_id)
    for _ in range(max_hops):
        if not record.superseded_by:
            return record
        nxt = registry.get(record.superseded_by)
        if nxt is None or not nxt.visible:
            return record
        record = nxt
    return record


def _check_reason(reason: str) -> str:
    text = reason.strip()
    if not text or len(text) > MAX_REASON_CHARS:
        raise InvalidInput(
            "licence_reason_required",
            f"请填写变更证照状态的理由（1至{MAX_REASON_CHARS}字）。",
            f"Give the reason for this licence change (1 to {MAX_REASON_CHARS} characters).",
            [
                Reason(
                    "licence_reason_required",
                    "理由不能为空或过长。",
                    "The reason is empty or too long.",
                    "reason",
                )
            ],
        )
    return text


STATUS_ACTIONS = frozenset({Action.SUSPEND, Action.REINSTATE, Action.REVOKE, Action.CANCEL, Action.WITHDRAW})


def change_status(
    action: Action,
    licence_id: str,
    *,
    registry: LicenceRegistry,
    publisher: EventPublisher,
    actor: str,
    reason: str,
    reason_code: str | None = None,
    now: datetime | None = None,
    actor_role: str | None = None,
) -> LicenceRecord:
    """A status change in place: 暂扣 suspend (valid → 02), 恢复 reinstate (suspended → 01), 撤销 revoke
    (→ 03), 注销 cancel (→ 04), 吊销 withdraw (a penalty, → 07); the last three from valid or
    suspended. Announced as `LicenceStatusChanged`; the same request again is announced again."""
    if action not in STATUS_ACTIONS:
        raise ValueError(f"{action} is not a status change")
    text = _check_reason(reason)
    at = utc_now(now)
    record = get_licence(registry, licence_id)
    allowed_from, to_status = TRANSITIONS[action]
    last = record.history[-1] if record.history else None
    if (
        record.status is to_status
        and last is not None
        and (last.action, last.actor, last.reason) == (action, actor, text)
    ):
        # The same request again (a retry after a lost reply or a failed publish): report it again.
        publish(publisher, _announced(licence_id, last, record))
        return record
    next_status(licence_id, action, record.status)  # fail early with a clear Conflict
    entry = AuditEntry(
        at=at,
        actor=actor,
        action=action,
        from_status=record.status,
        to_status=to_status,
        reason=text,
        reason_code=reason_code,
        actor_role=actor_role,
    )
    updated = registry.transition(licence_id, allowed_from=allowed_from, entry=entry)
    publish(publisher, _announced(licence_id, entry, updated))
    return updated


def _announced(licence_id: str, entry: AuditEntry, record: LicenceRecord) -> LicenceStatusChanged:
    meta = record.metadata
    return status_changed_event(
        licence_id,
        entry,
        application_id=meta.application_id,
        holder_code=meta.holder_code,
        version=meta.version,
    )


@dataclass(frozen=True)
class LicenceChanges:
    """Particulars a change (变更) may alter; None keeps the old value. The holder code never changes
    (a different holder is a transfer, 06, which is not modelled)."""

    holder_name: str | None = None
    extra: tuple[tuple[str, str], ...] | None = None
    item_name: str | None = None


def renew_licence(
    licence_id: str,
    *,
    validity_years: int | None,
    issuer: IssuerProfile,
    registry: LicenceRegistry,
    store: BlobStore,
    signer: Signer,
    publisher: EventPublisher,
    actor: str,
    reason: str,
    now: datetime | None = None,
    timestamper: TimeStamper | None = None,
    actor_role: str | None = None,
) -> LicenceRecord:
    """延续: a new version whose validity runs `validity_years` from the day after the old one ends
    (from today if it has already ended); the old version becomes superseded."""
    at = utc_now(now)
    old = get_licence(registry, licence_id)
    today = china_date(at)
    until = old.metadata.valid_until
    start = until + timedelta(days=1) if until is not None and until >= today else today
    return _new_version(
        old,
        action_reason=_check_reason(reason),
        actor=actor,
        actor_role=actor_role,
        at=at,
        valid_from=start,
        valid_until=validity_end(start, validity_years),
        changes=LicenceChanges(),
        issuer=issuer,
        registry=registry,
        store=store,
        signer=signer,
        publisher=publisher,
        timestamper=timestamper,
    )


def change_licence(
    licence_id: str,
    *,
    changes: LicenceChanges,
    issuer: IssuerProfile,
    registry: LicenceRegistry,
    store: BlobStore,
    signer: Signer,
    publisher: EventPublisher,
    actor: str,
    reason: str,
    now: datetime | None = None,
    timestamper: TimeStamper | None = None,
    actor_role: str | None = None,
) -> LicenceRecord:
    """变更: a new version with the changed particulars, valid from today until the old end date;
    the old version becomes superseded."""
    at = utc_now(now)
    old = get_licence(registry, licence_id)
    if changes == LicenceChanges():
        raise InvalidInput(
            "licence_change_empty",
            "变更申请未包含任何变更内容。",
            "The change does not alter anything.",
        )
    return _new_version(
        old,
        action_reason=_check_reason(reason),
        actor=actor,
        actor_role=actor_role,
        at=at,
        valid_from=china_date(at),
        valid_until=old.metadata.valid_until,
        changes=changes,
        issuer=issuer,
        registry=registry,
        store=store,
        signer=signer,
        publisher=publisher,
        timestamper=timestamper,
    )


def _new_version(
    old: LicenceRecord,
    *,
    action_reason: str,
    actor: str,
    actor_role: str | None,
    at: datetime,
    valid_from: date,
    valid_until: date | None,
    changes: LicenceChanges,
    issuer: IssuerProfile,
    registry: LicenceRegistry,
    store: BlobStore,
    signer: Signer,
    publisher: EventPublisher,
    timestamper: TimeStamper | None,
) -> LicenceRecord:
    record = successor_record(
        old,
        at=at,
        actor=actor,
        actor_role=actor_role,
        reason=action_reason,
        valid_from=valid_from,
        valid_until=valid_until,
        holder_name=changes.holder_name.strip() if changes.holder_name else None,
        extra=changes.extra,
        item_name=changes.item_name,
    )
    # An earlier attempt that reserved this version and stopped is finished instead (its particulars win).
    record = reserve_or_resume(registry, record, guard_application=False)
    return finish_issue(
        record,
        issuer=issuer,
        registry=registry,
        store=store,
        signer=signer,
        publisher=publisher,
        now=at,
        actor=actor,
        actor_role=actor_role,
        reason=action_reason,
        timestamper=timestamper,
    )
