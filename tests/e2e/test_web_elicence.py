"""E-licence reuse (免提交) through the applicant portal in headless Chromium, on the local stack.

A refined-oil retail licence is issued to an enterprise by the real issue path (as in
test_elicence_reuse: the `ApplicationApproved` event on the stack's bus); its holder then signs in to
the portal, opens a change application, and — using the keyboard only — types the licence's
identifier into the slot's "use an e-licence you hold" form instead of uploading the old certificate.
The refusals are the API's own words, in the page's language. Screenshots: test-artifacts/web-elicence-*.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from onestop.identifiers.licence_id import make_licence_id, parse_licence_id

from infra.local import LocalStack

from .browser import new_page, shot
from .conftest import Api
from .test_elicence_reuse import CHANGE, NAME, QUALIFICATION, USCC, _approved, _licence_of, _open
from .test_web_access import expect_focus, tab_to
from .test_web_flow import sign_in

pytestmark = [pytest.mark.xdist_group("stack"), pytest.mark.slow, pytest.mark.timeout(600)]


SLOT = "current_licence"
FORM = f"#elicence-{SLOT}-form"
INPUT = f"#elicence-{SLOT}"
ERROR = f"#elicence-{SLOT}-error"
FROM_ELICENCE = f"#slots .material[data-slot='{SLOT}'][data-source='elicence'][data-status='catalogued']"


@pytest.fixture(scope="module")
def holder(stack: LocalStack) -> dict[str, Any]:
    """A person who applies for the enterprise, with a licence issued to it; signs in by `name`."""
    name = f"免提交 经办人 {uuid.uuid4().hex[:6]}"
    api = Api(stack, name, ("applicant",))  # the local sign-in's subject is the name typed
    first = _open(api, QUALIFICATION)
    _approved(stack, first)
    return {"name": name, "api": api, "licence_id": _licence_of(api, first)}


def _type(page: Any, text: str) -> None:
    """Into the e-licence field, from the slot's file control, with the keyboard alone."""
    page.focus(f"#file-{SLOT}")
    tab_to(page, INPUT, limit=3)
    page.keyboard.press("Control+A")
    page.keyboard.type(text)
    page.keyboard.press("Enter")  # submits the form


def test_attach_a_held_licence_from_the_page(stack: LocalStack, browser: Any, holder: dict[str, Any]) -> None:
    licence_id: str = holder["licence_id"]
    page = new_page(browser)  # zh-CN
    page.goto(f"{stack.api_url}/web/portal/index.html#item={CHANGE}")
    sign_in(page, holder["name"], "applicant")
    page.wait_for_selector("#item-view:not([hidden])")
    page.fill("#uscc", USCC)
    page.fill("#enterprise-name", NAME)
    page.click("#create-form button[type='submit']")
    page.wait_for_selector("#app-view:not([hidden]) #app-status[data-status='draft']")

    # The form is there for the slot the bureau's own licence can fill, labelled; not for the others.
    form = page.locator(FORM)
    assert form.is_visible()
    assert page.inner_text(f"{FORM} h5") == "用已有电子证照代替"
    assert page.get_attribute(FORM, "aria-labelledby") == f"elicence-{SLOT}-title"
    assert page.inner_text(f"label[for='elicence-{SLOT}']") == "电子证照标识"
    hint = page.inner_text(f"#elicence-{SLOT}-hint")
    assert "1.2.156.3005.2." in hint
    assert "成品油零售经营批准证书" in hint, hint  # the type the slot takes, named
    assert page.locator("#slot-application form.elicence").count() == 0
    # The business licence is replaceable only through the market regulator's sharing, not our registry.
    assert page.locator("#slot-business_licence").count() == 1
    assert page.locator("#slot-business_licence form.elicence").count() == 0
    assert page.locator(f"#mats-{SLOT} .material").count() == 0

    # A malformed identifier: the API's reasons, in Chinese, on the field; focus on the message.
    _type(page, "1.2.156.3005.2.12345")
    page.wait_for_selector(f"{ERROR}:not([hidden])")
    assert page.get_attribute(ERROR, "data-code") == "licence_id_malformed"
    text = page.inner_text(ERROR)
    assert "电子证照标识格式不正确" in text
    assert "应有5段" in text
    expect_focus(page, ERROR)
    assert page.get_attribute(INPUT, "aria-invalid") == "true"
    assert page.locator(f"#mats-{SLOT} .material").count() == 0
    shot(page, "elicence-malformed-zh")

    # The real identifier: catalogued at once from the registry, shown as coming from the e-licence.
    _type(page, licence_id)
    card = page.wait_for_selector(FROM_ELICENCE, timeout=60_000)
    assert page.locator(ERROR).is_hidden()
    assert page.get_attribute(INPUT, "aria-invalid") is None
    assert page.input_value(INPUT) == ""
    assert "电子证照" in card.inner_text()
    assert card.eval_on_selector(".file code.licence-id", "e => e.textContent") == licence_id
    assert card.eval_on_selector(".classification", "e => e.dataset.type") == ("qualification_certificate")
    fields = dict(
        card.eval_on_selector_all("dd[data-field]", "els => els.map(e => [e.dataset.field, e.textContent])")
    )
    assert fields["licence_id"] == licence_id
    assert fields["uscc"] == USCC
    assert "证照标识" in card.inner_text()  # the field names are translated too
    assert f"删除「电子证照 {licence_id}」" in card.inner_text()
    page.wait_for_selector("#status:has-text('已用电子证照代替「原成品油零售经营批准证书」')")
    assert "以电子证照代替材料" in page.text_content("#audit")  # the history, folded away
    shot(page, "elicence-attached-zh")

    # As the API has it.
    detail = holder["api"].get(f"/applications/{page.url.split('#app=')[1]}").json()
    [material] = [m for m in detail["materials"] if m["slot"] == SLOT]
    assert material["source"] == "elicence"
    assert material["status"] == "catalogued"

    assert page.js_errors == []
    page.context.close()


def test_an_unknown_licence_is_refused_in_english(
    stack: LocalStack, browser: Any, holder: dict[str, Any]
) -> None:
    # Well formed (check character and all), of the right type and issuer, but never issued.
    real = parse_licence_id(holder["licence_id"])
    unknown = make_licence_id(real.type_code, real.issuer_uscc, "Z" + real.serial[1:], real.version)
    app_id = _open(holder["api"], CHANGE)

    page = new_page(browser, locale="en-GB")
    page.goto(f"{stack.api_url}/web/portal/index.html#app={app_id}")
    sign_in(page, holder["name"], "applicant")
    page.wait_for_selector("#app-view:not([hidden]) #app-status[data-status='draft']")
    assert page.inner_text(f"{FORM} h5") == "Use an e-licence you hold"

    _type(page, unknown)
    page.wait_for_selector(f"{ERROR}:not([hidden])")
    assert page.get_attribute(ERROR, "data-code") == "licence_not_found"
    text = page.inner_text(ERROR)
    assert f"The registry has no e-licence {unknown}" in text
    assert "证照" not in text
    expect_focus(page, ERROR)
    assert page.get_attribute(INPUT, "aria-invalid") == "true"
    page.wait_for_function("() => document.getElementById('status').textContent === ''")  # no "checking…"
    shot(page, "elicence-unknown-en")

    # Switching the language redraws the slots but keeps what was typed, and the error, now in Chinese.
    page.click("#lang-switch")
    page.wait_for_function("() => document.documentElement.lang === 'zh-CN'")
    assert page.inner_text(f"{FORM} h5") == "用已有电子证照代替"
    assert page.input_value(INPUT) == unknown
    assert f"证照库中没有标识为 {unknown} 的电子证照" in page.inner_text(ERROR)
    assert page.get_attribute(INPUT, "aria-invalid") == "true"
    assert page.locator(f"#mats-{SLOT} .material").count() == 0

    assert page.js_errors == []
    page.context.close()
