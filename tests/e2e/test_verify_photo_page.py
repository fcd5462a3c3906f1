"""Verify from a photo on the local stack: over HTTP, and on the verification page in headless Chromium.

A licence is issued through the real issue path against the stack (its KMS seal key and bootstrapped
PKI, its bucket and table), printed (pypdfium2) and photographed at 12 megapixels
(tests/photo_specimens.py). The page's picture input (accept image/*, capture environment) posts the
photo and shows the four ticks; a forged paper whose QR code leads off the bureau's site is a warning
naming the host; a photo without a QR code says to hold it flat and in focus. Screenshots go to
test-artifacts/. Needs Debian's chromium (`apt-get install -y chromium`).
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from onestop.aws.kms_signer import KmsSigner
from onestop.aws.licence_registry import DynamoLicenceRegistry
from onestop.aws.s3 import S3BlobStore
from onestop.licences.issuance import issue_licence
from onestop.licences.models import LicenceRecord
from onestop.licences.render import render_licence
from onestop.licences.trust import load_trust

from infra.local import LocalStack
from tests import photo_specimens as P
from tests.unit.test_licence_support import ISSUER, OIL_LICENCE, RecordingPublisher, approval

from . import browser as pages
from .test_verify_page import DONE, _table

pytestmark = [pytest.mark.xdist_group("stack"), pytest.mark.slow, pytest.mark.timeout(600)]


def issue(stack: LocalStack) -> tuple[LicenceRecord, bytes]:
    """Issue a licence through `issue_licence` on the stack (own thread: pyHanko runs asyncio.run)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(_issue, stack).result()


def _issue(stack: LocalStack) -> tuple[LicenceRecord, bytes]:
    import secrets

    store = S3BlobStore(stack.outputs["LicencesBucketName"], s3=stack.client("s3"))
    signer = KmsSigner.for_seal(load_trust(store, "pki/").current_seal(), kms=stack.client("kms"))
    registry = DynamoLicenceRegistry(stack.outputs["MainTableName"], table=_table(stack))
    record = issue_licence(
        approval(f"photo-e2e-{secrets.token_hex(6)}"),
        licence_type=OIL_LICENCE,
        issuer=ISSUER,
        registry=registry,
        store=store,
        signer=signer,
        publisher=RecordingPublisher(),
        now=datetime.now(UTC),
    )
    assert record.pdf is not None
    return record, store.get(record.pdf.key, version_id=record.pdf.version_id).body


@pytest.fixture(scope="module")
def issued(stack: LocalStack) -> tuple[LicenceRecord, bytes]:
    return issue(stack)


@pytest.fixture(scope="module")
def photo(issued: tuple[LicenceRecord, bytes], tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("photos") / "licence-12mp.jpg"
    path.write_bytes(P.photograph(P.rasterise(issued[1]), P.Shot()))
    return path


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    # a phone-sized window: the page is what a clerk opens on a phone
    context = browser.new_context(locale="zh-CN", viewport={"width": 412, "height": 915})
    tab = context.new_page()
    yield tab
    context.close()


def ticks(page: Any) -> dict[str, str]:
    page.wait_for_selector(DONE, timeout=90_000)
    rows = page.eval_on_selector_all("#checks li", "els => els.map(e => [e.dataset.tick, e.dataset.verdict])")
    return dict(rows)


def test_a_photo_posted_over_http_verifies(
    stack: LocalStack, issued: tuple[LicenceRecord, bytes], photo: Path
) -> None:
    record, _ = issued
    reply = requests.post(
        f"{stack.api_url}/verify",
        data=photo.read_bytes(),
        headers={"Content-Type": "image/jpeg", "Accept": "application/json"},
        timeout=120,
    )
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["verdict"] == "valid", body
    assert {t["name"]: t["ok"] for t in body["ticks"]} == {
        "integrity": True,
        "issuer": True,
        "status": True,
        "registry": True,
    }
    assert body["credential"]["licence_id"] == record.licence_id
    heic = requests.post(
        f"{stack.api_url}/verify",
        data=b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\0" * 64,
        headers={"Content-Type": "image/heic"},
        timeout=60,
    )
    assert heic.status_code == 415
    assert "兼容性最佳" in heic.json()["message"]["zh"]


def test_the_page_verifies_a_photo_of_the_printed_licence(
    stack: LocalStack, page: Any, issued: tuple[LicenceRecord, bytes], photo: Path, tmp_path: Path
) -> None:
    record, _ = issued
    page.goto(f"{stack.api_url}/web/verify/index.html")
    picture = page.locator("#photo-file")
    assert picture.get_attribute("accept") == "image/*"
    assert picture.get_attribute("capture") == "environment"
    page.get_by_label("拍摄证照上的二维码").wait_for()  # the input is labelled

    page.set_input_files("#photo-file", str(photo))
    assert ticks(page) == {"integrity": "pass", "issuer": "pass", "status": "pass", "registry": "pass"}
    assert page.get_attribute("#summary", "data-valid") == "true"
    assert page.inner_text('#face dd[data-field="licence_id"]') == record.licence_id
    assert page.inner_text('#face dd[data-field="holder_name"]') == record.metadata.holder_name
    text = page.inner_text("#checks")
    assert "凭证完整性" in text
    assert "Integrity" in text
    pages.shot(page, "photo-genuine", prefix="verify")

    forged = render_licence(record.metadata, verify_url="https://onestop-gov.example.top/verify/1")
    fake = tmp_path / "forged.png"
    fake.write_bytes(P.screenshot(P.rasterise(forged.pdf, dpi=150)))
    page.set_input_files("#photo-file", str(fake))
    page.wait_for_selector('#summary[data-verdict="off_domain"]', timeout=90_000)
    summary = page.inner_text("#summary")
    assert "onestop-gov.example.top" in summary
    assert "伪造" in summary
    assert page.inner_text('#face dd[data-field="qr_host"]') == "onestop-gov.example.top"
    assert ticks(page) == {"integrity": "fail", "issuer": "fail"}
    pages.shot(page, "photo-off-domain", prefix="verify")

    desk = tmp_path / "desk.jpg"
    desk.write_bytes(P.specimen(issued[1], "desk_only").data)
    page.set_input_files("#photo-file", str(desk))
    page.wait_for_selector('#summary[data-verdict="no_qr"]', timeout=90_000)
    summary = page.inner_text("#summary")
    assert "未能读取二维码：请将二维码放平、对准焦距后重拍" in summary
    assert "hold the QR code flat and in focus" in summary


def test_a_phone_original_over_4_mb_is_redrawn_in_the_browser_and_verifies(
    stack: LocalStack, page: Any, photo: Path, tmp_path: Path
) -> None:
    # A phone's original is often over the service's 4 MB: the page redraws it as a JPEG of at most
    # 3000 px (the trailing bytes here stand for the extra data phones append) and sends that.
    big = tmp_path / "original.jpg"
    big.write_bytes(photo.read_bytes() + b"\0" * (5 * 1024 * 1024))
    sent: list[int] = []
    page.on("request", lambda r: sent.append(len(r.post_data_buffer or b"")) if r.method == "POST" else None)
    page.goto(f"{stack.api_url}/web/verify/index.html")
    page.set_input_files("#photo-file", str(big))
    assert ticks(page) == {"integrity": "pass", "issuer": "pass", "status": "pass", "registry": "pass"}
    assert sent
    assert sent[0] < 4 * 1024 * 1024
