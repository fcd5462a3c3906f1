"""Issue 13, item 5: separation of duties.

The attack as reported: an account in both the applicant and reviewer groups created, accepted and
approved its own application, then changed the holder name on its licence through a lifecycle
`change`; reviewers held every lifecycle power the template gives the admin group; the audit recorded
the role `reviewer` even for create. Everything runs through the api function's handler against moto;
licences are issued for real (dev PKI) on the application in the table.
"""

from __future__ import annotations

from typing import Any

import pytest
from onestop.aws.application_links import DynamoApplicationLinker
from onestop.catalogue import load_catalogue
from onestop.licences.issuer import LicenceOffice
from onestop.licences.models import LicenceRecord, LicenceStatus
from onestop.licences.signers import LocalKeySigner

from tests.integration.api_helpers import USCC_A, USCC_B, Aws, Client, catalogued
from tests.integration.test_api_elicence import Bureau
from tests.unit.test_licence_support import ISSUER

# The reported account: applicant and reviewer at once, bound to enterprise A.
both = Client("two-hats", ("applicant", "reviewer"), uscc=(USCC_A,), id_number=None)
applicant = Client("applicant-a", uscc=(USCC_A,), id_number=None)
reviewer = Client("reviewer-1", ("reviewer",))
# A reviewer bound to enterprise A (e.g. a member of staff who is also its legal representative).
interested = Client("reviewer-2", ("reviewer",), uscc=(USCC_A,), id_number=None)
admin = Client("admin-1", ("admin",))
interested_admin = Client("admin-2", ("admin",), uscc=(USCC_A,), id_number=None)


def refused(reply: Any, code: str) -> None:
    assert reply.status == 403, reply.body
    assert reply.body["code"] == code, reply.body
    assert reply.body["message"]["zh"], reply.body
    assert reply.body["message"]["en"], reply.body


def submitted(aws: Aws, owner: Client, uscc: str = USCC_A) -> str:
    reply = owner.post(
        "/applications",
        body={
            "item_code": "outbound-investment-filing",
            "applicant": {"kind": "enterprise", "uscc": uscc, "name": "深圳市示例贸易有限公司"},
        },
    )
    assert reply.status == 201, reply.body
    app_id = str(reply.body["id"])
    catalogued(aws, owner, app_id, "application", "application_form")
    catalogued(aws, owner, app_id, "business_licence", "business_licence", {"uscc": uscc})
    reply = owner.post(f"/applications/{app_id}/submit")
    assert reply.status == 200, reply.body
    return app_id


def decide(client: Client, app_id: str, action: str) -> Any:
    body: dict[str, Any] = {"action": action}
    if action in ("request_correction", "reject"):
        body["reasons"] = [{"zh": "理由"}]
    return client.post(f"/applications/{app_id}/decision", body=body)


def licence_on(bureau: Bureau, app_id: str, holder: str = USCC_A) -> LicenceRecord:
    """A licence issued on the application (one in the table) to the holder."""
    return bureau.issue(holder, application_id=app_id)


def lifecycle(client: Client, licence_id: str, action: str, **extra: Any) -> Any:
    body = {"action": action, "reason": "核查经营场所", **extra}
    return client.post(f"/licences/{licence_id}/lifecycle", body=body)


def trail(client: Client, app_id: str) -> list[tuple[str, str, str]]:
    events = client.get(f"/applications/{app_id}").body["audit_trail"]
    return [(e["action"], e["actor"], e["actor_role"]) for e in events]


# ------------------------------------------------------------------ decisions


@pytest.mark.parametrize("action", ["accept", "request_correction", "reject"])
def test_a_two_group_account_cannot_decide_on_its_own_application(bureau: Bureau, action: str) -> None:
    app_id = submitted(bureau.aws, both)
    refused(decide(both, app_id, action), "own_application")
    assert both.get(f"/applications/{app_id}").body["status"] == "submitted"


def test_the_reported_attack_create_accept_approve_own_application_fails(bureau: Bureau) -> None:
    app_id = submitted(bureau.aws, both)
    refused(decide(both, app_id, "accept"), "own_application")
    assert decide(reviewer, app_id, "accept").status == 200  # another member of staff may
    refused(decide(both, app_id, "approve"), "own_application")
    assert decide(reviewer, app_id, "approve").status == 200
    # The audit names the role each step was taken in: create and submit as the applicant even for a
    # two-group account, the decisions as a reviewer.
    assert trail(reviewer, app_id) == [
        ("create", "two-hats", "applicant"),
        ("submit", "two-hats", "applicant"),
        ("claim", "reviewer-1", "reviewer"),  # deciding an unclaimed application claims it (issue 18.5)
        ("accept", "reviewer-1", "reviewer"),
        ("approve", "reviewer-1", "reviewer"),
    ]


def test_a_reviewer_bound_to_the_applicant_cannot_decide_on_its_application(bureau: Bureau) -> None:
    app_id = submitted(bureau.aws, applicant)
    refused(decide(interested, app_id, "accept"), "party_conflict")
    # The same reviewer decides on another enterprise's application.
    other = submitted(bureau.aws, Client("applicant-b", uscc=(USCC_B,), id_number=None), USCC_B)
    assert decide(interested, other, "accept").status == 200


# ------------------------------------------------------------------ licence lifecycle


@pytest.mark.parametrize(
    ("action", "extra"),
    [
        ("suspend", {}),
        ("revoke", {}),
        ("cancel", {}),
        ("withdraw", {}),
        ("renew", {}),
        ("change", {"holder_name": "深圳市另一个名字有限公司"}),
    ],
)
def test_reviewers_hold_no_lifecycle_power(bureau: Bureau, action: str, extra: dict[str, Any]) -> None:
    app_id = submitted(bureau.aws, applicant)
    licence = licence_on(bureau, app_id)
    refused(lifecycle(reviewer, licence.licence_id, action, **extra), "admin_role_required")
    assert bureau.registry.get(licence.licence_id).status is LicenceStatus.VALID  # type: ignore[union-attr]
    assert not [e for e in bureau.aws.bus_events() if e["detail-type"] == "LicenceVersionRequested"]


def test_the_reported_attack_changing_the_holder_name_on_ones_own_licence_fails(bureau: Bureau) -> None:
    app_id = submitted(bureau.aws, both)
    licence = licence_on(bureau, app_id)
    change = {"holder_name": "冒名顶替有限公司"}
    refused(lifecycle(both, licence.licence_id, "change", **change), "admin_role_required")
    # Even in the admin group too, one's own application's licence is not one's to change.
    three_hats = Client("two-hats", ("applicant", "reviewer", "admin"), uscc=(USCC_A,), id_number=None)
    refused(lifecycle(three_hats, licence.licence_id, "change", **change), "own_application")
    assert not [e for e in bureau.aws.bus_events() if e["detail-type"] == "LicenceVersionRequested"]


def test_an_admin_bound_to_the_holder_cannot_change_its_licence(bureau: Bureau) -> None:
    app_id = submitted(bureau.aws, applicant)
    licence = licence_on(bureau, app_id)
    refused(lifecycle(interested_admin, licence.licence_id, "suspend"), "party_conflict")
    assert bureau.registry.get(licence.licence_id).status is LicenceStatus.VALID  # type: ignore[union-attr]


def test_a_disinterested_admin_changes_the_licence(bureau: Bureau) -> None:
    app_id = submitted(bureau.aws, applicant)
    licence = licence_on(bureau, app_id)
    reply = lifecycle(admin, licence.licence_id, "suspend")
    assert reply.status == 200, reply.body
    assert reply.body["status"] == LicenceStatus.SUSPENDED.value
    assert reply.body["history"][-1]["actor"] == "admin-1"
    assert reply.body["history"][-1]["actor_role"] == "admin"  # the role acted in, kept in the registry
    stored = bureau.registry.get(licence.licence_id)
    assert stored is not None
    assert stored.history[-1].actor_role == "admin"
    reply = lifecycle(admin, licence.licence_id, "reinstate")
    assert reply.status == 200, reply.body
    reply = lifecycle(admin, licence.licence_id, "change", holder_name="深圳市新名称有限公司")
    assert reply.status == 200, reply.body
    assert reply.body["requested"] == "change"
    requested = [e for e in bureau.aws.bus_events() if e["detail-type"] == "LicenceVersionRequested"]
    assert [e["detail"]["requested_by"] for e in requested] == ["admin-1"]
    assert [e["detail"]["requested_role"] for e in requested] == ["admin"]
    # The issue function seals the new version: both versions' audit name the admin and the role.
    office = LicenceOffice(
        catalogue=load_catalogue(),
        issuer=ISSUER,
        registry=bureau.registry,
        store=bureau.store,
        publisher=bureau.publisher,
        applications=DynamoApplicationLinker(bureau.aws.table.name),
        signer=lambda: LocalKeySigner.from_dev_pki(bureau.pki),
    )
    new = office.handle("LicenceVersionRequested", requested[0]["detail"])
    version = bureau.registry.get(new["licence_id"])
    assert version is not None
    assert (version.history[0].actor, version.history[0].actor_role) == ("admin-1", "admin")
    old = bureau.registry.get(licence.licence_id)
    assert old is not None
    assert old.status is LicenceStatus.SUPERSEDED
    assert (old.history[-1].actor, old.history[-1].actor_role) == ("admin-1", "admin")


def test_an_owners_acts_are_recorded_in_the_applicants_role(bureau: Bureau) -> None:
    reply = both.post(
        "/applications",
        body={
            "item_code": "outbound-investment-filing",
            "applicant": {"kind": "enterprise", "uscc": USCC_A, "name": "深圳市示例贸易有限公司"},
        },
    )
    app_id = reply.body["id"]
    ticket = both.post(
        f"/applications/{app_id}/materials/application/uploads",
        body={"filename": "a.pdf", "content_type": "application/pdf", "size": 1000},
    ).body
    removed = both.delete(f"/applications/{app_id}/materials/application/uploads/{ticket['upload_id']}")
    assert removed.status == 204, removed.body
    assert [(a, role) for a, _, role in trail(both, app_id)] == [
        ("create", "applicant"),
        ("remove_material", "applicant"),
    ]
