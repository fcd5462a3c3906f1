"""The verify function's HTTP routes, driven with API Gateway (HTTP API, payload 2.0) events."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from onestop.http.verify_api import VerifyDependencies, build_verify_api
from onestop.licences.models import LicenceStatus
from onestop.licences.trust import CachedTrust
from onestop.verification import TrustAnchors, VerifyLimits
from onestop.verification.anchors import fingerprint, load_pem_bundle

from tests.unit import test_verification_support as S


@dataclass
class Context:
    function_name: str = "onestop-verify-test"
    memory_limit_in_mb: int = 1024
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:onestop-verify-test"
    aws_request_id: str = "req-1"


def event(method: str, path: str, body: bytes | str | None = None, headers: dict[str, str] | None = None,
          base64_encoded: bool = True) -> dict[str, Any]:  # fmt: skip
    out: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "",
        "headers": headers or {},
        "requestContext": {
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.9",
                "userAgent": "pytest",
            },
            "requestId": "r1",
            "routeKey": "$default",
            "stage": "$default",
        },
        "isBase64Encoded": base64_encoded,
    }
    if body is not None:
        if base64_encoded:
            out["body"] = base64.b64encode(body if isinstance(body, bytes) else body.encode()).decode()
        else:
            out["body"] = body
    return out


PDF = {"content-type": "application/pdf"}


@pytest.fixture(scope="module")
def licence() -> S.Licence:
    return S.make_licence(S.make_pki())


@pytest.fixture(scope="module")
def revoked() -> S.Licence:
    return S.make_licence(S.make_pki(), S.metadata("20250000042"))


@pytest.fixture(scope="module")
def app(licence: S.Licence, revoked: S.Licence) -> Any:
    anchors = TrustAnchors(
        roots=(*licence.anchors.roots, *revoked.anchors.roots),
        seals=(*licence.anchors.seals, *revoked.anchors.seals),
    )
    lookup = S.registry(S.record_for(licence), S.record_for(revoked, LicenceStatus.REVOKED))
    deps = VerifyDependencies(trust=lambda: anchors, registry_lookup=lookup)
    return build_verify_api(deps)


def call(app: Any, ev: dict[str, Any]) -> tuple[int, dict[str, str], Any]:
    reply = app.resolve(ev, Context())
    body = reply.get("body") or ""
    if reply.get("isBase64Encoded"):
        body = base64.b64decode(body).decode()
    parsed = json.loads(body) if body and reply["headers"].get("Content-Type") == "application/json" else body
    return reply["statusCode"], reply["headers"], parsed


def test_genuine_pdf_gets_every_check_ticked(app: Any, licence: S.Licence) -> None:
    status, headers, body = call(app, event("POST", "/verify", licence.sealed, PDF))
    assert status == 200
    assert headers["Cache-Control"] == "no-store"
    assert body["valid"] is True
    assert [c["check"] for c in body["checks"]] == ["integrity", "issuer", "status", "identifier"]
    assert {c["verdict"] for c in body["checks"]} == {"pass"}
    assert body["licence"]["holder_name"] == licence.meta.holder_name
    assert body["file"]["sha256"] == licence.sha256


def test_tampered_pdf_is_a_report_with_a_failed_integrity(app: Any, licence: S.Licence) -> None:
    status, _, body = call(app, event("POST", "/verify", S.overlay_content(licence.sealed), PDF))
    assert status == 200
    assert body["valid"] is False
    integrity = next(c for c in body["checks"] if c["check"] == "integrity")
    assert integrity["verdict"] == "fail"
    assert integrity["reason_zh"]
    assert integrity["reason_en"]


def test_revoked_pdf_is_intact_but_revoked(app: Any, revoked: S.Licence) -> None:
    _, _, body = call(app, event("POST", "/verify", revoked.sealed, {"Content-Type": "application/pdf"}))
    verdicts = {c["check"]: (c["verdict"], c["code"]) for c in body["checks"]}
    assert verdicts["integrity"] == ("pass", "intact")
    assert verdicts["status"] == ("fail", "status_revoked")


def test_hostile_pdf_is_a_failed_report_not_a_server_error(app: Any) -> None:
    data = (S.CORPUS / "02_pdfs" / "malformed" / "qpdf_append-xref-loop.pdf").read_bytes()
    status, _, body = call(app, event("POST", "/verify", data, PDF))
    assert status == 200
    assert body["valid"] is False


def test_octet_stream_is_accepted(app: Any, licence: S.Licence) -> None:
    status, _, body = call(
        app, event("POST", "/verify", licence.sealed, {"content-type": "application/octet-stream"})
    )
    assert status == 200
    assert body["valid"] is True


def test_too_large_is_413_with_a_hint(licence: S.Licence) -> None:
    deps = VerifyDependencies(
        trust=lambda: licence.anchors, registry_lookup=S.registry(), limits=VerifyLimits(max_bytes=10_000)
    )
    status, _, body = call(build_verify_api(deps), event("POST", "/verify", licence.sealed, PDF))
    assert status == 413
    assert body["code"] == "pdf_too_large"
    assert body["message"]["zh"]
    assert body["message"]["en"]
    assert "onestop verify" in body["details"][0]["en"]
    assert body["max_bytes"] == 10_000


def test_big_body_is_refused_before_decoding(app: Any) -> None:
    status, _, _body = call(app, event("POST", "/verify", b"%PDF-1.7" + b"0" * (6 * 1024 * 1024), PDF))
    assert status == 413


@pytest.mark.parametrize("content_type", ["text/plain", "application/json", ""])
def test_wrong_content_type_is_415(app: Any, licence: S.Licence, content_type: str) -> None:
    headers = {"content-type": content_type} if content_type else {}
    status, _, body = call(app, event("POST", "/verify", licence.sealed, headers))
    assert status == 415
    assert body["code"] == "unsupported_media_type"
    assert "application/pdf" in body["message"]["zh"]


@pytest.mark.parametrize(
    ("body", "base64_encoded"),
    [(b"GIF89a not a pdf", True), (b"", True), ("@@not base64@@", False)],
)
def test_not_a_pdf_is_422(app: Any, body: Any, base64_encoded: bool) -> None:
    ev = event("POST", "/verify", body, PDF, base64_encoded=base64_encoded)
    if not base64_encoded:
        ev["isBase64Encoded"] = True  # claims base64 but is not
    status, _, reply = call(app, ev)
    assert status == 422
    assert reply["code"] == "not_a_pdf"
    assert reply["details"][0]["zh"]
    assert reply["details"][0]["en"]


def test_lookup_by_number(app: Any, revoked: S.Licence) -> None:
    status, _, body = call(app, event("GET", f"/verify/{revoked.meta.licence_id}", headers={"accept": "*/*"}))
    assert status == 200
    assert body["licence_id"] == revoked.meta.licence_id
    assert body["registry"]["status"] == "03"
    assert body["registry"]["status_since"]
    status_check = next(c for c in body["checks"] if c["check"] == "status")
    assert status_check["code"] == "status_revoked"
    assert body["licence"]["name_zh"] == revoked.meta.name_zh
    assert body["licence"]["issuer_name"] == revoked.meta.issuer_name
    assert body["licence"]["valid_from"]
    assert body["licence"]["valid_until"]


def test_lookup_of_an_unknown_number_is_a_report(app: Any) -> None:
    status, _, body = call(app, event("GET", f"/verify/{S.metadata('20259990001').licence_id}"))
    assert status == 200
    assert body["valid"] is False
    assert body["registry"] is None


@pytest.mark.parametrize(
    "bad", ["not-an-id", "1.2.156.3005.2.11440300MB2D03151D001.11440300MB2D03151D.1.001.Q"]
)
def test_malformed_number_is_422(app: Any, bad: str) -> None:
    status, _, body = call(app, event("GET", f"/verify/{bad}"))
    assert status == 422
    assert body["code"] in {"licence_id_malformed", "licence_id_check_failed"}
    assert body["message"]["zh"]
    assert body["message"]["en"]


def test_browser_following_the_qr_code_is_sent_to_the_page(app: Any, licence: S.Licence) -> None:
    accept = "text/html,application/xhtml+xml,*/*;q=0.8"
    status, headers, _ = call(
        app, event("GET", f"/verify/{licence.meta.licence_id}", headers={"accept": accept})
    )
    assert status == 302
    assert headers["Location"] == f"/web/verify/index.html?id={licence.meta.licence_id}"


def test_trust_document_lists_roots_and_seals_with_fingerprints(app: Any, licence: S.Licence) -> None:
    status, headers, body = call(app, event("GET", "/trust"))
    assert status == 200
    assert "max-age" in headers["Cache-Control"]
    assert len(body["roots"]) == 2
    assert len(body["seals"]) == 2
    for entry in body["roots"] + body["seals"]:
        cert = load_pem_bundle(entry["pem"].encode())[0]
        assert fingerprint(cert) == entry["sha256"]
        assert entry["not_before"] < entry["not_after"]
    assert fingerprint(licence.anchors.roots[0]) in {r["sha256"] for r in body["roots"]}
    assert TrustAnchors.from_trust_document(body).seal_fingerprints == {s["sha256"] for s in body["seals"]}


def test_unreadable_trust_is_503(licence: S.Licence) -> None:
    def missing() -> TrustAnchors:
        raise RuntimeError("no index.json")

    deps = VerifyDependencies(trust=CachedTrust(missing), registry_lookup=S.registry())
    status, _, body = call(build_verify_api(deps), event("POST", "/verify", licence.sealed, PDF))
    assert status == 503
    assert body["code"] == "trust_unavailable"


def test_trust_cache_keeps_the_last_good_copy(licence: S.Licence) -> None:
    calls: list[int] = []
    anchors = licence.anchors

    def flaky() -> TrustAnchors:
        calls.append(1)
        if len(calls) > 1:
            raise RuntimeError("S3 hiccup")
        return anchors

    cache = CachedTrust(flaky, ttl_s=0)
    assert cache() is anchors
    assert cache() is anchors
    assert len(calls) == 2


def test_registry_outage_is_unknown_status_not_500(licence: S.Licence) -> None:
    def down(_: str) -> None:
        raise TimeoutError("dynamodb")

    deps = VerifyDependencies(
        trust=lambda: licence.anchors, registry_lookup=down, now=lambda: datetime.now(UTC)
    )
    status, _, body = call(build_verify_api(deps), event("GET", f"/verify/{licence.meta.licence_id}"))
    assert status == 200
    assert next(c for c in body["checks"] if c["check"] == "status")["verdict"] == "unknown"
