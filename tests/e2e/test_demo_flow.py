"""The `make demo` scenario as a test (every step asserted), then the licence's lifecycle over HTTP."""

from __future__ import annotations

from pathlib import Path

import pypdf
import pytest
import requests

from infra.local import LocalStack
from infra.local.demo import Report, scenario

from .conftest import Api

pytestmark = pytest.mark.xdist_group("stack")


@pytest.fixture(scope="module")
def flow(stack: LocalStack, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    out = tmp_path_factory.mktemp("demo")
    ids = scenario(stack, out, Report())  # raises DemoFailure on any step that misbehaves
    ids["pdf"] = str(next(out.glob("licence-*.pdf")))
    return ids


def test_whole_flow_from_upload_to_verified_licence(flow: dict[str, str]) -> None:
    text = pypdf.PdfReader(flow["pdf"]).pages[0].extract_text()
    assert "市商务局" in text
    assert flow["licence_id"].startswith("1.2.156.3005.2.")


def test_licence_is_visible_to_its_holder_and_reviewers_only(
    flow: dict[str, str], stack: LocalStack, reviewer: Api, other_applicant: Api
) -> None:
    holder = Api(stack, "demo-applicant", ("applicant",))
    mine = holder.get(f"/licences/{flow['licence_id']}")
    assert mine.status_code == 200
    assert mine.json()["status"] == "01"
    pdf = requests.get(mine.json()["download_url"], timeout=30).content
    assert pdf == Path(flow["pdf"]).read_bytes()
    assert reviewer.get(f"/licences/{flow['licence_id']}").status_code == 200
    assert other_applicant.get(f"/licences/{flow['licence_id']}").status_code == 404


def test_suspend_and_reinstate_show_in_verification(
    flow: dict[str, str], stack: LocalStack, reviewer: Api, admin: Api, anonymous: Api
) -> None:
    holder = Api(stack, "demo-applicant", ("applicant",))
    refused = holder.post(
        f"/licences/{flow['licence_id']}/lifecycle", json={"action": "suspend", "reason": "自己暂扣"}
    )
    assert refused.status_code == 403
    # Reviewers decide on applications; the licence lifecycle is the admin group's.
    by_reviewer = reviewer.post(
        f"/licences/{flow['licence_id']}/lifecycle", json={"action": "suspend", "reason": "审批人员暂扣"}
    )
    assert by_reviewer.status_code == 403
    assert by_reviewer.json()["code"] == "admin_role_required"
    suspended = admin.post(
        f"/licences/{flow['licence_id']}/lifecycle",
        json={"action": "suspend", "reason": "经营场所消防检查不合格，责令整改"},
    )
    assert suspended.status_code == 200, suspended.text
    assert suspended.json()["status"] == "02"
    pdf = Path(flow["pdf"]).read_bytes()
    verdict = anonymous.post("/verify", data=pdf, headers={"Content-Type": "application/pdf"}).json()
    checks = {c["check"]: c for c in verdict["checks"]}
    assert verdict["valid"] is False
    assert checks["integrity"]["verdict"] == "pass"
    assert checks["status"]["verdict"] == "fail"
    again = admin.post(
        f"/licences/{flow['licence_id']}/lifecycle", json={"action": "suspend", "reason": "重复操作测试"}
    )
    assert again.status_code == 409
    reinstated = admin.post(
        f"/licences/{flow['licence_id']}/lifecycle", json={"action": "reinstate", "reason": "整改完成，恢复"}
    )
    assert reinstated.status_code == 200
    verdict = anonymous.post("/verify", data=pdf, headers={"Content-Type": "application/pdf"}).json()
    assert verdict["valid"] is True


def test_renewal_is_sealed_by_the_issue_function_and_supersedes_the_old_version(
    flow: dict[str, str], stack: LocalStack, reviewer: Api, admin: Api, anonymous: Api
) -> None:
    old_id = flow["licence_id"]
    asked = admin.post(
        f"/licences/{old_id}/lifecycle",
        json={"action": "renew", "reason": "有效期届满前申请延续", "validity_years": 3},
    )
    assert asked.status_code == 200, asked.text
    assert asked.json()["requested"] == "renew"
    assert stack.wait_idle(120)
    old = reviewer.get(f"/licences/{old_id}").json()
    new_id = old["superseded_by"]
    assert new_id
    assert old["status"] == "superseded" or old["status_en"].lower().startswith("superseded")
    new = reviewer.get(f"/licences/{new_id}").json()
    assert new["status"] == "01"
    assert new["supersedes"] == old_id
    new_pdf = requests.get(new["download_url"], timeout=30).content
    fresh = anonymous.post("/verify", data=new_pdf, headers={"Content-Type": "application/pdf"}).json()
    assert fresh["valid"] is True
    stale = anonymous.post(
        "/verify", data=Path(flow["pdf"]).read_bytes(), headers={"Content-Type": "application/pdf"}
    ).json()
    assert stale["valid"] is False
    assert {c["check"]: c["verdict"] for c in stale["checks"]}["status"] == "fail"


def test_the_demo_leaves_what_an_offline_verifier_needs(flow: dict[str, str]) -> None:
    """Issue 16 item 2: once the stack is gone, the licence still verifies with the bundle left beside it."""
    import io

    from onestop import cli

    argv = flow["offline_command"].split()[1:]
    assert argv[0] == "verify"
    assert Path(argv[-1]).name == "trust.json"
    assert Path(argv[-1]).is_file()
    printed = io.StringIO()
    code = cli.main(argv, printed)
    # Every check passes offline, the status too: from the signed status list the demo left beside it.
    assert code == cli.EXIT_OK, printed.getvalue()
    assert "✗" not in printed.getvalue()
    assert "状态列表" in printed.getvalue()
    assert "status list" in printed.getvalue()
    # Without the status lists, the status is what cannot be checked offline (exit 3), nothing fails.
    lists = Path(argv[-1]).with_name("status-lists")
    aside = lists.with_name("status-lists-aside")
    lists.rename(aside)
    try:
        without = io.StringIO()
        assert cli.main(argv, without) == cli.EXIT_UNCHECKED, without.getvalue()
        assert "✗" not in without.getvalue()
    finally:
        aside.rename(lists)
    # The same command with a byte of the licence changed fails.
    tampered = Path(argv[1]).with_name("tampered.pdf")
    data = bytearray(Path(argv[1]).read_bytes())
    data[len(data) // 3] ^= 0x01
    tampered.write_bytes(bytes(data))
    assert cli.main(["verify", str(tampered), *argv[2:]], io.StringIO()) == cli.EXIT_FAILED
