"""Issue 13, item 1: an account acts only for the parties its verified claims bind it to.

The attack as reported: applicant B opened an application with enterprise A's USCC (only its check
digit was checked), attached A's e-licence (免提交) and got a download URL of A's sealed original.
Everything runs through the api function's handler against moto, with licences issued for real
(dev PKI, registry in the table, sealed PDFs in a versioned bucket) by the e-licence tests' bureau.
The binding request flow (item 1's "request to be bound") is tested at the end of this module.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

import pytest
import requests
from onestop.licences.models import LicenceRecord

from tests.integration.api_helpers import (
    ID_PERSON,
    PERSON_ITEM,
    USCC_A,
    USCC_B,
    Client,
    enterprise_body,
)
from tests.integration.test_api_elicence import CHANGE_ITEM, SLOT, Bureau

# A: the holder's own account, bound to enterprise A. Mallory: an applicant bound to B only.
holder = Client("holder-a", uscc=(USCC_A,), id_number=None)
mallory = Client("mallory", uscc=(USCC_B,), id_number=None)
reviewer = Client("reviewer-1", ("reviewer",))


def refused(reply: Any, status: int, code: str) -> dict[str, Any]:
    assert reply.status == status, reply.body
    body: dict[str, Any] = reply.body
    assert body["code"] == code, body
    assert body["message"]["zh"], body
    assert body["message"]["en"], body
    return body


def open_change_application(client: Client, uscc: str = USCC_A) -> str:
    reply = client.post("/applications", body=enterprise_body(CHANGE_ITEM, uscc))
    assert reply.status == 201, reply.body
    return str(reply.body["id"])


def issue_to(bureau: Bureau, application_id: str, holder_code: str = USCC_A) -> LicenceRecord:
    """A licence issued on the application (one in the table) to the holder."""
    return bureau.issue(holder_code, application_id=application_id)


# ------------------------------------------------------------------ opening an application


def test_an_applicant_cannot_open_an_application_for_an_enterprise_it_is_not_bound_to(
    bureau: Bureau,
) -> None:
    body = refused(
        mallory.post("/applications", body=enterprise_body(CHANGE_ITEM, USCC_A)), 403, "party_not_bound"
    )
    assert USCC_A in body["message"]["zh"]
    assert "/bindings" in body["message"]["en"]
    assert body["details"][0]["field"] == "applicant.uscc"
    assert mallory.get("/applications").body["items"] == []  # nothing was stored
    # Its own enterprise is fine.
    assert mallory.post("/applications", body=enterprise_body(CHANGE_ITEM, USCC_B)).status == 201


def test_an_account_without_parties_opens_nothing(bureau: Bureau) -> None:
    nobody = Client("unbound", uscc=(), id_number=None)
    refused(nobody.post("/applications", body=enterprise_body(CHANGE_ITEM, USCC_A)), 403, "party_not_bound")
    person = {
        "item_code": PERSON_ITEM,
        "applicant": {"kind": "person", "id_number": ID_PERSON, "name": "李四"},
    }
    body = refused(nobody.post("/applications", body=person), 403, "party_not_bound")
    assert body["details"][0]["field"] == "applicant.id_number"


def test_a_person_applies_only_as_the_person_the_federation_verified(bureau: Bureau) -> None:
    other_person = "11010119900307" + "0011"
    someone = Client("someone", uscc=(), id_number=other_person)
    person = {
        "item_code": PERSON_ITEM,
        "applicant": {"kind": "person", "id_number": ID_PERSON, "name": "李四"},
    }
    refused(someone.post("/applications", body=person), 403, "party_not_bound")
    himself = Client("li-si", uscc=(), id_number=ID_PERSON)
    assert himself.post("/applications", body=person).status == 201


def test_malformed_input_is_still_a_422_before_the_binding_is_looked_at(bureau: Bureau) -> None:
    reply = mallory.post("/applications", body=enterprise_body(CHANGE_ITEM, "91440300MA5F0001XX"))
    assert reply.status == 422, reply.body


# ------------------------------------------------------------------ e-licences


def test_the_reported_attack_b_cannot_reach_as_sealed_original(bureau: Bureau) -> None:
    own = open_change_application(holder)
    licence = issue_to(bureau, own)
    # Step 1 of the attack fails: B cannot open an application for A.
    refused(mallory.post("/applications", body=enterprise_body(CHANGE_ITEM, USCC_A)), 403, "party_not_bound")
    # An application B still holds for A (opened while it was bound, or before this check existed):
    # attaching A's licence is refused, and no link to the original appears anywhere.
    was_bound = Client("mallory", uscc=(USCC_A, USCC_B), id_number=None)
    stale = open_change_application(was_bound)
    refused(
        mallory.post(
            f"/applications/{stale}/materials/{SLOT}/elicence", body={"licence_id": licence.licence_id}
        ),
        403,
        "party_not_bound",
    )
    assert mallory.get(f"/licences/{licence.licence_id}").status == 404


def test_an_e_licence_attached_while_bound_is_not_downloadable_once_the_binding_is_gone(
    bureau: Bureau,
) -> None:
    source = open_change_application(holder)
    licence = issue_to(bureau, source)
    was_bound = Client("mallory", uscc=(USCC_A, USCC_B), id_number=None)
    draft = open_change_application(was_bound)
    attached = was_bound.post(
        f"/applications/{draft}/materials/{SLOT}/elicence", body={"licence_id": licence.licence_id}
    )
    assert attached.status == 201, attached.body
    assert attached.body.get("download_url")
    # The binding is withdrawn (the next token no longer carries it): the page keeps the material
    # but gives no link to the sealed original; a reviewer still gets one.
    page = mallory.get(f"/applications/{draft}").body
    assert [m["source"] for m in page["materials"]] == ["elicence"]
    assert not page["materials"][0].get("download_url"), page["materials"][0]
    review_page = reviewer.get(f"/applications/{draft}").body
    assert review_page["materials"][0].get("download_url")


def test_a_draft_opened_while_bound_cannot_be_submitted_once_the_binding_is_gone(bureau: Bureau) -> None:
    """Bound at opening is not enough: submit asks again, so an unbound account takes nothing further."""
    was_bound = Client("mallory", uscc=(USCC_A, USCC_B), id_number=None)
    draft = open_change_application(was_bound)
    refused(mallory.post(f"/applications/{draft}/submit"), 403, "party_not_bound")
    assert mallory.get(f"/applications/{draft}").body["status"] == "draft"


def test_the_licence_download_url_goes_only_to_accounts_bound_to_its_holder_and_reviewers(
    bureau: Bureau,
) -> None:
    was_bound = Client("former-clerk", uscc=(USCC_A,), id_number=None)
    application = open_change_application(was_bound)
    licence = issue_to(bureau, application)
    path = f"/licences/{licence.licence_id}"
    # The application's owner, no longer bound to the holder: sees the licence, not the original.
    former = Client("former-clerk", uscc=(), id_number=None).get(path)
    assert former.status == 200, former.body
    assert former.body["download_url"] is None
    # An account bound to the holder (not the application's owner) and a reviewer get the original.
    for client in (Client("colleague", uscc=(USCC_A,), id_number=None), reviewer):
        reply = client.get(path)
        assert reply.status == 200, reply.body
        assert reply.body["download_url"], reply.body
    # Anyone else: the same 404 as for a licence that does not exist.
    assert mallory.get(path).status == 404


@pytest.mark.parametrize("uscc", [USCC_A.lower(), f" {USCC_A} "])
def test_binding_compares_codes_as_written_by_the_registry(bureau: Bureau, uscc: str) -> None:
    reply = holder.post("/applications", body=enterprise_body(CHANGE_ITEM, uscc))
    assert reply.status == 201, reply.body


# ------------------------------------------------------------------ the binding request flow

POOL_REGION = "us-east-1"  # moto's Cognito has no cn-north-1; the adapter takes the pool's region


@dataclass
class Directory:
    """The user pool (moto) and the users the tests sign in as."""

    cognito: Any
    pool_id: str

    def user(self, email: str) -> str:
        """A user as the federation creates it; its Cognito username (the claim `cognito:username`)."""
        created = self.cognito.admin_create_user(
            UserPoolId=self.pool_id, Username=email, MessageAction="SUPPRESS"
        )["User"]
        return str(created["Username"])

    def client(self, sub: str, username: str, groups: tuple[str, ...] = ("applicant",)) -> Client:
        """A client whose claims are this user's attributes now: what its next token carries."""
        attributes = self.cognito.admin_get_user(UserPoolId=self.pool_id, Username=username)["UserAttributes"]
        values = {a["Name"]: a["Value"] for a in attributes}
        client = Client(
            sub, groups, uscc=tuple(c for c in values.get("custom:uscc", "").split(",") if c), id_number=None
        )
        assert client.claims is not None
        client.claims["cognito:username"] = username
        return client


@pytest.fixture
def directory(monkeypatch: pytest.MonkeyPatch, bureau: Bureau) -> Directory:
    import boto3
    from onestop.aws import composition
    from onestop.settings import reset_settings

    cognito = boto3.client("cognito-idp", region_name=POOL_REGION)
    pool = cognito.create_user_pool(
        PoolName="onestop-test",
        UsernameAttributes=["email"],
        Schema=[
            {"Name": "id_number", "AttributeDataType": "String", "Mutable": True},
            {"Name": "uscc", "AttributeDataType": "String", "Mutable": True},
        ],
    )["UserPool"]
    monkeypatch.setenv("USER_POOL_ID", pool["Id"])
    reset_settings()
    composition.reset()
    return Directory(cognito, pool["Id"])


PDF = b"%PDF-1.7\n% power of attorney\n"


def ask(client: Client, uscc: str = USCC_A, size: int = len(PDF)) -> Any:
    return client.post(
        "/bindings",
        body={"uscc": uscc, "enterprise_name": "深圳市示例贸易有限公司", "document": {"size": size}},
    )


def upload(created: dict[str, Any]) -> None:
    ticket = created["upload"]
    reply = requests.post(
        ticket["url"], data=ticket["fields"], files={"file": ("poa.pdf", PDF, "application/pdf")}, timeout=30
    )
    assert reply.status_code in (200, 201, 204), reply.text


def test_binding_request_approved_by_an_admin_binds_the_account_from_its_next_token(
    directory: Directory,
) -> None:
    username = directory.user("clerk@example.test")
    clerk = directory.client("clerk", username)
    refused(clerk.post("/applications", body=enterprise_body(CHANGE_ITEM, USCC_A)), 403, "party_not_bound")
    created = ask(clerk)
    assert created.status == 201, created.body
    request = created.body["request"]
    assert request["status"] == "pending"
    assert created.body["upload"]["key"].startswith("bindings/")  # outside the ingested uploads/ prefix
    path = f"/bindings/{request['id']}"
    admin = Client("admin-1", ("admin",))
    # Not before the power of attorney is there.
    assert admin.post(f"{path}/decision", body={"action": "approve", "reason": "材料齐全"}).body["code"] == (
        "document_missing"
    )
    upload(created.body)
    pending = admin.get("/bindings/pending").body["items"]
    assert [r["id"] for r in pending] == [request["id"]]
    seen = admin.get(path).body
    assert seen["document_url"]  # the admin reads the document
    assert clerk.get(path).body["document_url"] is None
    approved = admin.post(f"{path}/decision", body={"action": "approve", "reason": "授权委托书有效"})
    assert approved.status == 200, approved.body
    assert [(e["action"], e["actor"], e["actor_role"]) for e in approved.body["history"]] == [
        ("request", "clerk", "applicant"),
        ("approve", "admin-1", "admin"),
    ]
    assert admin.get("/bindings/pending").body["items"] == []
    # The token the clerk holds still says nothing; the next one carries the binding.
    refused(clerk.post("/applications", body=enterprise_body(CHANGE_ITEM, USCC_A)), 403, "party_not_bound")
    again = directory.client("clerk", username)
    assert USCC_A in again.claims["custom:uscc"]  # type: ignore[index]
    assert again.post("/applications", body=enterprise_body(CHANGE_ITEM, USCC_A)).status == 201
    # A second request for the same enterprise is pointless.
    assert ask(again).body["code"] == "already_bound"


def test_only_a_disinterested_admin_decides_a_binding_request(directory: Directory) -> None:
    username = directory.user("self@example.test")
    # An account in the applicant and admin groups asks for itself and tries to approve it.
    both = directory.client("self-admin", username, ("applicant", "admin"))
    created = ask(both).body
    upload(created)
    path = f"/bindings/{created['request']['id']}/decision"
    refused(both.post(path, body={"action": "approve", "reason": "本人核准"}), 403, "own_request")
    refused(
        Client("reviewer-1", ("reviewer",)).post(path, body={"action": "approve", "reason": "审批人员核准"}),
        403,
        "admin_role_required",
    )
    # Someone else's request is the same 404 as one that does not exist.
    assert Client("applicant-x").get(path.removesuffix("/decision")).body["code"] == "binding_not_found"
    attrs = directory.cognito.admin_get_user(UserPoolId=directory.pool_id, Username=username)[
        "UserAttributes"
    ]
    assert "custom:uscc" not in {a["Name"] for a in attrs}
    rejected = Client("admin-1", ("admin",)).post(path, body={"action": "reject", "reason": "委托书未盖章"})
    assert rejected.status == 200, rejected.body
    assert rejected.body["status"] == "rejected"
    assert rejected.body["decision_reason"] == "委托书未盖章"
    late = Client("admin-1", ("admin",)).post(path, body={"action": "approve", "reason": "改为核准"})
    assert late.status == 409, late.body
    assert late.body["code"] == "binding_decided"


def test_the_portal_client_cannot_write_the_party_attributes() -> None:
    from infra.local.template import load_sam_template

    resources = load_sam_template()["Resources"]
    pool = resources["UserPool"]["Properties"]
    assert {a["Name"] for a in pool["Schema"]} >= {"id_number", "uscc"}
    portal = resources["UserPoolClient"]["Properties"]
    assert not [a for a in portal["WriteAttributes"] if a.startswith("custom:")]
    assert {"custom:id_number", "custom:uscc"} <= set(portal["ReadAttributes"])
    # The power of attorney goes under bindings/, which the ingest notification does not pick up.
    notifications = resources["UploadsBucket"]["Properties"]["NotificationConfiguration"][
        "QueueConfigurations"
    ]
    prefixes = [
        r["Value"] for q in notifications for r in q["Filter"]["S3Key"]["Rules"] if r["Name"] == "prefix"
    ]
    assert prefixes == ["uploads/"]


def test_an_approval_without_the_directory_is_recorded_and_says_to_retry(bureau: Bureau) -> None:
    clerk = Client("clerk-x", uscc=(), id_number=None)
    created = ask(clerk).body
    upload(created)
    path = f"/bindings/{created['request']['id']}/decision"
    admin = Client("admin-1", ("admin",))
    reply = admin.post(path, body={"action": "approve", "reason": "授权委托书有效"})
    assert reply.status == 503, reply.body
    assert reply.body["code"] == "directory_unavailable"
    assert clerk.get(path.removesuffix("/decision")).body["status"] == "approved"
    # Approving again retries the claim (still 503 here); rejecting an approved request is refused.
    assert admin.post(path, body={"action": "approve", "reason": "重试"}).status == 503
    assert admin.post(path, body={"action": "reject", "reason": "改为驳回"}).body["code"] == "binding_decided"


def test_binding_requests_refuse_bad_input_and_foreign_cursors(bureau: Bureau) -> None:
    clerk = Client("clerk-y", uscc=(), id_number=None)
    bad = ask(clerk, uscc="91440300MA5F0001XX")
    assert bad.status == 422, bad.body
    assert {d["field"] for d in bad.body["details"]} == {"uscc"}
    assert ask(clerk, size=10 * 1024 * 1024 + 1).status == 422
    assert ask(clerk).status == 201
    assert ask(clerk).body["code"] == "binding_pending"  # the same enterprise again while it waits
    assert ask(Client("reviewer-1", ("reviewer",))).status == 403  # applicants ask, staff decide
    # A cursor naming another requester's partition is not a way into their requests.
    foreign = base64.urlsafe_b64encode(
        json.dumps({"PK": "BIND#x", "SK": "META", "GSI3PK": "BINDOWNER#someone", "GSI3SK": "x"}).encode()
    ).decode()
    reply = clerk.get("/bindings", query={"cursor": foreign})
    assert reply.status == 422, reply.body
    assert reply.body["code"] == "invalid_cursor"
