"""Working-day clock: weekends, official holidays and make-up days, pauses, the one extension."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo

import chinese_calendar
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from onestop.applications.clock import SHANGHAI, Deadline, WorkingDayClock
from onestop.errors import Conflict

clock = WorkingDayClock()


def at(y: int, m: int, d: int, hour: int = 10) -> datetime:
    return datetime(y, m, d, hour, tzinfo=SHANGHAI)


def due_date(deadline: Deadline) -> date:
    return deadline.due.date()


def test_due_is_end_of_day_in_shanghai() -> None:
    dl = clock.add_working_days(at(2025, 3, 14), 1)
    assert dl.due.tzinfo == SHANGHAI
    assert dl.due.time() == time(23, 59, 59, 999999)
    assert dl.due.utcoffset() == timedelta(hours=8)
    assert dl.calendar_known
    assert dl.note_zh is None
    assert dl.note_en is None


def test_weekend_is_skipped() -> None:
    # 2025-03-14 is a Friday, no holiday nearby: day 1 is Monday the 17th.
    assert date(2025, 3, 14).weekday() == 4
    assert due_date(clock.add_working_days(at(2025, 3, 14), 1)) == date(2025, 3, 17)
    assert due_date(clock.add_working_days(at(2025, 3, 15), 1)) == date(2025, 3, 17)  # from a Saturday
    assert due_date(clock.add_working_days(at(2025, 3, 14), 5)) == date(2025, 3, 21)
    assert not clock.is_working_day(date(2025, 3, 15))
    assert not clock.is_working_day(date(2025, 3, 16))


def test_start_time_of_day_and_timezone_do_not_shift_the_count() -> None:
    # 2025-03-13 20:00 UTC is already Friday 04:00 in Shanghai: counting starts from Friday.
    utc_evening = datetime(2025, 3, 13, 20, tzinfo=UTC)
    assert due_date(clock.add_working_days(utc_evening, 1)) == date(2025, 3, 17)
    with pytest.raises(ValueError, match="timezone-aware"):
        clock.add_working_days(datetime(2025, 3, 14, 10), 1)


def test_national_day_2025_with_make_up_days() -> None:
    # Official schedule (via chinese_calendar): 1-8 October off; Sunday 28 September and Saturday
    # 11 October are make-up working days.
    assert chinese_calendar.is_workday(date(2025, 9, 28))
    assert chinese_calendar.is_workday(date(2025, 10, 11))
    assert not any(chinese_calendar.is_workday(date(2025, 10, d)) for d in range(1, 9))
    assert clock.is_working_day(date(2025, 9, 28))  # a Sunday
    assert clock.is_working_day(date(2025, 10, 11))  # a Saturday
    assert not clock.is_working_day(date(2025, 10, 1))  # a Wednesday
    start = at(2025, 9, 26)  # Friday
    assert due_date(clock.add_working_days(start, 1)) == date(2025, 9, 28)
    assert due_date(clock.add_working_days(start, 3)) == date(2025, 9, 30)
    assert due_date(clock.add_working_days(start, 4)) == date(2025, 10, 9)
    assert due_date(clock.add_working_days(start, 6)) == date(2025, 10, 11)
    assert due_date(clock.add_working_days(start, 7)) == date(2025, 10, 13)
    assert clock.working_days_between(at(2025, 9, 30), at(2025, 10, 9)) == 1


def test_national_day_2024() -> None:
    # 1-7 October 2024 off; Sunday 29 September and Saturday 12 October worked.
    assert chinese_calendar.is_workday(date(2024, 9, 29))
    assert chinese_calendar.is_workday(date(2024, 10, 12))
    start = at(2024, 9, 27)  # Friday
    assert due_date(clock.add_working_days(start, 1)) == date(2024, 9, 29)
    assert due_date(clock.add_working_days(start, 3)) == date(2024, 10, 8)
    # 29, 30 Sep; 8, 9, 10, 11 Oct; then the make-up Saturday.
    assert due_date(clock.add_working_days(start, 7)) == date(2024, 10, 12)


def test_crossing_a_year_boundary() -> None:
    # 1-3 January 2026 off, Sunday 4 January worked.
    start = at(2025, 12, 24)
    dl = clock.add_working_days(start, 10)
    # 25, 26, 29, 30, 31 Dec; 4 (make-up Sunday), 5, 6, 7, 8 Jan.
    assert due_date(dl) == date(2026, 1, 8)
    assert dl.calendar_known
    assert clock.working_days_between(start, dl.due) == 10


def test_pause_for_correction_gives_the_days_back() -> None:
    # 20 working days from Monday 2025-03-03 end on Monday 31 March.
    dl = clock.add_working_days(at(2025, 3, 3), 20)
    assert due_date(dl) == date(2025, 3, 31)
    # Correction notice Monday 10 March, corrected materials Friday 14 March: Tue-Fri = 4 days back.
    paused = clock.extend_for_pause(dl, at(2025, 3, 10, 9), at(2025, 3, 14, 17))
    assert paused.paused_working_days == 4
    assert paused.working_days == 24
    # 1, 2, 3 April, then Qingming (4-6 April 2025) is off: Monday 7 April.
    assert due_date(paused) == date(2025, 4, 7)
    # A pause within one day gives nothing back; a second pause adds up.
    assert clock.extend_for_pause(dl, at(2025, 3, 10, 9), at(2025, 3, 10, 17)) == dl
    twice = clock.extend_for_pause(paused, at(2025, 3, 17), at(2025, 3, 18))
    assert twice.paused_working_days == 5
    assert due_date(twice) == date(2025, 4, 8)
    with pytest.raises(ValueError, match="before it starts"):
        clock.extend_for_pause(dl, at(2025, 3, 14), at(2025, 3, 10))


def test_one_extension_of_20_plus_10() -> None:
    dl = clock.add_working_days(at(2025, 11, 3), 20)
    assert due_date(dl) == date(2025, 12, 1)
    longer = clock.extend(dl, 10, "案情复杂，需组织专家评审")
    assert due_date(longer) == date(2025, 12, 15)
    assert longer.working_days == 30
    assert longer.extension_days == 10
    assert longer.extension_reason == "案情复杂，需组织专家评审"
    with pytest.raises(Conflict) as exc:
        clock.extend(longer, 5, "again")
    assert exc.value.code == "deadline_already_extended"
    assert exc.value.extra == {"extension_days": 10}
    with pytest.raises(ValueError, match="reason"):
        clock.extend(dl, 10, "  ")
    with pytest.raises(ValueError, match="at least one"):
        clock.extend(dl, 0, "x")


def _first_unknown_year() -> int:
    """The first year after the package's official tables, whichever release is installed."""
    return max(day.year for day in chinese_calendar.holidays) + 1


def _first_weekday(year: int, month: int, weekday: int) -> date:
    d = date(year, month, 1)
    return d + timedelta(days=(weekday - d.weekday()) % 7)


def test_unknown_future_year_falls_back_to_weekends_and_says_so() -> None:
    year = _first_unknown_year()
    assert clock.calendar_known(year - 1)
    assert not clock.calendar_known(year)
    monday = _first_weekday(year, 3, 0)  # first Monday of March: no weekend inside 5 working days
    dl = clock.add_working_days(datetime.combine(monday, time(10), tzinfo=SHANGHAI), 5)
    # Tue, Wed, Thu, Fri, then the next Monday: weekends only.
    assert due_date(dl) == monday + timedelta(days=7)
    assert not dl.calendar_known
    assert dl.unknown_years == (year,)
    assert dl.note_zh is not None
    assert f"{year}年" in dl.note_zh
    assert dl.note_en is not None
    assert str(year) in dl.note_en
    assert "weekends only" in dl.note_en
    # 1-7 October is the National Day holiday every year; under the fallback a weekday in it counts.
    national_day = next(date(year, 10, d) for d in range(1, 8) if date(year, 10, d).weekday() < 5)
    assert clock.is_working_day(national_day)
    assert not clock.is_working_day(_first_weekday(year, 10, 5))  # a Saturday stays off


def test_last_known_year_into_unknown_year() -> None:
    last_known = _first_unknown_year() - 1
    start = at(last_known, 12, 20)
    dl = clock.add_working_days(start, 15)
    assert not dl.calendar_known
    assert dl.unknown_years == (last_known + 1,)
    # An extension inside known time keeps the earlier note; the years merge, not duplicate.
    ext = clock.extend(dl, 3, "reason")
    assert ext.unknown_years == (last_known + 1,)
    assert ext.note_en == dl.note_en


def test_extension_into_unknown_year_clears_calendar_known() -> None:
    last_known = _first_unknown_year() - 1
    dl = clock.add_working_days(at(last_known, 12, 1), 10)
    assert dl.calendar_known
    ext = clock.extend(dl, 20, "reason")
    assert not ext.calendar_known
    assert ext.note_zh is not None
    assert ext.note_en is not None
    assert str(last_known + 1) in ext.note_en
    assert ext.unknown_years == (last_known + 1,)


def test_remaining_and_overdue() -> None:
    dl = clock.add_working_days(at(2025, 3, 3), 20)  # Monday 31 March
    assert clock.remaining(dl.due, at(2025, 3, 3)) == 20
    assert clock.remaining(dl.due, at(2025, 3, 28)) == 1  # Friday before: at risk
    assert clock.remaining(dl.due, at(2025, 3, 29)) == 1  # Saturday before
    assert clock.remaining(dl.due, at(2025, 3, 31, 23)) == 0  # the last day itself
    assert not clock.is_overdue(dl.due, at(2025, 3, 31, 23))
    assert clock.is_overdue(dl.due, at(2025, 4, 1, 0))
    assert clock.remaining(dl.due, at(2025, 4, 1, 0)) == -1
    assert clock.remaining(dl.due, at(2025, 4, 3)) == -3
    assert type(clock.remaining(dl.due, at(2025, 4, 3))) is int
    # Qingming weekend: overdue but no working day elapsed yet still reads as overdue.
    dl_thu = clock.add_working_days(at(2025, 4, 2), 1)  # Thursday 3 April
    assert clock.remaining(dl_thu.due, at(2025, 4, 5)) == -1


def test_overdue_starts_strictly_after_the_due_instant() -> None:
    # Due at the end of Monday 31 March 2025 (23:59:59.999999 Shanghai): at that very instant the
    # limit has not run out; one microsecond later it has.
    due = clock.add_working_days(at(2025, 3, 3), 20).due
    assert due == datetime(2025, 3, 31, 23, 59, 59, 999999, tzinfo=SHANGHAI)
    assert not clock.is_overdue(due, due)
    assert clock.is_overdue(due, due + timedelta(microseconds=1))
    assert not clock.is_overdue(due, due - timedelta(microseconds=1))
    # The same instant in another zone is the same instant.
    assert not clock.is_overdue(due, due.astimezone(UTC))
    assert clock.remaining(due, due) == 0
    assert clock.remaining(due, due + timedelta(microseconds=1)) == -1


def test_at_risk_means_at_most_one_working_day_left() -> None:
    due = clock.add_working_days(at(2025, 3, 3), 20).due  # Monday 31 March 2025
    # Thursday 27 March: Fri 28 and Mon 31 left (2) -> not yet at risk.
    assert clock.remaining(due, at(2025, 3, 27)) == 2
    assert not clock.is_at_risk(due, at(2025, 3, 27, 23))
    # Friday 28 March: only Mon 31 left (1) -> at risk; so on the weekend and the due day itself.
    assert clock.is_at_risk(due, at(2025, 3, 28, 0))
    assert clock.is_at_risk(due, at(2025, 3, 30))
    assert clock.is_at_risk(due, at(2025, 3, 31, 9))
    assert clock.is_at_risk(due, due)  # the last instant: not overdue yet
    # Overdue is not "at risk" any more.
    assert not clock.is_at_risk(due, due + timedelta(microseconds=1))


def test_at_risk_horizon_is_the_end_of_the_second_working_day() -> None:
    # From Friday 14 March 2025: Mon 17 is the first working day, Tue 18 the second.
    now = at(2025, 3, 14, 16)
    horizon = clock.at_risk_horizon(now)
    assert horizon == datetime(2025, 3, 18, 23, 59, 59, 999999, tzinfo=SHANGHAI)
    # A due time before the horizon is at risk now, one at the horizon is not (two days left).
    assert clock.is_at_risk(datetime(2025, 3, 17, 23, 59, 59, 999999, tzinfo=SHANGHAI), now)
    assert not clock.is_at_risk(horizon, now)
    # Across the National Day holiday 2025: from Tuesday 30 September, Thu 9 and Fri 10 October.
    end_of_10_october = datetime(2025, 10, 10, 23, 59, 59, 999999, tzinfo=SHANGHAI)
    assert clock.at_risk_horizon(at(2025, 9, 30)) == end_of_10_october


def test_deadline_round_trips_through_dict() -> None:
    dl = clock.extend(clock.add_working_days(at(2030, 12, 20), 5), 2, "专家评审")
    data = dl.as_dict()
    assert data["due"].endswith("+08:00")
    assert Deadline.from_dict(data) == dl


def test_deadline_dict_form_is_exact_and_read_back_in_shanghai() -> None:
    # Known calendar, one pause (Tue 11 - Fri 14 March 2025: 4 working days), not extended.
    dl = clock.extend_for_pause(clock.add_working_days(at(2025, 3, 3), 20), at(2025, 3, 10), at(2025, 3, 14))
    assert dl.as_dict() == {
        "due": "2025-04-07T23:59:59.999999+08:00",
        "working_days": 24,
        "calendar_known": True,
        "note_zh": None,
        "note_en": None,
        "paused_working_days": 4,
        "extension_days": 0,
        "extension_reason": None,
        "unknown_years": [],
    }
    back = Deadline.from_dict(dl.as_dict())
    assert back == dl
    assert back.due.utcoffset() == timedelta(hours=8)
    # As DynamoDB gives it back: numbers as Decimal, optional fields missing, the due time in UTC.
    from decimal import Decimal

    stored = {"due": "2025-04-07T15:59:59.999999+00:00", "working_days": Decimal(20), "calendar_known": True}
    minimal = Deadline.from_dict(stored)
    assert minimal.due == dl.due
    assert minimal.due.tzinfo == SHANGHAI
    assert (minimal.working_days, minimal.paused_working_days, minimal.extension_days) == (20, 0, 0)
    assert minimal.unknown_years == ()
    assert Deadline.from_dict({**stored, "extension_days": 0}).extension_days == 0


def test_a_due_time_is_read_in_shanghai_when_moved() -> None:
    # A due time of 00:30 on Monday 17 March 2025 in Shanghai is still Sunday 16 March in UTC: the
    # extension counts from the Shanghai date, Monday, so one working day later is Tuesday 18.
    odd = Deadline(due=datetime(2025, 3, 17, 0, 30, tzinfo=SHANGHAI), working_days=1, calendar_known=True)
    assert due_date(clock.extend(odd, 1, "r")) == date(2025, 3, 18)


def test_a_timezone_that_gives_no_offset_is_refused() -> None:
    class NoOffset(tzinfo):
        def utcoffset(self, dt: datetime | None) -> timedelta | None:
            return None

    with pytest.raises(ValueError, match="timezone-aware"):
        clock.add_working_days(datetime(2025, 3, 14, 10, tzinfo=NoOffset()), 1)


def test_rejects_non_positive_limits() -> None:
    with pytest.raises(ValueError, match="at least one"):
        clock.add_working_days(at(2025, 1, 1), 0)


# ---------------------------------------------------------------- properties

starts = st.datetimes(
    min_value=datetime(2023, 1, 1), max_value=datetime(2032, 12, 31), timezones=st.just(SHANGHAI)
)
limits = st.integers(min_value=1, max_value=60)


@settings(max_examples=200)
@given(start=starts, n=limits)
def test_adding_then_counting_back_gives_n(start: datetime, n: int) -> None:
    dl = clock.add_working_days(start, n)
    assert clock.working_days_between(start, dl.due) == n
    assert clock.working_days_between(dl.due, start) == -n
    assert clock.remaining(dl.due, start) == n
    assert dl.working_days == n


@settings(max_examples=200)
@given(start=starts, n=limits)
def test_due_is_always_a_working_day_at_end_of_day(start: datetime, n: int) -> None:
    dl = clock.add_working_days(start, n)
    assert clock.is_working_day(dl.due.date())
    assert dl.due.time() == time(23, 59, 59, 999999)
    assert dl.due.date() > start.astimezone(SHANGHAI).date()
    first_counted = start.astimezone(SHANGHAI).date() + timedelta(days=1)
    years = range(first_counted.year, dl.due.year + 1)
    assert dl.calendar_known == all(clock.calendar_known(y) for y in years)
    assert dl.calendar_known == (not dl.unknown_years)


@settings(max_examples=200)
@given(start=starts, n=limits)
def test_monotonic_in_n(start: datetime, n: int) -> None:
    assert clock.add_working_days(start, n + 1).due > clock.add_working_days(start, n).due


@settings(max_examples=100)
@given(start=starts, n=limits, k=st.integers(min_value=1, max_value=15))
def test_extension_equals_adding_the_sum(start: datetime, n: int, k: int) -> None:
    assert (
        clock.extend(clock.add_working_days(start, n), k, "r").due == clock.add_working_days(start, n + k).due
    )


@settings(max_examples=100)
@given(
    start=starts,
    n=limits,
    pause_offset=st.integers(min_value=0, max_value=30),
    pause_len=st.integers(min_value=0, max_value=30),
)
def test_pause_adds_exactly_the_paused_working_days(
    start: datetime, n: int, pause_offset: int, pause_len: int
) -> None:
    dl = clock.add_working_days(start, n)
    paused_from = start + timedelta(days=pause_offset)
    resumed = paused_from + timedelta(days=pause_len)
    moved = clock.extend_for_pause(dl, paused_from, resumed)
    paused = clock.working_days_between(paused_from, resumed)
    assert moved.paused_working_days == paused
    assert clock.working_days_between(start, moved.due) == n + paused


@settings(max_examples=100)
@given(d=st.dates(min_value=date(2024, 1, 1), max_value=date(2026, 12, 31)))
def test_known_years_follow_the_official_calendar(d: date) -> None:
    assert clock.is_working_day(d) == chinese_calendar.is_workday(d)
