"""Work assignment through the api handler against moto (issue 18 item 5): claims are exclusive (a
real race has one winner), a claim is a lease that lapses without a sweep, only the owner decides
(an admin over it, audited), deciding an unclaimed application claims it, admins reassign to members
of the reviewer group only, the queue filters mine / unassigned, and every step is in the audit."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from onestop.applications import assignment
from onestop.applications.identity import principal_from_claims
from onestop.applications.models import Application
from onestop.aws.assignment_store import DynamoAssignmentStore
from onestop.errors import Conflict
from onestop.settings import reset_settings

from .api_helpers import (
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
rev_a = Client("rev-a", ("reviewer",))
rev_b = Client("rev-b", ("reviewer",))
admin = Client("boss", ("admin",))
T0 = datetime(2025, 6, 9, 2, 0, tzinfo=UTC)  # a Monday with a known holiday calendar
IDP_REGION = "ap-northeast-1"  # moto has no Cognito in cn-north-1; the pool id names its region
LEASE = timedelta(hours=4)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    with moto_aws(monkeypatch) as stack:
        # The user pool whose reviewer group reassignment checks (as template.yaml declares the groups).
        idp = boto3.client("cognito-idp", region_name=IDP_REGION)
        pool = idp.create_user_pool(PoolName="onestop-test")["UserPool"]["Id"]
        for group in ("applicant", "reviewer", "admin"):
            idp.create_group(UserPoolId=pool, GroupName=group)
        for username, name, groups in (
            ("rev-a", "审批员甲", ["reviewer"]),
            ("rev-b", "审批员乙", ["reviewer"]),
            ("boss", "管理员", ["admin"]),
            ("alice-sub", "Alice", ["applicant"]),
        ):
            idp.admin_create_user(
                UserPoolId=pool,
                Username=username,
                UserAttributes=[{"Name": "name", "Value": name}],
                MessageAction="SUPPRESS",
            )
            for group in groups:
                idp.admin_add_user_to_group(UserPoolId=pool, Username=username, GroupName=group)
        monkeypatch.setenv("USER_POOL_ID", pool)
        reset_settings()
        from onestop.aws import composition

        composition.reset()
        yield stack


def at(moment: datetime) -> None:
    from onestop.http.context import application_service

    application_service().now = lambda: moment


def submitted(aws: Aws, when: datetime = T0) -> str:
    at(when)
    app = new_application(alice)
    catalogued(aws, alice, app["id"], "application", "application_form")
    catalogued(aws, alice, app["id"], "business_licence", "business_licence", {"uscc": USCC_A})
    reply = alice.post(f"/applications/{app['id']}/submit")
    assert reply.status == 200, reply.body
    return str(app["id"])


def trail(application_id: str) -> list[dict[str, Any]]:
    return list(admin.get(f"/applications/{application_id}").body["audit_trail"])


def actions(application_id: str) -> list[str]:
    return [e["action"] for e in trail(application_id)]


def stored(aws: Aws, application_id: str) -> dict[str, Any]:
    return dict(aws.table.get_item(Key={"PK": f"APP#{application_id}", "SK": "META"})["Item"])


# ----------------------------------------------------------------------------- attacks and defects


class _RacingStore(DynamoAssignmentStore):
    """Both claimants read the application unclaimed before either writes."""

    def __init__(self, barrier: threading.Barrier) -> None:
        super().__init__(TABLE)
        self.barrier = barrier

    def claim(self, application: Application, **kw: Any) -> bool:
        self.barrier.wait(timeout=10)
        return super().claim(application, **kw)


def test_two_reviewers_claiming_at_once_have_exactly_one_winner(aws: Aws) -> None:
    app_id = submitted(aws)
    from onestop.http.context import application_service

    barrier = threading.Barrier(2)
    outcomes: dict[str, Any] = {}

    def take(sub: str) -> None:
        from dataclasses import replace

        deps = replace(application_service().deps, assignments=_RacingStore(barrier))
        principal = principal_from_claims(claims(sub, ("reviewer",)))
        try:
            outcomes[sub] = assignment.claim(deps, principal, app_id)
        except Conflict as exc:
            outcomes[sub] = exc

    threads = [threading.Thread(target=take, args=(sub,)) for sub in ("rev-a", "rev-b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    wins = {s: o for s, o in outcomes.items() if isinstance(o, Application)}
    losses = {s: o for s, o in outcomes.items() if isinstance(o, Conflict)}
    assert len(wins) == 1, outcomes
    assert len(losses) == 1, outcomes
    [winner] = wins
    [loss] = losses.values()
    assert loss.code == "claimed_by_other"
    assert loss.extra["assignee"] == winner
    assert winner in loss.zh
    assert winner in loss.en
    assert stored(aws, app_id)["assignee"] == winner
    assert actions(app_id).count("claim") == 1


def test_claim_over_http_then_the_other_reviewer_gets_409_naming_the_owner(aws: Aws) -> None:
    app_id = submitted(aws)
    reply = rev_a.post(f"/applications/{app_id}/claim")
    assert reply.status == 200, reply.body
    assert (reply.body["assignee"], reply.body["mine"]) == ("rev-a", True)
    assert reply.body["assignee_until"].startswith("2025-06-09T06:00:00")
    version = stored(aws, app_id)["version"]

    other = rev_b.post(f"/applications/{app_id}/claim")
    assert other.status == 409
    assert other.body["code"] == "claimed_by_other"
    assert other.body["assignee"] == "rev-a"
    assert "审批员甲" in other.body["message"]["zh"] or "rev-a" in other.body["message"]["zh"]
    assert "rev-a" in other.body["message"]["en"] or "审批员甲" in other.body["message"]["en"]
    # A claim never moves the version: the applicant's and reviewers' conditional writes still hold.
    assert stored(aws, app_id)["version"] == version


def test_a_reviewer_cannot_decide_an_application_claimed_by_another(aws: Aws) -> None:
    app_id = submitted(aws)
    assert rev_a.post(f"/applications/{app_id}/claim").status == 200
    reply = rev_b.post(f"/applications/{app_id}/decision", body={"action": "accept"})
    assert reply.status == 409
    assert reply.body["code"] == "claimed_by_other"
    assert reply.body["assignee"] == "rev-a"
    assert stored(aws, app_id)["status"] == "submitted"
    # The owner may.
    ok = rev_a.post(f"/applications/{app_id}/decision", body={"action": "accept"})
    assert ok.status == 200, ok.body


def test_an_admin_may_decide_over_a_claim_and_it_is_audited(aws: Aws) -> None:
    app_id = submitted(aws)
    assert rev_a.post(f"/applications/{app_id}/claim").status == 200
    reply = admin.post(f"/applications/{app_id}/decision", body={"action": "accept"})
    assert reply.status == 200, reply.body
    override = [e for e in trail(app_id) if e["action"] == "admin_override"]
    assert len(override) == 1
    assert override[0]["actor"] == "boss"
    assert stored(aws, app_id)["assignee"] == "rev-a"  # the claim stays with its owner


def test_an_expired_lease_lets_another_reviewer_claim_and_the_expiry_is_audited(aws: Aws) -> None:
    app_id = submitted(aws)
    assert rev_a.post(f"/applications/{app_id}/claim").status == 200
    at(T0 + LEASE - timedelta(seconds=1))
    assert rev_b.post(f"/applications/{app_id}/claim").status == 409
    at(T0 + LEASE + timedelta(seconds=1))
    # No sweep ran: the lapsed lease reads as unassigned...
    unassigned = rev_b.get("/review/queue", query={"assigned": "unassigned"}).body["items"]
    assert [e["id"] for e in unassigned] == [app_id]
    assert unassigned[0]["assignee"] is None
    # ... and a claim over it succeeds, recording the expiry it observed.
    reply = rev_b.post(f"/applications/{app_id}/claim")
    assert reply.status == 200, reply.body
    assert reply.body["assignee"] == "rev-b"
    assert actions(app_id)[-2:] == ["assignment_expired", "claim"]


def test_every_action_of_the_owner_renews_the_lease(aws: Aws) -> None:
    app_id = submitted(aws)
    assert rev_a.post(f"/applications/{app_id}/claim").status == 200
    at(T0 + timedelta(hours=3))
    assert rev_a.post(f"/applications/{app_id}/decision", body={"action": "accept"}).status == 200
    at(T0 + timedelta(hours=6))  # past the first lease, within the renewed one
    assert rev_b.post(f"/applications/{app_id}/claim").status == 409
    assert stored(aws, app_id)["assignee_until"] == "2025-06-09T09:00:00Z"


def test_deciding_an_unclaimed_application_claims_it(aws: Aws) -> None:
    app_id = submitted(aws)
    assert rev_a.post(f"/applications/{app_id}/decision", body={"action": "accept"}).status == 200
    claim = [e for e in trail(app_id) if e["action"] == "claim"]
    assert len(claim) == 1
    assert claim[0]["comment"] == "implicit: accept"
    reply = rev_b.post(f"/applications/{app_id}/decision", body={"action": "approve"})
    assert reply.status == 409
    assert reply.body["assignee"] == "rev-a"


def test_a_reviewer_cannot_reassign(aws: Aws) -> None:
    app_id = submitted(aws)
    reply = rev_a.post(f"/applications/{app_id}/assignee", body={"reviewer": "rev-a", "reason": "我来"})
    assert reply.status == 403
    assert reply.body["code"] == "admin_role_required"
    assert "assignee" not in stored(aws, app_id)


def test_reassigning_to_someone_outside_the_reviewer_group_is_422(aws: Aws) -> None:
    app_id = submitted(aws)
    for who in ("alice-sub", "boss", "nobody-at-all"):
        reply = admin.post(f"/applications/{app_id}/assignee", body={"reviewer": who, "reason": "试试"})
        assert reply.status == 422, (who, reply.body)
        assert reply.body["code"] == "not_a_reviewer"
        assert reply.body["details"][0]["field"] == "reviewer"
    assert "assignee" not in stored(aws, app_id)


def test_an_admin_reassigns_with_a_reason_and_it_is_audited(aws: Aws) -> None:
    app_id = submitted(aws)
    assert rev_a.post(f"/applications/{app_id}/claim").status == 200
    reply = admin.post(
        f"/applications/{app_id}/assignee", body={"reviewer": "rev-b", "reason": "甲休假 / A on leave"}
    )
    assert reply.status == 200, reply.body
    assert (reply.body["assignee"], reply.body["assignee_name"]) == ("rev-b", "审批员乙")
    [event] = [e for e in trail(app_id) if e["action"] == "reassign"]
    assert event["actor"] == "boss"
    assert event["actor_role"] == "admin"
    assert event["comment"] == "rev-a → rev-b: 甲休假 / A on leave"
    # Now rev-a is refused and rev-b decides.
    assert rev_a.post(f"/applications/{app_id}/decision", body={"action": "accept"}).status == 409
    assert rev_b.post(f"/applications/{app_id}/decision", body={"action": "accept"}).status == 200
    listed = admin.get("/review/reviewers")
    assert listed.status == 200
    assert [r["username"] for r in listed.body["items"]] == ["rev-a", "rev-b"]
    assert rev_a.get("/review/reviewers").status == 403


def test_release_by_the_owner_only(aws: Aws) -> None:
    app_id = submitted(aws)
    assert rev_a.post(f"/applications/{app_id}/claim").status == 200
    refused = rev_b.post(f"/applications/{app_id}/release")
    assert refused.status == 403
    assert refused.body["code"] == "not_assignee"
    assert "rev-a" in refused.body["message"]["en"] or "审批员甲" in refused.body["message"]["en"]
    at(T0 + timedelta(seconds=1))
    reply = rev_a.post(f"/applications/{app_id}/release")
    assert reply.status == 200
    assert reply.body["assignee"] is None
    assert rev_a.post(f"/applications/{app_id}/release").status == 409
    at(T0 + timedelta(seconds=2))
    assert rev_b.post(f"/applications/{app_id}/claim").status == 200
    assert actions(app_id)[-3:] == ["claim", "release", "claim"]


def test_no_one_claims_their_own_application_or_a_draft(aws: Aws) -> None:
    both = Client("alice-sub", ("applicant", "reviewer"))
    app_id = submitted(aws)
    reply = both.post(f"/applications/{app_id}/claim")
    assert reply.status == 403
    assert reply.body["code"] == "own_application"
    draft = new_application(alice)
    assert rev_a.post(f"/applications/{draft['id']}/claim").status == 404
    assert alice.post(f"/applications/{app_id}/claim").status == 403


def test_a_claim_does_not_make_a_decision_on_the_version_read_before_it_fail(aws: Aws) -> None:
    app_id = submitted(aws)
    seen = rev_a.get(f"/applications/{app_id}").body["version"]
    assert rev_a.post(f"/applications/{app_id}/claim").status == 200
    reply = rev_a.post(f"/applications/{app_id}/decision", body={"action": "accept", "version": seen})
    assert reply.status == 200, reply.body
    reply = alice.post(f"/applications/{app_id}/withdraw")
    assert reply.status == 200, reply.body
    assert rev_a.post(f"/applications/{app_id}/claim").status == 409  # no longer in the queue


def test_queue_filters_mine_unassigned_and_any_with_the_owner_on_each_row(aws: Aws) -> None:
    ids = [submitted(aws, T0 + timedelta(minutes=i)) for i in range(5)]
    at(T0 + timedelta(minutes=10))
    assert rev_a.post(f"/applications/{ids[1]}/claim").status == 200
    assert rev_a.post(f"/applications/{ids[3]}/claim").status == 200
    assert rev_b.post(f"/applications/{ids[4]}/claim").status == 200

    def listed(client: Client, assigned: str, limit: int = 50) -> list[str]:
        out: list[str] = []
        cursor = None
        while True:
            query = {"assigned": assigned, "limit": str(limit)}
            if cursor:
                query["cursor"] = cursor
            reply = client.get("/review/queue", query=query)
            assert reply.status == 200, reply.body
            out += [e["id"] for e in reply.body["items"]]
            cursor = reply.body["next_cursor"]
            if not cursor:
                return out

    everything = listed(rev_a, "any")
    assert sorted(everything) == sorted(ids)

    def in_queue_order(subset: list[str]) -> list[str]:
        return [i for i in everything if i in subset]

    assert listed(rev_a, "mine") == in_queue_order([ids[1], ids[3]])
    assert listed(rev_b, "mine") == [ids[4]]
    assert listed(rev_a, "unassigned") == in_queue_order([ids[0], ids[2]])
    # Paging with a small limit gives the same rows in the same order (the listing's cursor).
    assert listed(rev_a, "unassigned", limit=1) == in_queue_order([ids[0], ids[2]])
    assert listed(rev_a, "mine", limit=1) == in_queue_order([ids[1], ids[3]])
    assert listed(rev_a, "any", limit=2) == everything
    rows = {e["id"]: e for e in rev_b.get("/review/queue").body["items"]}
    assert rows[ids[1]]["assignee"] == "rev-a"
    assert rows[ids[1]]["assignee_name"] == "rev-a"
    assert rows[ids[0]]["assignee"] is None
    bad = rev_a.get("/review/queue", query={"assigned": "theirs"})
    assert bad.status == 422


def test_a_reviewer_cannot_correct_a_reading_on_an_application_claimed_by_another(aws: Aws) -> None:
    from .api_helpers import USCC_B

    app_id = submitted(aws)
    detail = rev_a.get(f"/applications/{app_id}").body
    licence = next(m for m in detail["materials"] if m["slot"] == "business_licence")
    assert rev_a.post(f"/applications/{app_id}/claim").status == 200
    body = {"field": "uscc", "value": USCC_B, "reason": "原件为另一代码"}
    refused = rev_b.post(f"/applications/{app_id}/materials/{licence['upload_id']}/corrections", body=body)
    assert refused.status == 409, refused.body
    assert refused.body["code"] == "claimed_by_other"
    done = rev_a.post(f"/applications/{app_id}/materials/{licence['upload_id']}/corrections", body=body)
    assert done.status == 200, done.body


def test_a_reviewer_cannot_pause_the_clock_of_an_application_claimed_by_another(aws: Aws) -> None:
    app_id = submitted(aws)
    assert rev_a.post(f"/applications/{app_id}/decision", body={"action": "accept"}).status == 200
    body = {"procedure": "hearing", "reason": {"zh": "需要听证"}}
    refused = rev_b.post(f"/applications/{app_id}/clock/pauses", body=body)
    assert refused.status == 409, refused.body
    assert refused.body["code"] == "claimed_by_other"
    assert rev_a.post(f"/applications/{app_id}/clock/pauses", body=body).status == 200
