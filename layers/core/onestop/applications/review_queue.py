"""The reviewer's queue: applications waiting in several statuses, merged most urgent first."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from onestop.errors import InvalidInput, Reason
from onestop.paging import decode_cursor, encode_cursor

from .assignment import AssignedFilter, holder, is_escalated, matches
from .deps import ApplicationDeps
from .identity import Principal
from .models import Application, ApplicationStatus, Page, iso


@dataclass(frozen=True)
class QueueEntry:
    """An application in the reviewer's queue, with how close its due time is."""

    application: Application
    due: datetime | None
    at_risk: bool
    overdue: bool
    assignee: str | None = None  # the owner of a live claim (`assignment.holder`)
    escalated: bool = False  # escalated to the admins for the due time it runs under now


# How many listing rounds a filtered page may take before it is returned short (with its cursor).
_FILTER_ROUNDS = 5


def queue(
    deps: ApplicationDeps,
    principal: Principal,
    *,
    statuses: Sequence[ApplicationStatus] = (ApplicationStatus.SUBMITTED, ApplicationStatus.ACCEPTED),
    at_risk_only: bool = False,
    limit: int = 50,
    cursor: str | None = None,
    assigned: AssignedFilter = "any",
    escalated_only: bool = False,
) -> Page[QueueEntry]:
    """The queue, kept to the caller's `assigned` filter (mine / unassigned / any) and to escalated
    applications if asked. Each round asks the listing for only as many entries as the page still
    lacks, so no entry is skipped and the cursor contract is the listing's own; a page may come back
    shorter than `limit` with a next cursor when few entries match."""
    principal.require_reviewer()
    if assigned == "any" and not escalated_only:
        return _listing(
            deps, principal, statuses=statuses, at_risk_only=at_risk_only, limit=limit, cursor=cursor
        )
    now = deps.now()
    kept: list[QueueEntry] = []
    next_cursor = cursor
    for _ in range(_FILTER_ROUNDS):
        page = _listing(
            deps,
            principal,
            statuses=statuses,
            at_risk_only=at_risk_only,
            limit=limit - len(kept),
            cursor=next_cursor,
        )
        kept.extend(
            e
            for e in page.items
            if matches(e.application, principal, assigned, now) and (e.escalated or not escalated_only)
        )
        next_cursor = page.next_cursor
        if next_cursor is None or len(kept) >= limit:
            break
    return Page[QueueEntry](items=kept, next_cursor=next_cursor)


def _listing(
    deps: ApplicationDeps,
    principal: Principal,
    *,
    statuses: Sequence[ApplicationStatus],
    at_risk_only: bool,
    limit: int,
    cursor: str | None,
) -> Page[QueueEntry]:
    """Applications waiting for a reviewer, most urgent first, across the given statuses.

    The cursor holds, per status, where its own listing resumes ("end" once it is exhausted), so a
    page can take entries from each status in due order.
    """
    principal.require_reviewer()
    _require_reviewable(statuses)
    now = deps.now()
    due_before = deps.clock.at_risk_horizon(now) if at_risk_only else None
    wanted = list(dict.fromkeys(ApplicationStatus(s) for s in statuses))

    def valid(state: dict[str, Any]) -> bool:
        # A cursor from another status selection would resume the wrong listings.
        return set(state) == {s.value for s in wanted} and all(
            v is None or isinstance(v, str) for v in state.values()
        )

    state = decode_cursor(cursor, valid) if cursor else {s.value: None for s in wanted}

    fetched: list[tuple[ApplicationStatus, Application, str]] = []
    ends: dict[ApplicationStatus, str | None] = {}
    for status in wanted:
        position = state[status.value]
        if position == "end":
            continue
        page = deps.repository.list_by_status(status, limit=limit, cursor=position, due_before=due_before)
        fetched.extend((status, app, token) for app, token in page.entries)
        ends[status] = page.next_cursor

    def sort_key(entry: tuple[ApplicationStatus, Application, str]) -> tuple[str, str]:
        due = entry[1].queue_due()
        return (iso(due) if due else "9999", entry[1].id)

    fetched.sort(key=sort_key)
    taken = fetched[:limit]
    new_state: dict[str, Any] = dict(state)
    for status in ends:
        mine = [e for e in fetched if e[0] == status]
        used = [e for e in taken if e[0] == status]
        if len(used) == len(mine):
            new_state[status.value] = ends[status] if ends[status] is not None else "end"
        elif used:
            new_state[status.value] = used[-1][2]
    done = all(v == "end" for v in new_state.values())
    # An application withdrawn while still a draft was never submitted: it stays the applicant's.
    entries = [_queue_entry(deps, app, now) for _, app, _ in taken if app.submitted_at is not None]
    return Page[QueueEntry](items=entries, next_cursor=None if done else encode_cursor(new_state))


def _require_reviewable(statuses: Sequence[ApplicationStatus]) -> None:
    """A draft is the applicant's own until it is submitted: no reviewer lists drafts."""
    if ApplicationStatus.DRAFT in {ApplicationStatus(s) for s in statuses}:
        raise InvalidInput(
            "status_not_reviewable",
            "草稿在提交前只属于申请人，审批人员不能查看草稿。请选择其他状态。",
            "A draft belongs to the applicant until it is submitted; reviewers cannot list drafts. "
            "Choose another status.",
            [
                Reason(
                    "status_not_reviewable",
                    "草稿不在审批队列中。",
                    "Drafts are not in the review queue.",
                    "status",
                )
            ],
        )


def _queue_entry(deps: ApplicationDeps, application: Application, now: datetime) -> QueueEntry:
    due = application.queue_due()
    overdue = due is not None and due < now
    at_risk = due is not None and not overdue and deps.clock.is_at_risk(due, now)
    return QueueEntry(
        application=application,
        due=due,
        at_risk=at_risk,
        overdue=overdue,
        assignee=holder(application, now),
        escalated=is_escalated(application),
    )
