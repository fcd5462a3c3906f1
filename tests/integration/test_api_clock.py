"""The legal clock through the api handler against moto (issue 18 item 4): 补正 after acceptance pauses
the decision clock and the resubmission resumes it, special procedures pause it, the one extension is
asked by a reviewer and decided by an admin; each change is stored, audited and announced."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from onestop.applications import clock_changes
from onestop.applications.clock import SHANGHAI, WorkingDayClock
from onestop.applications.deps import ApplicationDeps
from onestop.applications.identity import principal_from_claims
from onestop.applications.models import iso
from onestop.aws.application_repository import DynamoApplicationRepository
from onestop.aws.events import EventBridgePublisher
from onestop.catalogue import load_catalogue
from onestop.errors import Conflict

from .api_helpers import (
    BUS,
    REGION,
    TABLE,
    USCC_A,
    Aws,
    Client,
    catalogued,
    claims,
    moto_aws,
    new_application,
)

alice = Client("alice-sub")
reviewer = Client("reviewer-1", ("reviewer",))
reviewer2 = Client("reviewer-2", ("reviewer",))
admin = Client("admin-1", ("admin",))
admin2 = Client("admin-2", ("admin",))
clock = WorkingDayClock()

# Friday 2025-09-26, 10:00 in Shanghai: the National Day holiday (Oct 1-8) and the make-up working
# days (Sun Sep 28, Sat Oct 11) fall inside the pauses below.
T0 = datetime(2025, 9, 26, 2, 0, tzinfo=UTC)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    with moto_aws(monkeypatch) as stack:
        yield stack


def at(moment: datetime) -> None:
    from onestop.http.context import application_service

    application_service().now = lambda: moment


def accepted(aws: Aws, when: datetime = T0) -> dict[str, Any]:
    at(when)
    app = new_application(alice)
    catalogued(aws, alice, app["id"], "application", "application_form")
    catalogued(aws, alice, app["id"], "business_licence", "business_licence", {"uscc": USCC_A})
    assert alice.post(f"/applications/{app['id']}/submit").status == 200
    reply = reviewer.post(f"/applications/{app['id']}/decision", body={"action": "accept"})
    assert reply.status == 200, reply.body
    return dict(reply.body)


def due_of(body: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(body["deadline"]["due"])


def clock_events(aws: Aws) -> list[dict[str, Any]]:
    return [e["detail"] for e in aws.bus_events() if e["detail-type"] == "ApplicationClockChanged"]


def ask_correction(app_id: str) -> Any:
    reasons = [
        {"zh": "营业执照复印件不清晰", "en": "The licence copy is illegible", "slot": "business_licence"}
    ]
    return reviewer.post(
        f"/applications/{app_id}/decision", body={"action": "request_correction", "reasons": reasons}
    )


def clock_trail(app_id: str) -> list[dict[str, Any]]:
    """The clock's entries of the audit trail (others, such as work-assignment claims, left out)."""
    trail = reviewer.get(f"/applications/{app_id}").body["audit_trail"]
    return [e for e in trail if e["action"].startswith(("clock_", "extension_"))]


def sweep(now: datetime) -> dict[str, Any]:
    from onestop.aws.composition import scheduled_runs

    return scheduled_runs().run("hourly", now)


# ----------------------------------------------------------------------------- 补正 after acceptance


def test_the_clock_does_not_run_during_a_correction_after_acceptance(aws: Aws) -> None:
    app = accepted(aws)
    before = due_of(app)
    paused_at = datetime(2025, 9, 29, 3, 0, tzinfo=UTC)  # Monday
    at(paused_at)
    reply = ask_correction(app["id"])
    assert reply.status == 200, reply.body
    assert reply.body["status"] == "correction_requested"
    aws.bus_events()

    resumed_at = datetime(2025, 10, 13, 2, 0, tzinfo=UTC)  # Monday after the holiday
    at(resumed_at)
    again = alice.post(f"/applications/{app['id']}/submit")
    assert again.status == 200, again.body
    # The acceptance stands: back to accepted, not to a new acceptance check.
    assert again.body["status"] == "accepted"
    # Working days after Mon 9-29 up to Mon 10-13: Tue 30; Oct 1-8 off; Thu 9, Fri 10, Sat 11 (调休),
    # Mon 13 = 5, exactly, from the official calendar.
    paused = clock.working_days_between(paused_at, resumed_at)
    assert paused == 5
    after = due_of(again.body)
    assert after.astimezone(SHANGHAI).date() == clock._walk(before.astimezone(SHANGHAI).date(), 5)[0]
    assert after > before
    assert again.body["deadline"]["working_days"] == app["deadline"]["working_days"] + 5

    view = alice.get(f"/applications/{app['id']}/clock").body
    assert view["paused"] is False
    [pause] = view["pauses"]
    assert (pause["procedure"], pause["working_days"]) == ("correction", 5)
    assert view["paused_working_days"] == 5
    assert any("不计时" in line["zh"] for line in view["summary"])

    events = clock_events(aws)
    assert [(e["change"], e["procedure"]) for e in events] == [("resumed", "correction")]
    assert events[0]["working_days_added"] == 5
    assert events[0]["due"] == iso(after)
    # The resubmitted application is not received anew: no second acceptance notice period.
    detail = alice.get(f"/applications/{app['id']}").body
    assert [(e["action"], e["to_status"]) for e in detail["audit_trail"]][-2:] == [
        ("request_correction", "correction_requested"),
        ("submit", "accepted"),
    ]


def test_correction_after_acceptance_is_announced_as_a_pause(aws: Aws) -> None:
    app = accepted(aws)
    aws.bus_events()
    at(T0 + timedelta(days=3))
    assert ask_correction(app["id"]).status == 200
    events = aws.bus_events()
    by_type = {e["detail-type"]: e["detail"] for e in events}
    assert by_type["ApplicationClockChanged"]["change"] == "paused"
    assert by_type["ApplicationClockChanged"]["procedure"] == "correction"
    assert "营业执照复印件不清晰" in by_type["ApplicationClockChanged"]["reason"]["zh"]
    assert by_type["ApplicationCorrectionRequested"]["clock_paused"] is True
    view = alice.get(f"/applications/{app['id']}/clock").body
    assert view["paused"] is True
    assert view["open_pause"]["procedure"] == "correction"


def test_correction_before_acceptance_does_not_touch_the_decision_clock(aws: Aws) -> None:
    at(T0)
    app = new_application(alice)
    catalogued(aws, alice, app["id"], "application", "application_form")
    catalogued(aws, alice, app["id"], "business_licence", "business_licence", {"uscc": USCC_A})
    assert alice.post(f"/applications/{app['id']}/submit").status == 200
    aws.bus_events()
    assert ask_correction(app["id"]).status == 200
    events = aws.bus_events()
    assert "ApplicationClockChanged" not in {e["detail-type"] for e in events}
    [requested] = [e["detail"] for e in events if e["detail-type"] == "ApplicationCorrectionRequested"]
    assert requested["clock_paused"] is False
    again = alice.post(f"/applications/{app['id']}/submit")
    assert again.body["status"] == "submitted"  # the acceptance check follows, as before
    assert alice.get(f"/applications/{app['id']}/clock").body["pauses"] == []


def test_resubmitting_twice_does_not_push_the_deadline_twice(aws: Aws) -> None:
    app = accepted(aws)
    at(datetime(2025, 9, 29, 3, 0, tzinfo=UTC))
    assert ask_correction(app["id"]).status == 200
    at(datetime(2025, 10, 13, 2, 0, tzinfo=UTC))
    first = alice.post(f"/applications/{app['id']}/submit")
    assert first.status == 200
    second = alice.post(f"/applications/{app['id']}/submit")
    assert second.status == 409
    assert second.body["current"]["status"] == "accepted"
    assert set(second.body["message"]) == {"zh", "en"}
    assert due_of(reviewer.get(f"/applications/{app['id']}").body) == due_of(first.body)


def test_a_correction_pause_is_not_ended_by_a_reviewer(aws: Aws) -> None:
    app = accepted(aws)
    at(T0 + timedelta(days=3))
    assert ask_correction(app["id"]).status == 200
    reply = reviewer.post(f"/applications/{app['id']}/clock/pauses/1/end", body={})
    assert reply.status == 409
    assert reply.body["code"] == "correction_pause_ends_on_resubmission"


# ----------------------------------------------------------------------------- special procedures


def pause(app_id: str, client: Client = reviewer, **body: Any) -> Any:
    payload = {"procedure": "onsite_inspection", "reason": {"zh": "需现场核查经营场所"}, **body}
    return client.post(f"/applications/{app_id}/clock/pauses", body=payload)


def test_a_special_procedure_pauses_and_its_end_pushes_the_deadline(aws: Aws) -> None:
    app = accepted(aws)
    before = due_of(app)
    started = datetime(2025, 9, 29, 3, 0, tzinfo=UTC)
    at(started)
    reply = pause(app["id"], version=app["version"])
    assert reply.status == 200, reply.body
    assert reply.body["paused"] is True
    assert reply.body["open_pause"]["procedure_name"] == {"zh": "现场核查", "en": "on-site inspection"}
    assert reply.body["allowed_actions"] == ["end_pause", "request_extension"]
    # No decision while the inspection holds the clock: the desk is not offered one, and it is refused.
    offered = reviewer.get(f"/applications/{app['id']}").body["allowed_actions"]
    assert "approve" not in offered
    assert "reject" not in offered
    blocked = reviewer.post(f"/applications/{app['id']}/decision", body={"action": "approve"})
    assert blocked.status == 409
    assert blocked.body["code"] == "clock_paused"
    # One pause at a time.
    second = pause(app["id"], procedure="hearing")
    assert second.status == 409
    assert second.body["code"] == "clock_already_paused"

    ended_at = datetime(2025, 10, 10, 9, 0, tzinfo=UTC)  # Friday after the holiday
    at(ended_at)
    end = reviewer.post(f"/applications/{app['id']}/clock/pauses/1/end", body={"comment": "核查完毕"})
    assert end.status == 200, end.body
    # Tue 9-30, Thu 10-9, Fri 10-10 = 3 working days.
    assert end.body["pauses"][0]["working_days"] == 3
    assert (
        due_of(end.body).astimezone(SHANGHAI).date() == clock._walk(before.astimezone(SHANGHAI).date(), 3)[0]
    )

    # Ending it again is refused, and moves nothing.
    again = reviewer.post(f"/applications/{app['id']}/clock/pauses/1/end", body={})
    assert again.status == 409
    assert again.body["code"] == "pause_already_ended"
    assert due_of(reviewer.get(f"/applications/{app['id']}/clock").body) == due_of(end.body)

    trail = clock_trail(app["id"])
    assert [(e["action"], e["actor"]) for e in trail] == [
        ("clock_pause", "reviewer-1"),
        ("clock_resume", "reviewer-1"),
    ]
    assert trail[-2]["reasons"][0]["zh"] == "需现场核查经营场所"
    assert trail[-1]["comment"] == "核查完毕"
    events = clock_events(aws)
    assert [(e["change"], e["procedure"], e["working_days_added"]) for e in events] == [
        ("paused", "onsite_inspection", None),
        ("resumed", "onsite_inspection", 3),
    ]
    # The decision may be taken again.
    assert reviewer.post(f"/applications/{app['id']}/decision", body={"action": "approve"}).status == 200


def test_a_pause_ended_before_it_began_is_refused(aws: Aws) -> None:
    app = accepted(aws)
    at(T0 + timedelta(days=3))
    assert pause(app["id"]).status == 200
    reply = reviewer.post(
        f"/applications/{app['id']}/clock/pauses/1/end", body={"at": (T0 + timedelta(days=1)).isoformat()}
    )
    assert reply.status == 422
    assert reply.body["details"][0]["code"] == "pause_ends_before_start"
    assert reviewer.get(f"/applications/{app['id']}/clock").body["paused"] is True


def test_an_applicant_cannot_pause_or_end_or_extend(aws: Aws) -> None:
    app = accepted(aws)
    at(T0 + timedelta(days=1))
    assert pause(app["id"], client=alice).status == 403
    assert (
        alice.post(
            f"/applications/{app['id']}/clock/extension", body={"days": 5, "reason": {"zh": "复杂"}}
        ).status
        == 403
    )
    assert pause(app["id"]).status == 200
    assert alice.post(f"/applications/{app['id']}/clock/pauses/1/end", body={}).status == 403
    # Nor may someone else's applicant see the clock.
    assert Client("mallory-sub").get(f"/applications/{app['id']}/clock").status == 404


def test_a_stale_version_or_a_lost_race_is_409(aws: Aws) -> None:
    app = accepted(aws)
    at(T0 + timedelta(days=1))
    assert pause(app["id"], version=app["version"]).status == 200
    stale = reviewer.post(f"/applications/{app['id']}/clock/pauses/1/end", body={"version": app["version"]})
    assert stale.status == 409
    assert stale.body["current"]["version"] == app["version"] + 1


def test_a_paused_application_is_not_flagged_overdue_past_its_old_due_date(aws: Aws) -> None:
    app = accepted(aws)
    old_due = due_of(app)
    at(old_due - timedelta(days=1))
    assert pause(app["id"], procedure="expert_review", reason={"zh": "组织专家评审"}).status == 200
    aws.bus_events()
    late = old_due + timedelta(days=10)
    result = sweep(late)
    assert (result["overdue"], result["newly_overdue"]) == (0, 0)
    assert not [e for e in aws.bus_events() if e["detail-type"] in ("DeadlineOverdue", "DeadlineAtRisk")]
    # Ended, the deadline has moved by the days the review took: the sweep uses the effective one.
    at(late)
    end = reviewer.post(f"/applications/{app['id']}/clock/pauses/1/end", body={})
    assert end.status == 200
    assert due_of(end.body) > late
    assert sweep(late)["overdue"] == 0
    # Once the effective deadline is past, it is flagged as usual.
    after = due_of(end.body) + timedelta(hours=1)
    assert sweep(after)["newly_overdue"] == 1
    [flag] = [e["detail"] for e in aws.bus_events() if e["detail-type"] == "DeadlineOverdue"]
    assert flag["due"] == iso(due_of(end.body))


# ----------------------------------------------------------------------------- the extension


def ask_extension(app_id: str, days: int = 10, client: Client = reviewer) -> Any:
    return client.post(
        f"/applications/{app_id}/clock/extension",
        body={"days": days, "reason": {"zh": "需征求相关部门意见", "en": "Other departments are consulted"}},
    )


def test_one_extension_asked_by_a_reviewer_and_approved_by_an_admin(aws: Aws) -> None:
    app = accepted(aws)
    before = due_of(app)
    at(T0 + timedelta(days=1))
    asked = ask_extension(app["id"])
    assert asked.status == 200, asked.body
    assert asked.body["extension"]["status"] == "requested"
    assert due_of(asked.body) == before  # nothing moves until approved
    assert ask_extension(app["id"]).body["code"] == "extension_already_requested"
    # The desk offers the decision to admins only.
    assert "decide_extension" in admin.get(f"/applications/{app['id']}/clock").body["allowed_actions"]
    assert "decide_extension" not in reviewer2.get(f"/applications/{app['id']}/clock").body["allowed_actions"]
    assert alice.get(f"/applications/{app['id']}/clock").body["allowed_actions"] == []

    # A reviewer cannot approve; the admin can.
    refused = reviewer2.post(
        f"/applications/{app['id']}/clock/extension/decision", body={"decision": "approve"}
    )
    assert refused.status == 403
    assert refused.body["code"] == "admin_role_required"
    assert "zh" in refused.body["message"]
    approved = admin.post(f"/applications/{app['id']}/clock/extension/decision", body={"decision": "approve"})
    assert approved.status == 200, approved.body
    assert approved.body["extension"]["status"] == "approved"
    assert approved.body["extension_days"] == 10
    after = due_of(approved.body)
    assert after.astimezone(SHANGHAI).date() == clock._walk(before.astimezone(SHANGHAI).date(), 10)[0]
    assert any("延长 10 个工作日" in line["zh"] for line in approved.body["summary"])

    # A second extension is refused, zh/en.
    second = ask_extension(app["id"], days=3)
    assert second.status == 409
    assert second.body["code"] == "deadline_already_extended"
    assert second.body["message"]["en"].startswith("A deadline can be extended only once")
    again = admin2.post(f"/applications/{app['id']}/clock/extension/decision", body={"decision": "approve"})
    assert again.status == 409
    assert due_of(reviewer.get(f"/applications/{app['id']}/clock").body) == after

    trail = clock_trail(app["id"])
    assert [(e["action"], e["actor_role"]) for e in trail] == [
        ("extension_request", "reviewer"),
        ("extension_approve", "admin"),
    ]
    events = clock_events(aws)
    assert [(e["change"], e["working_days_added"]) for e in events] == [
        ("extension_requested", None),
        ("extended", 10),
    ]
    assert events[-1]["due"] == iso(after)


def test_an_extension_over_ten_days_or_refused_without_reason_is_422(aws: Aws) -> None:
    app = accepted(aws)
    at(T0 + timedelta(days=1))
    assert ask_extension(app["id"], days=11).status == 422
    assert ask_extension(app["id"], days=2).status == 200
    no_reason = admin.post(f"/applications/{app['id']}/clock/extension/decision", body={"decision": "refuse"})
    assert no_reason.status == 422
    refused = admin.post(
        f"/applications/{app['id']}/clock/extension/decision",
        body={"decision": "refuse", "reason": {"zh": "理由不充分", "en": "Not justified"}},
    )
    assert refused.status == 200
    assert refused.body["extension"]["status"] == "refused"
    assert due_of(refused.body) == due_of(app)


def test_the_admin_who_asked_cannot_approve_their_own_extension(aws: Aws) -> None:
    app = accepted(aws)
    at(T0 + timedelta(days=1))
    assert ask_extension(app["id"], client=admin).status == 200
    own = admin.post(f"/applications/{app['id']}/clock/extension/decision", body={"decision": "approve"})
    assert own.status == 403
    assert own.body["code"] == "own_extension_request"
    assert (
        admin2.post(
            f"/applications/{app['id']}/clock/extension/decision", body={"decision": "approve"}
        ).status
        == 200
    )


def test_kpis_count_pauses_extensions_and_on_time_against_the_effective_deadline(aws: Aws) -> None:
    app = accepted(aws)
    old_due = due_of(app)
    at(T0 + timedelta(days=1))
    assert ask_extension(app["id"], days=5).status == 200
    assert (
        admin.post(f"/applications/{app['id']}/clock/extension/decision", body={"decision": "approve"}).status
        == 200
    )
    assert pause(app["id"], procedure="hearing", reason={"zh": "举行听证"}).status == 200
    at(T0 + timedelta(days=2))
    assert reviewer.post(f"/applications/{app['id']}/clock/pauses/1/end", body={}).status == 200
    # Decided after the original due date but within the extended one: on time.
    at(old_due + timedelta(days=1))
    assert reviewer.post(f"/applications/{app['id']}/decision", body={"action": "approve"}).status == 200
    day = (old_due + timedelta(days=1)).astimezone(SHANGHAI).date()
    kpis = admin.get(
        "/stats", query={"from": T0.astimezone(SHANGHAI).date().isoformat(), "to": day.isoformat()}
    )
    assert kpis.status == 200, kpis.body
    totals = kpis.body["totals"]
    assert (totals["on_time"], totals["late"]) == (1, 0)
    assert totals["clock_pauses"] == {
        "correction": 0,
        "hearing": 1,
        "expert_review": 0,
        "onsite_inspection": 0,
    }
    assert totals["extensions"] == 1


class _RacingRepository(DynamoApplicationRepository):
    """Both callers read the application before either writes (the barrier), as in a real race."""

    def __init__(self, barrier: threading.Barrier) -> None:
        super().__init__(TABLE, table=boto3.resource("dynamodb", region_name=REGION).Table(TABLE))
        self.barrier = barrier

    def transition(self, before: Any, after: Any, event: Any, outbox: Any = None, owed: Any = ()) -> None:
        self.barrier.wait(timeout=10)
        super().transition(before, after, event, outbox, owed)


def test_two_reviewers_ending_the_same_pause_at_once_push_the_deadline_once(aws: Aws) -> None:
    app = accepted(aws)
    at(datetime(2025, 9, 29, 3, 0, tzinfo=UTC))
    assert pause(app["id"]).status == 200
    aws.bus_events()
    ended_at = datetime(2025, 10, 13, 2, 0, tzinfo=UTC)
    barrier = threading.Barrier(2)
    outcomes: list[Any] = []

    def end(sub: str) -> None:
        deps = ApplicationDeps(
            repository=_RacingRepository(barrier),
            catalogue=load_catalogue(),
            uploads=None,  # type: ignore[arg-type]  # not used by the clock
            publisher=EventBridgePublisher(BUS, "onestop", events=boto3.client("events", region_name=REGION)),
            clock=WorkingDayClock(),
            now=lambda: ended_at,
        )
        try:
            outcomes.append(
                clock_changes.end_pause(deps, principal_from_claims(claims(sub, ("reviewer",))), app["id"], 1)
            )
        except Conflict as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=end, args=(sub,)) for sub in ("reviewer-1", "reviewer-2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(type(o).__name__ for o in outcomes) == ["Application", "Conflict"]
    view = reviewer.get(f"/applications/{app['id']}/clock").body
    assert view["pauses"][0]["working_days"] == 5
    assert view["deadline"]["working_days"] == app["deadline"]["working_days"] + 5
    assert [e["change"] for e in clock_events(aws)] == ["resumed"]
    assert len(clock_trail(app["id"])) == 2  # the pause and one resumption


def test_a_bus_failure_keeps_the_clock_change_and_its_events_owed_until_the_drain(
    aws: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    from onestop.errors import Unavailable
    from onestop.http.context import application_service

    app = accepted(aws)
    aws.bus_events()

    class DownBus:
        def publish(self, detail_type: str, detail: Any) -> None:
            raise Unavailable("event_not_published", "事件发布失败。", "The event could not be published.")

    service = application_service()
    working_bus = service.publisher
    monkeypatch.setattr(service, "publisher", DownBus())
    at(T0 + timedelta(days=3))
    assert pause(app["id"]).status == 200
    at(T0 + timedelta(days=4))
    assert reviewer.post(f"/applications/{app['id']}/clock/pauses/1/end", body={}).status == 200
    # Both changes stand, and both events are owed (one per version, neither overwriting the other).
    assert reviewer.get(f"/applications/{app['id']}/clock").body["pauses"][0]["ended_at"] is not None
    owed = aws.table.query(KeyConditionExpression="PK = :pk", ExpressionAttributeValues={":pk": "OUTBOX"})[
        "Items"
    ]
    assert sorted(i["detail_type"] for i in owed) == ["ApplicationClockChanged", "ApplicationClockChanged"]
    monkeypatch.setattr(service, "publisher", working_bus)
    assert sweep(T0 + timedelta(days=4))["events_republished"] == 2
    assert [e["change"] for e in clock_events(aws)] == ["paused", "resumed"]
    assert sweep(T0 + timedelta(days=4))["events_republished"] == 0  # cleared: no duplicate


def test_a_reviewer_may_not_touch_the_clock_of_their_own_application(aws: Aws) -> None:
    both = Client("alice-sub", ("applicant", "reviewer"))
    app = accepted(aws)
    at(T0 + timedelta(days=1))
    reply = pause(app["id"], client=both)
    assert reply.status == 403
    assert reply.body["code"] == "own_application"
    extension = ask_extension(app["id"], client=both)
    assert extension.status == 403
