"""The service window in the browser (issue 18 item 3): a clerk signs in through the window's client and
applies on the applicant's behalf in the portal; the page shows the channel and the clerk; the applicant
finds it among the window's applications; the KPI page shows the channels with the measured rate.
Needs Debian's chromium."""

from __future__ import annotations

from typing import Any

import pytest

from infra import samples
from infra.local import LocalStack

from .browser import new_page, shot

pytestmark = [pytest.mark.xdist_group("stack"), pytest.mark.timeout(300)]

ITEM = "outbound-investment-filing"


def sign_in(page: Any, name: str, role: str) -> None:
    page.fill("#signin-name", name)
    page.check(f"#signin-form input[name='role'][value='{role}']")
    page.click("#signin-form button[type='submit']")
    page.wait_for_selector("#app-root:not([hidden])")
    assert name in page.inner_text("#who")


def test_a_clerk_applies_at_the_window_and_the_applicant_follows_online(
    stack: LocalStack, browser: Any
) -> None:
    enterprise = samples.SampleEnterprise()
    base = f"{stack.api_url}/web"

    clerk = new_page(browser)
    clerk.goto(f"{base}/portal/index.html")
    sign_in(clerk, "窗口王", "clerk")
    assert "窗口工作人员" in clerk.inner_text("#who")
    clerk.fill("#q", "境外投资")
    clerk.press("#q", "Enter")
    clerk.click(f"#item-list li[data-code='{ITEM}'] button")
    clerk.wait_for_selector("#item-view:not([hidden])")
    clerk.fill("#uscc", enterprise.uscc)
    clerk.fill("#enterprise-name", enterprise.name)
    clerk.click("#create-form button[type='submit']")
    clerk.wait_for_selector("#app-view:not([hidden]) #app-status[data-status='draft']")
    app_id = clerk.url.split("#app=")[1]
    channel = clerk.locator("#app-channel")
    assert channel.get_attribute("data-channel") == "service_window"
    assert "服务窗口" in channel.inner_text()
    assert "窗口王" in channel.inner_text()
    shot(clerk, "portal-window-application")

    # The enterprise's own account (bound to it by the federation) follows it online.
    stack.token("星河 窗口申请人", ["applicant"], uscc=[enterprise.uscc])
    applicant = new_page(browser)
    applicant.goto(f"{base}/portal/index.html")
    sign_in(applicant, "星河 窗口申请人", "applicant")
    applicant.wait_for_selector(f"#window-apps-panel:not([hidden]) li[data-id='{app_id}']")
    applicant.click(f"#window-apps li[data-id='{app_id}'] a")
    applicant.wait_for_selector("#app-view:not([hidden]) #app-channel[data-channel='service_window']")
    assert applicant.locator("#submit-app").is_hidden()  # the window handles it, not the applicant

    # The KPI page: the channels, measured, beside the catalogue's promise.
    reviewer = new_page(browser)
    reviewer.goto(f"{base}/kpi/index.html")
    sign_in(reviewer, "指标 审查员", "reviewer")
    reviewer.wait_for_selector("#channels-section:not([hidden]) tr[data-channel='service_window']")
    rows = reviewer.eval_on_selector_all("#channels tbody tr", "rows => rows.map(r => r.dataset.channel)")
    assert rows == ["web_portal", "city_app", "mini_program", "service_window", "unrecorded"]
    assert "实测网办率" in reviewer.inner_text("#channels-rate")
    shot(reviewer, "kpi-channels")
