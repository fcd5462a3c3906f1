"""The web pages with the keyboard only, in both languages, and signed in through a hosted UI.

- Keyboard only: sign in, search the catalogue, open an item and come back, with Tab, arrows and Enter,
  and focus landing where the next step is.
- An error the API returns (a mistyped USCC) is shown in Chinese, then in English after the switch,
  with the field marked; the language choice carries over to the next page.
- With `cognitoDomain` configured, the pages send people to the hosted UI and take the id_token back
  (implicit: from the URL fragment; code: exchanged with PKCE); the hosted UI is played by routes that
  check what the page sends and answer with a token the local stack accepts.
Screenshots go to test-artifacts/web-*.png. Needs Debian's chromium (`apt-get install -y chromium`).
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from infra.local import LocalStack

from .browser import shot

pytestmark = [pytest.mark.xdist_group("stack"), pytest.mark.slow, pytest.mark.timeout(300)]

ITEM = "technology-contract-registration"
HOSTED = "https://auth.onestop.test"
# What a deployment would put in web/shared/config.js (or before it), pointing at the hosted UI.
CONFIG = (
    "window.ONESTOP_CONFIG = {{cognitoDomain: '"
    + HOSTED
    + "', clientId: 'portal-client', responseType: '{flow}'}};"
)


def focused(page: Any) -> str:
    """The focused element as `tag#id` (or `tag.class` / `tag[name]`), for readable assertions."""
    return str(
        page.evaluate(
            """() => {
                const e = document.activeElement;
                const tail = e.id ? '#' + e.id : e.name ? `[${e.name}]` : '.' + e.className;
                return e.tagName.toLowerCase() + tail;
            }"""
        )
    )


def expect_focus(page: Any, selector: str) -> None:
    """Focus moves to `selector` (pages move it after loading what comes next, so allow a moment)."""
    try:
        page.wait_for_function("s => document.activeElement.matches(s)", arg=selector, timeout=5_000)
    except Exception as exc:
        raise AssertionError(f"focus should be on {selector}, is on {focused(page)}") from exc


def tab_to(page: Any, selector: str, limit: int = 12) -> int:
    """Press Tab until `selector` has focus; the number of presses (fails if it is never reached)."""
    for presses in range(1, limit + 1):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement.matches(s)", selector):
            return presses
    raise AssertionError(f"{selector} not reached with {limit} Tab presses; focus is on {focused(page)}")


def shift_tab_to(page: Any, selector: str, limit: int = 20) -> None:
    """Press Shift+Tab until `selector` has focus (fails if it is never reached)."""
    for _ in range(limit):
        page.keyboard.press("Shift+Tab")
        if page.evaluate("s => document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"{selector} not reached with {limit} Shift+Tab; focus is on {focused(page)}")


def test_keyboard_only_sign_in_and_item_selection(stack: LocalStack, context: Any) -> None:
    page = context.new_page()
    page.goto(f"{stack.api_url}/web/portal/index.html")
    page.wait_for_selector("#signin-form")
    expect_focus(page, "#signin-name")  # the sign-in form takes focus

    page.keyboard.type("键盘 用户")
    assert tab_to(page, "input[name='role'][value='applicant']") == 1
    page.keyboard.press("ArrowDown")  # a radio group moves with the arrows
    assert page.is_checked("input[value='reviewer']")
    page.keyboard.press("ArrowUp")
    assert page.is_checked("input[value='applicant']")
    tab_to(page, "#signin-form button[type='submit']", limit=2)
    page.keyboard.press("Enter")
    page.wait_for_selector("#app-root:not([hidden])")
    assert "键盘 用户" in page.inner_text("#who")
    expect_focus(page, "h2#home-title")  # after signing in, focus goes to the first heading

    assert tab_to(page, "#q") == 1
    page.keyboard.type("技术进出口")
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.querySelectorAll('#item-list li').length === 1")
    assert page.get_attribute("#item-list li", "data-code") == ITEM
    assert "1" in page.inner_text("#item-count")
    tab_to(page, f"#item-list li[data-code='{ITEM}'] button", limit=4)
    page.keyboard.press("Enter")
    page.wait_for_selector("#item-view:not([hidden])")
    expect_focus(page, "h2#item-title")
    assert page.inner_text("#item-title") == "技术进出口合同登记"
    assert page.locator("#item-materials tbody tr").count() >= 3

    # The skip link takes focus to the content without leaving the view.
    shift_tab_to(page, "a.skip")
    page.keyboard.press("Enter")
    expect_focus(page, "main")
    assert page.locator("#item-view").is_visible()

    # The form is reachable in order, and the back link returns to the catalogue.
    tab_to(page, "input[name='kind'][value='enterprise']", limit=6)
    assert tab_to(page, "#uscc") == 1
    shift_tab_to(page, "#item-view a[href='#']", limit=8)
    page.keyboard.press("Enter")
    page.wait_for_selector("#home-view:not([hidden])")
    expect_focus(page, "h2#home-title")
    shot(page, "keyboard")


def test_api_error_shown_in_chinese_then_english(stack: LocalStack, context: Any) -> None:
    # The identity federation vouches that this person acts for the enterprise typed below.
    stack.token("错字 用户", ["applicant"], uscc=["91440300MA5FQ1P38N"])
    page = context.new_page()
    page.goto(f"{stack.api_url}/web/portal/index.html#item={ITEM}")
    page.fill("#signin-name", "错字 用户")
    page.click("#signin-form button[type='submit']")
    page.wait_for_selector("#item-view:not([hidden])")

    page.fill("#uscc", "91440300MA5FQ1P38X")  # the check character should be N
    page.fill("#enterprise-name", "深圳市前海星河技术有限公司")
    page.click("#create-form button[type='submit']")
    page.wait_for_selector("#create-error:not([hidden])")
    assert page.get_attribute("#create-error", "data-code") == "invalid_application"
    expect_focus(page, "#create-error")
    text = page.inner_text("#create-error")
    assert "申请信息有误" in text
    assert "统一社会信用代码校验位不符" in text
    assert "第18位应为 N" in text
    assert page.get_attribute("#uscc", "aria-invalid") == "true"
    described = page.get_attribute("#uscc", "aria-describedby").split()
    assert "uscc-hint" in described
    detail = page.locator("#create-error li[data-code='uscc_check_char']")
    assert detail.get_attribute("id") in described
    shot(page, "error-zh")

    page.click("#lang-switch")
    page.wait_for_function("() => document.documentElement.lang === 'en'")
    text = page.inner_text("#create-error")
    assert "The application has errors" in text
    assert "check character does not match" in text
    assert "should be N" in text
    assert "统一社会信用代码" not in text
    assert page.inner_text("h1") == "Applicant portal"
    assert page.inner_text("#item-title") == "Registration of technology import and export contracts"
    assert page.get_attribute("#uscc", "aria-invalid") == "true"
    shot(page, "error-en")

    # Corrected, the application is created and the error is gone.
    page.fill("#uscc", "91440300MA5FQ1P38N")
    page.click("#create-form button[type='submit']")
    page.wait_for_selector("#app-view:not([hidden]) #app-status[data-status='draft']")
    assert page.get_attribute("#uscc", "aria-invalid") is None

    # The language stays English on the next page; an applicant is told the desk needs a reviewer.
    page.click("header nav a[href='../desk/index.html']")
    page.wait_for_selector("#signin-need")
    assert page.inner_text("h1") == "Reviewer desk"
    assert "needs the reviewer role" in page.inner_text("#signin-need")
    assert page.locator("#app-root").is_hidden()


def _b64url_sha256(text: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()


@pytest.mark.parametrize("flow", ["token", "code"])
def test_hosted_ui_sign_in(stack: LocalStack, browser: Any, flow: str) -> None:
    portal = f"{stack.api_url}/web/portal/index.html"
    id_token = stack.token("hosted-user", ["applicant"], "托管 用户")
    seen: dict[str, Any] = {}
    # HOSTED is a stand-in that the pages' CSP does not name (a deployment's names its own Cognito
    # domain in connect-src: template.yaml, WebSecurityHeaders), so this context does not apply the CSP.
    context = browser.new_context(locale="zh-CN", bypass_csp=True)
    context.set_default_timeout(20_000)
    context.add_init_script(CONFIG.format(flow=flow))

    def authorize(route: Any) -> None:
        query = {k: v[0] for k, v in parse_qs(urlsplit(route.request.url).query).items()}
        seen["authorize"] = query
        back = query["redirect_uri"]
        if flow == "token":
            reply = urlencode(
                {"id_token": id_token, "token_type": "Bearer", "expires_in": 3600, "state": query["state"]}
            )
            location = f"{back}#{reply}"
        else:
            location = f"{back}?{urlencode({'code': 'code-123', 'state': query['state']})}"
        route.fulfill(status=302, headers={"Location": location})

    def token(route: Any) -> None:
        form = {k: v[0] for k, v in parse_qs(route.request.post_data or "").items()}
        seen["token"] = form
        challenge = seen["authorize"].get("code_challenge")
        good = (
            route.request.method == "POST"
            and form.get("grant_type") == "authorization_code"
            and form.get("code") == "code-123"
            and form.get("client_id") == "portal-client"
            and challenge == _b64url_sha256(form.get("code_verifier", ""))
        )
        body = {"id_token": id_token, "token_type": "Bearer"} if good else {"error": "invalid_grant"}
        route.fulfill(
            status=200 if good else 400,
            json=body,
            headers={"Access-Control-Allow-Origin": stack.api_url},
        )

    context.route(f"{HOSTED}/oauth2/authorize*", authorize)
    context.route(f"{HOSTED}/oauth2/token", token)
    page = context.new_page()
    page.goto(f"{portal}#item={ITEM}")
    page.wait_for_selector("#signin-hosted")
    assert page.locator("#signin-form").count() == 0, "no local form when the hosted UI is configured"
    page.click("#signin-hosted")
    page.wait_for_selector("#app-root:not([hidden])")

    query = seen["authorize"]
    assert query["response_type"] == flow
    assert query["client_id"] == "portal-client"
    assert query["redirect_uri"] == portal
    assert "openid" in query["scope"].split()
    if flow == "code":
        assert query["code_challenge_method"] == "S256"
        assert seen["token"]["redirect_uri"] == portal
    assert "托管 用户" in page.inner_text("#who")
    # Back where the person was, with the token gone from the address bar; the API accepts the token.
    assert page.url == f"{portal}#item={ITEM}"
    page.wait_for_selector("#item-view:not([hidden])")
    assert page.inner_text("#item-title") == "技术进出口合同登记"
    page.goto(portal)
    page.wait_for_selector("#my-apps li")
    assert page.locator("#error").is_hidden()
    context.close()


def test_hosted_ui_reply_for_another_sign_in_is_refused(stack: LocalStack, context: Any) -> None:
    portal = f"{stack.api_url}/web/portal/index.html"
    context.add_init_script(CONFIG.format(flow="token"))
    forged = stack.token("someone-else", ["applicant"], "别人")

    def authorize(route: Any) -> None:
        back = parse_qs(urlsplit(route.request.url).query)["redirect_uri"][0]
        route.fulfill(
            status=302, headers={"Location": f"{back}#{urlencode({'id_token': forged, 'state': 'not-ours'})}"}
        )

    context.route(f"{HOSTED}/oauth2/authorize*", authorize)
    page = context.new_page()
    page.goto(portal)
    page.click("#signin-hosted")
    page.wait_for_selector("#signin-error:not([hidden])")
    assert "state" in page.inner_text("#signin-error")
    assert page.locator("#app-root").is_hidden()
    assert page.evaluate("sessionStorage.getItem('onestop.id_token')") is None
    assert "id_token" not in page.url


def _queue_entry(n: int, due: str, *, at_risk: bool, overdue: bool) -> dict[str, Any]:
    return {
        "id": f"{n:032x}",
        "item_code": ITEM,
        "item_name": {
            "zh": "技术进出口合同登记",
            "en": "Registration of technology import and export contracts",
        },
        "status": "accepted",
        "status_name": {"zh": "已受理", "en": "accepted"},
        "version": 3,
        "applicant": {"kind": "enterprise", "code": "91440300MA5FQ1P38N", "name": f"企业{n}"},
        "created_at": "2026-06-01T01:00:00Z",
        "updated_at": "2026-06-01T01:00:00Z",
        "due": due,
        "at_risk": at_risk,
        "overdue": overdue,
    }


def test_desk_queue_marks_overdue_and_at_risk(stack: LocalStack, context: Any) -> None:
    """The flags are the server's (tested with the API); this is how the desk shows them, in its order."""
    entries = [
        _queue_entry(1, "2026-06-01T23:59:59+08:00", at_risk=False, overdue=True),
        _queue_entry(2, "2026-06-03T23:59:59+08:00", at_risk=True, overdue=False),
        _queue_entry(3, "2026-06-20T23:59:59+08:00", at_risk=False, overdue=False),
    ]
    asked: list[str] = []

    def queue(route: Any) -> None:
        asked.append(route.request.url)
        at_risk_only = "at_risk=true" in route.request.url
        items = [e for e in entries if e["at_risk"] or e["overdue"]] if at_risk_only else entries
        route.fulfill(json={"items": items, "next_cursor": None})

    context.route(f"{stack.api_url}/review/queue*", queue)
    page = context.new_page()
    page.goto(f"{stack.api_url}/web/desk/index.html")
    page.fill("#signin-name", "审查员 王")
    page.check("#signin-form input[value='reviewer']")
    page.click("#signin-form button[type='submit']")
    page.wait_for_selector("#queue tbody tr")
    rows = page.eval_on_selector_all(
        "#queue tbody tr", "rows => rows.map(r => [r.className, r.cells[4].textContent.trim()])"
    )
    assert rows == [["overdue", "已超期"], ["at-risk", "即将到期"], ["", ""]]
    assert "2026年6月1日" in page.inner_text("#queue tbody tr:first-child td")
    open_link = page.locator("#queue tbody tr:first-child a.open")
    assert open_link.get_attribute("aria-label") == "办理 技术进出口合同登记（企业1）"
    page.check("#queue-at-risk")
    page.wait_for_function("() => document.querySelectorAll('#queue tbody tr').length === 2")
    assert "at_risk=true" in asked[-1]
    shot(page, "desk-flags")


def test_a_refused_token_asks_for_sign_in_again(stack: LocalStack, context: Any) -> None:
    page = context.new_page()
    page.goto(f"{stack.api_url}/web/portal/index.html")
    page.fill("#signin-name", "过期 用户")
    page.click("#signin-form button[type='submit']")
    page.wait_for_selector("#my-apps li")
    # The gateway stops accepting the token (as when it expires): the next protected call is a 401.
    page.evaluate(
        """() => {
            const [header, payload] = sessionStorage.getItem('onestop.id_token').split('.');
            sessionStorage.setItem('onestop.id_token', `${header}.${payload}.not-signed`);
        }"""
    )
    page.evaluate("location.hash = 'app=' + '0'.repeat(32)")
    page.wait_for_selector("#signin-error:not([hidden])")
    assert "登录已失效" in page.inner_text("#signin-error")
    assert page.locator("#app-root").is_hidden()
    expect_focus(page, "#signin-name")
    page.fill("#signin-name", "过期 用户")
    page.click("#signin-form button[type='submit']")
    page.wait_for_selector("#app-root:not([hidden])")
    assert "过期 用户" in page.inner_text("#who")
    page.wait_for_selector("#error:not([hidden])")  # that application does not exist (404, not 401)
    assert page.get_attribute("#error", "data-code") != "unauthorized"
