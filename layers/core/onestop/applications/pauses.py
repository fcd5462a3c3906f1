"""The legal clock's rules: pauses of the decision deadline and its one extension, as pure functions.

Administrative Licensing Law, as the bureau applies it (docs/decisions.md, "The legal clock"):

- 补正 after acceptance: the acceptance stands and the decision clock stops while the applicant
  corrects (补正期间不计时); the resubmission resumes it and the deadline moves by the working days
  the pause covered. A correction asked before acceptance is the acceptance-stage one-time notice
  (一次性告知): no decision clock runs yet, so nothing is paused.
- art. 45: time for a hearing (听证), an expert review (专家评审) or an on-site inspection (现场核查)
  is not counted: a reviewer starts and ends such a pause, with a reason; one pause at a time.
- art. 42: the decision limit (20 working days) may be extended once, by at most 10, with a reason,
  approved by the head of the bureau (here: an admin, not the reviewer who asked).

Each function checks the rule and returns the fields of the application that change (with the
pause or extension as it now stands); `applications.clock_changes` writes them with their audit
event and announcement, and the state machine calls `pause_for_correction` / `resume_after_correction`.
`deadline` always holds the effective due time, so every reader (sweep, KPIs, queue, portal) uses it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from onestop.errors import Conflict, Forbidden, InvalidInput, NotFound, Reason
from onestop.events import ApplicationClockChanged, EventReason

from .clock import Deadline
from .models import Application, ApplicationStatus, ClockPause, DeadlineInfo, Extension, iso
from .ports import Clock

Procedure = Literal["correction", "hearing", "expert_review", "onsite_inspection"]
SpecialProcedure = Literal["hearing", "expert_review", "onsite_inspection"]
Change = Literal["paused", "resumed", "extension_requested", "extended", "extension_refused"]

PROCEDURES: dict[str, tuple[str, str]] = {
    "correction": ("补正", "correction"),
    "hearing": ("听证", "hearing"),
    "expert_review": ("专家评审", "expert review"),
    "onsite_inspection": ("现场核查", "on-site inspection"),
    "extension": ("延期", "extension"),
}
PAUSE_PROCEDURES: tuple[Procedure, ...] = ("correction", "hearing", "expert_review", "onsite_inspection")
SPECIAL_PROCEDURES: tuple[SpecialProcedure, ...] = ("hearing", "expert_review", "onsite_inspection")
# Not taken while a special procedure holds the clock (`require_running`).
DECIDED_WHILE_RUNNING = frozenset({"approve", "reject", "request_correction"})
# Licensing Law art. 42: 20 working days, extendable once by 10.
MAX_EXTENSION_DAYS = 10


@dataclass(frozen=True)
class ClockChange:
    """What one change does: the application's changed fields, and how it is announced and audited."""

    changes: dict[str, Any]
    change: Change
    procedure: str
    reason: Reason
    at: datetime
    due: datetime | None
    working_days_added: int | None = None


# ----------------------------------------------------------------------------- reading


def open_pause(application: Application) -> ClockPause | None:
    """The pause the clock is standing in, if any."""
    return next((p for p in application.clock_pauses if p.ended_at is None), None)


def is_paused(application: Application) -> bool:
    return open_pause(application) is not None


def waits_for_resubmission(application: Application) -> bool:
    """A correction asked after acceptance is open: the applicant's resubmission resumes the clock."""
    pause = open_pause(application)
    return pause is not None and pause.procedure == "correction"


def paused_working_days(application: Application) -> int:
    """Working days given back by the pauses that ended."""
    return sum(p.working_days or 0 for p in application.clock_pauses)


def extension_days(application: Application) -> int:
    e = application.extension
    return e.days if e is not None and e.status == "approved" else 0


def clock_deadline(clock: Clock, application: Application) -> Deadline:
    """The stored decision deadline as the clock's `Deadline` (what was added to it, years unknown)."""
    info = application.deadline
    if info is None:
        raise _no_deadline(application)
    start = application.accepted_at or info.due
    years = tuple(y for y in range(start.year, info.due.year + 1) if not clock.calendar_known(y))
    e = application.extension
    return Deadline(
        due=info.due,
        working_days=info.working_days,
        calendar_known=info.calendar_known,
        note_zh=info.note_zh or None,
        note_en=info.note_en or None,
        paused_working_days=paused_working_days(application),
        extension_days=extension_days(application),
        extension_reason=e.reason.zh if e is not None and e.status == "approved" else None,
        unknown_years=years,
    )


def _info(deadline: Deadline) -> DeadlineInfo:
    return DeadlineInfo(
        due=deadline.due,
        working_days=deadline.working_days,
        calendar_known=deadline.calendar_known,
        note_zh=deadline.note_zh or "",
        note_en=deadline.note_en or "",
    )


# ----------------------------------------------------------------------------- refusals


def _no_deadline(application: Application) -> Conflict:
    return Conflict(
        "clock_not_running",
        "该申请尚未受理，办理时限还未开始计算。",
        "The application has not been accepted: its decision clock has not started.",
        extra={
            "current": {"status": ApplicationStatus(application.status).value, "version": application.version}
        },
    )


def _conflict(application: Application, code: str, zh: str, en: str) -> Conflict:
    return Conflict(
        code,
        zh,
        en,
        extra={
            "current": {"status": ApplicationStatus(application.status).value, "version": application.version}
        },
    )


def _invalid(code: str, zh: str, en: str, field: str) -> InvalidInput:
    return InvalidInput(
        "invalid_clock_change",
        "办理时限变更有误。",
        "The clock change is not valid.",
        [Reason(code, zh, en, field)],
    )


def require_accepted(application: Application, what_zh: str, what_en: str) -> None:
    """Special procedures and extensions belong to an accepted application awaiting its decision."""
    if ApplicationStatus(application.status) != ApplicationStatus.ACCEPTED or application.deadline is None:
        raise _conflict(
            application,
            "clock_not_running",
            f"只有已受理、待决定的申请才能{what_zh}。",
            f"Only an accepted application awaiting its decision can {what_en}.",
        )


def require_running(application: Application, action: str) -> None:
    """A decision (or a correction request) is not taken while a special procedure holds the clock."""
    pause = open_pause(application)
    if pause is None:
        return
    zh, en = PROCEDURES[pause.procedure]
    raise _conflict(
        application,
        "clock_paused",
        f"办理时限因{zh}暂停中（第 {pause.n} 次暂停），请先结束{zh}再作决定（{action}）。",
        f"The clock is paused for {en} (pause {pause.n}); end the {en} before '{action}'.",
    )


def _check_moment(application: Application, at: datetime, now: datetime, field: str) -> None:
    if at > now:
        raise _invalid(
            "clock_time_in_future",
            "时间不能晚于当前时间。",
            "The time cannot be in the future.",
            field,
        )
    floor = application.accepted_at
    ended = [p.ended_at for p in application.clock_pauses if p.ended_at is not None]
    if ended:
        floor = max([*ended, *([floor] if floor else [])])
    if floor is not None and at < floor:
        raise _invalid(
            "clock_time_too_early",
            f"时间不能早于受理或上一次暂停结束的时间（{iso(floor)}）。",
            f"The time cannot be before the acceptance or the end of the last pause ({iso(floor)}).",
            field,
        )


# ----------------------------------------------------------------------------- pauses


def start_pause(
    application: Application,
    procedure: Procedure,
    reason: Reason,
    actor: str,
    *,
    at: datetime,
    now: datetime,
) -> ClockChange:
    """Stop the decision clock at `at` for `procedure` (409 while another pause is open)."""
    if application.deadline is None:
        raise _no_deadline(application)
    current = open_pause(application)
    if current is not None:
        zh, en = PROCEDURES[current.procedure]
        raise _conflict(
            application,
            "clock_already_paused",
            f"办理时限已因{zh}暂停（第 {current.n} 次暂停），同一时间只能有一项暂停。",
            f"The clock is already paused for {en} (pause {current.n}); only one pause can be open.",
        )
    _check_moment(application, at, now, "at")
    # A correction may still be asked once the deadline has passed; its pause gives nothing back
    # (`end_pause`): the time had run out before the clock stopped.
    if at > application.deadline.due and procedure != "correction":
        raise _conflict(
            application,
            "deadline_passed",
            "办理期限已过，不能再暂停计时。",
            "The decision deadline has passed; the clock can no longer be paused.",
        )
    pause = ClockPause(
        n=len(application.clock_pauses) + 1,
        procedure=procedure,
        reason=reason,
        started_at=at,
        started_by=actor,
        due_before=application.deadline.due,
    )
    return ClockChange(
        changes={"clock_pauses": [*application.clock_pauses, pause]},
        change="paused",
        procedure=procedure,
        reason=reason,
        at=at,
        due=application.deadline.due,
    )


def end_pause(
    clock: Clock,
    application: Application,
    n: int,
    actor: str,
    *,
    at: datetime,
    now: datetime,
) -> ClockChange:
    """End pause `n` at `at`: the deadline moves by the working days it covered (409 if it ended)."""
    pause = next((p for p in application.clock_pauses if p.n == n), None)
    if pause is None:
        raise NotFound("pause_not_found", f"没有第 {n} 次暂停。", f"There is no pause {n}.")
    if pause.ended_at is not None:
        raise _conflict(
            application,
            "pause_already_ended",
            f"第 {n} 次暂停已于 {iso(pause.ended_at)} 结束，办理时限已顺延，不会重复顺延。",
            f"Pause {n} already ended at {iso(pause.ended_at)}; the deadline was moved then and is not "
            "moved twice.",
        )
    if at < pause.started_at:
        raise _invalid(
            "pause_ends_before_start",
            f"暂停结束时间不能早于开始时间（{iso(pause.started_at)}）。",
            f"A pause cannot end before it started ({iso(pause.started_at)}).",
            "at",
        )
    if at > now:
        raise _invalid(
            "clock_time_in_future", "时间不能晚于当前时间。", "The time cannot be in the future.", "at"
        )
    before = clock_deadline(clock, application)
    # Paused after the deadline had passed (a late correction request): nothing to give back, the
    # application stays as late as it was.
    late = pause.started_at > before.due
    after: Deadline = before if late else clock.extend_for_pause(before, pause.started_at, at)
    added = after.paused_working_days - before.paused_working_days
    ended = pause.model_copy(
        update={"ended_at": at, "ended_by": actor, "working_days": added, "due_after": after.due}
    )
    pauses = [ended if p.n == n else p for p in application.clock_pauses]
    return ClockChange(
        changes={"clock_pauses": pauses, "deadline": _info(after)},
        change="resumed",
        procedure=pause.procedure,
        reason=pause.reason,
        at=at,
        due=after.due,
        working_days_added=added,
    )


def correction_ends_on_resubmission(application: Application) -> Conflict:
    """A 补正 pause is not ended by a reviewer: the applicant's resubmission ends it."""
    return _conflict(
        application,
        "correction_pause_ends_on_resubmission",
        "补正期间的暂停在申请人重新提交材料时自动结束，不能手动结束。",
        "A pause for correction ends when the applicant resubmits; it cannot be ended by hand.",
    )


def pause_for_correction(
    application: Application, reasons: list[Reason], actor: str, now: datetime
) -> ClockChange:
    """补正 asked after acceptance: the clock waits for the applicant, with the correction reasons."""
    reason = Reason(
        "correction_requested",
        "要求补正：" + "；".join(r.zh for r in reasons),
        "Correction requested: " + "; ".join(r.en for r in reasons),
    )
    return start_pause(application, "correction", reason, actor, at=now, now=now)


def resume_after_correction(
    clock: Clock, application: Application, actor: str, now: datetime
) -> ClockChange | None:
    """The applicant's resubmission ends the correction pause (None when there is none: the
    correction came before acceptance)."""
    pause = open_pause(application)
    if pause is None or pause.procedure != "correction":
        return None
    return end_pause(clock, application, pause.n, actor, at=now, now=now)


# ----------------------------------------------------------------------------- the extension


def request_extension(
    application: Application, days: int, reason: Reason, actor: str, *, now: datetime
) -> ClockChange:
    """A reviewer asks for the one extension (at most `MAX_EXTENSION_DAYS` working days)."""
    require_accepted(application, "申请延期", "have its deadline extended")
    assert application.deadline is not None
    if not 1 <= days <= MAX_EXTENSION_DAYS:
        raise _invalid(
            "extension_days_out_of_range",
            f"延期为 1 至 {MAX_EXTENSION_DAYS} 个工作日（法定 20 日，可延长 10 日）。",
            f"An extension is 1 to {MAX_EXTENSION_DAYS} working days (statutory 20, extendable by 10).",
            "days",
        )
    _require_no_extension(application)
    if not is_paused(application) and now > application.deadline.due:
        raise _conflict(
            application,
            "deadline_passed",
            "办理期限已过，不能再申请延期。",
            "The decision deadline has passed; an extension can no longer be asked for.",
        )
    extension = Extension(days=days, reason=reason, status="requested", requested_by=actor, requested_at=now)
    return ClockChange(
        changes={"extension": extension},
        change="extension_requested",
        procedure="extension",
        reason=reason,
        at=now,
        due=application.deadline.due,
    )


def _require_no_extension(application: Application) -> None:
    e = application.extension
    if e is None or e.status == "refused":
        return  # a refused request extended nothing: a new one may be made
    if e.status == "approved":
        raise _conflict(
            application,
            "deadline_already_extended",
            f"办理期限只能延长一次，本件已延长 {e.days} 个工作日。",
            f"A deadline can be extended only once; this one already was, by {e.days} working days.",
        )
    raise _conflict(
        application,
        "extension_already_requested",
        "本件已有待审批的延期申请，不能重复申请。",
        "An extension request for this application is already waiting for approval.",
    )


def decide_extension(
    clock: Clock,
    application: Application,
    approve: bool,
    actor: str,
    *,
    refusal: Reason | None,
    now: datetime,
) -> ClockChange:
    """An admin approves (the deadline moves by the days asked) or refuses the extension asked for."""
    e = application.extension
    if e is None or e.status != "requested":
        if e is not None and e.status == "approved":
            _require_no_extension(application)
        raise _conflict(
            application,
            "no_extension_requested",
            "本件没有待审批的延期申请。",
            "No extension request is waiting for a decision on this application.",
        )
    # Awaiting its decision: accepted, or back with the applicant for 补正 (the acceptance stands).
    waiting = (ApplicationStatus.ACCEPTED, ApplicationStatus.CORRECTION_REQUESTED)
    if ApplicationStatus(application.status) not in waiting or application.deadline is None:
        require_accepted(application, "决定延期", "have an extension decided")
    if e.requested_by == actor:
        raise Forbidden(
            "own_extension_request",
            "延期申请由您本人提出，须由其他管理员审批。",
            "You asked for this extension; another administrator must decide on it.",
        )
    deadline = clock_deadline(clock, application)
    if not approve:
        if refusal is None:
            raise _invalid(
                "refusal_reason_required",
                "不同意延期时必须写明理由。",
                "Give a reason when refusing an extension.",
                "reason",
            )
        refused = e.model_copy(
            update={"status": "refused", "decided_by": actor, "decided_at": now, "refusal": refusal}
        )
        return ClockChange(
            changes={"extension": refused},
            change="extension_refused",
            procedure="extension",
            reason=refusal,
            at=now,
            due=deadline.due,
        )
    if not is_paused(application) and now > deadline.due:
        raise _conflict(
            application,
            "deadline_passed",
            "办理期限已过，不能再批准延期。",
            "The decision deadline has passed; the extension can no longer be approved.",
        )
    extended: Deadline = clock.extend(deadline, e.days, e.reason.zh)  # Conflict if it already was
    approved = e.model_copy(
        update={
            "status": "approved",
            "decided_by": actor,
            "decided_at": now,
            "due_before": deadline.due,
            "due_after": extended.due,
        }
    )
    return ClockChange(
        changes={"extension": approved, "deadline": _info(extended)},
        change="extended",
        procedure="extension",
        reason=e.reason,
        at=now,
        due=extended.due,
        working_days_added=e.days,
    )


# ----------------------------------------------------------------------------- announcing


def announced(application: Application, change: ClockChange, actor: str) -> ApplicationClockChanged:
    """The ApplicationClockChanged event of `change` on `application`."""
    return ApplicationClockChanged(
        application_id=application.id,
        item_code=application.item_code,
        change=change.change,
        procedure=change.procedure,
        reason=EventReason.of(change.reason),
        at=iso(change.at),
        due=iso(change.due) if change.due is not None else None,
        working_days_added=change.working_days_added,
        actor=actor,
    )
