"""The catalogue editor over HTTP and in the browser, against the local stack (issue 18 item 1).

An admin adds a throw-away item through the API; an applicant opens an application for it (pinned to
that version). In the desk's catalogue editor (reached from the desk's link, shown to admins) the
admin first saves an invalid limit and is told where in Chinese, then renames the item, shortens its
limit and removes a material: the version list shows the new version with what changed. The first
application still goes by its version (the removed material's slot still takes an upload); a new one
gets the new version. Reviewers are refused the editor's API. The item is retired at the end, so the
other tests see the shipped items. Screenshots go to test-artifacts/web-catalogue-*.png.
"""

from __future__ import annotations

import io
import uuid
from pathlib import Path
from typing import Any

import pytest

from infra.local import LocalStack

from .browser import new_page, shot
from .conftest import E2E_ENTERPRISES, Api
from .test_web_flow import sign_in

pytestmark = [pytest.mark.xdist_group("stack"), pytest.mark.slow, pytest.mark.timeout(600)]

TEMPLATE_ITEM = "outbound-investment-filing"  # required: application, business_licence


def _current(admin: Api) -> tuple[int, dict[str, Any]]:
    versions = admin.get("/admin/catalogue/versions")
    assert versions.status_code == 200, versions.text
    current = versions.json()["current_version"]
    detail = admin.get(f"/admin/catalogue/versions/{current}")
    assert detail.status_code == 200, detail.text
    return current, detail.json()["catalogue"]


def _apply(applicant: Api, code: str) -> dict[str, Any]:
    body = {
        "item_code": code,
        "applicant": {"kind": "enterprise", "uscc": E2E_ENTERPRISES[0], "name": "深圳市示例贸易有限公司"},
    }
    reply = applicant.post("/applications", json=body)
    assert reply.status_code == 201, reply.text
    return dict(reply.json())


def _ticket(applicant: Api, app_id: str, slot: str) -> Any:
    return applicant.post(
        f"/applications/{app_id}/materials/{slot}/uploads",
        json={"filename": "a.pdf", "content_type": "application/pdf", "size": 1000},
    )


def test_an_admin_edits_an_item_in_the_browser_and_applications_keep_their_version(
    stack: LocalStack, browser: Any, admin: Api, reviewer: Api, applicant: Api
) -> None:
    assert reviewer.get("/admin/catalogue/versions").status_code == 403
    base, catalogue = _current(admin)
    code = f"e2e-catalogue-{uuid.uuid4().hex[:8]}"
    item = next(i for i in catalogue["items"] if i["code"] == TEMPLATE_ITEM)
    item = {**item, "code": code, "name_zh": "端到端测试事项", "name_en": "End-to-end test item"}
    item.pop("licence", None)
    added = admin.post("/admin/catalogue/items", json={"base_version": base, "item": item})
    assert added.status_code == 201, added.text
    version = added.json()["version"]
    try:
        old_app = _apply(applicant, code)
        assert old_app["catalogue_version"] == version

        page = new_page(browser)
        page.goto(f"{stack.api_url}/web/desk/index.html")
        sign_in(page, "目录管理员", "admin")
        page.wait_for_selector("#nav-catalogue-item:not([hidden])")
        page.click("#nav-catalogue")
        page.wait_for_selector(f"#items tr[data-code='{code}']")
        assert page.get_attribute("#versions tbody tr:first-child", "data-version") == str(version)
        shot(page, "versions", "web-catalogue")

        page.click(f"#items button[data-edit='{code}']")
        page.wait_for_selector("#editor:not([hidden])")
        # Invalid: the promised limit over the statutory one. Refused with where, in Chinese.
        page.fill("#f-promised", "400")
        page.click("#save-item")
        error = page.wait_for_selector("#item-error:not([hidden])")
        assert "promised_limit_days" in error.inner_text() or "承诺" in error.inner_text()
        assert page.get_attribute("#versions tbody tr:first-child", "data-version") == str(version)
        shot(page, "invalid", "web-catalogue")

        page.fill("#f-name-zh", "端到端测试事项（改）")
        page.fill("#f-promised", "1")
        page.click("#materials button[data-remove='business_licence']")
        page.fill("#f-comment", "端到端测试：去掉营业执照")
        page.click("#save-item")
        page.wait_for_selector(
            f"#versions tbody tr:first-child[data-version='{version + 1}'], #item-error:not([hidden])"
        )
        assert page.is_hidden("#item-error"), page.inner_text("#item-error")
        page.wait_for_selector(f"#versions tbody tr:first-child[data-version='{version + 1}']")
        summary = page.inner_text("#versions tbody tr:first-child .summary")
        assert code in summary
        assert "端到端测试：去掉营业执照" in summary
        row = page.inner_text(f"#items tr[data-code='{code}']")
        assert "端到端测试事项（改）" in row
        shot(page, "saved", "web-catalogue")
        assert page.js_errors == []
        page.context.close()

        # The first application goes by its own version: business_licence is still its slot.
        assert _ticket(applicant, old_app["id"], "business_licence").status_code == 201
        detail = applicant.get(f"/applications/{old_app['id']}").json()
        assert detail["item"]["name_zh"] == "端到端测试事项"
        # A new application gets the new version, without business_licence.
        new_app = _apply(applicant, code)
        assert new_app["catalogue_version"] == version + 1
        refused = _ticket(applicant, new_app["id"], "business_licence")
        assert refused.status_code == 422
        assert refused.json()["code"] == "unknown_material_slot"

        # In the portal each application shows its own material list (the item as it pinned it).
        portal = new_page(browser)
        portal.goto(f"{stack.api_url}/web/portal/index.html")
        token = stack.token("applicant-a", ["applicant"], "applicant-a", uscc=E2E_ENTERPRISES)
        portal.evaluate("t => sessionStorage.setItem('onestop.id_token', t)", token)
        portal.goto(f"{stack.api_url}/web/portal/index.html#app={old_app['id']}")
        portal.reload()  # the page starts with the token now in place
        portal.wait_for_selector("#file-application", state="attached")
        assert portal.query_selector("#file-business_licence") is not None
        portal.goto(f"{stack.api_url}/web/portal/index.html#app={new_app['id']}")
        portal.reload()
        portal.wait_for_selector("#file-application", state="attached")
        assert portal.query_selector("#file-business_licence") is None
        shot(portal, "portal-pinned", "web-catalogue")
        assert portal.js_errors == []
        portal.context.close()

        # The KPI page: the catalogue's coverage of the bureau's 116 listed items.
        _, now = _current(admin)
        kpi = new_page(browser)
        kpi.goto(f"{stack.api_url}/web/kpi/index.html")
        sign_in(kpi, "指标查看", "admin")
        total = kpi.wait_for_selector("#coverage tfoot td[data-figure='ratio']")
        assert total.inner_text() == f"{len(now['items'])} / 116"
        licensing = kpi.inner_text("#coverage tbody tr[data-category='administrative_licensing']")
        assert "20" in licensing
        shot(kpi, "kpi-coverage", "web-catalogue")
        assert kpi.js_errors == []
        kpi.context.close()
    finally:
        current, _ = _current(admin)
        retired = admin.post(f"/admin/catalogue/items/{code}/retire", json={"base_version": current})
        assert retired.status_code == 200, retired.text


def test_export_then_import_over_http_is_the_same_catalogue(admin: Api) -> None:
    base, catalogue = _current(admin)
    exported = admin.get(f"/admin/catalogue/versions/{base}/export")
    assert exported.status_code == 200
    imported = admin.post(
        "/admin/catalogue/import", json={"base_version": base, "yaml": exported.json()["yaml"]}
    )
    assert imported.status_code == 201, imported.text
    assert imported.json()["changes"] == {"added": [], "changed": [], "removed": [], "sections": []}
    assert _current(admin) == (base + 1, catalogue)
    stale = admin.post(
        "/admin/catalogue/import", json={"base_version": base, "yaml": exported.json()["yaml"]}
    )
    assert stale.status_code == 409
    assert stale.json()["current_version"] == base + 1


def test_the_cli_exports_and_imports_over_http(stack: LocalStack, admin: Api, tmp_path: Path) -> None:
    from onestop.cli import main

    token = stack.token("admin-cli", ["admin"], "admin-cli", uscc=())
    base, catalogue = _current(admin)
    out = io.StringIO()
    assert main(["catalogue", "export", "--service", stack.api_url, "--token", token], out) == 0
    exported = tmp_path / "catalogue.yaml"
    exported.write_text(out.getvalue(), encoding="utf-8")
    assert out.getvalue() == admin.get(f"/admin/catalogue/versions/{base}/export").json()["yaml"]

    said = io.StringIO()
    args = ["catalogue", "import", str(exported), "--service", stack.api_url, "--token", token]
    assert main([*args, "--comment", "CLI 导入"], said) == 0
    assert f"version {base + 1} (from {base})" in said.getvalue()
    assert _current(admin) == (base + 1, catalogue)
    # From an old base: refused with the current version, nothing written.
    assert main([*args, "--base", str(base)], io.StringIO()) == 1
    assert _current(admin)[0] == base + 1
