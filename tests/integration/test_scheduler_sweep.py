"""The scheduler function's deadline sweep against moto: exactly the at-risk and overdue applications
are flagged and announced, once; a second run flags and publishes nothing new; nothing scans."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from onestop.applications.clock import SHANGHAI, WorkingDayClock
from onestop.applications.models import (
    Applicant,
    Application,
    ApplicationStatus,
    AuditEvent,
    DeadlineInfo,
)
from onestop.aws.application_repository import DynamoApplicationRepository
from onestop.aws.composition import scheduled_runs
from onestop.aws.events import EventBridgePublisher
from onestop.aws.quality_repository import DynamoQualityRepository
from onestop.observability import metrics
from onestop.quality.sweep import DeadlineSweep

from functions.scheduler.app import lambda_handler

from .api_helpers import BUS, TABLE, USCC_A, Aws, LambdaContext, moto_aws


def run(kind: str, now: datetime) -> dict[str, Any]:
    """The scheduler's run as of `now`, wired as the function wires it."""
    return scheduled_runs().run(kind, now)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    with moto_aws(monkeypatch) as stack:
        yield stack


S = ApplicationStatus
# Tuesday before the 2025 National Day holiday (Oct 1-8 off, Sat Oct 11 a make-up working day).
NOW = datetime(2025, 9, 30, 10, 0, tzinfo=SHANGHAI)


def end_of(y: int, m: int, d: int) -> datetime:
    return datetime(y, m, d, 23, 59, 59, 999999, tzinfo=SHANGHAI)


def seed(status: ApplicationStatus, due: datetime, *, item: str = "outbound-investment-filing") -> str:
    """An application in `status` whose running deadline (acceptance or decision) is `due`."""
    info = DeadlineInfo(due=due, working_days=2, calendar_known=True)
    created = due - timedelta(days=20)
    app = Application(
        id=uuid.uuid4().hex,
        item_code=item,
        item_name_zh="境外投资备案",
        item_name_en="Outbound investment filing",
        owner_sub="alice-sub",
        applicant=Applicant(kind="enterprise", code=USCC_A, name="深圳市示例贸易有限公司"),
        status=status,
        version={S.SUBMITTED: 2, S.ACCEPTED: 3, S.CORRECTION_REQUESTED: 3, S.APPROVED: 4}[status],
        created_at=created,
        updated_at=created,
        submitted_at=created,
        acceptance_due=info if status == S.SUBMITTED else None,
        accepted_at=created if status != S.SUBMITTED else None,
        deadline=info if status != S.SUBMITTED else None,
        decided_at=due - timedelta(days=1) if status == S.APPROVED else None,
    )
    event = AuditEvent(
        application_id=app.id, at=created, n=1, actor="seed", action="create", to_status=status
    )
    DynamoApplicationRepository(TABLE).create(app, event)
    return app.id


def flag_of(aws: Aws, application_id: str) -> dict[str, Any] | None:
    item = aws.table.get_item(Key={"PK": f"APP#{application_id}", "SK": "META"})["Item"]
    return item.get("deadline_flag")


def deadline_events(aws: Aws) -> list[dict[str, Any]]:
    """The deadline flags' events on the bus (escalations: tests/integration/test_scheduler_escalation.py)."""
    return [e for e in aws.bus_events() if e["detail-type"] != "ApplicationEscalated"]


def announced(aws: Aws) -> list[tuple[str, str]]:
    return sorted((e["detail-type"], e["detail"]["application_id"]) for e in deadline_events(aws))


class NoScan:
    """The table, with every query recorded and scans forbidden."""

    def __init__(self, table: Any) -> None:
        self._table = table
        self.queries: list[dict[str, Any]] = []

    def query(self, **kwargs: Any) -> Any:
        self.queries.append(kwargs)
        return self._table.query(**kwargs)

    def scan(self, **kwargs: Any) -> Any:
        raise AssertionError("the sweep must not scan")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._table, name)


@pytest.fixture
def watched(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> Iterator[NoScan]:
    proxy = NoScan(aws.table)
    # Only the quality repository's table: the outbox drain's plain query is not the sweep's.
    monkeypatch.setattr(DynamoQualityRepository, "table", property(lambda self: proxy))
    return proxy


@pytest.fixture
def seeded(aws: Aws) -> dict[str, str]:
    return {
        "overdue_decision": seed(S.ACCEPTED, end_of(2025, 9, 26)),
        "overdue_acceptance": seed(S.SUBMITTED, end_of(2025, 9, 29)),
        "due_today": seed(S.ACCEPTED, end_of(2025, 9, 30)),  # 0 working days left
        "due_after_holiday": seed(S.ACCEPTED, end_of(2025, 10, 9)),  # 1 left: Oct 1-8 do not count
        "acceptance_after_holiday": seed(S.SUBMITTED, end_of(2025, 10, 9)),
        "two_days_left": seed(S.ACCEPTED, end_of(2025, 10, 10)),
        "far": seed(S.ACCEPTED, end_of(2025, 11, 28)),
        "paused": seed(S.CORRECTION_REQUESTED, end_of(2025, 9, 20)),  # the applicant holds the clock
        "decided": seed(S.APPROVED, end_of(2025, 9, 20)),
    }


def test_exactly_the_at_risk_and_overdue_are_flagged_once(
    aws: Aws, seeded: dict[str, str], watched: NoScan
) -> None:
    first = run("hourly", NOW)
    assert first == {
        "sweep": "hourly",
        "events_republished": 0,  # nothing owed: every transition's event went out
        "events_still_owed": 0,
        "examined": 5,  # the index query reads only what is due within two working days
        "at_risk": 3,
        "overdue": 2,
        "newly_at_risk": 3,
        "newly_overdue": 2,
        "events_published": 5,
        "events_failed": 0,
        "cases_open": 0,
        "cases_overdue": 0,
        "escalated": 5,  # each at risk or overdue goes to the admins once
    }
    expected = {
        "overdue_decision": ("overdue", "decision"),
        "overdue_acceptance": ("overdue", "acceptance"),
        "due_today": ("at_risk", "decision"),
        "due_after_holiday": ("at_risk", "decision"),
        "acceptance_after_holiday": ("at_risk", "acceptance"),
    }
    for name, app_id in seeded.items():
        flag = flag_of(aws, app_id)
        if name in expected:
            assert flag is not None, name
            assert (flag["level"], flag["kind"], flag["published"]) == (*expected[name], True)
        else:
            assert flag is None, name
    events = deadline_events(aws)
    assert sorted((e["detail-type"], e["detail"]["application_id"]) for e in events) == sorted(
        [
            ("DeadlineOverdue", seeded["overdue_decision"]),
            ("DeadlineOverdue", seeded["overdue_acceptance"]),
            ("DeadlineAtRisk", seeded["due_today"]),
            ("DeadlineAtRisk", seeded["due_after_holiday"]),
            ("DeadlineAtRisk", seeded["acceptance_after_holiday"]),
        ]
    )
    holiday = next(
        e["detail"] for e in events if e["detail"]["application_id"] == seeded["due_after_holiday"]
    )
    assert holiday["working_days_left"] == 1
    assert holiday["due_local_date"] == "2025-10-09"
    assert holiday["due"] == "2025-10-09T15:59:59Z"
    assert all(e["source"] == "onestop" for e in events)

    flags_before = {k: flag_of(aws, v) for k, v in seeded.items()}
    second = run("hourly", NOW + timedelta(minutes=5))
    assert (second["at_risk"], second["overdue"]) == (3, 2)
    assert (second["newly_at_risk"], second["newly_overdue"], second["events_published"]) == (0, 0, 0)
    assert announced(aws) == []
    assert {k: flag_of(aws, v) for k, v in seeded.items()} == flags_before

    # Only index queries, each bounded on the sort key by the horizon (end of Oct 10 in Shanghai).
    # (The unclosed rectification cases are counted from their own three small partitions.)
    assert all(q["IndexName"] == "ByStatusDeadline" for q in watched.queries)
    conditions = [q["KeyConditionExpression"].get_expression() for q in watched.queries]
    bounded = [c["values"] for c in conditions if c["operator"] == "AND"]
    whole = sorted(c["values"][1] for c in conditions if c["operator"] == "=")
    assert whole == sorted(["CASES#open", "CASES#verified", "CASES#rectified"] * 2)
    assert len(bounded) == 4  # two statuses, two runs
    for partition, bound in bounded:
        assert partition.get_expression()["values"][1] in {"STATUS#submitted", "STATUS#accepted"}
        assert bound.get_expression()["operator"] == "<"
        assert bound.get_expression()["values"][1] == "2025-10-10T15:59:59Z"


def test_at_risk_becomes_overdue_once(aws: Aws, seeded: dict[str, str]) -> None:
    run("hourly", NOW)
    aws.bus_events()
    holiday = run("hourly", datetime(2025, 10, 1, 10, tzinfo=SHANGHAI))
    assert (holiday["at_risk"], holiday["overdue"]) == (2, 3)
    assert (holiday["newly_at_risk"], holiday["newly_overdue"]) == (0, 1)
    assert announced(aws) == [("DeadlineOverdue", seeded["due_today"])]
    assert flag_of(aws, seeded["due_today"])["level"] == "overdue"  # type: ignore[index]
    assert run("hourly", datetime(2025, 10, 2, 10, tzinfo=SHANGHAI))["events_published"] == 0
    assert announced(aws) == []


def test_an_extended_deadline_is_flagged_again(aws: Aws) -> None:
    app_id = seed(S.ACCEPTED, end_of(2025, 9, 26))
    run("hourly", NOW)
    assert announced(aws) == [("DeadlineOverdue", app_id)]
    # Extended (20 + 10 style) through the applications repository: new due time, new sort key.
    repository = DynamoApplicationRepository(TABLE)
    before = repository.get(app_id)
    assert before is not None
    assert before.deadline is not None
    new_deadline = before.deadline.model_copy(update={"due": end_of(2025, 10, 14)})
    after = before.model_copy(update={"deadline": new_deadline, "version": before.version + 1})
    event = AuditEvent(application_id=app_id, at=NOW, n=after.version, actor="rev", action="extend")
    repository.transition(before, after, event)
    assert run("hourly", NOW + timedelta(hours=1))["examined"] == 0  # out of the horizon now
    again = run("hourly", datetime(2025, 10, 13, 10, tzinfo=SHANGHAI))
    assert (again["newly_at_risk"], again["events_published"]) == (1, 1)
    assert announced(aws) == [("DeadlineAtRisk", app_id)]
    flag = flag_of(aws, app_id)
    assert flag is not None
    assert (flag["level"], flag["due"]) == ("at_risk", "2025-10-14T15:59:59Z")


class FlakyBus:
    """Fails the first publication, then passes them to the real bus."""

    def __init__(self) -> None:
        self.real = EventBridgePublisher(BUS, "onestop")
        self.failures = 1

    def publish(self, detail_type: str, detail: Mapping[str, Any]) -> None:
        if self.failures:
            self.failures -= 1
            raise RuntimeError("bus unavailable")
        self.real.publish(detail_type, detail)


def test_an_event_lost_to_a_bus_failure_goes_out_on_the_next_run(aws: Aws) -> None:
    app_id = seed(S.ACCEPTED, end_of(2025, 9, 26))
    sweep = DeadlineSweep(DynamoQualityRepository(TABLE), FlakyBus(), WorkingDayClock())
    failed = sweep.run(NOW)
    assert (failed.newly_overdue, failed.events_failed, failed.events_published) == (1, 1, 0)
    assert flag_of(aws, app_id)["published"] is False  # type: ignore[index]
    assert announced(aws) == []
    retried = sweep.run(NOW + timedelta(hours=1))
    assert (retried.newly_overdue, retried.events_published) == (0, 1)
    assert flag_of(aws, app_id)["published"] is True  # type: ignore[index]
    assert announced(aws) == [("DeadlineOverdue", app_id)]
    assert sweep.run(NOW + timedelta(hours=2)).events_published == 0
    assert announced(aws) == []


def test_daily_sweep_also_reports_yesterday(aws: Aws, seeded: dict[str, str]) -> None:
    # Approved yesterday (Sep 29) within its deadline, accepted on Sep 26 (working days: Sep 28, 29).
    repository = DynamoApplicationRepository(TABLE)
    app = Application(
        id=uuid.uuid4().hex,
        item_code="outbound-investment-filing",
        item_name_zh="境外投资备案",
        item_name_en="Outbound investment filing",
        owner_sub="bob",
        applicant=Applicant(kind="enterprise", code=USCC_A, name="深圳市示例贸易有限公司"),
        status=S.APPROVED,
        version=4,
        created_at=datetime(2025, 9, 26, 8, tzinfo=SHANGHAI),
        updated_at=datetime(2025, 9, 29, 16, tzinfo=SHANGHAI),
        submitted_at=datetime(2025, 9, 26, 9, tzinfo=SHANGHAI),
        accepted_at=datetime(2025, 9, 26, 10, tzinfo=SHANGHAI),
        deadline=DeadlineInfo(due=end_of(2025, 9, 29), working_days=2, calendar_known=True),
        decided_at=datetime(2025, 9, 29, 16, tzinfo=SHANGHAI),
    )
    repository.create(
        app, AuditEvent(application_id=app.id, at=app.created_at, n=1, actor="s", action="create")
    )
    counts = run("daily", NOW)
    assert counts["sweep"] == "daily"
    assert (counts["newly_at_risk"], counts["newly_overdue"]) == (3, 2)
    assert counts["kpi_date"] == "2025-09-29"
    assert (counts["kpi_completed"], counts["kpi_on_time"], counts["kpi_late"]) == (1, 1, 0)
    assert counts["kpi_received"] == 0
    # Late during Sep 29: only the decision due on Sep 26 (the acceptance due at the end of Sep 29
    # was still on time that day; the paused and the decided ones do not count).
    assert counts["kpi_overdue"] == 1
    assert counts["kpi_open_bad_review_cases"] == 0


def test_unknown_sweep_is_refused(aws: Aws) -> None:
    with pytest.raises(ValueError, match="unknown sweep"):
        run("weekly", NOW)


@pytest.fixture
def scheduler_metrics(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "scheduler")
    metrics.clear_metrics()  # what earlier tests added outside a handler was never flushed
    yield
    metrics.clear_default_dimensions()
    metrics.clear_metrics()


def test_handler_wiring_with_the_real_clock(
    aws: Aws, scheduler_metrics: None, capsys: pytest.CaptureFixture[str]
) -> None:
    now = datetime.now(UTC)
    late = seed(S.ACCEPTED, now - timedelta(days=5))
    seed(S.ACCEPTED, now + timedelta(days=60))
    counts = lambda_handler({"sweep": "hourly"}, LambdaContext())
    assert (counts["overdue"], counts["newly_overdue"], counts["at_risk"]) == (1, 1, 0)
    assert announced(aws) == [("DeadlineOverdue", late)]
    emitted = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    blob = next(e for e in emitted if "ApplicationsOverdue" in e)
    # The dashboard and the "zero overdue" alarm select service=scheduler.
    assert blob["service"] == "scheduler"
    assert blob["ApplicationsOverdue"] == [1.0]
    assert blob["ApplicationsAtRisk"] == [0.0]
