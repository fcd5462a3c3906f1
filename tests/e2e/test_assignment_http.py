"""Work assignment over real HTTP on the local stack (issue 18 item 5): two reviewers claim at once
(through the gateway to separate api workers) and exactly one wins; the other cannot decide; a
reviewer cannot reassign; an admin reassigns only to a member of the reviewer group (the user pool's
group in moto, as Cognito), with the reason in the audit trail; the queue filters mine / unassigned."""

from __future__ import annotations

import concurrent.futures
from typing import Any

import pytest

from infra.local import LocalStack

from .conftest import Api
from .test_web_corrections import submitted

pytestmark = [pytest.mark.xdist_group("stack"), pytest.mark.slow, pytest.mark.timeout(600)]


def username_of(admin: Api, name: str) -> str:
    """The reviewer's username in the user pool (locally an e-mail made from the sub)."""
    reviewers = admin.get("/review/reviewers").json()["items"]
    return next(r["username"] for r in reviewers if r["name"] == name)


def test_claims_decisions_and_reassignment_over_http(stack: LocalStack, applicant: Api, admin: Api) -> None:
    app = submitted(applicant)
    app_id = app["id"]
    first = Api(stack, "assign-rev-1", ("reviewer",))
    second = Api(stack, "assign-rev-2", ("reviewer",))

    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        replies = list(pool.map(lambda api: api.post(f"/applications/{app_id}/claim"), (first, second)))
    statuses = sorted(r.status_code for r in replies)
    assert statuses == [200, 409], [r.text for r in replies]
    won = next(r for r in replies if r.status_code == 200).json()
    lost = next(r for r in replies if r.status_code == 409).json()
    assert lost["code"] == "claimed_by_other"
    assert lost["assignee"] == won["assignee"]
    assert lost["message"]["zh"]
    assert lost["message"]["en"]
    owner, other = (first, second) if replies[0].status_code == 200 else (second, first)

    # The other reviewer may not decide; the owner sees it as theirs in the queue.
    refused = other.post(f"/applications/{app_id}/decision", json={"action": "accept"})
    assert refused.status_code == 409, refused.text
    assert refused.json()["assignee"] == won["assignee"]
    mine = owner.get("/review/queue", params={"assigned": "mine"}).json()["items"]
    assert [e["id"] for e in mine] == [app_id]
    assert other.get("/review/queue", params={"assigned": "mine"}).json()["items"] == []
    unassigned = other.get("/review/queue", params={"assigned": "unassigned", "limit": 100}).json()
    assert app_id not in [e["id"] for e in unassigned["items"]]

    # A reviewer cannot reassign; an admin cannot give it to a non-reviewer.
    target = username_of(admin, "assign-rev-2" if owner is first else "assign-rev-1")
    assert (
        other.post(
            f"/applications/{app_id}/assignee", json={"reviewer": target, "reason": "我来"}
        ).status_code
        == 403
    )
    applicant_username = admin.get("/review/reviewers").json()["items"]
    assert all(r["name"] != "applicant-a" for r in applicant_username)
    bad = admin.post(
        f"/applications/{app_id}/assignee", json={"reviewer": "nobody@local.test", "reason": "试"}
    )
    assert bad.status_code == 422, bad.text
    assert bad.json()["code"] == "not_a_reviewer"

    moved = admin.post(f"/applications/{app_id}/assignee", json={"reviewer": target, "reason": "调整分工"})
    assert moved.status_code == 200, moved.text
    assert moved.json()["assignee"] == target
    assert owner.post(f"/applications/{app_id}/decision", json={"action": "accept"}).status_code == 409
    accepted = other.post(f"/applications/{app_id}/decision", json={"action": "accept"})
    assert accepted.status_code == 200, accepted.text

    trail: list[dict[str, Any]] = admin.get(f"/applications/{app_id}").json()["audit_trail"]
    assert [e["action"] for e in trail if e["action"] in {"claim", "reassign", "accept"}] == [
        "claim",
        "reassign",
        "accept",
    ]
    reassign = next(e for e in trail if e["action"] == "reassign")
    assert reassign["comment"].endswith("调整分工")
    # The applicant's own view leaves the staff's assignment out.
    assert not {"claim", "reassign"} & {
        e["action"] for e in applicant.get(f"/applications/{app_id}").json()["audit_trail"]
    }
