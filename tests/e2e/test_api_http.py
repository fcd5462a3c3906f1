"""The applications API over real HTTP on the local stack (API Gateway emulation → api function → moto)."""

from __future__ import annotations

import concurrent.futures
import time

import pytest
import requests

from infra import samples
from infra.local import LocalStack

from .conftest import Api

pytestmark = pytest.mark.xdist_group("stack")

ITEM = "technology-contract-registration"


def _create(api: Api) -> dict:
    enterprise = samples.SampleEnterprise()
    response = api.post(
        "/applications",
        json={
            "item_code": ITEM,
            "applicant": {"kind": "enterprise", "uscc": enterprise.uscc, "name": enterprise.name},
        },
    )
    assert response.status_code == 201, response.text
    return response.json()


def _wait_processed(api: Api, app_id: str, count: int, timeout_s: float = 120) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        detail = api.get(f"/applications/{app_id}").json()
        done = [m for m in detail["materials"] if m["status"] not in ("awaiting_upload", "processing")]
        if len(detail["materials"]) == len(done) == count:
            return detail
        time.sleep(0.5)
    raise AssertionError(f"materials not processed in {timeout_s} s: {detail['materials']}")


def test_catalogue_is_public_and_the_rest_needs_a_token(anonymous: Api) -> None:
    items = anonymous.get("/items").json()["items"]
    assert any(i["code"] == ITEM for i in items)
    assert anonymous.get(f"/items/{ITEM}").json()["promised_limit_days"] >= 1
    assert anonymous.get("/items/no-such-item").status_code == 404
    assert anonymous.get("/applications").status_code == 401
    assert anonymous.get("/openapi.json").json()["openapi"].startswith("3.")
    assert "swagger" in anonymous.get("/docs").text.lower()


def test_bad_input_gets_field_level_reasons_in_both_languages(applicant: Api) -> None:
    response = applicant.post(
        "/applications",
        json={
            "item_code": ITEM,
            "applicant": {"kind": "enterprise", "uscc": "91440300MA5FQ1P38X", "name": "x"},
        },
    )
    assert response.status_code == 422
    body = response.json()
    assert body["message"]["zh"]
    assert body["message"]["en"]
    assert any(d.get("field", "").endswith("uscc") for d in body["details"])
    malformed = applicant.post(
        "/applications", data="{not json", headers={"Content-Type": "application/json"}
    )
    assert malformed.status_code == 400
    assert malformed.json()["message"]["en"]


def test_presigned_post_lands_the_object_where_the_policy_says(stack: LocalStack, applicant: Api) -> None:
    app = _create(applicant)
    data = samples.application_form_pdf("技术进出口合同登记")
    ticket = applicant.post(
        f"/applications/{app['id']}/materials/application/uploads",
        json={"filename": "申请表.pdf", "content_type": "application/pdf", "size": len(data)},
    ).json()
    assert ticket["method"] == "POST"
    assert ticket["instructions"]["en"]
    upload = requests.post(
        ticket["url"],
        data=ticket["fields"],
        files={"file": ("申请表.pdf", data, "application/pdf")},
        timeout=30,
    )
    assert upload.status_code in (200, 204), upload.text
    head = stack.client("s3").head_object(Bucket=stack.outputs["UploadsBucketName"], Key=ticket["key"])
    assert head["ContentLength"] == len(data)
    assert head["ContentType"] == "application/pdf"
    assert head["Metadata"]["application-id"] == app["id"]
    assert ticket["key"].startswith(f"uploads/{app['id']}/application/")


def test_upload_is_catalogued_and_visible_on_the_application(applicant: Api) -> None:
    enterprise = samples.SampleEnterprise()
    app = _create(applicant)
    data = samples.business_licence_png(enterprise)
    ticket = applicant.post(
        f"/applications/{app['id']}/materials/business_licence/uploads",
        json={"filename": "营业执照 扫描件.png", "content_type": "image/png", "size": len(data)},
    ).json()
    requests.post(
        ticket["url"], data=ticket["fields"], files={"file": ("x.png", data, "image/png")}, timeout=30
    )
    detail = _wait_processed(applicant, app["id"], 1)
    material = detail["materials"][0]
    assert material["status"] == "catalogued", material
    assert material["classification"]["material_type"] == "business_licence"
    assert material["fields"]["uscc"] == enterprise.uscc
    assert material["fields"]["enterprise_name"] == enterprise.name
    pdf = requests.get(material["download_url"], timeout=30).content
    assert pdf.startswith(b"%PDF")


def test_applicants_are_isolated(applicant: Api, other_applicant: Api) -> None:
    app = _create(applicant)
    assert other_applicant.get(f"/applications/{app['id']}").status_code == 404
    upload = other_applicant.post(
        f"/applications/{app['id']}/materials/application/uploads",
        json={"filename": "a.pdf", "content_type": "application/pdf", "size": 10},
    )
    assert upload.status_code == 404
    assert all(a["id"] != app["id"] for a in other_applicant.get("/applications").json()["items"])
    assert applicant.get(f"/applications/{app['id']}").status_code == 200


def test_concurrent_double_approve_is_one_success_and_one_conflict(
    stack: LocalStack, applicant: Api, reviewer: Api
) -> None:
    enterprise = samples.SampleEnterprise()
    app = _create(applicant)
    files = {
        "application": (
            "a.pdf",
            samples.application_form_pdf("技术进出口合同登记", enterprise),
            "application/pdf",
        ),
        "contract": ("c.pdf", samples.contract_pdf(enterprise), "application/pdf"),
        "business_licence": ("b.png", samples.business_licence_png(enterprise), "image/png"),
    }
    for slot, (name, data, ctype) in files.items():
        ticket = applicant.post(
            f"/applications/{app['id']}/materials/{slot}/uploads",
            json={"filename": name, "content_type": ctype, "size": len(data)},
        ).json()
        requests.post(ticket["url"], data=ticket["fields"], files={"file": (name, data, ctype)}, timeout=30)
    _wait_processed(applicant, app["id"], 3)
    assert applicant.post(f"/applications/{app['id']}/submit").status_code == 200
    assert reviewer.post(f"/applications/{app['id']}/decision", json={"action": "accept"}).status_code == 200
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        results = list(
            pool.map(
                lambda _: reviewer.post(f"/applications/{app['id']}/decision", json={"action": "approve"}),
                range(2),
            )
        )
    assert sorted(r.status_code for r in results) == [200, 409]
    conflict = next(r for r in results if r.status_code == 409).json()
    assert conflict["message"]["zh"]
    assert conflict["message"]["en"]
    stack.wait_idle(60)
    detail = applicant.get(f"/applications/{app['id']}").json()
    assert sum(1 for e in detail["audit_trail"] if e["action"] == "approve") == 1
