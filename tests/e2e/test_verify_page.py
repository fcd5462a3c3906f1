"""The verification web page in headless Chromium against the local stack.

A licence is sealed with the stack's own KMS seal key (the PKI the stack bootstrapped) and registered
in the stack's table; the page then verifies the genuine file (every check ticked), a tampered copy
(integrity crossed), and licence numbers typed in or reached through the QR-code URL. Screenshots go
to test-artifacts/. Needs Debian's chromium (`apt-get install -y chromium`).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from onestop.aws.kms_signer import KmsSigner
from onestop.aws.licence_registry import DynamoLicenceRegistry
from onestop.aws.s3 import S3BlobStore
from onestop.licences.models import Action, AuditEntry, LicenceRecord, LicenceStatus, StoredPdf
from onestop.licences.render import render_licence
from onestop.licences.seal import seal_pdf
from onestop.licences.trust import load_trust

from infra.local import LocalStack
from tests.unit.test_verification_support import BUREAU, metadata, overlay_content

from . import browser as pages


def shot(page: Any, name: str) -> None:
    pages.shot(page, name, prefix="verify")


pytestmark = [pytest.mark.xdist_group("stack"), pytest.mark.slow, pytest.mark.timeout(600)]

DONE = '#summary[data-valid="true"], #summary[data-valid="false"], #summary[data-valid="error"]'


@dataclass(frozen=True)
class Issued:
    licence_id: str
    pdf: bytes
    record: LicenceRecord


def _table(stack: LocalStack) -> Any:
    resource = boto3.resource(
        "dynamodb",
        endpoint_url=stack.moto_url,
        region_name=stack.config.region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"mode": "standard"}),
    )
    return resource.Table(stack.outputs["MainTableName"])


def issue(stack: LocalStack, status: LicenceStatus = LicenceStatus.VALID) -> Issued:
    """Seal a licence with the stack's KMS seal key, store it and register it (then change its status).

    Runs on its own thread: Playwright's sync API keeps an event loop on this one, and pyHanko's
    sealing calls asyncio.run.
    """
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(_issue, stack, status).result()


def _issue(stack: LocalStack, status: LicenceStatus) -> Issued:
    bucket = stack.outputs["LicencesBucketName"]
    store = S3BlobStore(bucket, s3=stack.client("s3"))
    seal = load_trust(store, "pki/").current_seal()
    signer = KmsSigner.for_seal(seal, kms=stack.client("kms"))
    meta = metadata(f"2099{secrets.randbelow(10**7):07d}")
    rendered = render_licence(meta, verify_url=f"{stack.api_url}/verify/{meta.licence_id}")
    sealed = seal_pdf(rendered.pdf, signer, seal_box=rendered.seal_box, signer_name=BUREAU.name_zh)
    key = f"licences/{meta.licence_id}.pdf"
    version = store.put(key, sealed.pdf, "application/pdf")
    registry = DynamoLicenceRegistry(stack.outputs["MainTableName"], table=_table(stack))
    at = datetime.now(UTC)
    reserve = AuditEntry(at, "e2e", Action.RESERVE, None, LicenceStatus.ISSUING, "e2e")
    registry.reserve(
        LicenceRecord(metadata=meta, status=LicenceStatus.ISSUING, reserved_at=at, history=(reserve,)),
        guard_application=False,
    )
    record = registry.complete(
        meta.licence_id,
        pdf=StoredPdf(bucket, key, version, hashlib.sha256(sealed.pdf).hexdigest(), len(sealed.pdf)),
        seal_cert_sha256=sealed.seal_cert_sha256,
        issued_at=at,
        entry=AuditEntry(at, "e2e", Action.ISSUE, LicenceStatus.ISSUING, LicenceStatus.VALID, "e2e"),
    )
    if status is LicenceStatus.REVOKED:
        entry = AuditEntry(datetime.now(UTC), "reviewer-1", Action.REVOKE, LicenceStatus.VALID, status, "e2e")
        record = registry.transition(
            meta.licence_id, allowed_from=frozenset({LicenceStatus.VALID}), entry=entry
        )
    return Issued(meta.licence_id, sealed.pdf, record)


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(locale="zh-CN", viewport={"width": 900, "height": 1200})
    tab = context.new_page()
    yield tab
    context.close()


def verdicts(page: Any) -> dict[str, str]:
    page.wait_for_selector(DONE, timeout=90_000)
    rows = page.eval_on_selector_all(
        "#checks li", "els => els.map(e => [e.dataset.check, e.dataset.verdict])"
    )
    return dict(rows)


def test_genuine_and_tampered_licences_on_the_page(stack: LocalStack, page: Any, tmp_path: Path) -> None:
    issued = issue(stack)
    genuine = tmp_path / "licence.pdf"
    genuine.write_bytes(issued.pdf)
    tampered = tmp_path / "tampered.pdf"
    tampered.write_bytes(overlay_content(issued.pdf))

    page.goto(f"{stack.api_url}/web/verify/index.html")
    assert page.get_attribute("#result", "aria-live") == "polite"
    page.get_by_label("电子证照标识").wait_for()  # inputs are labelled

    page.set_input_files("#pdf-file", str(genuine))
    assert verdicts(page) == {"integrity": "pass", "issuer": "pass", "status": "pass", "identifier": "pass"}
    assert page.get_attribute("#summary", "data-valid") == "true"
    assert page.inner_text('#face dd[data-field="licence_id"]') == issued.licence_id
    assert page.inner_text('#face dd[data-field="holder_name"]') == issued.record.metadata.holder_name
    assert "Document integrity" in page.inner_text("#checks")
    shot(page, "genuine")

    page.set_input_files("#pdf-file", str(tampered))
    result = verdicts(page)
    assert result["integrity"] == "fail"
    assert page.get_attribute("#summary", "data-valid") == "false"
    integrity_text = page.inner_text('#checks li[data-check="integrity"]')
    assert "签章后" in integrity_text
    assert "after sealing" in integrity_text
    assert "✗" in integrity_text
    shot(page, "tampered")


def test_revoked_licence_number_typed_in(stack: LocalStack, page: Any) -> None:
    issued = issue(stack, LicenceStatus.REVOKED)
    page.goto(f"{stack.api_url}/web/verify/index.html")
    page.fill("#licence-id", issued.licence_id)
    page.keyboard.press("Enter")  # the form submits from the keyboard
    result = verdicts(page)
    assert result == {"status": "fail", "identifier": "pass"}
    status_text = page.inner_text('#checks li[data-check="status"]')
    assert "撤销" in status_text
    assert "revoked" in status_text
    assert "撤销" in page.inner_text('#face dd[data-field="status"]')
    shot(page, "revoked-number")


def test_qr_code_url_opens_the_page_with_the_result(stack: LocalStack, page: Any) -> None:
    issued = issue(stack)
    page.goto(f"{stack.api_url}/verify/{issued.licence_id}")  # what the licence's QR code holds
    assert "/web/verify/" in page.url
    assert verdicts(page) == {"status": "pass", "identifier": "pass"}
    assert page.input_value("#licence-id") == issued.licence_id


def test_number_look_up_hides_the_holder_until_it_is_named(stack: LocalStack, page: Any) -> None:
    """Issue 13: a number alone shows the holder masked; naming it as printed checks it and shows it."""
    issued = issue(stack)
    holder = issued.record.metadata.holder_name
    page.goto(f"{stack.api_url}/web/verify/index.html")
    page.fill("#licence-id", issued.licence_id)
    page.click("#by-id button[type=submit]")
    assert verdicts(page) == {"status": "pass", "identifier": "pass"}
    shown = page.inner_text('#face dd[data-field="holder_name"]')
    assert shown != holder
    assert "*" in shown
    assert "部分隐藏" in page.inner_text("#face")
    page.fill("#holder", holder)
    page.click("#by-id button[type=submit]")
    page.wait_for_selector('#checks li[data-check="holder"]', timeout=60_000)
    assert verdicts(page) == {"status": "pass", "identifier": "pass", "holder": "pass"}
    assert page.inner_text('#face dd[data-field="holder_name"]') == holder
    page.fill("#holder", "别的公司")
    page.click("#by-id button[type=submit]")
    page.wait_for_selector('#checks li[data-check="holder"][data-verdict="fail"]', timeout=60_000)
    assert page.inner_text('#face dd[data-field="holder_name"]') != holder


def test_malformed_number_shows_the_reason(stack: LocalStack, page: Any) -> None:
    page.goto(f"{stack.api_url}/web/verify/index.html")
    page.fill("#licence-id", "1.2.156.3005.2.NOT-A-LICENCE")
    page.click("button[type=submit]")
    page.wait_for_selector(DONE, timeout=60_000)
    assert page.get_attribute("#summary", "data-valid") == "error"
    text = page.inner_text("#result")
    assert "电子证照标识格式不正确" in text
    assert "not well formed" in text
