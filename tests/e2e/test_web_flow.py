"""The applicant portal, reviewer desk and KPI dashboard in headless Chromium, as people use them.

One application goes all the way through the pages against the local stack: an applicant signs in,
finds the item, applies, uploads real files (a born-digital application form and contract, and a
business licence scan that goes through OCR) straight to storage, gets the one-time notice for what
is missing, completes and submits; a reviewer in another browser accepts and approves at the desk;
the applicant sees the e-licence, downloads it and verifies it on the public verify page, then rates
the service; the KPI dashboard shows the counts. Screenshots go to test-artifacts/web-*.png.
Needs Debian's chromium (`apt-get install -y chromium`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import requests

from infra import samples
from infra.local import LocalStack

from .browser import new_page, shot

pytestmark = [pytest.mark.xdist_group("stack"), pytest.mark.slow, pytest.mark.timeout(600)]

ITEM = "technology-contract-registration"
PROCESSED = (
    "#slots .material[data-slot='{slot}']"
    ":not([data-status='awaiting_upload']):not([data-status='processing'])"
)
DONE = '#summary[data-valid="true"], #summary[data-valid="false"], #summary[data-valid="error"]'
FIELDS = "els => els.map(e => [e.dataset.field, e.textContent])"


def sign_in(page: Any, name: str, role: str) -> None:
    page.fill("#signin-name", name)
    page.check(f"#signin-form input[name='role'][value='{role}']")
    page.click("#signin-form button[type='submit']")
    page.wait_for_selector("#app-root:not([hidden])")
    assert name in page.inner_text("#who")


def upload(page: Any, slot: str, filename: str, mime: str, data: bytes) -> None:
    page.set_input_files(f"#file-{slot}", files=[{"name": filename, "mimeType": mime, "buffer": data}])


def wait_processed(page: Any, slot: str, timeout_ms: int = 150_000) -> dict[str, str]:
    card = page.wait_for_selector(PROCESSED.format(slot=slot), timeout=timeout_ms)
    fields = card.eval_on_selector_all(
        "dd[data-field]", "els => els.map(e => [e.dataset.field, e.textContent])"
    )
    return {"status": card.get_attribute("data-status"), **dict(fields)}


def test_a_whole_application_through_the_pages(stack: LocalStack, browser: Any, tmp_path: Path) -> None:
    enterprise = samples.SampleEnterprise()
    base = f"{stack.api_url}/web"

    # ---- the applicant finds the service item from the landing page
    applicant = new_page(browser)
    applicant.goto(f"{base}/index.html")
    applicant.click("#to-portal")
    # The identity federation vouches that this clerk acts for the enterprise (its attribute in the
    # user pool, which the sign-in's token then carries).
    stack.token("星河技术 经办人", ["applicant"], uscc=[enterprise.uscc])
    sign_in(applicant, "星河技术 经办人", "applicant")
    applicant.fill("#q", "技术进出口")
    applicant.press("#q", "Enter")
    applicant.wait_for_selector(f"#item-list li[data-code='{ITEM}']")
    assert applicant.locator("#item-list li").count() >= 1
    applicant.click(f"#item-list li[data-code='{ITEM}'] button")
    applicant.wait_for_selector("#item-view:not([hidden])")
    assert applicant.inner_text("#item-title") == "技术进出口合同登记"
    assert "承诺 1 个工作日（法定 3 个）" in applicant.inner_text("#item-facts")
    slots = applicant.eval_on_selector_all(
        "#item-materials tbody tr", "rows => rows.map(r => r.dataset.slot)"
    )
    assert {"application", "contract", "business_licence"} <= set(slots)
    shot(applicant, "portal-item")

    # ---- applies as the enterprise
    applicant.fill("#uscc", enterprise.uscc)
    applicant.fill("#enterprise-name", enterprise.name)
    applicant.fill("#contact-name", "赵经办")
    applicant.fill("#contact-phone", "0755-86001234")
    applicant.click("#create-form button[type='submit']")
    applicant.wait_for_selector("#app-view:not([hidden]) #app-status[data-status='draft']")
    app_id = applicant.url.split("#app=")[1]
    assert len(app_id) == 32

    # ---- uploads two materials straight to storage, with progress, and watches them being catalogued
    upload(
        applicant,
        "application",
        "申请表.pdf",
        "application/pdf",
        samples.application_form_pdf("技术进出口合同登记", enterprise),
    )
    applicant.wait_for_function(
        "() => document.querySelector('#progress-application progress')?.value === 100"
    )
    upload(applicant, "contract", "contract.pdf", "application/pdf", samples.contract_pdf(enterprise))
    form = wait_processed(applicant, "application")
    assert form["status"] == "catalogued"
    assert form.get("uscc") == enterprise.uscc
    assert wait_processed(applicant, "contract")["status"] == "catalogued"

    # ---- submitting early: the one-time notice names the missing business licence
    applicant.click("#submit-app")
    applicant.wait_for_selector("#notice:not([hidden])")
    notice = applicant.inner_text("#notice")
    assert "一次性告知" in notice
    assert "营业执照" in notice
    codes = applicant.eval_on_selector_all("#notice-list li", "els => els.map(e => e.dataset.field)")
    assert "materials.business_licence" in codes
    assert applicant.evaluate("document.activeElement.id") == "notice"
    shot(applicant, "portal-notice")

    # ---- the scan goes through OCR; its fields appear on the page; then the application is submitted
    upload(
        applicant, "business_licence", "营业执照.png", "image/png", samples.business_licence_png(enterprise)
    )
    scan = wait_processed(applicant, "business_licence")
    assert scan["status"] == "catalogued", scan
    assert scan.get("uscc") == enterprise.uscc
    assert scan.get("enterprise_name") == enterprise.name
    card = applicant.locator("#slots .material[data-slot='business_licence']")
    assert card.locator(".classification").get_attribute("data-type") == "business_licence"
    assert card.locator("a.pdf-link").count() == 1
    applicant.click("#submit-app")
    applicant.wait_for_selector("#app-status[data-status='submitted']")
    assert applicant.locator("#notice").is_hidden()
    shot(applicant, "portal-submitted")

    # ---- a member of staff, in another browser, accepts and approves at the desk; in the admin group,
    # which also holds the licence lifecycle used at the end (reviewers may not change licences)
    reviewer = new_page(browser)
    reviewer.goto(f"{base}/desk/index.html")
    sign_in(reviewer, "审查员 李", "admin")
    row = reviewer.wait_for_selector(f"#queue tbody tr[data-id='{app_id}']")
    assert "技术进出口合同登记" in row.inner_text()
    dues = reviewer.eval_on_selector_all("#queue tbody tr", "rows => rows.map(r => r.dataset.due || '9999')")
    assert dues == sorted(dues), "the most urgent first"
    shot(reviewer, "desk-queue")
    reviewer.click(f"#queue tbody tr[data-id='{app_id}'] a.open")
    reviewer.wait_for_selector("#case-view:not([hidden]) #case-status[data-status='submitted']")
    cards = reviewer.eval_on_selector_all("#case-materials .material", "els => els.map(e => e.dataset.slot)")
    assert sorted(cards) == ["application", "business_licence", "contract"]
    licence_card = reviewer.locator("#case-materials .material[data-slot='business_licence']")
    assert licence_card.locator("dd[data-field='uscc']").inner_text() == enterprise.uscc
    assert reviewer.locator("#checks-ok").is_visible()

    # A presigned link that may have expired is renewed on click (the page's clock moved on 5 minutes).
    pdf_link = "#case-materials .material[data-slot='business_licence'] a.pdf-link"
    reviewer.evaluate("() => { const real = Date.now; Date.now = () => real() + 5 * 60 * 1000; }")

    def renewal(request: Any) -> bool:
        return bool(request.method == "GET" and request.url.endswith(f"/applications/{app_id}"))

    with reviewer.expect_request(renewal), reviewer.context.expect_page() as opened:
        reviewer.click(pdf_link)
    opened.value.wait_for_url("**/material.pdf?**")
    assert opened.value.url.startswith(stack.moto_url)
    opened.value.close()

    # ---- first a correction is requested (a reason is required); the applicant's page shows it
    reviewer.click("#decide-request_correction")
    reviewer.wait_for_selector("#decision-error:not([hidden])")
    assert "理由" in reviewer.inner_text("#decision-error")
    reviewer.fill("#decision-reasons", "请确认合同副本为最终签署版本")
    reviewer.click("#decide-request_correction")
    reviewer.wait_for_selector("#case-status[data-status='correction_requested']")
    applicant.wait_for_selector("#app-status[data-status='correction_requested']", timeout=30_000)
    assert "请确认合同副本为最终签署版本" in applicant.inner_text("#app-reasons")
    assert applicant.locator("#file-contract").is_visible()
    assert applicant.inner_text("#submit-app") == "补正后重新提交"
    shot(applicant, "portal-correction")
    applicant.click("#submit-app")
    applicant.wait_for_selector("#app-status[data-status='submitted']")

    # ---- then accepted and approved
    reviewer.click("#case-view a[href='#']")
    reviewer.wait_for_selector(f"#queue tbody tr[data-id='{app_id}'][data-status='submitted']")
    reviewer.click(f"#queue tbody tr[data-id='{app_id}'] a.open")
    reviewer.wait_for_selector("#case-status[data-status='submitted']")
    reviewer.click("#decide-accept")
    reviewer.wait_for_selector("#case-status[data-status='accepted']")
    reviewer.fill("#decision-comment", "材料齐全，符合规定")
    reviewer.click("#decide-approve")
    reviewer.wait_for_selector("#case-status[data-status='approved']")
    reviewer.wait_for_selector("#desk-licence-status[data-status='01']", timeout=120_000)
    shot(reviewer, "desk-approved")

    # ---- the applicant's page follows by itself: the licence is there to download
    applicant.wait_for_selector("#app-status[data-status='approved']", timeout=60_000)
    applicant.wait_for_selector("#licence-download", timeout=120_000)
    assert "有效" in applicant.inner_text("#licence-status")
    assert "材料齐全，符合规定" in applicant.inner_text("#app-reasons")
    licence_id = applicant.inner_text("#licence-id")
    assert licence_id.startswith("1.2.156.3005.2.")
    href = applicant.get_attribute("#licence-download", "href")
    pdf = applicant.request.get(href)
    assert pdf.ok
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.body().startswith(b"%PDF-")
    downloaded = tmp_path / "licence.pdf"
    downloaded.write_bytes(pdf.body())
    shot(applicant, "portal-licence")

    # ---- anyone can verify the downloaded file on the public verify page
    verify = applicant.context.new_page()
    verify.goto(f"{base}/verify/index.html")
    verify.set_input_files("#pdf-file", str(downloaded))
    verify.wait_for_selector(DONE, timeout=90_000)
    assert verify.get_attribute("#summary", "data-valid") == "true", verify.inner_text("#result")
    assert licence_id in verify.inner_text("#face")
    shot(verify, "verify-downloaded")
    verify.close()

    # ---- the applicant rates the service (好差评)
    applicant.wait_for_selector("#review-form")
    applicant.check("#review-form input[name='level'][value='satisfied']")
    applicant.select_option("#ind-efficiency", "4")
    applicant.fill("#review-comment", "办理很快")
    applicant.click("#review-form button[type='submit']")
    applicant.wait_for_selector("#review-done[data-level='satisfied']")
    assert "满意" in applicant.inner_text("#review-done")
    shot(applicant, "portal-rated")

    # ---- the KPI dashboard shows the same counts as /stats
    reviewer.click("header nav a[href='../kpi/index.html']")
    reviewer.wait_for_selector("[data-kpi='received']")
    token = stack.token("kpi-check", ["reviewer"])
    stats = requests.get(
        f"{stack.api_url}/stats", headers={"Authorization": f"Bearer {token}"}, timeout=60
    ).json()
    totals = stats["totals"]
    assert totals["received"] >= 1
    assert totals["licences_issued"] >= 1
    assert totals["reviews"]["satisfied"] >= 1
    for key in ("received", "completed", "approved", "licences_issued", "reviews_total"):
        assert reviewer.inner_text(f"[data-kpi='{key}']") == str(totals[key]), key
    bars = dict(
        reviewer.eval_on_selector_all(
            "#chart-flow rect[data-row='total']",
            "els => els.map(e => [e.dataset.series, Number(e.dataset.value)])",
        )
    )
    assert bars == {"received": totals["received"], "completed": totals["completed"]}
    satisfied = reviewer.get_attribute("#chart-reviews rect[data-row='satisfied']", "data-value")
    assert int(satisfied) == totals["reviews"]["satisfied"]
    assert reviewer.locator(f"#by-item tbody tr[data-code='{ITEM}']").count() == 1
    assert reviewer.locator("#chart-ontime svg[role='img']").count() >= 1
    shot(reviewer, "kpi")

    # ---- back at the desk: the licence is suspended (a reason is required) and reinstated
    reviewer.go_back()
    reviewer.wait_for_selector("#desk-licence-status[data-status='01']")
    reviewer.select_option("#lifecycle-action", "suspend")
    reviewer.click("#lifecycle-form button[type='submit']")
    reviewer.wait_for_selector("#lifecycle-error:not([hidden])")
    assert reviewer.get_attribute("#lifecycle-reason", "aria-invalid") == "true"
    reviewer.fill("#lifecycle-reason", "经营场所核查中，暂扣证照")
    reviewer.click("#lifecycle-form button[type='submit']")
    reviewer.wait_for_selector("#desk-licence-status[data-status='02']")
    assert "暂扣" in reviewer.inner_text("#desk-licence-status")
    assert reviewer.locator("#lifecycle-error").is_hidden()
    shot(reviewer, "desk-suspended")
    reviewer.select_option("#lifecycle-action", "reinstate")
    reviewer.fill("#lifecycle-reason", "核查完毕，恢复")
    reviewer.click("#lifecycle-form button[type='submit']")
    reviewer.wait_for_selector("#desk-licence-status[data-status='01']")

    assert applicant.js_errors == []
    assert reviewer.js_errors == []
    applicant.context.close()
    reviewer.context.close()
