"""Work assignment: a reviewer claims an application (one owner at a time), releases it, an admin
reassigns it, and the deadline sweep escalates one at risk or overdue to the admins.

A claim is a lease. `assignee_until` is when it ends unless the owner acts again (every action of
the owner renews it): past that time the application counts as unassigned on every read, with no
sweep needed, and a claim over it succeeds. Each claim is one conditional write ("claimable status,
and no live lease of anyone else"), so of two reviewers claiming at once exactly one wins and the
other is told who holds it.

Claims do not move the application's `version`: the version guards what a decision is taken on
(status, materials, evidence), and a claim changes none of it. An applicant's withdrawal or a
reviewer's decision conditional on the version they read never fails because someone claimed.

Deciding an unclaimed application claims it implicitly (the same conditional write, before the
decision's own), so the rule stays "the owner decides": no one decides over another's live claim,
except an admin, whose override is audited. Every claim, release, observed expiry, reassignment,
override and escalation is an audit event (tagged: it does not change the version).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Literal, Protocol

from onestop.errors import Conflict, Forbidden, InvalidInput, Reason, Unavailable
from onestop.events import ApplicationEscalated
from onestop.outbox import OwedEvent, deliver
from onestop.ports import EventPublisher

from .access import not_found
from .deps import ApplicationDeps
from .duties import require_may_decide
from .identity import Principal, Role
from .models import Application, ApplicationStatus, AuditEvent, Escalation, iso
from .state import STATUS_NAMES

# Statuses in which an application is the bureau's work (a correction request waits for the applicant
# but stays with the reviewer who asked for it).
CLAIMABLE = frozenset(
    {ApplicationStatus.SUBMITTED, ApplicationStatus.ACCEPTED, ApplicationStatus.CORRECTION_REQUESTED}
)
DEFAULT_LEASE = timedelta(hours=4)
# The audit actions of work assignment: shown to staff, not to the applicant.
STAFF_ACTIONS = frozenset(
    {"claim", "release", "assignment_expired", "reassign", "admin_override", "escalate"}
)
REVIEWER_GROUP = "reviewer"
SYSTEM_ACTOR = "scheduler"

AssignedFilter = Literal["any", "mine", "unassigned"]


@dataclass(frozen=True)
class Reviewer:
    """A member of the reviewer group, as the identity directory knows them."""

    username: str
    name: str | None = None


class AssignmentStore(Protocol):
    """The conditional writes of assignment (`onestop.aws.assignment_store`), each with its audit
    events in the same transaction; none of them changes the application's version."""

    def claim(
        self,
        application: Application,
        *,
        assignee: str,
        name: str | None,
        until: datetime,
        now: datetime,
        events: Sequence[AuditEvent],
    ) -> bool:
        """Make `assignee` the owner until `until` if the application is in a claimable status and
        has no live lease of anyone else at `now`; False (nothing written) otherwise."""
        ...

    def release(self, application: Application, *, assignee: str, event: AuditEvent) -> bool:
        """Clear the assignment if `assignee` still holds it; False otherwise."""
        ...

    def reassign(
        self,
        application: Application,
        *,
        assignee: str,
        name: str | None,
        until: datetime,
        event: AuditEvent,
    ) -> bool:
        """Give the application to `assignee` if its assignment is still as read; False otherwise."""
        ...

    def record(self, event: AuditEvent) -> None:
        """Add an audit event that changes nothing else (an admin acting over another's claim)."""
        ...

    def escalate(
        self,
        application: Application,
        *,
        sort_key: str,
        escalation: Escalation,
        event: AuditEvent,
        owed: OwedEvent,
    ) -> bool:
        """Mark the escalation, with its audit event and the owed ApplicationEscalated, if the
        application is still filed under `sort_key` and not yet escalated for this due time at this
        level (or higher); False otherwise."""
        ...

    def clear_owed(self, owed: OwedEvent) -> None: ...


class ReviewerDirectory(Protocol):
    """The reviewer group of the identity provider (`onestop.aws.reviewer_directory`)."""

    def reviewers(self) -> list[Reviewer]: ...

    def reviewer(self, username: str) -> Reviewer | None:
        """The member of the reviewer group with this username, or None."""
        ...


# ----------------------------------------------------------------------------- reading


def who(principal: Principal) -> str:
    """How an assignment names a reviewer: the identity provider's username (the sub when none)."""
    return principal.username or principal.label


def holder(application: Application, now: datetime) -> str | None:
    """The owner of a live lease at `now`, or None (never claimed, released, or the lease expired)."""
    if application.assignee is None or application.assignee_until is None:
        return None
    return application.assignee if application.assignee_until > now else None


def matches(application: Application, principal: Principal, assigned: AssignedFilter, now: datetime) -> bool:
    """Whether the queue's `assigned` filter keeps `application` for `principal`."""
    if assigned == "any":
        return True
    held = holder(application, now)
    return held is None if assigned == "unassigned" else held == who(principal)


def is_escalated(application: Application) -> bool:
    """Escalated for the due time the application runs under now (a new due time starts afresh)."""
    due = application.queue_due()
    # Compared as stored (to the second): a due time is the end of a day, 23:59:59.999999.
    return (
        application.escalated is not None and due is not None and iso(application.escalated.due) == iso(due)
    )


# ----------------------------------------------------------------------------- use cases


def current(deps: ApplicationDeps, principal: Principal, application_id: str) -> Application:
    """The application, for reading its assignment (reviewers only; drafts are nobody's work)."""
    principal.require_reviewer()
    return _get(deps, application_id)


def claim(deps: ApplicationDeps, principal: Principal, application_id: str) -> Application:
    """The reviewer takes the application (or renews their own lease)."""
    reviewer = principal.require_reviewer()
    application = _get(deps, application_id)
    reviewer = require_may_decide(reviewer, application)  # no one claims their own or their party's
    _require_claimable(application, "claim")
    return _take(deps, reviewer, application, deps.now(), audit_renewal=True)


def release(deps: ApplicationDeps, principal: Principal, application_id: str) -> Application:
    """The owner gives the application back to the queue."""
    reviewer = principal.require_reviewer().acting_as(Role.REVIEWER)
    application = _get(deps, application_id)
    now = deps.now()
    me = who(reviewer)
    if application.assignee is None:
        raise Conflict(
            "not_claimed",
            "该申请目前无人认领，无需释放。",
            "Nobody has claimed this application; there is nothing to release.",
            extra={"assignee": None},
        )
    if application.assignee != me:
        raise Forbidden(
            "not_assignee",
            f"该申请由「{_name(application)}」认领，只有认领人可以释放；如需调整请联系管理员改派。",
            f"This application is claimed by '{_name(application)}'; only they may release it. Ask an "
            "admin to reassign it.",
            extra={"assignee": application.assignee},
        )
    event = _event(reviewer, application, "release", now)
    if not _store(deps).release(application, assignee=me, event=event):
        raise _changed(deps, application_id, "release")
    return application.model_copy(update={"assignee": None, "assignee_name": None, "assignee_until": None})


def reassign(
    deps: ApplicationDeps, principal: Principal, application_id: str, reviewer: str, reason: str
) -> Application:
    """An admin gives the application to a member of the reviewer group, with a reason (audited)."""
    admin = principal.require_admin()
    application = _get(deps, application_id)
    _require_claimable(application, "reassign")
    if deps.reviewers is None:
        raise Unavailable(
            "directory_unavailable",
            "身份目录不可用，暂时无法确认改派对象是否为审批人员，请稍后再试。",
            "The identity directory is unavailable, so the new assignee cannot be checked to be a "
            "reviewer; try again later.",
        )
    target = deps.reviewers.reviewer(reviewer)
    if target is None:
        raise InvalidInput(
            "not_a_reviewer",
            "改派对象不是审批人员（不在 reviewer 组中）。",
            "The new assignee is not a reviewer (not in the reviewer group).",
            [
                Reason(
                    "not_a_reviewer",
                    f"「{reviewer}」不在审批人员组中。",
                    f"'{reviewer}' is not in the reviewer group.",
                    "reviewer",
                )
            ],
        )
    now = deps.now()
    before = holder(application, now)
    event = _event(
        admin,
        application,
        "reassign",
        now,
        comment=f"{before or '—'} → {target.username}: {reason}",
        reasons=[Reason("reassigned", f"管理员改派：{reason}", f"Reassigned by an admin: {reason}")],
    )
    until = now + _lease(deps)
    stored = _store(deps).reassign(
        application, assignee=target.username, name=target.name, until=until, event=event
    )
    if not stored:
        raise _changed(deps, application_id, "reassign")
    return application.model_copy(
        update={"assignee": target.username, "assignee_name": target.name, "assignee_until": until}
    )


def reviewers(deps: ApplicationDeps, principal: Principal) -> list[Reviewer]:
    """The members of the reviewer group (whom an admin may reassign to)."""
    principal.require_admin()
    if deps.reviewers is None:
        return []
    return sorted(deps.reviewers.reviewers(), key=lambda r: r.username)


def before_action(deps: ApplicationDeps, principal: Principal, application: Application, action: str) -> None:
    """Called by every reviewer action on `application` before its write: refuses (409, naming the
    owner) an action over another reviewer's live claim, except by an admin (audited); otherwise
    the action renews the caller's lease, or claims an unclaimed application implicitly."""
    if deps.assignments is None:
        return
    now = deps.now()
    held = holder(application, now)
    if held is not None and held != who(principal):
        if not principal.is_admin:
            raise _held_by(application, action)
        deps.assignments.record(
            _event(
                principal.acting_as(Role.ADMIN),
                application,
                "admin_override",
                now,
                comment=f"{action} over the claim of {held}",
                reasons=[
                    Reason(
                        "admin_override",
                        f"管理员在「{_name(application)}」认领期间执行了「{action}」。",
                        f"An admin took '{action}' while '{_name(application)}' held the claim.",
                    )
                ],
            )
        )
        return
    _take(deps, principal, application, now, audit_renewal=False, implicit=action)


def escalate(
    store: AssignmentStore,
    publisher: EventPublisher,
    application: Application,
    *,
    sort_key: str,
    level: str,
    due: datetime,
    working_days_left: int,
    now: datetime,
) -> bool:
    """Escalate an application at risk or overdue to the admins: once per due time and level (an
    at-risk escalation may be followed by an overdue one, never the other way). True when this call
    escalated it; the event is then owed until published (the scheduler's drain retries it)."""
    previous = application.escalated
    if (
        previous is not None
        and iso(previous.due) == iso(due)
        and (previous.level == level or previous.level == "overdue")
    ):
        return False
    status = ApplicationStatus(application.status)
    assignee = holder(application, now)
    escalation = Escalation.model_validate({"level": level, "due": due, "at": now})
    level_zh = "即将超期" if level == "at_risk" else "已超期"
    level_en = "at risk" if level == "at_risk" else "overdue"
    event = AuditEvent(
        application_id=application.id,
        at=now,
        n=application.version,
        tag=f"escalate-{level}-{iso(due)}",
        actor=SYSTEM_ACTOR,
        actor_role="system",
        action="escalate",
        from_status=status,
        to_status=status,
        reason=[
            Reason(
                f"deadline_{level}",
                f"办理期限（{iso(due)}）{level_zh}，已上报管理员。",
                f"The deadline ({iso(due)}) is {level_en}; escalated to the admins.",
            )
        ],
        comment=f"assignee: {assignee}" if assignee else "unassigned",
    )
    announced = ApplicationEscalated(
        application_id=application.id,
        item_code=application.item_code,
        item_name_zh=application.item_name_zh,
        item_name_en=application.item_name_en,
        level=level,
        due=iso(due),
        working_days_left=working_days_left,
        assignee=assignee,
        escalated_at=iso(now),
    )
    owed = OwedEvent.of(announced, owner=application.id, key=f"{level}@{iso(due)}")
    if not store.escalate(application, sort_key=sort_key, escalation=escalation, event=event, owed=owed):
        return False
    deliver(publisher, owed, partial(store.clear_owed, owed))
    return True


# ----------------------------------------------------------------------------- helpers


def _take(
    deps: ApplicationDeps,
    principal: Principal,
    application: Application,
    now: datetime,
    *,
    audit_renewal: bool,
    implicit: str | None = None,
) -> Application:
    me = who(principal)
    held = holder(application, now)
    if held is not None and held != me:
        raise _held_by(application, implicit or "claim")
    events: list[AuditEvent] = []
    if application.assignee is not None and held is None:
        # Recorded when observed: nothing runs at the moment a lease ends.
        events.append(
            _event(
                principal,
                application,
                "assignment_expired",
                now,
                comment=f"{application.assignee} (until {iso(application.assignee_until or now)})",
                actor=SYSTEM_ACTOR,
            )
        )
    if held is None or audit_renewal:
        events.append(
            _event(
                principal,
                application,
                "claim",
                now,
                comment=f"implicit: {implicit}" if implicit else ("renewed" if held else None),
            )
        )
    until = now + _lease(deps)
    stored = _store(deps).claim(
        application, assignee=me, name=principal.name, until=until, now=now, events=events
    )
    if not stored:
        current = deps.repository.get(application.id)
        if current is None:
            raise not_found()
        if ApplicationStatus(current.status) not in CLAIMABLE:
            _require_claimable(current, implicit or "claim")
        raise _held_by(current, implicit or "claim")
    return application.model_copy(
        update={"assignee": me, "assignee_name": principal.name, "assignee_until": until}
    )


def _event(
    principal: Principal,
    application: Application,
    action: str,
    now: datetime,
    *,
    comment: str | None = None,
    reasons: list[Reason] | None = None,
    actor: str | None = None,
) -> AuditEvent:
    status = ApplicationStatus(application.status)
    return AuditEvent(
        application_id=application.id,
        at=now,
        n=application.version,
        # Within one second the trail orders by tag: the microseconds first keep the order of events.
        tag=f"{now.strftime('%f')}-{action}-{who(principal)[:24]}",
        actor=actor or principal.label,
        actor_role="system" if actor == SYSTEM_ACTOR else principal.primary_role,
        action=action,
        from_status=status,
        to_status=status,
        reason=reasons or [],
        comment=comment,
    )


def _get(deps: ApplicationDeps, application_id: str) -> Application:
    application = deps.repository.get(application_id)
    if application is None or application.submitted_at is None:
        raise not_found()  # a draft is the applicant's own until submitted
    return application


def _store(deps: ApplicationDeps) -> AssignmentStore:
    if deps.assignments is None:
        raise Unavailable(
            "assignment_unavailable",
            "认领功能暂不可用，请稍后再试。",
            "Claiming is unavailable right now; try again later.",
        )
    return deps.assignments


def _lease(deps: ApplicationDeps) -> timedelta:
    return timedelta(seconds=deps.config.assignment_lease_seconds)


def _name(application: Application) -> str:
    return application.assignee_name or application.assignee or "—"


def _require_claimable(application: Application, action: str) -> None:
    status = ApplicationStatus(application.status)
    if status not in CLAIMABLE:
        zh, en = STATUS_NAMES[status]
        raise Conflict(
            "not_claimable",
            f"申请当前状态为「{zh}」，已不在审批队列中，不能认领或改派。",
            f"The application is {en} and no longer in the review queue; it cannot be claimed or reassigned.",
            extra={"current": {"status": status.value, "version": application.version}, "action": action},
        )


def _held_by(application: Application, action: str) -> Conflict:
    name = _name(application)
    until = iso(application.assignee_until) if application.assignee_until else None
    return Conflict(
        "claimed_by_other",
        f"该申请已由「{name}」认领（至 {until}），只有认领人可以办理；如需接手请联系管理员改派。",
        f"This application is claimed by '{name}' (until {until}); only they may act on it. Ask an "
        "admin to reassign it.",
        extra={
            "assignee": application.assignee,
            "assignee_name": application.assignee_name,
            "assignee_until": until,
            "action": action,
        },
    )


def _changed(deps: ApplicationDeps, application_id: str, action: str) -> Conflict:
    current = deps.repository.get(application_id)
    return Conflict(
        "assignment_changed",
        "认领情况在您读取后已发生变化，请刷新后重试。",
        "The assignment changed since you read it; reload and try again.",
        extra={"assignee": current.assignee if current else None, "action": action},
    )
