"""The legal clock on the local stack (issue 18 item 4): over real HTTP, a correction after acceptance
pauses the decision clock and the resubmission returns the application to accepted; a special procedure
pauses it; the one extension is asked by a reviewer, refused to a reviewer's approval and approved by an
admin; then in headless Chromium the portal shows the pause and the extension to the applicant and the
desk's admin approves an extension. Screenshots go to test-artifacts/web-clock-*.png. Needs chromium.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from onestop.applications.clock import SHANGHAI, WorkingDayClock

from infra import samples
from infra.local import LocalStack

from .browser import new_page, shot
from .conftest import Api
from .flows import contract_files, upload_files, wait_processed

pytestmark = [pytest.mark.xdist_group("stack"), pytest.mark.slow, pytest.mark.timeout(600)]

ITEM = "technology-contract-registration"
clock = WorkingDayClock()


def accepted(applicant: Api, reviewer: Api) -> dict[str, Any]:
    """An application of the sample enterprise with its three materials ingested, submitted, accepted."""
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
    upload_files(applicant, app_id, contract_files(enterprise))
    wait_processed(applicant, app_id, 3)
    assert applicant.post(f"/applications/{app_id}/submit").status_code == 200
    reply = reviewer.post(f"/applications/{app_id}/decision", json={"action": "accept"})
    assert reply.status_code == 200, reply.text
    return dict(reply.json())


def due(body: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(body["deadline"]["due"])


def test_the_clock_over_http(stack: LocalStack, applicant: Api, reviewer: Api, admin: Api) -> None:
    app = accepted(applicant, reviewer)
    app_id = app["id"]
    first_due = due(app)

    # 补正 after acceptance: the clock waits; the resubmission goes back to accepted.
    reasons = [{"zh": "合同副本缺少签字页", "en": "The contract copy lacks the signature page"}]
    asked = reviewer.post(
        f"/applications/{app_id}/decision", json={"action": "request_correction", "reasons": reasons}
    )
    assert asked.status_code == 200, asked.text
    view = applicant.get(f"/applications/{app_id}/clock").json()
    assert view["paused"] is True
    assert view["open_pause"]["procedure"] == "correction"
    assert "合同副本缺少签字页" in view["summary"][0]["zh"]
    back = applicant.post(f"/applications/{app_id}/submit")
    assert back.status_code == 200, back.text
    assert back.json()["status"] == "accepted"
    assert applicant.post(f"/applications/{app_id}/submit").status_code == 409  # not twice
    resumed = applicant.get(f"/applications/{app_id}/clock").json()
    [pause] = resumed["pauses"]
    assert pause["ended_at"] is not None
    started, ended_at = (datetime.fromisoformat(pause[k]) for k in ("started_at", "ended_at"))
    assert pause["working_days"] == clock.working_days_between(started, ended_at)
    moved = clock._walk(first_due.astimezone(SHANGHAI).date(), pause["working_days"])[0]
    assert due(resumed).astimezone(SHANGHAI).date() == moved

    # A special procedure: an applicant may not pause; a reviewer may, once at a time.
    body = {"procedure": "expert_review", "reason": {"zh": "组织专家评审", "en": "Expert review"}}
    assert applicant.post(f"/applications/{app_id}/clock/pauses", json=body).status_code == 403
    paused = reviewer.post(f"/applications/{app_id}/clock/pauses", json=body)
    assert paused.status_code == 200, paused.text
    assert reviewer.post(f"/applications/{app_id}/clock/pauses", json=body).status_code == 409
    blocked = reviewer.post(f"/applications/{app_id}/decision", json={"action": "approve"})
    assert blocked.status_code == 409
    assert blocked.json()["code"] == "clock_paused"
    ended = reviewer.post(f"/applications/{app_id}/clock/pauses/2/end", json={})
    assert ended.status_code == 200, ended.text
    assert reviewer.post(f"/applications/{app_id}/clock/pauses/2/end", json={}).status_code == 409

    # The one extension: asked by a reviewer, a reviewer's approval refused, an admin's taken.
    before = due(ended.json())
    ext = {"days": 4, "reason": {"zh": "需征求相关部门意见", "en": "Other departments are consulted"}}
    assert reviewer.post(f"/applications/{app_id}/clock/extension", json=ext).status_code == 200
    refused = reviewer.post(f"/applications/{app_id}/clock/extension/decision", json={"decision": "approve"})
    assert refused.status_code == 403
    assert refused.json()["message"]["zh"]
    approved = admin.post(f"/applications/{app_id}/clock/extension/decision", json={"decision": "approve"})
    assert approved.status_code == 200, approved.text
    after = due(approved.json())
    assert after.astimezone(SHANGHAI).date() == clock._walk(before.astimezone(SHANGHAI).date(), 4)[0]
    second = reviewer.post(f"/applications/{app_id}/clock/extension", json=ext)
    assert second.status_code == 409
    assert second.json()["code"] == "deadline_already_extended"
    # The application's own deadline is the effective one.
    assert due(applicant.get(f"/applications/{app_id}").json()) == after
    actions = [e["action"] for e in applicant.get(f"/applications/{app_id}").json()["audit_trail"]]
    for action in ("clock_pause", "clock_resume", "extension_request", "extension_approve"):
        assert action in actions


def sign_in(page: Any, name: str, role: str) -> None:
    page.fill("#signin-name", name)
    page.check(f"#signin-form input[name='role'][value='{role}']")
    page.click("#signin-form button[type='submit']")
    page.wait_for_selector("#app-root:not([hidden])")


def test_the_portal_shows_the_pause_and_the_desk_approves_the_extension(
    stack: LocalStack, browser: Any, applicant: Api, reviewer: Api
) -> None:
    app = accepted(applicant, reviewer)
    app_id = app["id"]
    body = {"procedure": "onsite_inspection", "reason": {"zh": "需现场核查经营场所", "en": "Site check"}}
    assert reviewer.post(f"/applications/{app_id}/clock/pauses", json=body).status_code == 200
    ext = {"days": 5, "reason": {"zh": "案情复杂", "en": "A complex case"}}
    assert reviewer.post(f"/applications/{app_id}/clock/extension", json=ext).status_code == 200
    base = f"{stack.api_url}/web"

    # The applicant sees that the clock is paused, since when and why.
    portal = new_page(browser)
    portal.goto(f"{base}/portal/index.html#app={app_id}")
    sign_in(portal, "applicant-a", "applicant")
    portal.wait_for_selector("#app-clock[data-paused='true']")
    text = portal.inner_text("#app-clock")
    assert "现场核查" in text
    assert "需现场核查经营场所" in text
    shot(portal, "clock-portal-paused")

    # An admin approves the extension at the desk (and ends the inspection).
    desk = new_page(browser)
    desk.goto(f"{base}/desk/index.html#app={app_id}")
    sign_in(desk, "admin-desk", "admin")
    desk.wait_for_selector("#clock-approve")
    shot(desk, "clock-desk-extension")
    desk.click("#clock-approve")
    desk.wait_for_selector("#clock-extension[data-status='approved']")
    desk.click("#clock-end-pause")
    desk.wait_for_selector("#desk-clock-state[data-paused='false']")
    assert "延期 5 个工作日已批准" in desk.inner_text("#case-clock")
    shot(desk, "clock-desk-approved")

    # Back in the portal: extended by 5 working days, with the reason, and the due date now.
    portal.reload()
    portal.wait_for_selector("#app-clock[data-paused='false']")
    text = portal.inner_text("#app-clock")
    assert "延长 5 个工作日" in text
    assert "案情复杂" in text
    clock_now = applicant.get(f"/applications/{app_id}/clock").json()
    assert portal.get_attribute("#clock-due", "data-due") == clock_now["deadline"]["due"]
    shot(portal, "clock-portal-extended")

    # The KPI page counts the pause and the extension as /stats does.
    desk.goto(f"{base}/kpi/index.html")
    desk.wait_for_selector("[data-kpi='extensions']")
    totals = reviewer.get("/stats").json()["totals"]
    assert totals["extensions"] >= 1
    assert totals["clock_pauses"]["onsite_inspection"] >= 1
    assert desk.inner_text("[data-kpi='extensions']") == str(totals["extensions"])
    assert desk.inner_text("[data-kpi='clock_pauses']") == str(sum(totals["clock_pauses"].values()))
    for page in (portal, desk):
        assert page.js_errors == []
        assert page.csp_violations == []
