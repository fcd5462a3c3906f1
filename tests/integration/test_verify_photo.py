"""POST /verify with a picture, through the verify Lambda handler against moto: a licence issued through
the real issue path (KMS seal key, bootstrapped PKI, Object-Lock bucket, DynamoDB registry), printed,
photographed at 12 megapixels and sent as image/jpeg; then revoked; a URL-only forgery; HEIC; a bomb."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from onestop.licences.issuance import issue_licence
from onestop.licences.lifecycle import change_status
from onestop.licences.models import Action, LicenceRecord
from onestop.licences.render import render_licence
from onestop.licences.trust import load_trust

from tests import photo_specimens as P
from tests.integration.test_verify_api import Cloud, cloud  # noqa: F401 - the moto fixture
from tests.unit.test_licence_support import ISSUER, OIL_LICENCE, approval
from tests.unit.test_verification_api import event
from tests.unit.test_verification_photo import _png_header


def post(cloud: Cloud, data: bytes, content_type: str) -> tuple[int, dict[str, Any], dict[str, Any]]:  # noqa: F811
    reply = cloud.handler(event("POST", "/verify", data, {"content-type": content_type}), _context())
    return reply["statusCode"], json.loads(reply["body"]), reply.get("headers") or {}


def _context() -> Any:
    from tests.unit.test_verification_api import Context

    return Context()


def issue_now(cloud: Cloud, app_id: str = "app-0001") -> tuple[LicenceRecord, bytes]:  # noqa: F811
    """Issue through the real path at the current time: the moto PKI was bootstrapped now, and a
    credential is trusted only when signed within its seal certificate's validity."""
    record = issue_licence(
        approval(app_id),
        licence_type=OIL_LICENCE,
        issuer=ISSUER,
        registry=cloud.registry,
        store=cloud.store,
        signer=cloud.signer,
        publisher=cloud.publisher,
        now=datetime.now(UTC),
    )
    assert record.pdf is not None
    return record, cloud.store.get(record.pdf.key, version_id=record.pdf.version_id).body


def ticks(body: dict[str, Any]) -> dict[str, bool | None]:
    return {t["name"]: t["ok"] for t in body["ticks"]}


def test_a_12_megapixel_photo_of_an_issued_licence_verifies_then_revoked(cloud: Cloud) -> None:  # noqa: F811
    record, pdf = issue_now(cloud)
    photo = P.photograph(P.rasterise(pdf), P.Shot())
    assert len(photo) < 4 * 1024 * 1024
    status, body, headers = post(cloud, photo, "image/jpeg")
    assert status == 200
    assert body["kind"] == "photo"
    assert body["verdict"] == "valid", body
    assert ticks(body) == {"integrity": True, "issuer": True, "status": True, "registry": True}
    assert body["credential"]["licence_id"] == record.licence_id
    assert (body["image"]["width"], body["image"]["height"]) == (3000, 4000)
    assert headers.get("Cache-Control") == "no-store"

    change_status(
        Action.REVOKE,
        record.licence_id,
        registry=cloud.registry,
        publisher=cloud.publisher,
        actor="reviewer-1",
        reason="以欺骗手段取得许可",
        now=datetime.now(UTC),
    )
    _, body, _ = post(cloud, photo, "image/jpeg")
    assert body["verdict"] == "revoked"
    assert body["valid"] is False
    assert ticks(body)["integrity"] is True  # a genuine credential of a revoked licence


def test_a_screenshot_sent_as_octet_stream_is_read_as_a_picture(cloud: Cloud) -> None:  # noqa: F811
    _, pdf = issue_now(cloud, "app-0002")
    status, body, _ = post(cloud, P.screenshot(P.rasterise(pdf, dpi=150)), "application/octet-stream")
    assert status == 200
    assert body["verdict"] == "valid", body


def test_a_forged_paper_whose_qr_leads_off_the_bureaus_site(cloud: Cloud) -> None:  # noqa: F811
    record, _ = issue_now(cloud, "app-0003")
    forged = render_licence(
        record.metadata, verify_url=f"https://onestop-gov.example.top/verify/{record.licence_id}"
    )
    status, body, _ = post(cloud, P.screenshot(P.rasterise(forged.pdf, dpi=150)), "image/png")
    assert status == 200
    assert body["verdict"] == "off_domain"
    assert body["host"] == "onestop-gov.example.top"
    assert "onestop-gov.example.top" in body["summary"]["zh"]
    # the genuine URL-only QR (a licence printed before credentials) is looked up in the registry
    genuine = render_licence(record.metadata, verify_url=ISSUER.verify_url(record.licence_id))
    _, body, _ = post(cloud, P.screenshot(P.rasterise(genuine.pdf, dpi=150)), "image/png")
    assert body["verdict"] == "url_only"
    assert ticks(body) == {"integrity": None, "issuer": None, "status": True, "registry": True}


def test_pictures_that_cannot_be_verified_are_refused_with_reasons(cloud: Cloud) -> None:  # noqa: F811
    heic = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\0" * 64
    status, body, _ = post(cloud, heic, "image/heic")
    assert status == 415
    assert "HEIC" in body["message"]["en"]
    status, body, _ = post(cloud, _png_header(100_000, 100_000), "image/png")
    assert status == 422
    assert body["code"] == "image_pixels_over_limit"
    assert "解压炸弹" in body["message"]["zh"]
    status, body, _ = post(cloud, b"\xff\xd8\xff" + b"\0" * (4 * 1024 * 1024), "image/jpeg")
    assert status == 413
    assert body["code"] == "image_too_large"
    status, body, _ = post(cloud, b"hello", "text/plain")
    assert status == 415
    assert "image/jpeg" in body["message"]["en"]
    _, body, _ = post(cloud, P.specimen(P.issued_licence().pdf, "desk_only").data, "image/jpeg")
    assert body["verdict"] == "no_qr"
    assert body["summary"]["en"].startswith("No readable QR code")


class _Served:
    """The verify Lambda handler behind a local HTTP server: what `onestop trust update --service` and
    `onestop verify --service` talk to (mock_aws patches botocore for the server's thread too)."""

    def __init__(self, handler: Any) -> None:
        import base64
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                headers = {k.lower(): v for k, v in self.headers.items()}
                reply = handler(event("GET", self.path, None, headers), _context())
                data = reply.get("body") or ""
                raw = base64.b64decode(data) if reply.get("isBase64Encoded") else data.encode()
                self.send_response(reply["statusCode"])
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_trust_update_then_a_photo_verifies_offline_and_a_suspension_reaches_it(
    cloud: Cloud,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The whole offline path: the issue function publishes the signed lists, `onestop trust update`
    caches them (anchored to the root given out of band), `onestop verify photo.jpg` needs no flag."""
    from asn1crypto import pem
    from onestop import cli

    from tests.integration.test_credential_publish import _template_schedule_input, deliver, office_of
    from tests.unit.test_licence_support import RecordingPublisher

    events = RecordingPublisher()
    office, _ = office_of(cloud, events)
    cloud.publisher = events  # type: ignore[assignment]
    record, pdf = issue_now(cloud)
    deliver(office, events)
    (scheduled,) = _template_schedule_input()
    office.handle(scheduled["detail-type"], scheduled["detail"])  # the signed trust list

    root = tmp_path / "root.pem"
    root.write_bytes(
        b"".join(pem.armor("CERTIFICATE", c.dump()) for c in load_trust(cloud.store, "pki/").roots)
    )
    cache = tmp_path / "cache"
    monkeypatch.setenv("ONESTOP_CACHE", str(cache))
    photo = tmp_path / "licence.jpg"
    photo.write_bytes(P.photograph(P.rasterise(pdf), P.Shot(frame=(1500, 2000))))
    served = _Served(cloud.handler)
    try:
        assert cli.main(["trust", "update", "--service", served.url, "--root", str(root)]) == 0
        out = io.StringIO()
        code = cli.main(["verify", str(photo)], out=out)  # the default cache, no network
        assert code == cli.EXIT_OK, out.getvalue()
        assert "✓ 证照状态 Licence status" in out.getvalue()
        assert "? 登记信息 Registry" in out.getvalue()

        change_status(
            Action.SUSPEND,
            record.licence_id,
            registry=cloud.registry,
            publisher=events,
            actor="admin-wang",
            reason="现场检查不合格",
            now=datetime.now(UTC),
        )
        deliver(office, events)
        out = io.StringIO()
        assert cli.main(["verify", str(photo)], out=out) == cli.EXIT_OK  # the cached list is older
        assert cli.main(["trust", "update", "--service", served.url]) == 0  # roots pinned by the first
        out = io.StringIO()
        assert cli.main(["verify", str(photo), "--json"], out=out) == cli.EXIT_FAILED
        assert json.loads(out.getvalue())["verdict"] == "suspended"
    finally:
        served.close()
