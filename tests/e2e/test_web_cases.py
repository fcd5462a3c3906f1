"""好差评 rectification cases at the reviewer desk, with the keyboard only, against the local stack.

An applicant withdraws an application and rates it 非常不满意 with a comment (through the API: the
portal's rating form is test_web_flow's); the rating opens a case. A reviewer finds it in the desk's
"整改工单" view (earliest deadline first, with the comment, the level and the deadline), opens it, is
told off for an empty note in Chinese by the API, then verifies (核实), rectifies (整改) and answers
(反馈) it; the case shows closed on time, and the applicant's review carries the answer. A second case
changed by another reviewer behind the page's back gets the 409 shown and the case reloaded.
Screenshots go to test-artifacts/web-cases-*.png. Needs Debian's chromium (`apt-get install -y chromium`).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from infra.local import LocalStack

from .browser import new_page, shot
from .conftest import Api
from .test_elicence_reuse import _open
from .test_web_access import expect_focus, shift_tab_to, tab_to
from .test_web_flow import sign_in

pytestmark = [pytest.mark.xdist_group("stack"), pytest.mark.slow, pytest.mark.timeout(600)]


ITEM = "technology-contract-registration"
ITEM_ZH = "技术进出口合同登记"
INDICATORS = {
    "overall_satisfaction": 1,
    "efficiency": 1,
    "guidance_accuracy": 2,
    "convenience": 1,
    "platform_usability": 3,
}


def _bad_review(stack: LocalStack, comment: str) -> tuple[Api, str, dict[str, Any]]:
    """A withdrawn application rated 非常不满意: (the applicant, the application id, the case's progress)."""
    applicant = Api(stack, f"差评 申请人 {uuid.uuid4().hex[:6]}", ("applicant",))
    app_id = _open(applicant, ITEM)
    withdrawn = applicant.post(f"/applications/{app_id}/withdraw", json={})
    assert withdrawn.status_code == 200, withdrawn.text
    assert withdrawn.json()["status"] == "withdrawn"
    review = applicant.post(
        f"/applications/{app_id}/review",
        json={"level": "very_dissatisfied", "indicators": INDICATORS, "comment": comment},
    )
    assert review.status_code == 201, review.text
    body = review.json()
    assert body["bad"] is True
    assert body["case"]["status"] == "open"
    return applicant, app_id, body["case"]


def _day_zh(iso: str) -> str:
    """The date as the desk shows it in zh-CN (dateStyle medium, Asia/Shanghai): 2026年6月1日."""
    d = datetime.fromisoformat(iso).astimezone(ZoneInfo("Asia/Shanghai"))
    return f"{d.year}年{d.month}月{d.day}日"


def _desk(stack: LocalStack, browser: Any, name: str) -> Any:
    page = new_page(browser)
    page.goto(f"{stack.api_url}/web/desk/index.html")
    sign_in(page, name, "reviewer")
    expect_focus(page, "#queue-title")
    return page


def _cases_view(page: Any) -> None:
    """From the queue heading to the desk's own navigation, by keyboard, into the cases view."""
    shift_tab_to(page, "#nav-cases", limit=4)
    page.keyboard.press("Enter")
    expect_focus(page, "#cases-title")
    assert page.url.endswith("#cases")
    assert page.get_attribute("#nav-cases", "aria-current") == "page"
    assert page.get_attribute("#nav-queue", "aria-current") is None


def _open_case(page: Any, case_id: str) -> None:
    page.focus(f"#cases tbody tr[data-id='{case_id}'] a.open")
    page.keyboard.press("Enter")
    expect_focus(page, "#rcase-title")
    page.wait_for_selector("#rcase-view:not([hidden]) #rcase-status[data-status]")


def _record(page: Any, step: str, button: str, note: str, done: str, *, back: bool = False) -> None:
    """Type the note and press the step's button with the keyboard only, from the case heading (or,
    `back`, from below the note: the error shown under it)."""
    assert page.get_attribute("#rcase-form", "data-step") == step
    if back:
        shift_tab_to(page, "#rcase-note", limit=3)
    else:
        tab_to(page, "#rcase-note", limit=6)
    page.keyboard.type(note)
    tab_to(page, "#rcase-submit", limit=2)
    assert page.inner_text("#rcase-submit") == button
    page.keyboard.press("Enter")
    page.wait_for_selector(f"#rcase-step-list li[data-step='{step}']")
    expect_focus(page, "#rcase-title")
    page.wait_for_function("t => document.getElementById('status').textContent === t", arg=done)
    assert page.input_value("#rcase-note") == ""


def test_a_bad_rating_worked_to_closure_at_the_desk(stack: LocalStack, browser: Any) -> None:
    comment = f"窗口说法前后不一，白跑了两趟（{uuid.uuid4().hex[:6]}）"
    applicant, app_id, progress = _bad_review(stack, comment)
    case_id, due = progress["id"], progress["deadline"]["due"]

    page = _desk(stack, browser, "审查员 整改")
    _cases_view(page)

    # ---- the open cases, earliest deadline first; this one with its comment, level and deadline
    row = page.wait_for_selector(f"#cases tbody tr[data-id='{case_id}']")
    dues = page.eval_on_selector_all("#cases tbody tr", "rows => rows.map(r => r.dataset.due)")
    assert [datetime.fromisoformat(d) for d in dues] == sorted(datetime.fromisoformat(d) for d in dues)
    cells = row.eval_on_selector_all("th, td", "cells => cells.map(c => c.textContent.trim())")
    assert cells[1:7] == [ITEM_ZH, "非常不满意", comment, "待核实", "核实", ""]
    assert _day_zh(due) in cells[0]
    assert row.get_attribute("class") == ""  # ten working days ahead: neither at risk nor overdue
    assert row.get_attribute("data-application") == app_id
    assert page.get_attribute(f"#cases tbody tr[data-id='{case_id}'] a.app", "href") == f"#app={app_id}"
    assert page.get_attribute(f"#cases tbody tr[data-id='{case_id}'] a.open", "aria-label") == (
        f"办理整改工单：{ITEM_ZH}（非常不满意）"
    )
    assert page.locator("#cases caption").inner_text() == "差评整改工单，按期限排序，最紧急的在前"
    assert page.locator("#cases thead th[scope='col']").count() == 8
    shot(page, "cases-list")

    # ---- one case: nothing done yet, the form asks for 核实
    _open_case(page, case_id)
    assert page.url.endswith(f"#case={case_id}")
    assert page.inner_text("#rcase-title") == f"整改工单：{ITEM_ZH}"
    assert page.inner_text("#rcase-comment") == comment
    assert page.inner_text("#rcase-level") == "非常不满意"
    assert _day_zh(due) in page.inner_text("#rcase-deadline")
    assert page.get_attribute("#rcase-app", "href") == f"#app={app_id}"
    assert page.locator("#rcase-no-steps").is_visible()
    assert page.inner_text("#rcase-step-title") == "下一步：核实"
    assert page.inner_text("label[for='rcase-note']") == "核实情况（必填）"
    assert page.get_attribute("#rcase-note", "required") is not None

    # ---- an empty note: the form lets it through, the API refuses it, in Chinese, on the field
    tab_to(page, "#rcase-note", limit=6)
    tab_to(page, "#rcase-submit", limit=2)
    page.keyboard.press("Enter")
    page.wait_for_selector("#rcase-error:not([hidden])")
    expect_focus(page, "#rcase-error")
    assert page.get_attribute("#rcase-error", "data-code") == "invalid_case_step"
    detail = page.locator("#rcase-error li[data-field='note']")
    assert detail.count() == 1
    assert "请填写处理说明" in detail.inner_text()  # the service's own reason, not a generic length check
    assert page.get_attribute("#rcase-note", "aria-invalid") == "true"
    assert detail.get_attribute("id") in (page.get_attribute("#rcase-note", "aria-describedby") or "")
    assert page.locator("#rcase-step-list").count() == 0  # nothing was recorded
    shot(page, "cases-empty-note")

    # ---- 核实 → 整改 → 反馈, each with a note, with the keyboard
    notes = {
        "verify": "调取窗口录音核实：两次答复不一致属实。",
        "rectify": "已统一答复口径并对窗口人员进行培训。",
        "respond": "经核实情况属实，已整改并统一答复口径，感谢您的监督。",
    }
    _record(page, "verify", "核实", notes["verify"], "已记录核实，下一步：整改。", back=True)
    assert page.get_attribute("#rcase-note", "aria-invalid") is None  # the old error went with it
    assert page.locator("#rcase-error").is_hidden()
    assert page.get_attribute("#rcase-status", "data-status") == "verified"
    _record(page, "rectify", "整改", notes["rectify"], "已记录整改，下一步：反馈。")
    assert page.inner_text("label[for='rcase-note']") == "反馈内容（必填，申请人可见）"
    shot(page, "cases-rectified")
    _record(page, "respond", "反馈", notes["respond"], "已反馈申请人，工单已办结。")

    # ---- closed, on time; the steps in order with who and when; no form any more
    assert page.get_attribute("#rcase-status", "data-status") == "closed"
    assert page.locator("#rcase-closed").is_visible()
    assert page.get_attribute("#rcase-closed", "data-on-time") == "true"
    assert "按期办结" in page.inner_text("#rcase-closed")
    assert page.inner_text("#rcase-result") == "按期办结"
    assert page.locator("#rcase-step-section").is_hidden()
    steps = page.eval_on_selector_all(
        "#rcase-step-list li",
        "lis => lis.map(li => [li.dataset.step, li.querySelector('strong').textContent,"
        " li.querySelector('.note').textContent])",
    )
    assert [s[0] for s in steps] == ["verify", "rectify", "respond"]
    assert [s[2] for s in steps] == [notes["verify"], notes["rectify"], notes["respond"]]
    assert [s[1].split(" · ")[0] for s in steps] == ["核实", "整改", "反馈"]
    assert all("审查员 整改" in s[1] for s in steps), steps
    shot(page, "cases-closed")

    # ---- what the applicant sees: the 反馈 note as the answer
    review = applicant.get(f"/applications/{app_id}/review")
    assert review.status_code == 200, review.text
    case = review.json()["case"]
    assert case["status"] == "closed"
    assert case["response"] == notes["respond"]

    # ---- back in the list: gone from the unclosed cases, there with the closed ones
    page.focus("#rcase-view a[href='#cases']")
    page.keyboard.press("Enter")
    expect_focus(page, "#cases-title")
    page.wait_for_selector("#cases:not([aria-busy])")
    assert page.locator(f"#cases tbody tr[data-id='{case_id}']").count() == 0
    page.select_option("#cases-status", "closed")
    closed = page.wait_for_selector(f"#cases tbody tr[data-id='{case_id}']")
    assert closed.eval_on_selector("td.flags", "c => c.textContent") == "按期办结"
    assert closed.eval_on_selector("td.next", "c => c.textContent") == "—"

    # ---- and from the case to the application it is about
    page.focus(f"#cases tbody tr[data-id='{case_id}'] a.app")
    page.keyboard.press("Enter")
    expect_focus(page, "#case-title")
    page.wait_for_selector("#case-view:not([hidden]) #case-status[data-status='withdrawn']")
    assert page.url.endswith(f"#app={app_id}")
    assert page.js_errors == []


def test_a_case_changed_meanwhile_is_a_409_shown_and_reloaded(stack: LocalStack, browser: Any) -> None:
    _, _, progress = _bad_review(stack, "材料被反复退回")
    case_id = progress["id"]
    page = _desk(stack, browser, "审查员 甲")
    page.goto(f"{stack.api_url}/web/desk/index.html#case={case_id}")
    page.wait_for_selector("#rcase-form[data-step='verify']")

    # Another reviewer verifies it while this page still shows version 1.
    other = Api(stack, "reviewer-other", ("reviewer",))
    done = other.post(f"/cases/{case_id}/steps", json={"step": "verify", "note": "已核实。", "version": 1})
    assert done.status_code == 200, done.text

    page.focus("#rcase-note")
    page.keyboard.type("核实：情况属实。")
    tab_to(page, "#rcase-submit", limit=2)
    page.keyboard.press("Enter")
    page.wait_for_selector("#rcase-error:not([hidden])")
    expect_focus(page, "#rcase-error")
    assert page.get_attribute("#rcase-error", "data-code") == "case_changed"
    assert "整改工单已被他人更新（当前版本 2，您看到的是 1）" in page.inner_text("#rcase-error")
    # Reloaded as it is now: verified by the other reviewer, the form asks for 整改, the note is kept.
    page.wait_for_selector("#rcase-form[data-step='rectify']")
    assert page.get_attribute("#rcase-status", "data-status") == "verified"
    assert page.inner_text("#rcase-submit") == "整改"
    assert "reviewer-other" in page.inner_text("#rcase-step-list li[data-step='verify']")
    assert page.input_value("#rcase-note") == "核实：情况属实。"
    shot(page, "cases-conflict")

    # The language switch shows the same API error in English.
    page.focus("#lang-switch")
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.documentElement.lang === 'en'")
    assert "The case changed since you read it (version 2, you saw 1)" in page.inner_text("#rcase-error")
    assert page.inner_text("#rcase-submit") == "Rectify"
    assert page.inner_text("#rcase-title") == "Rectification case: " + page.evaluate(
        "document.getElementById('rcase-app').textContent"
    )
    assert page.js_errors == []
