"""Lists longer than a page: "my applications" and the reviewer queue show the next page on request.

The API pages `GET /applications` (20 here) and `GET /review/queue` with `next_cursor`; the pages
show a "显示更多 / Show more" button while there is a next page, and move focus to the first new entry.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from infra.local import LocalStack

from .browser import new_page, shot
from .conftest import Api
from .test_elicence_reuse import _open
from .test_web_access import _queue_entry, expect_focus, tab_to
from .test_web_flow import sign_in

pytestmark = [pytest.mark.xdist_group("stack"), pytest.mark.slow, pytest.mark.timeout(300)]


PAGE = 20  # MY_APPS_PAGE in web/portal/portal.js


def test_my_applications_beyond_the_first_page(stack: LocalStack, browser: Any) -> None:
    name = f"翻页 申请人 {uuid.uuid4().hex[:6]}"
    api = Api(stack, name, ("applicant",))
    created = []
    for _ in range(PAGE + 1):
        created.append(_open(api, "technology-contract-registration"))
        # Withdrawn at once: an account holds at most QUOTA_OPEN_DRAFTS open drafts (applications.quotas),
        # and a withdrawn application is listed like any other.
        assert api.post(f"/applications/{created[-1]}/withdraw", json={}).status_code == 200

    page = new_page(browser, locale="en-US")
    page.goto(f"{stack.api_url}/web/portal/index.html")
    sign_in(page, name, "applicant")
    page.wait_for_selector("#my-apps li[data-id]")
    assert page.locator("#my-apps li[data-id]").count() == PAGE
    more = page.locator("#my-apps-more")
    assert more.is_visible()
    assert more.inner_text() == "Show more"

    page.focus("#my-apps li[data-id]:last-child a")
    tab_to(page, "#my-apps-more", limit=2)
    page.keyboard.press("Enter")
    page.wait_for_selector(f"#my-apps li[data-id]:nth-child({PAGE + 1})")
    shown = [page.get_attribute(f"#my-apps li:nth-child({n})", "data-id") for n in range(1, PAGE + 2)]
    assert sorted(shown) == sorted(created)  # every application once, none twice
    expect_focus(page, f"#my-apps li:nth-child({PAGE + 1}) a")
    assert more.is_hidden()
    shot(page, "paging-my-applications")


def test_the_queue_beyond_its_first_page(stack: LocalStack, context: Any) -> None:
    """The desk asks for the next page with the cursor it was given (the API's paging is tested there)."""
    first = [_queue_entry(n, f"2026-06-{n:02d}T23:59:59+08:00", at_risk=False, overdue=False) for n in (1, 2)]
    second = [_queue_entry(3, "2026-06-03T23:59:59+08:00", at_risk=False, overdue=False)]
    asked: list[str] = []

    def queue(route: Any) -> None:
        asked.append(route.request.url)
        if "cursor=page-2" in route.request.url:
            route.fulfill(json={"items": second, "next_cursor": None})
        else:
            route.fulfill(json={"items": first, "next_cursor": "page-2"})

    context.route(f"{stack.api_url}/review/queue*", queue)
    page = context.new_page()
    page.goto(f"{stack.api_url}/web/desk/index.html")
    sign_in(page, "审查员 翻页", "reviewer")
    page.wait_for_selector("#queue tbody tr")
    assert page.locator("#queue tbody tr").count() == 2
    assert page.inner_text("#queue-count") == "已显示 2 件，还有更多"
    page.focus("#queue tbody tr:last-child a.open")
    tab_to(page, "#queue-more", limit=2)
    page.keyboard.press("Enter")
    page.wait_for_selector("#queue tbody tr:nth-child(3)")
    assert "cursor=page-2" in asked[-1]
    expect_focus(page, "#queue tbody tr:nth-child(3) a.open")
    assert page.locator("#queue-more").is_hidden()
    assert page.inner_text("#queue-count") == "共 3 件"
    shot(page, "paging-queue")
