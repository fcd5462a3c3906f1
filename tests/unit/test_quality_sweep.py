"""The deadline sweep's rules: at risk / overdue on the working-day clock, one flag and one event each."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

import pytest
from onestop.applications.clock import SHANGHAI, WorkingDayClock
from onestop.applications.models import Applicant, Application, ApplicationStatus, DeadlineInfo, iso
from onestop.quality.models import DeadlineFlag, FlagLevel, SweepCandidate
from onestop.quality.sweep import DeadlineSweep, classify, horizon

CLOCK = WorkingDayClock()


def end_of(y: int, m: int, d: int) -> datetime:
    return datetime(y, m, d, 23, 59, 59, 999999, tzinfo=SHANGHAI)


def at(y: int, m: int, d: int, h: int = 10) -> datetime:
    return datetime(y, m, d, h, tzinfo=SHANGHAI)


@pytest.mark.parametrize(
    ("due", "now", "expected"),
    [
        (end_of(2025, 9, 30), at(2025, 9, 30), FlagLevel.AT_RISK),  # due today: 0 left
        (end_of(2025, 10, 9), at(2025, 9, 30), FlagLevel.AT_RISK),  # Oct 1-8 off: 1 left
        (end_of(2025, 10, 10), at(2025, 9, 30), None),  # 2 left
        (end_of(2025, 9, 28), at(2025, 9, 26), FlagLevel.AT_RISK),  # Sunday Sep 28 is a make-up working day
        (end_of(2025, 9, 29), at(2025, 9, 26), None),  # … so Monday is the second
        (end_of(2025, 6, 9), at(2025, 6, 6), FlagLevel.AT_RISK),  # Friday → Monday over a weekend
        (end_of(2025, 6, 10), at(2025, 6, 6), None),
        (end_of(2025, 9, 29), at(2025, 9, 30), FlagLevel.OVERDUE),
        (end_of(2025, 9, 30), end_of(2025, 9, 30), FlagLevel.AT_RISK),  # the due instant itself is on time
        (end_of(2025, 9, 30), end_of(2025, 9, 30) + timedelta(microseconds=1), FlagLevel.OVERDUE),
    ],
)
def test_classify(due: datetime, now: datetime, expected: FlagLevel | None) -> None:
    assert classify(CLOCK, due, now) == expected


def test_horizon_is_the_end_of_the_second_working_day() -> None:
    assert horizon(CLOCK, at(2025, 9, 30)) == end_of(2025, 10, 10)
    assert horizon(CLOCK, at(2025, 6, 6)) == end_of(2025, 6, 10)


def application(app_id: str, status: ApplicationStatus, due: datetime) -> Application:
    info = DeadlineInfo(due=due, working_days=10, calendar_known=True)
    return Application(
        id=app_id,
        item_code="outbound-investment-filing",
        item_name_zh="境外投资备案",
        item_name_en="Outbound investment filing",
        owner_sub="alice",
        applicant=Applicant(kind="enterprise", code="91440300MA5F00010X", name="示例公司"),
        status=status,
        version=3,
        created_at=due - timedelta(days=30),
        updated_at=due - timedelta(days=20),
        acceptance_due=info if status == ApplicationStatus.SUBMITTED else None,
        deadline=info if status == ApplicationStatus.ACCEPTED else None,
    )


class Store:
    """The SweepStore conditions in memory (the DynamoDB one is tested against moto)."""

    def __init__(self, *apps: Application) -> None:
        self.apps = {a.id: a for a in apps}
        self.flags: dict[str, DeadlineFlag] = {}
        self.writes = 0

    def key(self, app: Application) -> str:
        due = app.queue_due()
        return f"{iso(due) if due else '9999'}#{app.id}"

    def due_before(self, status: ApplicationStatus, before: datetime) -> Iterable[SweepCandidate]:
        found = [a for a in self.apps.values() if a.status == status and self.key(a) < iso(before)]
        for a in sorted(found, key=self.key):
            yield SweepCandidate(a, self.key(a), self.flags.get(a.id))

    def set_flag(
        self, candidate: SweepCandidate, flag: DeadlineFlag, replaces: Collection[FlagLevel]
    ) -> bool:
        app = self.apps[candidate.application.id]
        old = self.flags.get(app.id)
        if app.status != flag.status or self.key(app) != candidate.sort_key:
            return False
        if old is not None and old.due == flag.due and old.level not in replaces:
            return False
        self.flags[app.id] = flag
        self.writes += 1
        return True

    def mark_published(self, application_id: str, flag: DeadlineFlag) -> None:
        old = self.flags[application_id]
        if (old.due, old.level) == (flag.due, flag.level):
            self.flags[application_id] = DeadlineFlag(**{**old.__dict__, "published": True})


class Bus:
    def __init__(self, fail: int = 0) -> None:
        self.events: list[tuple[str, str]] = []
        self.fail = fail

    def publish(self, detail_type: str, detail: Mapping[str, Any]) -> None:
        if self.fail:
            self.fail -= 1
            raise RuntimeError("bus down")
        self.events.append((detail_type, str(detail["application_id"])))


def test_flags_escalate_once_and_never_go_back() -> None:
    app = application("a", ApplicationStatus.ACCEPTED, end_of(2025, 9, 30))
    store, bus = Store(app), Bus()
    sweep = DeadlineSweep(store, bus, CLOCK)
    first = sweep.run(at(2025, 9, 29))
    assert (first.at_risk, first.newly_at_risk, first.events_published) == (1, 1, 1)
    assert sweep.run(at(2025, 9, 30)).newly_at_risk == 0
    late = sweep.run(at(2025, 10, 1))
    assert (late.overdue, late.newly_overdue, late.events_published) == (1, 1, 1)
    again = sweep.run(at(2025, 10, 2))
    assert (again.overdue, again.newly_overdue, again.events_published) == (1, 0, 0)
    assert bus.events == [("DeadlineAtRisk", "a"), ("DeadlineOverdue", "a")]
    assert store.flags["a"].level == FlagLevel.OVERDUE
    assert store.flags["a"].published


def test_a_new_due_time_is_flagged_again() -> None:
    app = application("a", ApplicationStatus.ACCEPTED, end_of(2025, 9, 30))
    store, bus = Store(app), Bus()
    sweep = DeadlineSweep(store, bus, CLOCK)
    sweep.run(at(2025, 10, 9))
    # Extended by 10 working days (Oct 10 → Oct 24): at risk again only when that comes close.
    store.apps["a"] = application("a", ApplicationStatus.ACCEPTED, end_of(2025, 10, 24))
    assert sweep.run(at(2025, 10, 13)).examined == 0  # outside the horizon: not even read
    assert sweep.run(at(2025, 10, 23)).newly_at_risk == 1
    assert bus.events == [("DeadlineOverdue", "a"), ("DeadlineAtRisk", "a")]


def test_an_event_that_failed_is_published_by_the_next_run_only() -> None:
    app = application("s", ApplicationStatus.SUBMITTED, end_of(2025, 9, 26))
    store, bus = Store(app), Bus(fail=1)
    sweep = DeadlineSweep(store, bus, CLOCK)
    failed = sweep.run(at(2025, 9, 30))
    assert (failed.newly_overdue, failed.events_published, failed.events_failed) == (1, 0, 1)
    assert not store.flags["s"].published
    retried = sweep.run(at(2025, 9, 30, 11))
    assert (retried.newly_overdue, retried.events_published, retried.events_failed) == (0, 1, 0)
    assert sweep.run(at(2025, 9, 30, 12)).events_published == 0
    assert bus.events == [("DeadlineOverdue", "s")]
    assert store.writes == 1


def test_an_application_that_moved_on_is_not_flagged() -> None:
    app = application("a", ApplicationStatus.ACCEPTED, end_of(2025, 9, 26))
    bus = Bus()

    class Racing(Store):
        def due_before(self, status: ApplicationStatus, before: datetime) -> Iterable[SweepCandidate]:
            found = list(super().due_before(status, before))
            if found:  # decided by a reviewer between the query and the flag
                self.apps["a"] = self.apps["a"].model_copy(update={"status": ApplicationStatus.APPROVED})
            return found

    racing = Racing(app)
    result = DeadlineSweep(racing, bus, CLOCK).run(at(2025, 9, 30))
    assert (result.overdue, result.newly_overdue, result.events_published) == (1, 0, 0)
    assert bus.events == []
    assert racing.flags == {}


def test_the_sweep_needs_an_aware_time() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        DeadlineSweep(Store(), Bus(), CLOCK).run(datetime(2025, 9, 30, 10))
