"""Reviewer routes through the Lambda handler: queue by deadline, decisions, audit trail, events, 409s."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from onestop.applications.clock import WorkingDayClock
from onestop.applications.identity import principal_from_claims
from onestop.applications.models import Application, ApplicationStatus, iso
from onestop.applications.service import ApplicationService
from onestop.applications.state import Action
from onestop.aws.application_repository import DynamoApplicationRepository
from onestop.aws.events import EventBridgePublisher
from onestop.catalogue import load_catalogue
from onestop.errors import Conflict

from .api_helpers import (
    BUS,
    REGION,
    SMALL_ITEM,
    TABLE,
    USCC_A,
    Aws,
    Client,
    catalogued,
    claims,
    moto_aws,
    new_application,
)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    with moto_aws(monkeypatch) as stack:
        yield stack


alice = Client("alice-sub")
reviewer = Client("reviewer-1", ("reviewer",))
# A Monday in a year whose holiday calendar is known, so deadlines are exact.
T0 = datetime(2025, 6, 9, 2, 0, tzinfo=UTC)


def at(moment: datetime) -> None:
    """Set the service's clock (the API's "now")."""
    from onestop.http.context import application_service

    application_service().now = lambda: moment


def submitted(aws: Aws, when: datetime = T0) -> dict[str, Any]:
    at(when)
    app = new_application(alice)
    catalogued(aws, alice, app["id"], "application", "application_form")
    catalogued(aws, alice, app["id"], "business_licence", "business_licence", {"uscc": USCC_A})
    reply = alice.post(f"/applications/{app['id']}/submit")
    assert reply.status == 200, reply.body
    return dict(reply.body)


def decide(application_id: str, action: str, **body: Any) -> Any:
    return reviewer.post(f"/applications/{application_id}/decision", body={"action": action, **body})


def accepted(aws: Aws, when: datetime = T0) -> dict[str, Any]:
    app = submitted(aws, when)
    reply = decide(app["id"], "accept")
    assert reply.status == 200, reply.body
    return dict(reply.body)


def cursor_of(state: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(state).encode()).decode()


def events_of(aws: Aws, detail_type: str) -> list[dict[str, Any]]:
    return [e for e in aws.bus_events() if e["detail-type"] == detail_type]


# ----------------------------------------------------------------------------- queue


def test_queue_orders_by_due_time_across_statuses_with_flags(aws: Aws) -> None:
    overdue = submitted(aws, T0 - timedelta(days=30))
    later = submitted(aws, T0)
    soon = accepted(aws, T0 - timedelta(days=1))  # promised limit of 2 working days from Sunday
    at(T0)
    reply = reviewer.get("/review/queue")
    assert reply.status == 200
    entries = reply.body["items"]
    assert [e["id"] for e in entries] == [overdue["id"], soon["id"], later["id"]]
    assert [(e["overdue"], e["at_risk"]) for e in entries] == [(True, False), (False, True), (False, False)]
    assert entries[0]["due"] == entries[0]["acceptance_due"]["due"]
    assert entries[1]["due"] == entries[1]["deadline"]["due"]

    only_accepted = reviewer.get("/review/queue", query={"status": "accepted"}).body["items"]
    assert [e["id"] for e in only_accepted] == [soon["id"]]
    at_risk = reviewer.get("/review/queue", query={"at_risk": "true"}).body["items"]
    assert [e["id"] for e in at_risk] == [overdue["id"], soon["id"]]


def test_queue_pages_follow_the_same_order(aws: Aws) -> None:
    ids = [submitted(aws, T0 - timedelta(days=d))["id"] for d in (1, 9, 4)]
    accepted_id = accepted(aws, T0 - timedelta(days=2))["id"]
    at(T0)
    everything = [e["id"] for e in reviewer.get("/review/queue").body["items"]]
    assert set(everything) == {*ids, accepted_id}
    seen: list[str] = []
    cursor = None
    for _ in range(10):
        query = {"limit": "1", **({"cursor": cursor} if cursor else {})}
        page = reviewer.get("/review/queue", query=query).body
        seen += [e["id"] for e in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == everything
    crafted = base64.urlsafe_b64encode(json.dumps({"submitted": 5, "accepted": None}).encode()).decode()
    for cursor in ["garbage", crafted, cursor_of({"submitted": None})]:
        bad = reviewer.get("/review/queue", query={"cursor": cursor})
        assert bad.status == 422, cursor
        assert bad.body["details"][0]["field"] == "cursor"


# ----------------------------------------------------------------------------- decisions


def test_accept_sets_the_deadline_from_the_promised_limit(aws: Aws) -> None:
    app = submitted(aws)
    reply = decide(app["id"], "accept", comment="材料齐全，予以受理")
    assert reply.status == 200
    expected = WorkingDayClock().add_working_days(T0, load_catalogue().item(SMALL_ITEM).promised_limit_days)
    deadline = reply.body["deadline"]
    assert datetime.fromisoformat(deadline["due"]) == expected.due
    assert deadline["working_days"] == expected.working_days
    assert deadline["calendar_known"] is True
    stored = aws.table.get_item(Key={"PK": f"APP#{app['id']}", "SK": "META"})["Item"]
    assert stored["GSI1PK"] == "STATUS#accepted"
    assert stored["GSI1SK"] == f"{iso(expected.due)}#{app['id']}"
    [event] = events_of(aws, "ApplicationAccepted")
    assert event["detail"]["deadline"] == iso(expected.due)


def test_correction_then_resubmission(aws: Aws) -> None:
    app = submitted(aws)
    reasons = [
        {
            "zh": "营业执照复印件不清晰",
            "en": "The business licence copy is illegible",
            "slot": "business_licence",
        }
    ]
    reply = decide(app["id"], "request_correction", reasons=reasons)
    assert reply.status == 200
    assert reply.body["status"] == "correction_requested"
    detail = alice.get(f"/applications/{app['id']}").body
    [reason] = detail["correction_reasons"]
    assert reason["zh"] == "「营业执照」：营业执照复印件不清晰"
    assert reason["field"] == "materials.business_licence"
    # the applicant replaces the licence and submits again
    old = next(m for m in detail["materials"] if m["slot"] == "business_licence")
    removed = alice.delete(f"/applications/{app['id']}/materials/business_licence/uploads/{old['upload_id']}")
    assert removed.status == 204
    catalogued(aws, alice, app["id"], "business_licence", "business_licence", {"uscc": USCC_A})
    again = alice.post(f"/applications/{app['id']}/submit")
    assert again.status == 200, again.body
    assert again.body["status"] == "submitted"
    trail = alice.get(f"/applications/{app['id']}").body["audit_trail"]
    assert [(e["action"], e["to_status"]) for e in trail] == [
        ("create", "draft"),
        ("submit", "submitted"),
        ("request_correction", "correction_requested"),
        ("remove_material", "correction_requested"),
        ("submit", "submitted"),
    ]
    assert trail[2]["actor"] == "reviewer-1"
    assert trail[2]["actor_role"] == "reviewer"
    assert trail[2]["reasons"][0]["zh"] == reason["zh"]


@pytest.mark.parametrize("action", ["request_correction", "reject"])
def test_correction_and_rejection_need_reasons(aws: Aws, action: str) -> None:
    app = accepted(aws)
    reply = decide(app["id"], action)
    assert reply.status == 422
    assert reply.body["details"][0]["field"] == "reasons"
    unknown_slot = decide(app["id"], action, reasons=[{"zh": "不清晰", "slot": "no_such_slot"}])
    assert unknown_slot.status == 422
    assert unknown_slot.body["details"][0]["field"] == "reasons[0].slot"


def test_approve_publishes_application_approved_after_the_write(aws: Aws) -> None:
    app = accepted(aws)
    aws.bus_events()
    at(T0 + timedelta(days=1))
    reply = decide(app["id"], "approve", comment="同意")
    assert reply.status == 200
    assert reply.body["status"] == "approved"
    [event] = events_of(aws, "ApplicationApproved")
    assert event["source"] == "onestop"
    stored = aws.table.get_item(Key={"PK": f"APP#{app['id']}", "SK": "META"})["Item"]
    # The pinned set the approval was taken on (issue 13): what submit pinned, as the decision recorded it.
    pinned = [
        {k: e.get(k) for k in ("slot", "upload_id", "source", "version_id", "sha256", "normalised_sha256")}
        for e in stored["decision_evidence"]
    ]
    assert sorted(e["slot"] for e in pinned) == ["application", "business_licence"]
    assert stored["decision_evidence"] == stored["evidence"]
    assert event["detail"] == {
        "schema_version": 1,
        "application_id": app["id"],
        "item_code": SMALL_ITEM,
        "applicant": {"kind": "enterprise", "code": USCC_A, "name": "深圳市示例贸易有限公司"},
        "approved_at": iso(T0 + timedelta(days=1)),
        "approved_by": "reviewer-1",
        "evidence": pinned,
        "catalogue_version": 1,  # the licence spec is read from the version the application pinned
    }
    assert "pending_events" not in stored
    assert stored["decided_by"] == "reviewer-1"


def test_reject_with_reasons(aws: Aws) -> None:
    app = accepted(aws)
    aws.bus_events()
    reply = decide(app["id"], "reject", reasons=[{"zh": "场地不符合安全条件", "code": "site_unsafe"}])
    assert reply.status == 200
    assert reply.body["status"] == "rejected"
    [event] = events_of(aws, "ApplicationRejected")
    assert event["detail"]["reasons"][0]["code"] == "site_unsafe"
    detail = alice.get(f"/applications/{app['id']}").body
    assert detail["decision_reasons"][0]["en"].endswith("场地不符合安全条件")


def test_illegal_transitions_are_409_with_the_current_state(aws: Aws) -> None:
    draft = new_application(alice)
    reply = decide(draft["id"], "accept")
    assert reply.status == 409
    assert reply.body["current"] == {"status": "draft", "version": 1}
    assert reply.body["message"]["zh"]
    assert reply.body["message"]["en"]
    app = submitted(aws)
    early = decide(app["id"], "approve")
    assert early.status == 409
    assert early.body["current"]["status"] == "submitted"


def test_decision_body_is_validated(aws: Aws) -> None:
    app = submitted(aws)
    reply = decide(app["id"], "bless")
    assert reply.status == 422
    assert reply.body["details"][0]["field"] == "action"
    assert decide("0" * 32, "accept").status == 404


def test_sequential_double_approve_with_a_stale_version(aws: Aws) -> None:
    app = accepted(aws)
    aws.bus_events()
    stale = app["version"] - 1
    reply = decide(app["id"], "approve", version=stale)
    assert reply.status == 409
    assert reply.body["current"] == {"status": "accepted", "version": app["version"]}
    first = decide(app["id"], "approve", version=app["version"])
    assert first.status == 200
    second = decide(app["id"], "approve", version=app["version"])
    assert second.status == 409
    assert second.body["current"] == {"status": "approved", "version": app["version"] + 1}
    assert len(events_of(aws, "ApplicationApproved")) == 1


class _RacingRepository(DynamoApplicationRepository):
    """Both deciders read the same version before either writes."""

    def __init__(self, barrier: threading.Barrier) -> None:
        super().__init__(TABLE, table=boto3.resource("dynamodb", region_name=REGION).Table(TABLE))
        self.barrier = barrier
        self.read_versions: list[int] = []

    def get(self, application_id: str) -> Application | None:
        found = super().get(application_id)
        if found is not None and not self.read_versions:
            self.read_versions.append(found.version)
        return found

    def transition(self, before: Application, after: Application, event: Any, outbox: Any = None) -> None:
        self.barrier.wait(timeout=10)  # both have read and decided before either writes
        super().transition(before, after, event, outbox)


def test_concurrent_double_approve_gives_exactly_one_success(aws: Aws) -> None:
    app = accepted(aws)
    aws.bus_events()
    barrier = threading.Barrier(2)
    outcomes: list[Any] = []
    repositories: list[_RacingRepository] = []

    def approve(reviewer_sub: str) -> None:
        repository = _RacingRepository(barrier)
        repositories.append(repository)
        service = ApplicationService(
            repository,
            load_catalogue(),
            uploads=None,  # type: ignore[arg-type]  # not used by decisions
            publisher=EventBridgePublisher(BUS, "onestop", events=boto3.client("events", region_name=REGION)),
            clock=WorkingDayClock(),
        )
        principal = principal_from_claims(claims(reviewer_sub, ("reviewer",)))
        try:
            outcomes.append(service.decide(principal, app["id"], Action.APPROVE))
        except Conflict as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=approve, args=(sub,)) for sub in ("reviewer-1", "reviewer-2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    # both saw the same accepted version: the race was real
    assert [r.read_versions for r in repositories] == [[app["version"]], [app["version"]]]
    wins = [o for o in outcomes if isinstance(o, Application)]
    losses = [o for o in outcomes if isinstance(o, Conflict)]
    assert len(wins) == 1
    assert len(losses) == 1
    assert losses[0].extra["current"] == {"status": "approved", "version": wins[0].version}
    stored = aws.table.get_item(Key={"PK": f"APP#{app['id']}", "SK": "META"})["Item"]
    assert stored["status"] == ApplicationStatus.APPROVED
    assert stored["decided_by"] == wins[0].decided_by
    trail = reviewer.get(f"/applications/{app['id']}").body["audit_trail"]
    assert [e["action"] for e in trail].count("approve") == 1
    [event] = events_of(aws, "ApplicationApproved")
    assert event["detail"]["approved_by"] == wins[0].decided_by


def test_a_bus_failure_does_not_undo_the_decision(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> None:
    from onestop.errors import Unavailable
    from onestop.http.context import application_service

    app = accepted(aws)

    class DownBus:
        def publish(self, detail_type: str, detail: Any) -> None:
            raise Unavailable("event_not_published", "事件发布失败。", "The event could not be published.")

    monkeypatch.setattr(application_service(), "publisher", DownBus())
    reply = decide(app["id"], "approve")
    assert reply.status == 200
    stored = aws.table.get_item(Key={"PK": f"APP#{app['id']}", "SK": "META"})["Item"]
    assert stored["status"] == "approved"
    assert stored["pending_events"] == {"ApplicationApproved"}
