"""Moving an application through a state transition: one conditional write with its audit event and
the event it owes the bus (the outbox), then the event published."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import partial
from typing import Any

from onestop.errors import Reason
from onestop.events import (
    ApplicationAccepted,
    ApplicationApproved,
    ApplicationCorrectionRequested,
    ApplicationEvent,
    ApplicationRejected,
    ApplicationSubmitted,
    EventApplicant,
    EventEvidence,
    EventReason,
)
from onestop.observability import metrics
from onestop.outbox import OwedEvent, deliver

from . import clock_changes, pauses
from .deps import ApplicationDeps
from .identity import Principal
from .models import Application, ApplicationStatus, AuditEvent, DeadlineInfo, iso
from .state import TRANSITIONS, Action, Actor, next_status

EVENT_FOR_ACTION: dict[Action, type[ApplicationEvent]] = {
    Action.SUBMIT: ApplicationSubmitted,
    Action.ACCEPT: ApplicationAccepted,
    Action.APPROVE: ApplicationApproved,
    Action.REJECT: ApplicationRejected,
    Action.REQUEST_CORRECTION: ApplicationCorrectionRequested,
}

# The role the audit records when the use case set none: a two-group account submits as the applicant.
_ROLE_OF = {Actor.OWNER: "applicant", Actor.REVIEWER: "reviewer"}


def deadline_info(deadline: Any) -> DeadlineInfo:
    """What an application stores of a deadline the clock computed."""
    return DeadlineInfo(
        due=deadline.due,
        working_days=deadline.working_days,
        calendar_known=deadline.calendar_known,
        note_zh=deadline.note_zh or "",
        note_en=deadline.note_en or "",
    )


def apply_action(
    deps: ApplicationDeps,
    principal: Principal,
    application: Application,
    action: Action,
    changes: dict[str, Any],
    *,
    reasons: Sequence[Reason] = (),
    comment: str | None = None,
    now: datetime | None = None,
) -> Application:
    """Move the application by `action`: one conditional write with its audit event, then the event."""
    current = ApplicationStatus(application.status)
    now = now or deps.now()
    clock = _clock_change(deps, principal, application, action, reasons, now)
    target = next_status(
        current,
        action,
        application.version,
        resumes_acceptance=clock is not None and action is Action.SUBMIT,
    )
    if clock is not None:
        changes = {**changes, **clock.changes}
    announces = EVENT_FOR_ACTION.get(action)
    pending = list(application.pending_events)
    if announces is not None:
        pending.append(announces.DETAIL_TYPE)
    after = application.model_copy(
        update={
            **changes,
            "status": target,
            "version": application.version + 1,
            "updated_at": now,
            "comment": comment if comment is not None else application.comment,
            "pending_events": pending,
        }
    )
    event = AuditEvent(
        application_id=application.id,
        at=now,
        n=after.version,
        actor=principal.label,
        actor_role=principal.primary_role if principal.acting else _ROLE_OF[TRANSITIONS[action].actor],
        action=action.value,
        from_status=current,
        to_status=target,
        reason=list(reasons),
        comment=comment,
    )
    owed = None
    if announces is not None:
        owed = OwedEvent.of(announced_event(after, action, principal), owner=application.id)
    outbox = {owed.detail_type: owed.detail} if owed is not None else None
    if clock is None:
        deps.repository.transition(application, after, event, outbox=outbox)
    else:  # the clock's event too, in the same write
        clock_owed = clock_changes.clock_owed(after, clock, principal.label)
        deps.repository.transition(application, after, event, outbox=outbox, owed=[clock_owed])
    metrics.add_metric(name=f"Application_{action.value}", unit="Count", value=1)
    if owed is not None:
        after = publish(deps, after, owed)
    if clock is not None:
        clock_changes.publish_clock(deps, [clock_owed])
    return after


def _clock_change(
    deps: ApplicationDeps,
    principal: Principal,
    application: Application,
    action: Action,
    reasons: Sequence[Reason],
    now: datetime,
) -> pauses.ClockChange | None:
    """What `action` does to the decision clock: 补正 after acceptance pauses it, the resubmission
    resumes it; no decision is taken while a special procedure (hearing …) holds it."""
    if action.value in pauses.DECIDED_WHILE_RUNNING:
        pauses.require_running(application, action.value)
    status = ApplicationStatus(application.status)
    if action is Action.REQUEST_CORRECTION and status is ApplicationStatus.ACCEPTED:
        return pauses.pause_for_correction(application, list(reasons), principal.label, now)
    if action is Action.SUBMIT:
        return pauses.resume_after_correction(deps.clock, application, principal.label, now)
    return None


def publish(deps: ApplicationDeps, application: Application, owed: OwedEvent) -> Application:
    """Publish an owed event and clear its outbox marker; the application as it then stands (the
    event no longer pending once published, even if the stored marker could not be cleared: that one
    only causes a duplicate later)."""
    # After the conditional write only: a lost race must never announce a decision. If the bus
    # fails the decision stands; the event stays in the outbox and the scheduler re-publishes it.
    if not deliver(deps.publisher, owed, partial(deps.repository.clear_owed, owed)):
        return application
    return application.model_copy(
        update={"pending_events": [e for e in application.pending_events if e != owed.detail_type]}
    )


def announced_event(application: Application, action: Action, principal: Principal) -> ApplicationEvent:
    """The event `action` announces, from the application after the transition."""
    base: dict[str, Any] = {"application_id": application.id, "item_code": application.item_code}
    applicant = EventApplicant.model_validate(application.applicant.model_dump())
    if action is Action.APPROVE:
        assert application.decided_at is not None
        return ApplicationApproved(
            **base,
            applicant=applicant,
            approved_at=iso(application.decided_at),
            approved_by=principal.label,
            evidence=[EventEvidence.model_validate(e.model_dump()) for e in application.decision_evidence],
            catalogue_version=application.catalogue_version,  # the licence spec of the pinned version
        )
    if action is Action.REJECT:
        assert application.decided_at is not None
        return ApplicationRejected(
            **base,
            applicant=applicant,
            rejected_at=iso(application.decided_at),
            rejected_by=principal.label,
            reasons=[EventReason.of(r) for r in application.decision_reasons],
        )
    if action is Action.REQUEST_CORRECTION:
        # The one-time notice (一次性告知): every reason at once, as the applicant is told it.
        return ApplicationCorrectionRequested(
            **base,
            applicant=applicant,
            requested_at=iso(application.updated_at),
            requested_by=principal.label,
            reasons=[EventReason.of(r) for r in application.correction_reasons],
            clock_paused=pauses.is_paused(application),  # asked after acceptance: the clock waits
        )
    if action is Action.ACCEPT:
        assert application.accepted_at is not None
        assert application.deadline is not None
        return ApplicationAccepted(
            **base,
            accepted_at=iso(application.accepted_at),
            deadline=iso(application.deadline.due),
            working_days=application.deadline.working_days,
        )
    assert application.submitted_at is not None
    return ApplicationSubmitted(
        **base,
        applicant=applicant,
        submitted_at=iso(application.submitted_at),
        # None for a resubmission that resumed the accepted application (no new acceptance check).
        acceptance_due=iso(application.acceptance_due.due)
        if application.acceptance_due and application.status == ApplicationStatus.SUBMITTED
        else None,
    )
