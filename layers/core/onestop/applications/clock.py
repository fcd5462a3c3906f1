"""Working-day clock for statutory and promised time limits.

Working days skip weekends and official public holidays and include the official make-up working
days (调休), taken from the `chinese_calendar` package (updated yearly when the State Council
publishes the schedule). For a year the package does not know yet, only weekends are skipped and the
resulting deadline says so (`calendar_known=False` plus a note), so nobody mistakes it for final.

Counting follows administrative practice: the day an application is accepted is not counted; day 1
is the first working day after it, and the limit ends at the end of the last day (23:59:59.999999,
Asia/Shanghai).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import chinese_calendar

from onestop.errors import Conflict

SHANGHAI = ZoneInfo("Asia/Shanghai")
_END_OF_DAY = time(23, 59, 59, 999999)


@dataclass(frozen=True)
class Deadline:
    """When a time limit runs out, and how it was counted."""

    due: datetime  # end of the last working day, Asia/Shanghai
    working_days: int  # total working days counted from the start (limit + pauses + extension)
    calendar_known: bool  # False: some year on the way had no official holiday schedule yet
    note_zh: str | None = None
    note_en: str | None = None
    paused_working_days: int = 0  # added back for 补正 pauses
    extension_days: int = 0  # the one extension (e.g. 20 + 10); 0 = not extended
    extension_reason: str | None = None
    unknown_years: tuple[int, ...] = ()  # years counted on weekends only

    def as_dict(self) -> dict[str, Any]:
        """JSON/DynamoDB-friendly form (ISO 8601 with offset)."""
        return {
            "due": self.due.isoformat(),
            "working_days": self.working_days,
            "calendar_known": self.calendar_known,
            "note_zh": self.note_zh,
            "note_en": self.note_en,
            "paused_working_days": self.paused_working_days,
            "extension_days": self.extension_days,
            "extension_reason": self.extension_reason,
            "unknown_years": list(self.unknown_years),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Deadline:
        """Inverse of `as_dict` (numbers may come back as Decimal from DynamoDB)."""
        return cls(
            due=datetime.fromisoformat(data["due"]).astimezone(SHANGHAI),
            working_days=int(data["working_days"]),
            calendar_known=bool(data["calendar_known"]),
            note_zh=data.get("note_zh"),
            note_en=data.get("note_en"),
            paused_working_days=int(data.get("paused_working_days") or 0),
            extension_days=int(data.get("extension_days") or 0),
            extension_reason=data.get("extension_reason"),
            unknown_years=tuple(int(y) for y in data.get("unknown_years") or ()),
        )


@functools.cache
def _known_years() -> frozenset[int]:
    # The years the package's official holiday tables cover (it refuses to answer for others).
    return frozenset(day.year for day in chinese_calendar.holidays)


def _year_known(year: int) -> bool:
    return year in _known_years()


def _local_date(moment: datetime) -> date:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("the clock needs timezone-aware datetimes")
    return moment.astimezone(SHANGHAI).date()


def _end_of(day: date) -> datetime:
    return datetime.combine(day, _END_OF_DAY, tzinfo=SHANGHAI)


def _notes(unknown_years: set[int]) -> tuple[str | None, str | None]:
    if not unknown_years:
        return None, None
    years_zh = "、".join(f"{y}年" for y in sorted(unknown_years))
    years_en = ", ".join(str(y) for y in sorted(unknown_years))
    return (
        f"{years_zh}的法定节假日和调休安排尚未收录，期限暂按只扣除周末计算，安排公布后可能调整。",
        f"The official holiday schedule for {years_en} is not available yet; this deadline skips "
        "weekends only and may change once the schedule is published.",
    )


# "At risk" (reviewer queue, deadline sweep, alarms): at most this many working days left after today.
AT_RISK_WORKING_DAYS = 1


class WorkingDayClock:
    """Counts working days in Asia/Shanghai on China's official calendar."""

    def is_at_risk(self, due: datetime, now: datetime) -> bool:
        """Not yet overdue, with at most AT_RISK_WORKING_DAYS working days left after today."""
        return not self.is_overdue(due, now) and self.remaining(due, now) <= AT_RISK_WORKING_DAYS

    def at_risk_horizon(self, now: datetime) -> datetime:
        """A due time at or after which nothing is at risk yet (end of the second working day from now)."""
        return self.add_working_days(now, AT_RISK_WORKING_DAYS + 1).due

    def calendar_known(self, year: int) -> bool:
        """Whether the official holiday schedule of `year` is known."""
        return _year_known(year)

    def is_working_day(self, d: date) -> bool:
        """Weekdays that are not public holidays, plus make-up working days (调休)."""
        if _year_known(d.year):
            return bool(chinese_calendar.is_workday(d))
        return d.weekday() < 5

    def _walk(self, after: date, days: int) -> tuple[date, set[int]]:
        """The `days`-th working day after `after`, and the unknown years passed through."""
        unknown: set[int] = set()
        d = after
        counted = 0
        while counted < days:
            d += timedelta(days=1)
            if not _year_known(d.year):
                unknown.add(d.year)
            if self.is_working_day(d):
                counted += 1
        return d, unknown

    def add_working_days(self, start: datetime, days: int) -> Deadline:
        """Deadline `days` working days after `start` (day 1 = first working day after start's date)."""
        if days < 1:
            raise ValueError("a time limit is at least one working day")
        last, unknown = self._walk(_local_date(start), days)
        note_zh, note_en = _notes(unknown)
        return Deadline(
            _end_of(last), days, not unknown, note_zh, note_en, unknown_years=tuple(sorted(unknown))
        )

    def working_days_between(self, start: datetime, end: datetime) -> int:
        """Working days d with start's date < d <= end's date (negative when end is before start)."""
        a, b = _local_date(start), _local_date(end)
        sign = 1
        if b < a:
            a, b, sign = b, a, -1
        count = 0
        d = a
        while d < b:
            d += timedelta(days=1)
            count += self.is_working_day(d)
        return sign * count

    def remaining(self, due: datetime, now: datetime) -> int:
        """Working days left after today up to the due day (0 on the due day itself).

        Once `now` is past `due` the result is negative: minus the working days elapsed since the due
        day, and at least -1 (an overdue deadline is never reported as 0 left).
        """
        if now <= due:
            return max(0, self.working_days_between(now, due))
        return min(-1, self.working_days_between(due, now) * -1)

    def is_overdue(self, due: datetime, now: datetime) -> bool:
        return now > due

    def _push(self, deadline: Deadline, days: int) -> Deadline:
        """Move the due day `days` working days later, keeping track of unknown years."""
        last, unknown = self._walk(deadline.due.astimezone(SHANGHAI).date(), days)
        years = set(deadline.unknown_years) | unknown
        note_zh, note_en = _notes(years)
        return replace(
            deadline,
            due=_end_of(last),
            working_days=deadline.working_days + days,
            calendar_known=not years,
            note_zh=note_zh,
            note_en=note_en,
            unknown_years=tuple(sorted(years)),
        )

    def extend_for_pause(self, deadline: Deadline, paused_from: datetime, resumed_at: datetime) -> Deadline:
        """Give back the working days the clock stood still while the applicant corrected materials (补正).

        Days paused = working days after the pause day up to and including the day it resumed.
        """
        if resumed_at < paused_from:
            raise ValueError("a pause cannot end before it starts")
        paused = self.working_days_between(paused_from, resumed_at)
        if paused == 0:
            return deadline
        moved = self._push(deadline, paused)
        return replace(moved, paused_working_days=deadline.paused_working_days + paused)

    def extend(self, deadline: Deadline, days: int, reason: str) -> Deadline:
        """The one extension the law allows (e.g. 20 + 10 working days), with its reason.

        Raises `Conflict` if this deadline was already extended.
        """
        if days < 1:
            raise ValueError("an extension is at least one working day")
        if not reason.strip():
            raise ValueError("an extension needs a reason")
        if deadline.extension_days:
            raise Conflict(
                "deadline_already_extended",
                "办理期限只能延长一次，本件已延长过。",
                "A time limit can be extended only once, and this one already was.",
                extra={"extension_days": deadline.extension_days},
            )
        return replace(self._push(deadline, days), extension_days=days, extension_reason=reason.strip())
