"""好差评, rectification cases and /stats through the api function (HTTP API events) against moto."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from onestop.applications.clock import SHANGHAI
from onestop.applications.models import AuditEvent, iso
from onestop.aws.application_repository import DynamoApplicationRepository
from onestop.aws.quality_repository import DynamoQualityRepository
from onestop.http import routes_quality

from tests.unit.test_quality_kpis import june

from .api_helpers import (
    TABLE,
    USCC_A,
    Aws,
    LambdaContext,
    Reply,
    catalogued,
    claims,
    http_event,
    moto_aws,
    new_application,
)
from .api_helpers import Client as AppClient


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    with moto_aws(monkeypatch) as stack:
        yield stack


# A Friday before the 2025 National Day holiday (Oct 1-8 off; Sun Sep 28, Sat Oct 11 worked).
T0 = datetime(2025, 9, 26, 10, 0, tzinfo=SHANGHAI)


def call(event: dict[str, Any]) -> Reply:
    from functions.api.app import lambda_handler

    result = lambda_handler(event, LambdaContext())
    raw = result.get("body") or ""
    body = json.loads(raw) if raw else None
    return Reply(result["statusCode"], body, {}, raw)


class Client:
    def __init__(self, sub: str | None, groups: tuple[str, ...] = ("applicant",)) -> None:
        self.claims = claims(sub, groups) if sub is not None else None

    def get(self, path: str, **kw: Any) -> Reply:
        return call(http_event("GET", path, claims=self.claims, **kw))

    def post(self, path: str, **kw: Any) -> Reply:
        return call(http_event("POST", path, claims=self.claims, **kw))


alice = Client("alice-sub")
bob = Client("bob-sub")
reviewer = Client("reviewer-1", ("reviewer",))
admin = Client("admin-1", ("admin",))
anonymous = Client(None)
alice_app = AppClient("alice-sub")
reviewer_app = AppClient("reviewer-1", ("reviewer",))

GOOD = {
    "overall_satisfaction": 5,
    "efficiency": 5,
    "guidance_accuracy": 4,
    "convenience": 5,
    "platform_usability": 4,
}
POOR = {
    "overall_satisfaction": 1,
    "efficiency": 2,
    "guidance_accuracy": 2,
    "convenience": 1,
    "platform_usability": 2,
}


@pytest.fixture
def clock(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> list[datetime]:
    """The time both the applications service and the quality routes act at (settable)."""
    from onestop.http.context import application_service

    moment = [T0]
    application_service().now = lambda: moment[0]
    monkeypatch.setattr(routes_quality, "now", lambda: moment[0])
    return moment


def finished(aws: Aws, outcome: str | None = "approve") -> str:
    """An application of alice's taken through submit and accept to `outcome` (None: left accepted)."""
    app = new_application(alice_app)
    catalogued(aws, alice_app, app["id"], "application", "application_form")
    catalogued(aws, alice_app, app["id"], "business_licence", "business_licence", {"uscc": USCC_A})
    assert alice_app.post(f"/applications/{app['id']}/submit").status == 200
    assert reviewer_app.post(f"/applications/{app['id']}/decision", body={"action": "accept"}).status == 200
    if outcome is not None:
        body: dict[str, Any] = {"action": outcome}
        if outcome == "reject":
            body["reasons"] = [{"zh": "经营场所不符合条件", "en": "The premises do not qualify"}]
        reply = reviewer_app.post(f"/applications/{app['id']}/decision", body=body)
        assert reply.status == 200, reply.body
    return str(app["id"])


# ----------------------------------------------------------------------------- reviews


def test_a_review_is_given_once_and_read_back(aws: Aws, clock: list[datetime]) -> None:
    app_id = finished(aws)
    reply = alice.post(
        f"/applications/{app_id}/review", body={"level": "satisfied", "indicators": GOOD, "comment": "很方便"}
    )
    assert reply.status == 201, reply.body
    body = reply.body
    assert (body["level"], body["score"], body["bad"], body["case"]) == ("satisfied", 4, False, None)
    assert body["level_name"] == {"zh": "满意", "en": "satisfied"}
    assert [(i["code"], i["score"]) for i in body["indicators"]] == list(GOOD.items())
    assert body["indicators"][0]["name"]["zh"] == "总体满意度"

    again = alice.post(f"/applications/{app_id}/review", body={"level": "very_satisfied", "indicators": GOOD})
    assert again.status == 409
    assert again.body["code"] == "already_reviewed"
    assert again.body["message"]["zh"]
    assert again.body["message"]["en"]

    for who in (alice, reviewer):
        read = who.get(f"/applications/{app_id}/review")
        assert read.status == 200
        assert read.body["level"] == "satisfied"
        assert read.body["comment"] == "很方便"
    stored = aws.table.get_item(Key={"PK": f"APP#{app_id}", "SK": "REVIEW"})["Item"]
    assert stored["GSI1PK"] == "REVIEWS#2025-09"
    assert stored["GSI1SK"] == f"{iso(T0)}#{app_id}"


def test_who_may_review_and_when(aws: Aws, clock: list[datetime]) -> None:
    pending = finished(aws, outcome=None)
    body = {"level": "satisfied", "indicators": GOOD}
    early = alice.post(f"/applications/{pending}/review", body=body)
    assert early.status == 409
    assert early.body["code"] == "review_not_yet_possible"
    assert early.body["current"]["status"] == "accepted"

    done = finished(aws)
    assert bob.post(f"/applications/{done}/review", body=body).status == 404
    refused = reviewer.post(f"/applications/{done}/review", body=body)
    assert refused.status == 403
    assert refused.body["code"] == "applicant_only"
    assert anonymous.post(f"/applications/{done}/review", body=body).status == 401
    assert bob.get(f"/applications/{done}/review").status == 404
    missing = alice.get(f"/applications/{done}/review")
    assert missing.status == 404
    assert missing.body["code"] == "review_not_found"

    invalid = alice.post(
        f"/applications/{done}/review",
        body={"level": "great", "indicators": {**GOOD, "efficiency": 6}, "extra": 1},
    )
    assert invalid.status == 422
    fields = {d["field"] for d in invalid.body["details"]}
    assert fields == {"level", "indicators.efficiency", "extra"}
    assert alice.post("/applications/not-an-id/review", body=body).status == 422
    # Nothing was stored by the refused attempts.
    assert "Item" not in aws.table.get_item(Key={"PK": f"APP#{done}", "SK": "REVIEW"})


# ----------------------------------------------------------------------------- cases


def test_a_bad_review_opens_a_case_worked_through_in_order(aws: Aws, clock: list[datetime]) -> None:
    app_id = finished(aws, outcome="reject")
    reply = alice.post(
        f"/applications/{app_id}/review",
        body={"level": "very_dissatisfied", "indicators": POOR, "comment": "要求的材料前后说法不一"},
    )
    assert reply.status == 201, reply.body
    case = reply.body["case"]
    assert reply.body["bad"] is True
    assert case["status"] == "open"
    # 10 working days from Fri Sep 26: Sep 28 (make-up Sunday), 29, 30, Oct 9, 10, 11 (make-up
    # Saturday), 13, 14, 15, 16.
    assert datetime.fromisoformat(case["deadline"]["due"]) == datetime(
        2025, 10, 16, 23, 59, 59, 999999, tzinfo=SHANGHAI
    )
    assert case["deadline"]["working_days"] == 10
    case_id = case["id"]

    assert alice.get("/cases").status == 403
    assert alice.get(f"/cases/{case_id}").status == 403
    assert anonymous.get("/cases").status == 401
    listed = reviewer.get("/cases")
    assert listed.status == 200
    assert [c["id"] for c in listed.body["items"]] == [case_id]
    assert listed.body["items"][0]["overdue"] is False
    assert listed.body["items"][0]["at_risk"] is False
    assert listed.body["items"][0]["review_comment"] == "要求的材料前后说法不一"
    assert reviewer.get(f"/cases/{'0' * 32}").status == 404

    early = reviewer.post(f"/cases/{case_id}/steps", body={"step": "rectify", "note": "先整改"})
    assert early.status == 409
    assert early.body["code"] == "illegal_case_step"
    assert early.body["current"] == {"status": "open", "version": 1, "next_step": "verify"}
    assert alice.post(f"/cases/{case_id}/steps", body={"step": "verify", "note": "x"}).status == 403
    empty = reviewer.post(f"/cases/{case_id}/steps", body={"step": "verify", "note": "  "})
    assert empty.status == 422
    assert [d["code"] for d in empty.body["details"]] == ["note_required"]  # the service's own words

    # One working day before the deadline (Wed Oct 15) the case is at risk; after it, overdue instead.
    before = clock[0]
    clock[0] = datetime(2025, 10, 15, 9, 0, tzinfo=SHANGHAI)
    assert (
        reviewer.get(f"/cases/{case_id}").body["at_risk"],
        reviewer.get("/cases").body["items"][0]["overdue"],
    ) == (
        True,
        False,
    )
    clock[0] = datetime(2025, 10, 17, 9, 0, tzinfo=SHANGHAI)
    late = reviewer.get(f"/cases/{case_id}").body
    assert (late["at_risk"], late["overdue"]) == (False, True)
    clock[0] = before

    clock[0] = T0 + timedelta(days=1)
    verified = reviewer.post(
        f"/cases/{case_id}/steps", body={"step": "verify", "note": "已核实：指南与表格不一致"}
    )
    assert verified.status == 200
    assert (verified.body["status"], verified.body["version"], verified.body["next_step"]) == (
        "verified",
        2,
        "rectify",
    )
    stale = reviewer.post(f"/cases/{case_id}/steps", body={"step": "rectify", "note": "整改", "version": 1})
    assert stale.status == 409
    assert stale.body["code"] == "case_changed"
    rectified = reviewer.post(
        f"/cases/{case_id}/steps", body={"step": "rectify", "note": "已更新办事指南", "version": 2}
    )
    assert rectified.status == 200
    assert alice.get(f"/applications/{app_id}/review").body["case"]["response"] is None
    closed = reviewer.post(f"/cases/{case_id}/steps", body={"step": "respond", "note": "已电话回访并致歉"})
    assert closed.status == 200
    assert closed.body["status"] == "closed"
    assert closed.body["closed_on_time"] is True
    assert [s["step"] for s in closed.body["steps"]] == ["verify", "rectify", "respond"]
    assert [s["step_name"]["zh"] for s in closed.body["steps"]] == ["核实", "整改", "反馈"]
    assert all(s["by"] == "reviewer-1" for s in closed.body["steps"])
    after = reviewer.post(f"/cases/{case_id}/steps", body={"step": "respond", "note": "再次反馈"})
    assert after.status == 409
    assert after.body["current"]["next_step"] is None

    seen = alice.get(f"/applications/{app_id}/review").body["case"]
    assert (seen["status"], seen["response"]) == ("closed", "已电话回访并致歉")
    assert reviewer.get("/cases").body["items"] == []
    assert [c["id"] for c in reviewer.get("/cases", query={"status": "closed"}).body["items"]] == [case_id]
    assert reviewer.get("/cases", query={"status": "open"}).body["items"] == []
    assert reviewer.get("/cases", query={"cursor": "abc"}).status == 422
    assert reviewer.get("/cases", query={"status": "open", "cursor": "abc"}).status == 422


def test_a_case_counts_in_the_stats_until_closed(aws: Aws, clock: list[datetime]) -> None:
    app_id = finished(aws)
    reply = alice.post(f"/applications/{app_id}/review", body={"level": "dissatisfied", "indicators": POOR})
    case_id = reply.body["case"]["id"]
    query = {"from": "2025-09-01", "to": "2025-09-30"}

    def open_cases() -> int:
        stats = reviewer.get("/stats", query=query)
        assert stats.status == 200, stats.body
        return int(stats.body["totals"]["open_bad_review_cases"])

    assert open_cases() == 1
    for step in ("verify", "rectify"):
        assert reviewer.post(f"/cases/{case_id}/steps", body={"step": step, "note": step}).status == 200
        assert open_cases() == 1
    assert reviewer.post(f"/cases/{case_id}/steps", body={"step": "respond", "note": "已答复"}).status == 200
    assert open_cases() == 0
    totals = reviewer.get("/stats", query=query).body["totals"]
    assert (totals["received"], totals["accepted"], totals["completed"], totals["on_time_rate"]) == (
        1,
        1,
        1,
        1.0,
    )
    assert totals["reviews"]["dissatisfied"] == 1
    assert totals["bad_reviews"] == 1


# ----------------------------------------------------------------------------- stats


def test_stats_are_for_reviewers_and_admins(aws: Aws, clock: list[datetime]) -> None:
    forbidden = alice.get("/stats")
    assert forbidden.status == 403
    assert forbidden.body["code"] == "reviewer_role_required"
    assert anonymous.get("/stats").status == 401
    for who in (reviewer, admin):
        reply = who.get("/stats")
        assert reply.status == 200
        assert (reply.body["from_date"], reply.body["to_date"]) == ("2025-09-01", "2025-09-26")  # this month
    reversed_period = reviewer.get("/stats", query={"from": "2025-06-30", "to": "2025-06-01"})
    assert reversed_period.status == 422
    assert reversed_period.body["details"][0]["code"] == "period_reversed"
    unknown = reviewer.get("/stats", query={"item": "no-such-item"})
    assert unknown.status == 422
    assert unknown.body["details"][0]["field"] == "item"
    assert reviewer.get("/stats", query={"from": "June"}).status == 422


def seed_june(aws: Aws) -> None:
    """The unit tests' June 2025 data set, stored as the functions would store it."""
    data = june()
    applications = DynamoApplicationRepository(TABLE)
    for app in data.applications:
        applications.create(
            app, AuditEvent(application_id=app.id, at=app.created_at, n=1, actor="s", action="create")
        )
    for app_id, times in data.corrections.items():
        for n, at in enumerate(times, start=10):
            aws.table.put_item(
                Item={
                    "PK": f"APP#{app_id}",
                    "SK": f"EVT#{iso(at)}#{n:06d}",
                    "type": "event",
                    "application_id": app_id,
                    "at": iso(at),
                    "n": n,
                    "actor": "reviewer-1",
                    "action": "request_correction",
                    "from_status": "submitted",
                    "to_status": "correction_requested",
                }
            )
    quality = DynamoQualityRepository(TABLE)
    cases = {c.id: c for c in data.cases}
    for review in data.reviews:
        quality.create_review(review, cases.get(review.case_id or ""))
    for app_id, licence_id in data.licences.items():
        if app_id != "c2":  # c2 carries its licence id on the application itself
            aws.table.put_item(Item={"PK": f"APP#{app_id}", "SK": "LICENCE", "licence_id": licence_id})
        record: dict[str, Any] = {"PK": f"LIC#{licence_id}", "SK": "META", "status": "issuing"}
        if licence_id in data.issued:
            record |= {"status": "01", "issued_at": "2025-06-20T02:00:00+00:00"}
        aws.table.put_item(Item=record)


def test_stats_of_a_seeded_june_exactly(aws: Aws, clock: list[datetime]) -> None:
    seed_june(aws)
    clock[0] = datetime(2025, 7, 5, 10, 0, tzinfo=SHANGHAI)
    reply = reviewer.get("/stats", query={"from": "2025-06-01", "to": "2025-06-30"})
    assert reply.status == 200, reply.body
    totals = reply.body["totals"]
    expected = {
        "received": 9,
        "accepted": 6,
        "completed": 5,
        "approved": 4,
        "rejected": 1,
        "withdrawn": 1,
        "on_time": 4,
        "late": 1,
        "on_time_rate": 0.8,
        "overdue": 4,
        "returned_for_correction": 2,
        "licences_issued": 2,
        "avg_working_days_to_decision": 3.8,
        "p90_working_days_to_decision": 10,
        "reviews": {
            "very_satisfied": 1,
            "satisfied": 1,
            "basically_satisfied": 1,
            "dissatisfied": 1,
            "very_dissatisfied": 0,
        },
        "reviews_total": 4,
        "bad_reviews": 1,
        "satisfaction_rate": 0.75,
        "open_bad_review_cases": 2,
        "overdue_bad_review_cases": 1,
        "online_share": 1.0,
        "fully_online_share": 0.6667,
        "clock_pauses": {"correction": 0, "hearing": 0, "expert_review": 0, "onsite_inspection": 0},
        "extensions": 0,
    }
    assert totals == expected
    categories = {c["category"]: c["figures"] for c in reply.body["by_category"]}
    assert list(categories) == ["administrative_licensing", "administrative_confirmation", "other_power"]
    licensing = categories["administrative_licensing"]
    assert (licensing["received"], licensing["completed"], licensing["overdue"]) == (3, 1, 2)
    assert (licensing["p90_working_days_to_decision"], licensing["licences_issued"]) == (10, 1)
    other = categories["other_power"]
    assert (other["completed"], other["on_time_rate"], other["p90_working_days_to_decision"]) == (
        3,
        0.6667,
        4,
    )
    assert (other["avg_working_days_to_decision"], other["returned_for_correction"]) == (2.67, 1)
    assert [i["code"] for i in reply.body["by_item"]] == [
        "refined-oil-retail-qualification",
        "auction-enterprise-establishment",
        "technology-contract-registration",
        "outbound-investment-filing",
    ]
    one = reviewer.get(
        "/stats", query={"from": "2025-06-01", "to": "2025-06-30", "item": "technology-contract-registration"}
    )
    assert one.status == 200
    assert [i["code"] for i in one.body["by_item"]] == ["technology-contract-registration"]
    assert (one.body["totals"]["received"], one.body["totals"]["withdrawn"]) == (3, 1)
    assert one.body["item"] == "technology-contract-registration"


def test_cases_of_one_status_page_by_deadline(aws: Aws, clock: list[datetime]) -> None:
    ids = []
    for day in (3, 0, 1):  # opened on different days: due on different days
        clock[0] = T0 - timedelta(days=day)
        app_id = finished(aws)
        reply = alice.post(
            f"/applications/{app_id}/review", body={"level": "dissatisfied", "indicators": POOR}
        )
        assert reply.status == 201
        ids.append((reply.body["case"]["deadline"]["due"], reply.body["case"]["id"]))
    expected = [case_id for _, case_id in sorted(ids)]
    seen: list[str] = []
    cursors: list[str] = []
    cursor = None
    for _ in range(5):
        query = {"status": "open", "limit": "1", **({"cursor": cursor} if cursor else {})}
        page = reviewer.get("/cases", query=query)
        assert page.status == 200, page.body
        seen += [c["id"] for c in page.body["items"]]
        cursor = page.body["next_cursor"]
        if not cursor:
            break
        cursors.append(cursor)
    assert seen == expected
    assert [c["id"] for c in reviewer.get("/cases").body["items"]] == expected
    # A cursor of the open cases does not page through the closed ones.
    foreign = reviewer.get("/cases", query={"status": "closed", "cursor": cursors[0]})
    assert foreign.status == 422
    assert foreign.body["details"][0]["field"] == "cursor"
