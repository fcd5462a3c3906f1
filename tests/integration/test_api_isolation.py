"""Isolation: an applicant sees only their own applications (404 for others'), reviewers see all,
anonymous callers only the catalogue (401, in zh and en)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .api_helpers import USCC_B, Aws, Client, moto_aws, new_application, upload_ticket


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    with moto_aws(monkeypatch) as stack:
        yield stack


alice = Client("alice-sub")
bob = Client("bob-sub")
reviewer = Client("reviewer-1", ("reviewer",))
anonymous = Client(None)


def test_applicant_b_cannot_read_or_touch_a_s_application(aws: Aws) -> None:
    app = new_application(alice)
    ticket = upload_ticket(alice, app["id"], "business_licence").body
    base = f"/applications/{app['id']}"
    missing = alice.get("/applications/" + "0" * 32)
    assert missing.status == 404

    for reply in [
        bob.get(base),
        upload_ticket(bob, app["id"], "business_licence"),
        bob.delete(f"{base}/materials/business_licence/uploads/{ticket['upload_id']}"),
        bob.post(f"{base}/submit"),
        bob.post(f"{base}/withdraw"),
    ]:
        assert reply.status == 404
        # the same answer as for an id that does not exist: nothing confirms the application exists
        assert reply.body["code"] == missing.body["code"]
        assert reply.body["message"] == missing.body["message"]

    assert bob.get("/applications").body["items"] == []
    # nothing of bob's attempts changed alice's application
    detail = alice.get(base).body
    assert detail["status"] == "draft"
    assert [m["upload_id"] for m in detail["materials"]] == [ticket["upload_id"]]
    assert [e["action"] for e in detail["audit_trail"]] == ["create"]


def test_each_applicant_lists_only_their_own(aws: Aws) -> None:
    mine = new_application(alice)
    theirs = new_application(bob, uscc=USCC_B)
    assert [a["id"] for a in alice.get("/applications").body["items"]] == [mine["id"]]
    assert [a["id"] for a in bob.get("/applications").body["items"]] == [theirs["id"]]


def test_reviewer_reads_any_application_but_cannot_act_as_the_applicant(aws: Aws) -> None:
    app = new_application(alice)
    reply = reviewer.get(f"/applications/{app['id']}")
    assert reply.status == 200
    assert reply.body["allowed_actions"] == []
    upload = upload_ticket(reviewer, app["id"], "business_licence")
    assert upload.status == 403
    assert upload.body["message"]["zh"]
    assert reviewer.post(f"/applications/{app['id']}/submit").status == 403


def test_applicants_get_403_on_reviewer_routes(aws: Aws) -> None:
    app = new_application(alice)
    queue = alice.get("/review/queue")
    assert queue.status == 403
    assert queue.body["code"] == "reviewer_role_required"
    assert queue.body["message"]["zh"]
    assert queue.body["message"]["en"]
    decision = alice.post(f"/applications/{app['id']}/decision", body={"action": "approve"})
    assert decision.status == 403


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/applications", None),
        ("POST", "/applications", {"item_code": "x"}),  # invalid too: 401 comes first
        ("POST", "/applications", None),
        ("GET", "/applications/" + "a" * 32, None),
        ("POST", f"/applications/{'a' * 32}/materials/business_licence/uploads", {"filename": "a.pdf"}),
        ("DELETE", f"/applications/{'a' * 32}/materials/business_licence/uploads/{'b' * 32}", None),
        ("POST", f"/applications/{'a' * 32}/submit", None),
        ("POST", f"/applications/{'a' * 32}/withdraw", None),
        ("GET", "/review/queue", None),
        ("POST", f"/applications/{'a' * 32}/decision", {"action": "approve"}),
    ],
)
def test_anonymous_gets_401_everywhere_but_the_catalogue(
    aws: Aws, method: str, path: str, body: object
) -> None:
    reply = anonymous.request(method, path, body=body)
    assert reply.status == 401
    assert reply.body["code"] == "authentication_required"
    assert reply.body["message"]["zh"]
    assert reply.body["message"]["en"]


def test_claims_without_a_subject_are_anonymous(aws: Aws) -> None:
    no_sub = Client("x")
    assert no_sub.claims is not None
    no_sub.claims = {k: v for k, v in no_sub.claims.items() if k != "sub"}
    assert no_sub.get("/applications").status == 401
