"""`onestop verify`: offline with given or bundled anchors, online against a verify service; exit codes."""

from __future__ import annotations

import base64
import io
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from onestop import cli
from onestop.http.verify_api import VerifyDependencies, build_verify_api
from onestop.licences.models import LicenceStatus
from onestop.licences.pki import cert_pem
from onestop.verification import TrustAnchors

from tests.unit import test_verification_support as S
from tests.unit.test_verification_api import Context, event


@pytest.fixture(scope="module")
def licence() -> S.Licence:
    return S.make_licence(S.make_pki())


@pytest.fixture
def files(tmp_path: Path, licence: S.Licence) -> dict[str, Path]:
    out = {
        "genuine": tmp_path / "licence.pdf",
        "tampered": tmp_path / "tampered.pdf",
        "root": tmp_path / "root.pem",
        "bundle": tmp_path / "trust.json",
    }
    out["genuine"].write_bytes(licence.sealed)
    out["tampered"].write_bytes(S.overlay_content(licence.sealed))
    out["root"].write_bytes(cert_pem(licence.pki.root_cert))
    out["bundle"].write_text(json.dumps(licence.anchors.document()), "utf-8")
    return out


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = cli.main(list(argv), out=out)
    return code, out.getvalue()


def test_offline_genuine_passes_integrity_and_issuer_and_says_status_was_not_checked(
    files: dict[str, Path],
) -> None:
    code, text = run("verify", str(files["genuine"]), "--trust-bundle", str(files["bundle"]))
    assert code == cli.EXIT_UNCHECKED
    assert "✓ 文件完整性 Document integrity" in text
    assert "✓ 签发机关 Issuer" in text
    assert "? 证照状态 Licence status" in text
    assert "离线核验不查询证照状态" in text
    assert "Offline verification" in text


def test_roots_only_never_pass_the_issuer_and_say_why(files: dict[str, Path]) -> None:
    """--trust ROOT.pem cannot tell a published seal from any other certificate the root issued."""
    code, text = run("verify", str(files["genuine"]), "--trust", str(files["root"]), "--json")
    report = json.loads(text)
    issuer = next(c for c in report["checks"] if c["check"] == "issuer")
    assert (issuer["verdict"], issuer["code"]) == ("unknown", "seal_publication_not_checked")
    assert "--trust-bundle" in issuer["reason_en"]
    assert code == cli.EXIT_UNCHECKED


def test_the_cli_and_the_api_trust_alike(files: dict[str, Path], licence: S.Licence) -> None:
    """The bundle file is the API's GET /trust document: the same verdicts offline and in process."""
    from onestop.verification import verify_pdf

    _code, text = run("verify", str(files["genuine"]), "--trust-bundle", str(files["bundle"]), "--json")
    offline = {c["check"]: (c["verdict"], c["code"]) for c in json.loads(text)["checks"]}
    in_process = verify_pdf(licence.sealed, trust=licence.anchors, registry_lookup=None)
    assert offline == {c.check.value: (c.verdict.value, c.code) for c in in_process.checks}


def test_a_bundle_whose_fingerprint_does_not_match_its_pem_is_refused(
    files: dict[str, Path], tmp_path: Path
) -> None:
    doc = json.loads(files["bundle"].read_text("utf-8"))
    doc["seals"][0]["sha256"] = "00" * 32
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(doc), "utf-8")
    code, _ = run("verify", str(files["genuine"]), "--trust-bundle", str(edited))
    assert code == cli.EXIT_USAGE


def test_oversized_file_is_refused_by_its_size_without_reading_it(
    files: dict[str, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    big = tmp_path / "big.pdf"
    with open(big, "wb") as handle:  # sparse: 1 GiB on paper, nothing on disk
        handle.truncate(1024**3)
    reads: list[int] = []
    real_open = open

    class Spy:
        def __init__(self, *a: Any) -> None:
            self.inner = real_open(*a)

        def __enter__(self) -> Any:
            return self

        def __exit__(self, *exc: Any) -> None:
            self.inner.close()

        def fileno(self) -> int:
            return self.inner.fileno()

        def read(self, n: int = -1) -> bytes:
            reads.append(n)
            return bytes(self.inner.read(n))

    monkeypatch.setattr(
        "builtins.open",
        lambda path, mode="r", *a: Spy(path, mode) if str(path) == str(big) else real_open(path, mode, *a),
    )
    code, _ = run("verify", str(big), "--trust-bundle", str(files["bundle"]))
    assert code == cli.EXIT_USAGE
    assert reads == []  # refused by fstat, before a single byte was read
    assert "over 4 MB" in capsys.readouterr().err


def test_endless_device_is_read_up_to_the_limit_only(
    files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    code, _ = run("verify", "/dev/zero", "--trust-bundle", str(files["bundle"]))
    assert code == cli.EXIT_USAGE
    assert "over 4 MB" in capsys.readouterr().err


def test_standard_input_is_capped(
    files: dict[str, Path], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    class Stdin:
        buffer = io.BytesIO(b"%PDF-" + b"0" * (5 * 1024 * 1024))

    monkeypatch.setattr("sys.stdin", Stdin)
    code, _ = run("verify", "-", "--trust-bundle", str(files["bundle"]))
    assert code == cli.EXIT_USAGE
    assert "standard input is over 4 MB" in capsys.readouterr().err


def test_genuine_licence_from_standard_input(files: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    class Stdin:
        buffer = io.BytesIO(files["genuine"].read_bytes())

    monkeypatch.setattr("sys.stdin", Stdin)
    code, text = run("verify", "-", "--trust-bundle", str(files["bundle"]))
    assert code == cli.EXIT_UNCHECKED
    assert "✓ 签发机关 Issuer" in text


def test_offline_tampered_fails_with_exit_1(files: dict[str, Path]) -> None:
    code, text = run("verify", str(files["tampered"]), "--trust", str(files["root"]))
    assert code == cli.EXIT_FAILED
    assert "✗ 文件完整性 Document integrity" in text


def test_json_output_is_the_report(files: dict[str, Path], licence: S.Licence) -> None:
    code, text = run("verify", str(files["genuine"]), "--trust-bundle", str(files["bundle"]), "--json")
    report = json.loads(text)
    assert code == cli.EXIT_UNCHECKED
    assert {c["check"]: c["verdict"] for c in report["checks"]} == {
        "integrity": "pass",
        "issuer": "pass",
        "status": "unknown",
        "identifier": "pass",
    }
    assert report["licence"]["licence_id"] == licence.meta.licence_id


def test_untrusted_root_fails_issuer(files: dict[str, Path], tmp_path: Path) -> None:
    other = tmp_path / "other.pem"
    other.write_bytes(cert_pem(S.make_pki().root_cert))
    code, text = run("verify", str(files["genuine"]), "--trust", str(other))
    assert code == cli.EXIT_FAILED
    assert "✗ 签发机关 Issuer" in text


def test_bundled_anchors_are_used_when_no_trust_is_given(
    files: dict[str, Path], licence: S.Licence, monkeypatch: pytest.MonkeyPatch
) -> None:
    import onestop.verification as verification

    monkeypatch.setattr(verification, "bundled_anchors", lambda: licence.anchors)
    code, _ = run("verify", str(files["genuine"]))
    assert code == cli.EXIT_UNCHECKED


def test_repository_ships_no_bundled_anchors() -> None:
    from onestop.verification import bundled_anchors

    assert bundled_anchors() is None


@pytest.mark.parametrize(
    "argv",
    [
        ("verify",),
        ("verify", "/nonexistent/licence.pdf", "--trust", "/nonexistent/root.pem"),
        ("frobnicate",),
        ("verify", "x.pdf", "--service", "ftp://example.org"),
    ],
)
def test_usage_errors_exit_2(argv: tuple[str, ...], capsys: pytest.CaptureFixture[str]) -> None:
    code, _ = run(*argv)
    assert code == cli.EXIT_USAGE


def test_no_trust_anywhere_is_a_usage_error(
    files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    code, _ = run("verify", str(files["genuine"]))
    assert code == cli.EXIT_USAGE
    assert "--trust" in capsys.readouterr().err


def test_unreadable_trust_file_is_a_usage_error(
    files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    code, _ = run("verify", str(files["genuine"]), "--trust", str(files["genuine"]))
    assert code == cli.EXIT_USAGE


# ----------------------------------------------------------------------------- online


class _Service:
    """The verify resolver behind a real HTTP server, as API Gateway would front it."""

    def __init__(self, app: Any) -> None:
        service = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                service.requests.append(f"{self.command} {self.path}")
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                headers = {k.lower(): v for k, v in self.headers.items()}
                reply = app.resolve(event(self.command, self.path, body, headers), Context())
                data = reply.get("body") or ""
                raw = base64.b64decode(data) if reply.get("isBase64Encoded") else data.encode()
                self.send_response(reply["statusCode"])
                for key, value in (reply.get("headers") or {}).items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            do_GET = _serve
            do_POST = _serve

            def log_message(self, *args: Any) -> None:
                return None

        self.requests: list[str] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> _Service:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def service(licence: S.Licence) -> Iterator[_Service]:
    anchors = TrustAnchors(roots=licence.anchors.roots, seals=licence.anchors.seals)
    records = {"status": LicenceStatus.VALID}

    def lookup(licence_id: str) -> S.LicenceRecord | None:
        if licence_id != licence.meta.licence_id:
            return None
        return S.record_for(licence, records["status"])

    app = build_verify_api(VerifyDependencies(trust=lambda: anchors, registry_lookup=lookup))
    with _Service(app) as running:
        running.records = records  # type: ignore[attr-defined]
        yield running


def test_online_genuine_passes_every_check(files: dict[str, Path], service: _Service) -> None:
    code, text = run("verify", str(files["genuine"]), "--service", service.url)
    assert code == cli.EXIT_OK, text
    assert "✓ 证照状态 Licence status" in text
    assert "GET /trust" in service.requests
    assert any(r.startswith("GET /verify/1.2.156.3005.2.") for r in service.requests)
    assert "核验通过" in text


def test_online_revoked_fails_status(files: dict[str, Path], service: _Service) -> None:
    service.records["status"] = LicenceStatus.REVOKED  # type: ignore[attr-defined]
    code, text = run("verify", str(files["genuine"]), "--service", service.url)
    assert code == cli.EXIT_FAILED
    assert "✗ 证照状态 Licence status" in text
    assert "撤销" in text


@pytest.mark.parametrize("which", ["genuine", "tampered"])
def test_cli_and_api_give_the_same_verdicts(files: dict[str, Path], service: _Service, which: str) -> None:
    import urllib.request

    code, text = run("verify", str(files[which]), "--service", service.url, "--json")
    from_cli = json.loads(text)
    request = urllib.request.Request(
        f"{service.url}/verify",
        data=files[which].read_bytes(),
        headers={"Content-Type": "application/pdf"},
        method="POST",
    )
    with urllib.request.urlopen(request) as reply:
        from_api = json.loads(reply.read())
    pick = lambda report: [(c["check"], c["verdict"], c["code"]) for c in report["checks"]]  # noqa: E731
    assert pick(from_cli) == pick(from_api)
    assert (code == cli.EXIT_OK) == from_api["valid"]


def test_unreachable_service_is_a_usage_error(files: dict[str, Path]) -> None:
    code, _ = run("verify", str(files["genuine"]), "--service", "http://127.0.0.1:9")
    assert code == cli.EXIT_USAGE


def test_service_down_after_trust_makes_status_unknown(
    files: dict[str, Path], monkeypatch: pytest.MonkeyPatch, licence: S.Licence
) -> None:
    def lookup_fails(service: str) -> Any:
        def lookup(_: str) -> None:
            raise OSError("connection reset")

        return lookup

    monkeypatch.setattr(cli, "_service_lookup", lookup_fails)
    monkeypatch.setattr(cli, "_anchors", lambda trust, service, bundle=None: licence.anchors)
    code, text = run("verify", str(files["genuine"]), "--service", "http://127.0.0.1:9")
    assert code == cli.EXIT_UNCHECKED
    assert "暂时无法查询证照登记状态" in text
