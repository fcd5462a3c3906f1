"""Work assignment in the desk, in headless Chromium on the local stack (issue 18 item 5): the queue's
unassigned / mine filter with the owner on each row, claim from the queue, the application's
assignment panel with release, and an admin's reassignment to a reviewer with a reason.
Screenshots go to test-artifacts/web-assignment-*.png. Needs Debian's chromium.
"""

from __future__ import annotations

from typing import Any

import pytest

from infra.local import LocalStack

from .browser import new_page, shot
from .conftest import Api
from .test_web_corrections import sign_in, submitted

pytestmark = [pytest.mark.xdist_group("stack"), pytest.mark.slow, pytest.mark.timeout(600)]


def row(app_id: str) -> str:
    return f"#queue tbody tr[data-id='{app_id}']"


def test_mine_unassigned_and_claim_in_the_desk(stack: LocalStack, browser: Any, applicant: Api) -> None:
    app = submitted(applicant)
    app_id = app["id"]
    Api(stack, "web-assign-2", ("reviewer",))  # a second reviewer the admin can hand it to
    base = f"{stack.api_url}/web"
    page = new_page(browser)
    page.goto(f"{base}/desk/index.html")
    sign_in(page, "web-assign-1", "reviewer")

    # Unassigned: the new application is there, nobody's, with a claim button.
    page.select_option("#queue-assigned", "unassigned")
    page.wait_for_selector(row(app_id))
    owner = page.locator(f"{row(app_id)} td.owner")
    assert owner.get_attribute("data-assignee") == ""
    assert "无人认领" in owner.inner_text()
    owner.locator("button").click()
    page.wait_for_selector("#status:has-text('已认领')")

    # Mine: only what this reviewer claimed, marked as theirs.
    page.select_option("#queue-assigned", "mine")
    page.wait_for_function(
        "id => [...document.querySelectorAll('#queue tbody tr')].map(r => r.dataset.id).join() === id",
        arg=app_id,
    )
    assert "（我）" in page.inner_text(f"{row(app_id)} td.owner")
    shot(page, "mine", prefix="web-assignment")

    # The application: the panel says it is mine; release gives it back to the queue.
    page.click(f"{row(app_id)} a.open")
    page.wait_for_selector("#assign-owner[data-mine='true']")
    page.click("#assign-release")
    page.wait_for_selector("#assign-owner[data-assignee='']")
    assert page.is_visible("#assign-claim")
    page.click("#assign-claim")
    page.wait_for_selector("#assign-owner[data-mine='true']")
    assert page.js_errors == []

    # An admin reassigns it to the other reviewer, with a reason, in the same panel.
    admin = new_page(browser)
    admin.goto(f"{base}/desk/index.html#app={app_id}")
    sign_in(admin, "web-assign-admin", "admin")
    admin.wait_for_selector("#assign-form")
    target = admin.eval_on_selector_all(
        "#assign-to option", "os => os.find(o => o.textContent.startsWith('web-assign-2')).value"
    )
    admin.select_option("#assign-to", target)
    admin.fill("#assign-reason", "调整分工")
    admin.click("#assign-submit")
    admin.wait_for_selector(f"#assign-owner[data-assignee='{target}']")
    shot(admin, "reassigned", prefix="web-assignment")
    admin.click("details:has(#case-audit) > summary")  # the trail is folded away
    audit = admin.inner_text("#case-audit")
    assert "改派" in audit
    assert "调整分工" in audit
    assert admin.js_errors == []
