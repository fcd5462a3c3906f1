"""Notifications end to end on the local stack (issue 18 item 2): an application is asked for correction,
resubmitted, accepted and approved over HTTP; the bus delivers each event to the notify function,
whose messages land in the applicant's inbox (GET /me/inbox, and the portal's inbox in Chromium), and
whose e-mail and SMS moto's SES and SNS captured. Another applicant sees none of it."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
import requests

from infra import samples
from infra.local import LocalStack

from .browser import new_page, shot
from .conftest import Api
from .flows import contract_files, upload_files, wait_processed

pytestmark = [pytest.mark.xdist_group("stack"), pytest.mark.timeout(600)]

ITEM = "technology-contract-registration"
SUB = "通知测试 经办人"
EMAIL = "notify-e2e@example.cn"
WANTED = {"correction_requested", "accepted", "approved", "rate_invitation"}


def _inbox(api: Api) -> list[dict[str, Any]]:
    reply = api.get("/me/inbox", params={"limit": 50})
    assert reply.status_code == 200, reply.text
    items: list[dict[str, Any]] = reply.json()["items"]
    return items


def _moto_models(stack: LocalStack) -> dict[str, Any]:
    # moto's own record of what SES and SNS were asked to send (its model data, server mode).
    data: dict[str, Any] = requests.get(f"{stack.moto_url}/moto-api/data.json", timeout=30).json()
    return data


@pytest.fixture(scope="module")
def decided(stack: LocalStack) -> dict[str, Any]:
    """One application through correction, acceptance and approval, over HTTP."""
    enterprise = samples.SampleEnterprise()
    applicant = Api(stack, SUB, ("applicant",), uscc=(enterprise.uscc,))
    reviewer = Api(stack, "notify-reviewer", ("reviewer",))
    created = applicant.post(
        "/applications",
        json={
            "item_code": ITEM,
            "applicant": {"kind": "enterprise", "uscc": enterprise.uscc, "name": enterprise.name},
            "contact": {"name": "经办人", "phone": "13800138000", "email": EMAIL},
        },
    )
    assert created.status_code == 201, created.text
    app_id = created.json()["id"]
    upload_files(applicant, app_id, contract_files(enterprise))
    wait_processed(applicant, app_id, 3)
    assert applicant.post(f"/applications/{app_id}/submit").status_code == 200
    correction = reviewer.post(
        f"/applications/{app_id}/decision",
        json={
            "action": "request_correction",
            "reasons": [{"zh": "合同缺少双方盖章", "en": "The contract lacks both parties' seals"}],
        },
    )
    assert correction.status_code == 200, correction.text
    assert applicant.post(f"/applications/{app_id}/submit").status_code == 200
    assert reviewer.post(f"/applications/{app_id}/decision", json={"action": "accept"}).status_code == 200
    assert reviewer.post(f"/applications/{app_id}/decision", json={"action": "approve"}).status_code == 200
    deadline = time.monotonic() + 120
    kinds: set[str] = set()
    while time.monotonic() < deadline:
        stack.wait_idle(60)
        kinds = {i["kind"] for i in _inbox(applicant) if i["application_id"] == app_id}
        if kinds >= WANTED:
            break
        time.sleep(1)
    assert kinds >= WANTED, kinds
    return {"app_id": app_id, "applicant": applicant}


def test_the_applicants_inbox_holds_each_message_once(decided: dict[str, Any]) -> None:
    page = decided["applicant"].get("/me/inbox", params={"limit": 2}).json()
    assert len(page["items"]) == 2
    assert page["next_cursor"]
    assert page["unread"] >= len(WANTED)  # the whole inbox's count, beyond this page
    items = [i for i in _inbox(decided["applicant"]) if i["application_id"] == decided["app_id"]]
    kinds = [i["kind"] for i in items]
    assert len(kinds) == len(set(kinds))  # one message per event and kind
    assert [i["created_at"] for i in items] == sorted((i["created_at"] for i in items), reverse=True)
    correction = next(i for i in items if i["kind"] == "correction_requested")
    assert "合同缺少双方盖章" in correction["body"]["zh"]
    assert "The contract lacks both parties' seals" in correction["body"]["en"]
    accepted = next(i for i in items if i["kind"] == "accepted")
    assert accepted["deadline"]
    assert "北京时间" in accepted["body"]["zh"]


def test_moto_captured_the_email_and_sms(stack: LocalStack, decided: dict[str, Any]) -> None:
    models = _moto_models(stack)
    mails = [m for m in models["ses"]["Message"] if EMAIL in m["destinations"]["ToAddresses"]]
    subjects = [m["subject"] for m in mails]
    assert any(s.startswith("申请需要补正") for s in subjects), subjects
    assert any(s.startswith("申请已受理") for s in subjects), subjects
    assert any(decided["app_id"] in m["body"] for m in mails)
    assert len(subjects) == len(set(subjects))  # nothing sent twice
    sms = [m for m in models["sns"]["SMS"] if m.get("phone_number") == "+8613800138000"]
    assert sms, models["sns"]["SMS"]


def test_another_applicant_sees_none_of_it(
    stack: LocalStack, decided: dict[str, Any], other_applicant: Api
) -> None:
    mine = _inbox(decided["applicant"])
    theirs = _inbox(other_applicant)
    assert not {i["id"] for i in mine} & {i["id"] for i in theirs}
    stolen = other_applicant.post(f"/me/inbox/{mine[0]['id']}/read")
    assert stolen.status_code == 404, stolen.text
    assert stolen.json()["message"]["en"]
    anonymous = requests.get(f"{stack.api_url}/me/inbox", timeout=30)
    assert anonymous.status_code == 401


def test_preferences_over_http(decided: dict[str, Any]) -> None:
    api: Api = decided["applicant"]
    put = api.session.put(
        api.base + "/me/notification-preferences",
        json={"channels": ["email"], "language": "both"},
        timeout=30,
    )
    assert put.status_code == 200, put.text
    got = api.get("/me/notification-preferences").json()
    assert (got["channels"], got["language"], got["inbox"]) == (["email"], "both", True)
    bad = api.session.put(
        api.base + "/me/notification-preferences", json={"channels": ["pigeon"], "language": "zh"}, timeout=30
    )
    assert bad.status_code == 422
    assert bad.json()["details"]


@pytest.mark.slow
def test_the_portal_lists_the_inbox(stack: LocalStack, browser: Any, decided: dict[str, Any]) -> None:
    page = new_page(browser)
    page.goto(f"{stack.api_url}/web/portal/index.html")
    page.fill("#signin-name", SUB)
    page.check("#signin-form input[name='role'][value='applicant']")
    page.click("#signin-form button[type='submit']")
    page.wait_for_selector("#inbox-list li[data-kind='correction_requested']")
    kinds = page.eval_on_selector_all("#inbox-list li", "els => els.map(e => e.dataset.kind)")
    assert set(kinds) >= WANTED
    unread = page.inner_text("#inbox-count")
    assert unread.endswith("条未读")
    before = int(unread.split()[0])
    first = page.locator("#inbox-list li[data-kind='correction_requested']")
    first.locator("button.link").click()
    assert "合同缺少双方盖章" in first.locator("pre.inbox-body").inner_text()
    page.wait_for_selector("#inbox-list li[data-kind='correction_requested'][data-read='true']")
    assert page.inner_text("#inbox-count") == f"{before - 1} 条未读"
    page.click("#lang-switch")
    page.wait_for_selector("#inbox-title:has-text('Messages')")
    shot(page, "portal-inbox")


def test_an_escalation_reaches_the_admin_groups_inbox_and_mail(
    stack: LocalStack, browser: Any, decided: dict[str, Any]
) -> None:
    """ApplicationEscalated (the deadline sweep's, engineer G) goes to the pool's admin group. As the
    federation would, the test puts an admin into the group with a verified e-mail; the admin signs in
    with the pool's `sub` for them (what a Cognito token carries)."""
    stack.token("esc-admin", ["admin"])  # the local identity provider creates the pool user
    cognito = stack.client("cognito-idp")
    pool = stack.functions["NotifyFunction"].environment["USER_POOL_ID"]
    (user,) = [
        u
        for u in cognito.list_users(UserPoolId=pool)["Users"]
        if {a["Name"]: a["Value"] for a in u["Attributes"]}.get("name") == "esc-admin"
    ]
    attributes = {a["Name"]: a["Value"] for a in user["Attributes"]}
    cognito.admin_add_user_to_group(UserPoolId=pool, Username=user["Username"], GroupName="admin")
    cognito.admin_update_user_attributes(
        UserPoolId=pool,
        Username=user["Username"],
        UserAttributes=[{"Name": "email_verified", "Value": "true"}],
    )
    env = stack.environment_for_clients()
    detail = {
        "application_id": decided["app_id"],
        "item_code": ITEM,
        "item_name_zh": "技术进出口合同登记",
        "item_name_en": "Registration of technology import and export contracts",
        "level": "overdue",
        "due": "2026-12-02T09:30:00Z",
        "working_days_left": 0,
        "escalated_at": "2026-12-03T06:30:00Z",
    }
    reply = stack.client("events").put_events(
        Entries=[
            {
                "EventBusName": env["EVENT_BUS_NAME"],
                "Source": "onestop",
                "DetailType": "ApplicationEscalated",
                "Detail": json.dumps(detail, ensure_ascii=False),
            }
        ]
    )
    assert reply["FailedEntryCount"] == 0, reply
    admin = Api(stack, attributes["sub"], ("admin",))
    deadline = time.monotonic() + 60
    items: list[dict[str, Any]] = []
    while time.monotonic() < deadline and not items:
        stack.wait_idle(30)
        items = [i for i in _inbox(admin) if i["kind"] == "escalated_overdue"]
    assert items, "no escalation in the admin's inbox"
    assert f"/web/desk/index.html#app={decided['app_id']}" in items[0]["link"]
    assert not [i for i in _inbox(decided["applicant"]) if i["kind"].startswith("escalated")]
    mails = [
        m
        for m in _moto_models(stack)["ses"]["Message"]
        if attributes["email"] in m["destinations"]["ToAddresses"]
    ]
    assert [m["subject"] for m in mails] == ["申请已超期 / Application overdue"]
    # ... and the desk shows it to them.
    page = new_page(browser)
    page.goto(f"{stack.api_url}/web/desk/index.html")
    page.fill("#signin-name", attributes["sub"])
    page.check("#signin-form input[name='role'][value='admin']")
    page.click("#signin-form button[type='submit']")
    page.wait_for_selector("#inbox-list li[data-kind='escalated_overdue']")
    shot(page, "desk-inbox")
