"""E-licence reuse (免提交) over real HTTP on the local stack.

A refined-oil retail licence is issued to an enterprise by the real issue path (the `ApplicationApproved`
event on the stack's bus → rule → issue function → KMS seal → licences bucket → registry); the same
enterprise then opens a change application and attaches that licence by its identifier instead of
uploading the old certificate. The approval that precedes issuing is what test_demo_flow drives in full
(its item issues another licence type); here the event is put on the bus directly, because the
qualification item asks for eleven materials that are not what this test is about.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
from onestop.identifiers.uscc import compose_uscc

from infra.local import LocalStack

from .conftest import Api

pytestmark = pytest.mark.xdist_group("stack")

QUALIFICATION = "refined-oil-retail-qualification"  # issues 成品油零售经营批准证书 (type …001)
CHANGE = "refined-oil-retail-change"  # its current_licence slot takes that licence instead of a file
USCC = compose_uscc("91440300", "MA5FEL01")
NAME = "深圳市免提交能源有限公司"


def _open(api: Api, item_code: str, uscc: str = USCC, name: str = NAME) -> str:
    response = api.post(
        "/applications",
        json={"item_code": item_code, "applicant": {"kind": "enterprise", "uscc": uscc, "name": name}},
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _approved(stack: LocalStack, application_id: str) -> None:
    """The event the api function publishes when a reviewer approves (see ApplicationService.decide)."""
    env = stack.environment_for_clients()
    detail = {
        "application_id": application_id,
        "item_code": QUALIFICATION,
        "applicant": {"kind": "enterprise", "code": USCC, "name": NAME},
        "approved_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "approved_by": "reviewer-e2e",
    }
    reply = stack.client("events").put_events(
        Entries=[
            {
                "EventBusName": env["EVENT_BUS_NAME"],
                "Source": "onestop",
                "DetailType": "ApplicationApproved",
                "Detail": json.dumps(detail, ensure_ascii=False),
            }
        ]
    )
    assert reply["FailedEntryCount"] == 0, reply


def _licence_of(api: Api, application_id: str, timeout_s: float = 120) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        licence_id = api.get(f"/applications/{application_id}").json().get("licence_id")
        if licence_id:
            return str(licence_id)
        time.sleep(0.5)
    raise AssertionError(f"no licence issued for {application_id} within {timeout_s} s")


@pytest.fixture(scope="module")
def issued(stack: LocalStack) -> dict[str, Any]:
    holder = Api(stack, f"elicence-holder-{uuid.uuid4().hex[:8]}", ("applicant",))
    first = _open(holder, QUALIFICATION)
    _approved(stack, first)
    return {"holder": holder, "licence_id": _licence_of(holder, first)}


def test_attach_an_issued_licence_instead_of_uploading(issued: dict[str, Any]) -> None:
    holder: Api = issued["holder"]
    licence_id: str = issued["licence_id"]
    licence = holder.get(f"/licences/{licence_id}")
    assert licence.status_code == 200, licence.text
    assert licence.json()["status"] == "01"

    app_id = _open(holder, CHANGE)
    before = holder.get(f"/applications/{app_id}").json()
    assert any(i["field"] == "materials.current_licence" for i in before["open_issues"])

    response = holder.post(
        f"/applications/{app_id}/materials/current_licence/elicence", json={"licence_id": licence_id}
    )
    assert response.status_code == 201, response.text
    attached = response.json()
    assert attached["status"] == "catalogued"
    assert attached["source"] == "elicence"
    assert attached["fields"]["uscc"] == USCC
    assert attached["fields"]["enterprise_name"] == NAME
    assert attached["fields"]["licence_id"] == licence_id

    detail = holder.get(f"/applications/{app_id}").json()
    [material] = [m for m in detail["materials"] if m["slot"] == "current_licence"]
    assert material["status"] == "catalogued"
    assert material["source"] == "elicence"
    assert material["classification"]["material_type"] == "qualification_certificate"
    assert not any(i["field"] == "materials.current_licence" for i in detail["open_issues"])
    assert [e["action"] for e in detail["audit_trail"]][-1] == "attach_elicence"
    # The material is the sealed licence itself: the same bytes the holder downloads as the licence.
    attached_pdf = requests.get(material["download_url"], timeout=30).content
    issued_pdf = requests.get(licence.json()["download_url"], timeout=30).content
    assert attached_pdf.startswith(b"%PDF")
    assert hashlib.sha256(attached_pdf).hexdigest() == licence.json()["pdf_sha256"]
    assert attached_pdf == issued_pdf

    again = holder.post(
        f"/applications/{app_id}/materials/current_licence/elicence", json={"licence_id": licence_id}
    )
    assert again.status_code == 200
    assert again.json()["upload_id"] == attached["upload_id"]


def test_another_enterprise_cannot_attach_it(issued: dict[str, Any], other_applicant: Api) -> None:
    other_uscc = compose_uscc("91440300", "MA5FEL02")
    app_id = _open(other_applicant, CHANGE, other_uscc, "深圳市别家能源有限公司")
    response = other_applicant.post(
        f"/applications/{app_id}/materials/current_licence/elicence",
        json={"licence_id": issued["licence_id"]},
    )
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "elicence_not_applicants"
    materials = other_applicant.get(f"/applications/{app_id}").json()["materials"]
    assert materials == []
