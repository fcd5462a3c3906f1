"""`onestop verify photo.jpg`: a photo of the printed licence checked offline against the cached trust
bundle and status lists (the layout `onestop trust update` writes), with the PDF's exit codes."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from onestop import cli
from onestop.licences.jws import seal_key_from_signer
from onestop.licences.pki import to_asn1
from onestop.licences.render import render_licence
from onestop.licences.signers import LocalKeySigner
from onestop.licences.status_list import REVOKED, build_status_list
from onestop.verification import TrustAnchors

from tests import photo_specimens as P


@pytest.fixture(scope="module")
def licence() -> P.IssuedLicence:
    return P.issued_licence()


@pytest.fixture(scope="module")
def photo(licence: P.IssuedLicence) -> bytes:
    return P.specimen(licence.pdf, "phone_12mp").data


def make_cache(folder: Path, licence: P.IssuedLicence, *, entries: dict[int, int] | None = None,
               at: datetime | None = None, base: str | None = P.ISSUER.public_base_url) -> Path:  # fmt: skip
    """A cache as `onestop trust update` leaves it: trust.json and status-lists/<type>.json."""
    anchors = TrustAnchors(roots=(to_asn1(licence.pki.root_cert),), seals=(to_asn1(licence.pki.seal_cert),))
    document: dict[str, Any] = anchors.document()
    if base:
        document["verify_base_url"] = base
    (folder / "status-lists").mkdir(parents=True, exist_ok=True)
    (folder / "trust.json").write_text(json.dumps(document), "utf-8")
    key = seal_key_from_signer(LocalKeySigner.from_dev_pki(licence.pki))
    name = licence.record.metadata.type_code
    status_list = build_status_list(name, entries or {}, key=key, at=at or datetime.now(UTC))
    (folder / "status-lists" / f"{name}.json").write_text(json.dumps(status_list.document()), "utf-8")
    return folder


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = cli.main(list(argv), out=out)
    return code, out.getvalue()


def test_a_photo_verifies_offline_with_the_cached_bundle_and_lists(
    tmp_path: Path, licence: P.IssuedLicence, photo: bytes
) -> None:
    cache = make_cache(tmp_path / "cache", licence)
    (tmp_path / "licence.jpg").write_bytes(photo)
    code, text = run("verify", str(tmp_path / "licence.jpg"), "--cache", str(cache))
    assert code == cli.EXIT_OK, text
    assert "凭证真实有效" in text
    assert "✓ 凭证完整性 Integrity" in text
    assert "✓ 签发机关 Issuer" in text
    assert "✓ 证照状态 Licence status" in text
    assert "? 登记信息 Registry" in text  # offline: not consulted
    assert licence.record.licence_id in text
    assert "3000x4000 jpeg" in text


def test_revoked_in_the_cached_list_fails(tmp_path: Path, licence: P.IssuedLicence, photo: bytes) -> None:
    index = licence.record.status_index
    assert index is not None
    cache = make_cache(tmp_path / "cache", licence, entries={index: REVOKED})
    (tmp_path / "p.jpg").write_bytes(photo)
    code, text = run("verify", str(tmp_path / "p.jpg"), "--cache", str(cache), "--json")
    assert code == cli.EXIT_FAILED
    body = json.loads(text)
    assert body["verdict"] == "revoked"
    assert body["kind"] == "photo"


def test_an_expired_cached_list_leaves_the_status_unknown(
    tmp_path: Path, licence: P.IssuedLicence, photo: bytes
) -> None:
    cache = make_cache(tmp_path / "cache", licence, at=datetime(2025, 6, 1, tzinfo=UTC))
    (tmp_path / "p.jpg").write_bytes(photo)
    code, text = run("verify", str(tmp_path / "p.jpg"), "--cache", str(cache))
    assert code == cli.EXIT_UNCHECKED
    assert "Status unknown as of 2025-06-01" in text


def test_a_picture_without_a_readable_qr_code_says_so(tmp_path: Path, licence: P.IssuedLicence) -> None:
    cache = make_cache(tmp_path / "cache", licence)
    (tmp_path / "desk.jpg").write_bytes(P.specimen(licence.pdf, "desk_only").data)
    code, text = run("verify", str(tmp_path / "desk.jpg"), "--cache", str(cache))
    assert code == cli.EXIT_UNCHECKED
    assert "未能读取二维码：请将二维码放平、对准焦距后重拍" in text
    assert "hold the QR code flat and in focus" in text


def test_a_url_only_qr_off_the_bureaus_site_fails_naming_the_host(
    tmp_path: Path, licence: P.IssuedLicence
) -> None:
    cache = make_cache(tmp_path / "cache", licence)
    forged = render_licence(licence.record.metadata, verify_url="https://verify-gov.example.top/v/1")
    (tmp_path / "forged.png").write_bytes(P.screenshot(P.rasterise(forged.pdf, dpi=150)))
    code, text = run("verify", str(tmp_path / "forged.png"), "--cache", str(cache))
    assert code == cli.EXIT_FAILED
    assert "verify-gov.example.top" in text
    assert "伪造" in text
    # without the bureau's site in the bundle, the CLI cannot tell, and says so
    bare = make_cache(tmp_path / "bare", licence, base=None)
    code, text = run("verify", str(tmp_path / "forged.png"), "--cache", str(bare))
    assert code == cli.EXIT_UNCHECKED
    assert "verify-gov.example.top" in text


def test_a_photo_larger_than_a_pdf_may_be_is_still_read(
    tmp_path: Path, licence: P.IssuedLicence, photo: bytes
) -> None:
    cache = make_cache(tmp_path / "cache", licence)
    big = photo + b"\0" * (5 * 1024 * 1024)  # after the JPEG's end marker: ignored by decoders
    (tmp_path / "big.jpg").write_bytes(big)
    code, text = run("verify", str(tmp_path / "big.jpg"), "--cache", str(cache))
    assert code == cli.EXIT_OK, text


def test_a_bomb_is_refused_as_a_usage_error(
    tmp_path: Path, licence: P.IssuedLicence, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.unit.test_verification_photo import _png_header

    cache = make_cache(tmp_path / "cache", licence)
    (tmp_path / "bomb.png").write_bytes(_png_header(100_000, 100_000))
    code, _ = run("verify", str(tmp_path / "bomb.png"), "--cache", str(cache))
    assert code == cli.EXIT_USAGE
    err = capsys.readouterr().err
    assert "decompression bomb" in err
    assert "解压炸弹" in err


def test_a_missing_cache_is_a_usage_error_that_says_how_to_fill_it(
    tmp_path: Path, photo: bytes, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "p.jpg").write_bytes(photo)
    code, _ = run("verify", str(tmp_path / "p.jpg"), "--cache", str(tmp_path / "nothing"))
    assert code == cli.EXIT_USAGE
    assert "onestop trust update" in capsys.readouterr().err


def test_a_cache_altered_on_disk_is_refused(
    tmp_path: Path, licence: P.IssuedLicence, photo: bytes, capsys: pytest.CaptureFixture[str]
) -> None:
    from onestop.licences.pki import cert_pem

    cache = make_cache(tmp_path / "cache", licence)
    # `trust update` pins the roots it trusted; the cached list (here: unsigned) must verify against them
    (cache / "pinned-roots.pem").write_bytes(cert_pem(licence.pki.root_cert))
    (tmp_path / "p.jpg").write_bytes(photo)
    code, _ = run("verify", str(tmp_path / "p.jpg"), "--cache", str(cache))
    assert code == cli.EXIT_USAGE
    err = capsys.readouterr().err
    assert "altered or damaged" in err
    assert "onestop trust update" in err
