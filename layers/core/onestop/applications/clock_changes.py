"""Use cases of the legal clock: reviewers pause and resume it for a special procedure and ask for the
one extension, admins decide the extension, and anyone who may read the application sees its clock.

Each change is one conditional write (the application's status and version as read: a race or a
replay loses with 409) of the changed fields, the audit event (who, why) and the owed
ApplicationClockChanged, which is then published (`applications.pauses` has the rules).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import partial

from onestop.errors import Reason
from onestop.observability import metrics
from onestop.outbox import OwedEvent, deliver

from . import assignment, pauses
from .access import may_read, not_found
from .deps import ApplicationDeps
from .duties import require_may_decide
from .identity import Principal, Role
from .models import Application, ApplicationStatus, AuditEvent
from .pauses import ClockChange, SpecialProcedure
from .state import conflict

# The audit trail's action of each change.
AUDIT_ACTIONS = {
    "paused": "clock_pause",
    "resumed": "clock_resume",
    "extension_requested": "extension_request",
    "extended": "extension_approve",
    "extension_refused": "extension_refuse",
}


def clock_owed(application: Application, change: ClockChange, actor: str) -> OwedEvent:
    """The owed ApplicationClockChanged of `change`, keyed by the version that made it (several may
    be owed at once)."""
    event = pauses.announced(application, change, actor)
    return OwedEvent.of(event, owner=application.id, key=f"v{application.version:06d}")


def publish_clock(deps: ApplicationDeps, owed: Sequence[OwedEvent]) -> None:
    """Publish the clock events a committed write owes; a failure leaves them to the scheduler's drain."""
    for o in owed:
        deliver(deps.publisher, o, partial(deps.repository.clear_owed, o))


def view(deps: ApplicationDeps, principal: Principal, application_id: str) -> Application:
    """The application whose clock the caller may see (owner or reviewer; 404 otherwise)."""
    principal.require_authenticated()
    application = deps.repository.get(application_id)
    if application is None or not may_read(principal, application):
        raise not_found()
    return application


def _for_reviewer(
    deps: ApplicationDeps, principal: Principal, application_id: str, expected_version: int | None, what: str
) -> tuple[Principal, Application]:
    principal.require_reviewer()
    application = deps.repository.get(application_id)
    if application is None:
        raise not_found()
    reviewer = require_may_decide(principal, application)  # not one's own or one's party's
    if expected_version is not None and expected_version != application.version:
        raise conflict(
            ApplicationStatus(application.status),
            application.version,
            what,
            zh=f"申请已被他人更新（当前版本 {application.version}，您看到的是 {expected_version}），"
            "请刷新后重试。",
            en=f"The application changed since you read it (version {application.version}, you saw "
            f"{expected_version}); reload it and try again.",
        )
    return reviewer, application


def _record(
    deps: ApplicationDeps,
    principal: Principal,
    application: Application,
    change: ClockChange,
    now: datetime,
    comment: str | None = None,
) -> Application:
    status = ApplicationStatus(application.status)
    after = application.model_copy(
        update={**change.changes, "version": application.version + 1, "updated_at": now}
    )
    audit = AuditEvent(
        application_id=application.id,
        at=now,
        n=after.version,
        actor=principal.label,
        actor_role=principal.primary_role,
        action=AUDIT_ACTIONS[change.change],
        from_status=status,
        to_status=status,
        reason=[change.reason],
        comment=comment,
    )
    owed = clock_owed(after, change, principal.label)
    deps.repository.transition(application, after, audit, owed=[owed])
    metrics.add_metric(name=f"Clock_{change.change}", unit="Count", value=1)
    publish_clock(deps, [owed])
    return after


def start_pause(
    deps: ApplicationDeps,
    principal: Principal,
    application_id: str,
    procedure: SpecialProcedure,
    reason: Reason,
    *,
    at: datetime | None = None,
    expected_version: int | None = None,
) -> Application:
    """A reviewer stops the clock for a hearing, expert review or on-site inspection (art. 45)."""
    reviewer, application = _for_reviewer(deps, principal, application_id, expected_version, "pause")
    assignment.before_action(deps, reviewer, application, "pause")  # the owner's work (issue 18.5)
    pauses.require_accepted(application, "暂停计时", "have its clock paused")
    now = deps.now()
    change = pauses.start_pause(application, procedure, reason, reviewer.label, at=at or now, now=now)
    return _record(deps, reviewer, application, change, now)


def end_pause(
    deps: ApplicationDeps,
    principal: Principal,
    application_id: str,
    n: int,
    *,
    at: datetime | None = None,
    comment: str | None = None,
    expected_version: int | None = None,
) -> Application:
    """A reviewer ends special-procedure pause `n`; the deadline moves by the working days it covered."""
    reviewer, application = _for_reviewer(deps, principal, application_id, expected_version, "end pause")
    assignment.before_action(deps, reviewer, application, "end pause")
    pause = next((p for p in application.clock_pauses if p.n == n), None)
    if pause is not None and pause.procedure == "correction" and pause.ended_at is None:
        raise pauses.correction_ends_on_resubmission(application)
    now = deps.now()
    change = pauses.end_pause(deps.clock, application, n, reviewer.label, at=at or now, now=now)
    return _record(deps, reviewer, application, change, now, comment)


def request_extension(
    deps: ApplicationDeps,
    principal: Principal,
    application_id: str,
    days: int,
    reason: Reason,
    *,
    expected_version: int | None = None,
) -> Application:
    """A reviewer asks for the one extension of the decision deadline, with a reason."""
    reviewer, application = _for_reviewer(
        deps, principal, application_id, expected_version, "request extension"
    )
    assignment.before_action(deps, reviewer, application, "request extension")
    now = deps.now()
    change = pauses.request_extension(application, days, reason, reviewer.label, now=now)
    return _record(deps, reviewer, application, change, now)


def decide_extension(
    deps: ApplicationDeps,
    principal: Principal,
    application_id: str,
    approve: bool,
    *,
    refusal: Reason | None = None,
    expected_version: int | None = None,
) -> Application:
    """An admin approves (the deadline moves) or refuses the extension a reviewer asked for."""
    admin = principal.require_admin()  # 403 for a reviewer: the head of the bureau approves (art. 42)
    admin, application = _for_reviewer(deps, admin, application_id, expected_version, "decide extension")
    admin = admin.acting_as(Role.ADMIN)  # recorded as the admin's act, not a reviewer's
    now = deps.now()
    change = pauses.decide_extension(deps.clock, application, approve, admin.label, refusal=refusal, now=now)
    return _record(deps, admin, application, change, now)
