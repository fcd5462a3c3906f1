"""A reviewer corrects what was read (issue 14 item 7) on the local stack: real uploads through presigned
POSTs, real ingest (OCR, page previews, field readings), then over HTTP and in the desk in headless
Chromium: the page image with the field boxes, a value and the type corrected with a reason, the
audit (who, when, old → new), and the "zero error" figure on /stats and on the KPI page.
Screenshots go to test-artifacts/web-corrections-*.png. Needs Debian's chromium.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests

from infra import samples
from infra.local import LocalStack

from .browser import new_page, shot
from .conftest import Api

pytestmark = [pytest.mark.xdist_group("stack"), pytest.mark.slow, pytest.mark.timeout(600)]

ITEM = "technology-contract-registration"


def submitted(applicant: Api) -> dict[str, Any]:
    """An application of the sample enterprise with its three materials ingested, submitted."""
    enterprise = samples.SampleEnterprise()
    reply = applicant.post(
        "/applications",
        json={
            "item_code": ITEM,
            "applicant": {"kind": "enterprise", "uscc": enterprise.uscc, "name": enterprise.name},
        },
    )
    assert reply.status_code == 201, reply.text
    app_id = reply.json()["id"]
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
            f"/applications/{app_id}/materials/{slot}/uploads",
            json={"filename": name, "content_type": ctype, "size": len(data)},
        ).json()
        sent = requests.post(
            ticket["url"], data=ticket["fields"], files={"file": (name, data, ctype)}, timeout=30
        )
        assert sent.status_code in (200, 204), sent.text
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        detail = applicant.get(f"/applications/{app_id}").json()
        if all(m["status"] not in ("awaiting_upload", "processing") for m in detail["materials"]):
            break
        time.sleep(1)
    reply = applicant.post(f"/applications/{app_id}/submit")
    assert reply.status_code == 200, reply.text
    return dict(applicant.get(f"/applications/{app_id}").json())


def licence_of(detail: dict[str, Any]) -> dict[str, Any]:
    return next(m for m in detail["materials"] if m["slot"] == "business_licence")


def test_a_reviewer_corrects_a_reading_over_http(stack: LocalStack, applicant: Api, reviewer: Api) -> None:
    app = submitted(applicant)
    detail = reviewer.get(f"/applications/{app['id']}").json()
    licence = licence_of(detail)
    # The page image ingest stored beside the normalised PDF, and where each field was read on it.
    [preview] = licence["previews"]
    image = requests.get(preview["url"], timeout=30)
    assert image.status_code == 200
    assert image.content[:3] == b"\xff\xd8\xff"  # a JPEG
    box = licence["readings"]["legal_representative"]["box"]
    assert len(box) == 4
    assert 0 <= box[0] < box[2] <= 1
    assert 0 <= box[1] < box[3] <= 1

    path = f"/applications/{app['id']}/materials/{licence['upload_id']}/corrections"
    body = {"field": "legal_representative", "value": "王晓明", "reason": "原件为王晓明，识别有误"}
    reply = reviewer.post(path, json=body)
    assert reply.status_code == 200, reply.text
    correction = reply.json()["correction"]
    assert (correction["old"], correction["new"], correction["actor"]) == ("王小明", "王晓明", "reviewer-1")
    again = reviewer.post(path, json=body)
    assert again.status_code == 200
    assert again.json()["applied"] is False
    # the applicant sees the corrected value and the audit entry, and may not correct anything
    mine = applicant.get(f"/applications/{app['id']}").json()
    assert licence_of(mine)["fields"]["legal_representative"] == "王晓明"
    assert licence_of(mine)["fields_as_read"]["legal_representative"] == "王小明"
    entries = [e for e in mine["audit_trail"] if e["action"] == "correct_field"]
    assert len(entries) == 1
    assert "王小明 → 王晓明" in entries[0]["comment"]
    assert applicant.post(path, json=body).status_code == 403
    bad = reviewer.post(path, json={**body, "field": "uscc", "value": "91440300MA5FQ1P380"})
    assert bad.status_code == 422

    stats = reviewer.get("/stats").json()["materials"]
    figures = {t["material_type"]: t for t in stats["by_type"]}
    assert figures["business_licence"]["corrected"] >= 1
    assert figures["business_licence"]["field_corrections"]["legal_representative"] >= 1
    rate = figures["business_licence"]["correction_rate"]
    assert rate == round(
        figures["business_licence"]["corrected"] / figures["business_licence"]["catalogued"], 4
    )


def sign_in(page: Any, name: str, role: str) -> None:
    page.fill("#signin-name", name)
    page.check(f"#signin-form input[name='role'][value='{role}']")
    page.click("#signin-form button[type='submit']")
    page.wait_for_selector("#app-root:not([hidden])")


def test_a_reviewer_corrects_a_value_and_the_type_at_the_desk(
    stack: LocalStack, browser: Any, applicant: Api
) -> None:
    app = submitted(applicant)
    licence = licence_of(app)["upload_id"]
    contract = next(m for m in app["materials"] if m["slot"] == "contract")
    base = f"{stack.api_url}/web"
    page = new_page(browser)
    page.goto(f"{base}/desk/index.html#app={app['id']}")
    sign_in(page, "审查员 赵", "reviewer")
    panel = f".review-panel[data-upload-id='{licence}']"
    page.wait_for_selector(f"{panel} .page-preview img")
    # the image has loaded (a presigned GET the CSP allows) and the boxes sit on it
    page.wait_for_function(f'() => document.querySelector("{panel} .page-preview img").naturalWidth > 0')
    boxes = page.eval_on_selector_all(f"{panel} .field-box", "els => els.map(e => e.dataset.field)")
    assert "legal_representative" in boxes
    frame = page.locator(f"{panel} .page-frame").bounding_box()
    box = page.locator(f"{panel} .field-box[data-field='legal_representative']").bounding_box()
    assert frame["x"] <= box["x"] < box["x"] + box["width"] <= frame["x"] + frame["width"] + 1
    assert frame["y"] <= box["y"] < box["y"] + box["height"] <= frame["y"] + frame["height"] + 1
    shot(page, "corrections-desk")

    # a value: the box picks the field and fills in what was read
    page.click(f"{panel} .field-box[data-field='legal_representative']")
    form = f"{panel} form.correct-form"
    assert page.input_value(f"{form} select[name='field']") == "legal_representative"
    assert page.input_value(f"{form} input[name='value']") == "王小明"
    page.fill(f"{form} input[name='value']", "王晓明")
    page.fill(f"{form} input[name='reason']", "原件为王晓明")
    page.click(f"{form} button[type='submit']")
    page.wait_for_selector(f"{panel} .correction-list li[data-field='legal_representative']")
    line = page.inner_text(f"{panel} .correction-list li[data-field='legal_representative']")
    assert "王小明 → 王晓明" in line
    assert "（reviewer）" in line
    assert (
        page.inner_text(f".material[data-upload-id='{licence}'] dd[data-field='legal_representative']")
        == "王晓明"
    )

    shown = f".material[data-upload-id='{licence}'] dd[data-field='legal_representative']"
    assert page.get_attribute(shown, "data-corrected") == "true"
    assert "王小明" in page.inner_text(f".material[data-upload-id='{licence}'] dd.corrected")

    # the type: a verdict the reviewer overrides, with a reason
    cpanel = f".review-panel[data-upload-id='{contract['upload_id']}']"
    cform = f"{cpanel} form.correct-form"
    page.select_option(f"{cform} select[name='field']", "material_type")
    new_type = "other" if contract["classification"]["material_type"] != "other" else "technology_contract"
    page.select_option(f"{cform} select[name='type']", new_type)
    page.fill(f"{cform} input[name='reason']", "按其他材料归档")
    page.click(f"{cform} button[type='submit']")
    page.wait_for_selector(f"{cpanel} .correction-list li[data-field='material_type']")
    assert (
        page.get_attribute(
            f".material[data-upload-id='{contract['upload_id']}'] .classification", "data-type"
        )
        == new_type
    )

    # an invalid value is refused where it was typed
    page.select_option(f"{form} select[name='field']", "uscc")
    page.fill(f"{form} input[name='value']", "91440300MA5FQ1P380")
    page.fill(f"{form} input[name='reason']", "试错")
    page.click(f"{form} button[type='submit']")
    page.wait_for_selector(f"{form} .error:not([hidden])")

    # the audit trail names who, and old → new
    page.click("details:has(#case-audit) > summary")
    audit = page.inner_text("#case-audit")
    assert "更正识别结果" in audit
    assert "更正材料类型" in audit
    assert "legal_representative: 王小明 → 王晓明" in audit
    shot(page, "corrections-done")

    # the KPI page shows the rate the API reports
    page.goto(f"{base}/kpi/index.html")
    page.wait_for_selector("#by-material-type tr[data-type='business_licence']")
    token = stack.token("kpi-check", ["reviewer"])
    stats = requests.get(
        f"{stack.api_url}/stats", headers={"Authorization": f"Bearer {token}"}, timeout=60
    ).json()
    figures = {t["material_type"]: t for t in stats["materials"]["by_type"]}["business_licence"]
    row = "#by-material-type tr[data-type='business_licence']"
    assert page.inner_text(f"{row} [data-figure='corrected']") == str(figures["corrected"])
    assert page.inner_text(f"{row} [data-figure='catalogued']") == str(figures["catalogued"])
    assert "法定代表人" in page.inner_text(f"{row} [data-figure='field_corrections']")
    shot(page, "corrections-kpi")
    assert page.js_errors == []
    assert page.csp_violations == []
