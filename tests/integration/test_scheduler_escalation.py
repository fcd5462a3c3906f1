"""Escalation by the scheduler's deadline sweep against moto (issue 18 item 5): an application at risk
or overdue is escalated to the admins once per due time and level, with ApplicationEscalated and an
audit event; a second sweep, two sweeps at once, or a stale replay escalate nothing more; a bus
failure leaves the event owed and the next run's drain sends it once; the admin's queue shows it."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta
from typing import Any

import pytest
from onestop.applications import assignment
from onestop.applications.clock import SHANGHAI, WorkingDayClock
from onestop.applications.models import Application
from onestop.aws.application_repository import DynamoApplicationRepository
from onestop.aws.assignment_store import DynamoAssignmentStore
from onestop.aws.composition import scheduled_runs
from onestop.aws.events import EventBridgePublisher
from onestop.aws.quality_repository import DynamoQualityRepository
from onestop.quality.sweep import DeadlineSweep

from .api_helpers import BUS, TABLE, Aws, Client, moto_aws
from .test_scheduler_sweep import NOW, S, end_of, seed

admin = Client("boss", ("admin",))
rev_a = Client("rev-a", ("reviewer",))


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    with moto_aws(monkeypatch) as stack:
        yield stack


def escalations(aws: Aws) -> list[dict[str, Any]]:
    return [e["detail"] for e in aws.bus_events() if e["detail-type"] == "ApplicationEscalated"]


def trail(application_id: str) -> list[dict[str, Any]]:
    return [
        e
        for e in admin.get(f"/applications/{application_id}").body["audit_trail"]
        if e["action"] == "escalate"
    ]


def stored(aws: Aws, application_id: str) -> dict[str, Any]:
    return dict(aws.table.get_item(Key={"PK": f"APP#{application_id}", "SK": "META"})["Item"])


def test_at_risk_escalates_once_with_its_event_and_audit(aws: Aws) -> None:
    app_id = seed(S.ACCEPTED, end_of(2025, 10, 9))  # one working day left (the holiday does not count)
    counts = scheduled_runs().run("hourly", NOW)
    assert counts["escalated"] == 1
    [event] = escalations(aws)
    assert event == {
        "schema_version": 1,
        "application_id": app_id,
        "item_code": "outbound-investment-filing",
        "item_name_zh": "境外投资备案",
        "item_name_en": "Outbound investment filing",
        "level": "at_risk",
        "due": "2025-10-09T15:59:59Z",
        "working_days_left": 1,
        "assignee": None,
        "escalated_at": "2025-09-30T02:00:00Z",
    }
    assert stored(aws, app_id)["escalated"] == {
        "level": "at_risk",
        "due": "2025-10-09T15:59:59Z",
        "at": "2025-09-30T02:00:00Z",
    }
    [audit] = trail(app_id)
    assert (audit["actor"], audit["actor_role"]) == ("scheduler", "system")
    assert audit["reasons"][0]["code"] == "deadline_at_risk"
    # A second sweep (and a third, later the same day) escalates nothing more.
    for minutes in (5, 60):
        assert scheduled_runs().run("hourly", NOW + timedelta(minutes=minutes))["escalated"] == 0
    assert escalations(aws) == []
    assert len(trail(app_id)) == 1
    # Nothing stays owed.
    assert DynamoApplicationRepository(TABLE).pending_outbox() == []


def test_at_risk_then_overdue_escalates_again_once(aws: Aws) -> None:
    app_id = seed(S.ACCEPTED, end_of(2025, 9, 30))
    assert scheduled_runs().run("hourly", NOW)["escalated"] == 1
    later = datetime(2025, 10, 1, 10, tzinfo=SHANGHAI)
    assert scheduled_runs().run("hourly", later)["escalated"] == 1
    assert scheduled_runs().run("hourly", later + timedelta(hours=1))["escalated"] == 0
    assert [e["level"] for e in escalations(aws)] == ["at_risk", "overdue"]
    assert [a["reasons"][0]["code"] for a in trail(app_id)] == ["deadline_at_risk", "deadline_overdue"]


def test_a_stale_replay_of_an_escalation_does_nothing(aws: Aws) -> None:
    app_id = seed(S.ACCEPTED, end_of(2025, 9, 26))
    stale = DynamoApplicationRepository(TABLE).get(app_id)  # read before the escalation
    assert stale is not None
    scheduled_runs().run("hourly", NOW)
    sort_key = str(stored(aws, app_id)["GSI1SK"])
    replayed = assignment.escalate(
        DynamoAssignmentStore(TABLE),
        EventBridgePublisher(BUS, "onestop"),
        stale,
        sort_key=sort_key,
        level="overdue",
        due=end_of(2025, 9, 26),
        working_days_left=0,
        now=NOW + timedelta(minutes=1),
    )
    assert replayed is False
    assert len(escalations(aws)) == 1
    assert len(trail(app_id)) == 1


class _RacingStore(DynamoAssignmentStore):
    """Both sweeps have read the application unescalated before either writes."""

    def __init__(self, barrier: threading.Barrier) -> None:
        super().__init__(TABLE)
        self.barrier = barrier

    def escalate(self, application: Application, **kw: Any) -> bool:
        self.barrier.wait(timeout=10)
        return super().escalate(application, **kw)


def test_two_sweeps_at_once_escalate_once(aws: Aws) -> None:
    app_id = seed(S.ACCEPTED, end_of(2025, 9, 26))
    barrier = threading.Barrier(2)
    results: list[int] = []

    def sweep() -> None:
        run = DeadlineSweep(
            DynamoQualityRepository(TABLE),
            EventBridgePublisher(BUS, "onestop"),
            WorkingDayClock(),
            escalations=_RacingStore(barrier),
        ).run(NOW)
        results.append(run.escalated)

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(results) == [0, 1]
    assert len(escalations(aws)) == 1
    assert len(trail(app_id)) == 1


class _FailingBus:
    def publish(self, detail_type: str, detail: Mapping[str, Any]) -> None:
        raise RuntimeError("bus unavailable")


def test_an_escalation_lost_to_the_bus_goes_out_on_the_next_run_once(aws: Aws) -> None:
    app_id = seed(S.ACCEPTED, end_of(2025, 9, 26))
    store = DynamoAssignmentStore(TABLE)
    failed = DeadlineSweep(
        DynamoQualityRepository(TABLE), _FailingBus(), WorkingDayClock(), escalations=store
    )
    assert failed.run(NOW).escalated == 1
    assert escalations(aws) == []
    owed = DynamoApplicationRepository(TABLE).pending_outbox()
    assert [(o.detail_type, o.owner) for o in owed] == [("ApplicationEscalated", app_id)]
    scheduled_runs().run("hourly", NOW + timedelta(hours=1))  # the drain, then the sweep
    sent = escalations(aws)
    assert [e["application_id"] for e in sent] == [app_id]
    scheduled_runs().run("hourly", NOW + timedelta(hours=2))
    assert escalations(aws) == []


def test_the_admins_queue_shows_escalated_applications_with_their_assignee(aws: Aws) -> None:
    from onestop.http.context import application_service

    late = seed(S.ACCEPTED, end_of(2025, 9, 26))
    calm = seed(S.ACCEPTED, end_of(2025, 11, 28))
    application_service().now = lambda: NOW
    assert rev_a.post(f"/applications/{late}/claim").status == 200
    scheduled_runs().run("hourly", NOW)
    [event] = escalations(aws)
    assert event["assignee"] == "rev-a"
    rows = admin.get("/review/queue", query={"status": "accepted", "escalated": "true"}).body["items"]
    assert [(r["id"], r["escalated"], r["assignee"]) for r in rows] == [(late, True, "rev-a")]
    everything = {r["id"]: r for r in admin.get("/review/queue", query={"status": "accepted"}).body["items"]}
    assert everything[calm]["escalated"] is False
    shown = admin.get(f"/applications/{late}/assignment").body
    assert shown["escalated"]["level"] == "overdue"
    assert shown["escalated"]["current"] is True
    # The applicant's own view of the trail does not show staff escalations.
    owner = Client("alice-sub")
    assert all(e["action"] != "escalate" for e in owner.get(f"/applications/{late}").body["audit_trail"])


def test_the_sweeps_escalation_reaches_the_admins_through_the_notify_function(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The whole chain: the scheduler's sweep → ApplicationEscalated on the bus → engineer D's notify
    function → an e-mail to the admin group's members (SES in moto), sent once for a redelivery."""
    import boto3
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends
    from onestop.aws import composition
    from onestop.settings import reset_settings

    from functions.notify.app import lambda_handler

    from .api_helpers import LambdaContext

    region = "ap-southeast-1"  # SES and Cognito are not offered in cn-north-1
    monkeypatch.setenv("NOTIFY_SENDER", "noreply@bureau.gov.cn")
    monkeypatch.setenv("PORTAL_ORIGIN", "https://portal.example.gov.cn")
    monkeypatch.setenv("NOTIFY_REGION", region)
    with moto_aws(monkeypatch) as stack:
        boto3.client("ses", region_name=region).verify_email_identity(EmailAddress="noreply@bureau.gov.cn")
        idp = boto3.client("cognito-idp", region_name=region)
        pool = idp.create_user_pool(PoolName="onestop-test")["UserPool"]["Id"]
        idp.create_group(GroupName="admin", UserPoolId=pool)
        idp.admin_create_user(
            UserPoolId=pool,
            Username="chief",
            UserAttributes=[
                {"Name": "email", "Value": "chief@bureau.gov.cn"},
                {"Name": "email_verified", "Value": "true"},
            ],
            MessageAction="SUPPRESS",
        )
        idp.admin_add_user_to_group(UserPoolId=pool, Username="chief", GroupName="admin")
        monkeypatch.setenv("USER_POOL_ID", pool)
        reset_settings()
        composition.reset()

        app_id = seed(S.ACCEPTED, end_of(2025, 9, 26))
        scheduled_runs().run("hourly", NOW)
        [delivered] = [e for e in stack.bus_events() if e["detail-type"] == "ApplicationEscalated"]
        assert delivered["detail"]["application_id"] == app_id
        for _ in range(2):  # EventBridge delivers at least once
            lambda_handler(delivered, LambdaContext())
        mails = list(ses_backends[DEFAULT_ACCOUNT_ID][region].sent_messages)
        assert [m.destinations["ToAddresses"] for m in mails] == [["chief@bureau.gov.cn"]]
        assert f"#app={app_id}" in mails[0].body
