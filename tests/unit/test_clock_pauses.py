"""The legal clock's rules (`onestop.applications.pauses`), without AWS: pauses give back exactly the
working days they covered on the official calendar, one pause at a time, one extension, refusals."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from onestop.applications import pauses
from onestop.applications.clock import SHANGHAI, WorkingDayClock
from onestop.applications.models import Applicant, Application, ApplicationStatus, DeadlineInfo
from onestop.applications.state import Action, next_status
from onestop.errors import Conflict, Forbidden, InvalidInput, NotFound, Reason

clock = WorkingDayClock()
WHY = Reason("hearing", "申请人要求听证", "The applicant asked for a hearing")


def at(y: int, m: int, d: int, hour: int = 10) -> datetime:
    return datetime(y, m, d, hour, tzinfo=SHANGHAI)


FRIDAY = at(2025, 9, 26)


def accepted(when: datetime = FRIDAY, days: int = 20) -> Application:
    deadline = clock.add_working_days(when, days)
    return Application(
        id="a" * 32,
        item_code="outbound-investment-filing",
        item_name_zh="境外投资备案",
        item_name_en="Outbound investment filing",
        owner_sub="alice",
        applicant=Applicant(kind="enterprise", code="91440300MA5F00011X", name="示例"),
        status=ApplicationStatus.ACCEPTED,
        version=3,
        created_at=when,
        updated_at=when,
        submitted_at=when,
        accepted_at=when,
        deadline=DeadlineInfo(due=deadline.due, working_days=days, calendar_known=True),
    )


def apply(app: Application, change: pauses.ClockChange) -> Application:
    return app.model_copy(update={**change.changes, "version": app.version + 1})


def local(moment: datetime) -> date:
    return moment.astimezone(SHANGHAI).date()


# ----------------------------------------------------------------------------- pauses


def test_a_pause_over_national_day_gives_back_exactly_the_working_days_it_covered() -> None:
    app = accepted()
    before = app.deadline.due  # type: ignore[union-attr]
    paused = apply(
        app, pauses.start_pause(app, "hearing", WHY, "r1", at=at(2025, 9, 29), now=at(2025, 9, 29))
    )
    assert pauses.is_paused(paused)
    assert paused.queue_due() is None  # out of the sweep's and the queue's due order
    end = pauses.end_pause(clock, paused, 1, "r1", at=at(2025, 10, 13), now=at(2025, 10, 13))
    # Tue 9-30; Oct 1-8 holiday; Thu 9, Fri 10, Sat 11 (make-up day), Mon 13 → 5.
    assert end.working_days_added == 5
    resumed = apply(paused, end)
    assert resumed.deadline is not None
    assert local(resumed.deadline.due) == clock._walk(local(before), 5)[0]
    assert resumed.deadline.working_days == 25
    assert pauses.paused_working_days(resumed) == 5
    assert not pauses.is_paused(resumed)
    assert resumed.queue_due() == resumed.deadline.due
    assert resumed.clock_pauses[0].due_before == before
    assert resumed.clock_pauses[0].due_after == resumed.deadline.due


def test_a_pause_ended_the_day_it_began_moves_nothing() -> None:
    app = accepted()
    paused = apply(
        app, pauses.start_pause(app, "hearing", WHY, "r1", at=at(2025, 9, 29, 9), now=at(2025, 9, 29, 9))
    )
    end = pauses.end_pause(clock, paused, 1, "r1", at=at(2025, 9, 29, 17), now=at(2025, 9, 29, 17))
    assert end.working_days_added == 0
    assert apply(paused, end).deadline == app.deadline


def test_a_pause_ended_before_it_began_is_refused() -> None:
    app = accepted()
    paused = apply(
        app, pauses.start_pause(app, "hearing", WHY, "r1", at=at(2025, 9, 29), now=at(2025, 9, 30))
    )
    with pytest.raises(InvalidInput) as refused:
        pauses.end_pause(clock, paused, 1, "r1", at=at(2025, 9, 28), now=at(2025, 9, 30))
    assert refused.value.details[0].code == "pause_ends_before_start"


def test_ending_a_pause_twice_is_409_and_moves_nothing_more() -> None:
    app = accepted()
    paused = apply(
        app, pauses.start_pause(app, "hearing", WHY, "r1", at=at(2025, 9, 29), now=at(2025, 9, 29))
    )
    resumed = apply(
        paused, pauses.end_pause(clock, paused, 1, "r1", at=at(2025, 10, 13), now=at(2025, 10, 13))
    )
    with pytest.raises(Conflict) as twice:
        pauses.end_pause(clock, resumed, 1, "r1", at=at(2025, 10, 14), now=at(2025, 10, 14))
    assert twice.value.code == "pause_already_ended"
    with pytest.raises(NotFound):
        pauses.end_pause(clock, resumed, 7, "r1", at=at(2025, 10, 14), now=at(2025, 10, 14))


def test_one_open_pause_at_a_time_and_no_overlap_with_the_last() -> None:
    app = accepted()
    paused = apply(
        app, pauses.start_pause(app, "hearing", WHY, "r1", at=at(2025, 9, 29), now=at(2025, 9, 29))
    )
    with pytest.raises(Conflict) as second:
        pauses.start_pause(paused, "expert_review", WHY, "r1", at=at(2025, 9, 30), now=at(2025, 9, 30))
    assert second.value.code == "clock_already_paused"
    resumed = apply(
        paused, pauses.end_pause(clock, paused, 1, "r1", at=at(2025, 10, 13), now=at(2025, 10, 13))
    )
    with pytest.raises(InvalidInput) as overlap:  # back-dated into the pause that ended
        pauses.start_pause(resumed, "expert_review", WHY, "r1", at=at(2025, 10, 10), now=at(2025, 10, 14))
    assert overlap.value.details[0].code == "clock_time_too_early"
    with pytest.raises(InvalidInput) as future:
        pauses.start_pause(resumed, "expert_review", WHY, "r1", at=at(2025, 10, 20), now=at(2025, 10, 14))
    assert future.value.details[0].code == "clock_time_in_future"


def test_no_pause_after_the_deadline_passed_and_no_decision_while_paused() -> None:
    app = accepted(days=2)
    late = app.deadline.due + timedelta(hours=1)  # type: ignore[union-attr]
    with pytest.raises(Conflict) as passed:
        pauses.start_pause(app, "hearing", WHY, "r1", at=late, now=late)
    assert passed.value.code == "deadline_passed"
    paused = apply(
        app, pauses.start_pause(app, "hearing", WHY, "r1", at=at(2025, 9, 29), now=at(2025, 9, 29))
    )
    with pytest.raises(Conflict) as blocked:
        pauses.require_running(paused, "approve")
    assert blocked.value.code == "clock_paused"


def test_correction_after_acceptance_pauses_and_the_resubmission_resumes_into_accepted() -> None:
    app = accepted()
    reasons = [Reason("r", "缺少营业执照", "Business licence missing")]
    change = pauses.pause_for_correction(app, reasons, "r1", at(2025, 9, 29))
    assert change.procedure == "correction"
    assert "缺少营业执照" in change.reason.zh
    waiting = apply(app, change).model_copy(update={"status": ApplicationStatus.CORRECTION_REQUESTED})
    assert pauses.waits_for_resubmission(waiting)
    resume = pauses.resume_after_correction(clock, waiting, "alice", at(2025, 10, 13))
    assert resume is not None
    assert resume.working_days_added == 5
    target = next_status(
        ApplicationStatus.CORRECTION_REQUESTED, Action.SUBMIT, resumes_acceptance=resume is not None
    )
    assert target is ApplicationStatus.ACCEPTED
    # Before acceptance there is nothing to resume: the resubmission goes to the acceptance check.
    assert next_status(ApplicationStatus.CORRECTION_REQUESTED, Action.SUBMIT) is ApplicationStatus.SUBMITTED
    assert pauses.resume_after_correction(clock, accepted(), "alice", at(2025, 10, 13)) is None


@settings(max_examples=60, deadline=None)
@given(
    start=st.dates(min_value=date(2024, 1, 1), max_value=date(2026, 10, 1)),
    length=st.integers(min_value=0, max_value=60),
)
def test_the_deadline_moves_by_exactly_the_working_days_paused(start: date, length: int) -> None:
    began = datetime(start.year, start.month, start.day, 9, tzinfo=SHANGHAI)
    app = accepted(began - timedelta(days=1), days=20)
    ended = began + timedelta(days=length)
    paused = apply(app, pauses.start_pause(app, "expert_review", WHY, "r1", at=began, now=began))
    resumed = apply(paused, pauses.end_pause(clock, paused, 1, "r1", at=ended, now=ended))
    covered = clock.working_days_between(began, ended)
    assert resumed.deadline is not None
    assert app.deadline is not None
    assert resumed.deadline.working_days == app.deadline.working_days + covered
    assert local(resumed.deadline.due) == clock._walk(local(app.deadline.due), covered)[0]


# ----------------------------------------------------------------------------- the extension


def test_one_extension_of_at_most_ten_days_decided_by_someone_else() -> None:
    app = accepted()
    now = at(2025, 9, 29)
    for days in (0, 11):
        with pytest.raises(InvalidInput):
            pauses.request_extension(app, days, WHY, "r1", now=now)
    asked = apply(app, pauses.request_extension(app, 10, WHY, "r1", now=now))
    assert asked.deadline == app.deadline  # nothing moves until approved
    with pytest.raises(Conflict) as again:
        pauses.request_extension(asked, 5, WHY, "r2", now=now)
    assert again.value.code == "extension_already_requested"
    with pytest.raises(Forbidden):
        pauses.decide_extension(clock, asked, True, "r1", refusal=None, now=now)
    approved = apply(asked, pauses.decide_extension(clock, asked, True, "admin", refusal=None, now=now))
    assert approved.deadline is not None
    assert app.deadline is not None
    assert local(approved.deadline.due) == clock._walk(local(app.deadline.due), 10)[0]
    assert approved.deadline.working_days == 30
    assert pauses.extension_days(approved) == 10
    with pytest.raises(Conflict) as second:
        pauses.request_extension(approved, 3, WHY, "r1", now=now)
    assert second.value.code == "deadline_already_extended"
    with pytest.raises(Conflict):
        pauses.decide_extension(clock, approved, True, "admin2", refusal=None, now=now)


def test_a_refused_extension_needs_a_reason_moves_nothing_and_may_be_asked_again() -> None:
    app = accepted()
    now = at(2025, 9, 29)
    asked = apply(app, pauses.request_extension(app, 4, WHY, "r1", now=now))
    with pytest.raises(InvalidInput):
        pauses.decide_extension(clock, asked, False, "admin", refusal=None, now=now)
    no = Reason("extension_refused", "理由不充分", "Not justified")
    refused = apply(asked, pauses.decide_extension(clock, asked, False, "admin", refusal=no, now=now))
    assert refused.deadline == app.deadline
    assert refused.extension is not None
    assert refused.extension.status == "refused"
    assert (
        apply(refused, pauses.request_extension(refused, 4, WHY, "r1", now=now)).extension.status
        == "requested"
    )  # type: ignore[union-attr]


def test_no_extension_once_the_deadline_passed_unless_the_clock_is_paused() -> None:
    app = accepted(days=2)
    late = app.deadline.due + timedelta(hours=1)  # type: ignore[union-attr]
    with pytest.raises(Conflict) as passed:
        pauses.request_extension(app, 3, WHY, "r1", now=late)
    assert passed.value.code == "deadline_passed"


def test_pauses_and_the_extension_add_up_in_either_order() -> None:
    app = accepted()
    t1, t2, t3 = at(2025, 9, 29), at(2025, 10, 13), at(2025, 10, 14)
    a = apply(app, pauses.start_pause(app, "hearing", WHY, "r1", at=t1, now=t1))
    a = apply(a, pauses.end_pause(clock, a, 1, "r1", at=t2, now=t2))
    a = apply(a, pauses.request_extension(a, 7, WHY, "r1", now=t3))
    a = apply(a, pauses.decide_extension(clock, a, True, "admin", refusal=None, now=t3))
    b = apply(app, pauses.request_extension(app, 7, WHY, "r1", now=t1))
    b = apply(b, pauses.decide_extension(clock, b, True, "admin", refusal=None, now=t1))
    b = apply(b, pauses.start_pause(b, "hearing", WHY, "r1", at=t1, now=t1))
    b = apply(b, pauses.end_pause(clock, b, 1, "r1", at=t2, now=t2))
    assert a.deadline == b.deadline
    assert a.deadline is not None
    assert a.deadline.working_days == 20 + 5 + 7


def test_kpis_see_a_paused_clock_as_late_only_if_it_was_late_before_it_paused() -> None:
    from onestop.quality.kpis import Period, overdue_in

    app = accepted(days=2)
    due = app.deadline.due  # type: ignore[union-attr]
    paused = apply(app, pauses.start_pause(app, "hearing", WHY, "r1", at=due - timedelta(hours=2), now=due))
    period = Period.of(local(due) - timedelta(days=5), local(due) + timedelta(days=30))
    later = due + timedelta(days=20)
    assert overdue_in(app, period, later)  # running: late
    assert not overdue_in(paused, period, later)  # paused before its due time: not late


def test_a_correction_asked_after_the_deadline_passed_gives_no_days_back() -> None:
    app = accepted(days=2)
    late = app.deadline.due + timedelta(days=1)  # type: ignore[union-attr]
    reasons = [Reason("r", "缺少营业执照", "Business licence missing")]
    waiting = apply(app, pauses.pause_for_correction(app, reasons, "r1", late))  # not refused
    resume = pauses.resume_after_correction(clock, waiting, "alice", late + timedelta(days=14))
    assert resume is not None
    assert resume.working_days_added == 0
    assert apply(waiting, resume).deadline == app.deadline  # as late as it was
