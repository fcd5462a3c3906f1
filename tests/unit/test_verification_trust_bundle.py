"""The trust bundle document (GET /trust, `--trust-bundle`): its exact shape, values derived here from
the certificates with `cryptography` (not with the code under test), and the round trip."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import Encoding
from onestop.licences.pki import to_asn1
from onestop.verification import TrustAnchors
from onestop.verification.anchors import bundled_anchors, fingerprint, key_id, load_pem_bundle, to_pem

from tests.unit import test_verification_support as S
from tests.unit import verification_forgeries as F


@pytest.fixture(scope="module")
def pki() -> S.DevPki:
    return S.make_pki()


@pytest.fixture(scope="module")
def tsa(pki: S.DevPki) -> F.Tsa:
    return F.bureau_tsa(pki)


def expected_entry(cert: object, role: str) -> dict[str, object]:
    der = cert.public_bytes(Encoding.DER)  # type: ignore[attr-defined]
    sha = hashlib.sha256(der).hexdigest()
    return {
        "role": role,
        "sha256": sha,
        "serial_number": format(cert.serial_number, "x"),  # type: ignore[attr-defined]
        "not_before": cert.not_valid_before_utc.isoformat(),  # type: ignore[attr-defined]
        "not_after": cert.not_valid_after_utc.isoformat(),  # type: ignore[attr-defined]
        "pem": cert.public_bytes(Encoding.PEM).decode("ascii"),  # type: ignore[attr-defined]
    }


def test_the_document_names_every_certificate_exactly(pki: S.DevPki, tsa: F.Tsa) -> None:
    seal_sha = hashlib.sha256(pki.seal_cert.public_bytes(Encoding.DER)).hexdigest()
    bundle = TrustAnchors(
        roots=(to_asn1(pki.root_cert),),
        seals=(to_asn1(pki.seal_cert),),
        current_seal=seal_sha,
        tsa=(to_asn1(tsa.root),),
    )
    at = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)
    doc = bundle.document(generated_at=at)
    assert set(doc) == {"roots", "seals", "current_seal", "tsa", "generated_at"}
    assert doc["generated_at"] == "2026-12-02T08:00:00+00:00"
    assert doc["current_seal"] == seal_sha
    (root,), (seal,), (anchor,) = doc["roots"], doc["seals"], doc["tsa"]
    for entry, cert, role in (
        (root, pki.root_cert, "root"),
        (seal, pki.seal_cert, "seal"),
        (anchor, tsa.root, "tsa"),
    ):
        for key, value in expected_entry(cert, role).items():
            assert entry[key] == value, (role, key)
        assert entry["subject"]
        assert entry["issuer"]
    assert "深圳市商务局" in seal["subject"]
    assert "深圳市商务局" in seal["issuer"]  # the root's name
    assert seal["current"] is True
    assert seal["kid"] == seal_sha[:16]  # the first 8 bytes of the SHA-256, hex
    assert "kid" not in root
    assert "current" not in root
    assert "kid" not in anchor
    assert key_id(to_asn1(pki.seal_cert)) == seal_sha[:16]


def test_a_seal_that_is_not_current_says_so(pki: S.DevPki) -> None:
    bundle = TrustAnchors(
        roots=(to_asn1(pki.root_cert),), seals=(to_asn1(pki.seal_cert),), current_seal="0" * 64
    )
    assert bundle.document()["seals"][0]["current"] is False
    assert "generated_at" not in bundle.document()


def test_the_round_trip_keeps_everything(pki: S.DevPki, tsa: F.Tsa) -> None:
    bundle = TrustAnchors(
        roots=(to_asn1(pki.root_cert),),
        seals=(to_asn1(pki.seal_cert),),
        current_seal="ab" * 32,
        tsa=(to_asn1(tsa.root), to_asn1(tsa.cert)),
    )
    again = TrustAnchors.from_trust_document(json.loads(json.dumps(bundle.document())))
    assert again.der() == bundle.der()
    assert again.current_seal == "ab" * 32
    assert len(again.tsa) == 2
    assert again.seals_published


def test_a_roots_only_bundle_does_not_know_the_seals(pki: S.DevPki) -> None:
    from onestop.licences.pki import cert_pem

    roots_only = TrustAnchors.from_pem([cert_pem(pki.root_cert)])
    assert not roots_only.seals_published
    assert roots_only.tsa == ()
    assert roots_only.document()["seals"] == []


def test_a_listed_fingerprint_must_match_its_pem(pki: S.DevPki) -> None:
    doc = TrustAnchors(roots=(to_asn1(pki.root_cert),), tsa=(to_asn1(pki.seal_cert),)).document()
    doc["tsa"][0]["sha256"] = "11" * 32
    with pytest.raises(ValueError, match="does not match"):
        TrustAnchors.from_trust_document(doc)
    doc["tsa"][0].pop("sha256")  # an entry without a fingerprint is read by its PEM alone
    assert len(TrustAnchors.from_trust_document(doc).tsa) == 1


def test_upper_case_fingerprints_are_accepted(pki: S.DevPki) -> None:
    doc = TrustAnchors(roots=(to_asn1(pki.root_cert),)).document()
    doc["roots"][0]["sha256"] = doc["roots"][0]["sha256"].upper()
    assert len(TrustAnchors.from_trust_document(doc).roots) == 1


def test_a_bundle_needs_a_root() -> None:
    with pytest.raises(ValueError, match="trust anchor"):
        TrustAnchors(roots=())


def test_pem_bundle_reader(pki: S.DevPki) -> None:
    from onestop.licences.pki import cert_pem

    two = cert_pem(pki.root_cert) + cert_pem(pki.seal_cert)
    assert [c.dump() for c in load_pem_bundle(two)] == [
        pki.root_cert.public_bytes(Encoding.DER),
        pki.seal_cert.public_bytes(Encoding.DER),
    ]
    assert load_pem_bundle(pki.root_cert.public_bytes(Encoding.DER))[0].dump() == pki.root_cert.public_bytes(
        Encoding.DER
    )
    with pytest.raises(ValueError, match="no certificate"):
        load_pem_bundle(b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")


def test_the_repository_ships_no_bundle() -> None:
    assert bundled_anchors() is None


class _Package(type(Path())):  # type: ignore[misc]
    """A package folder whose listing comes in reverse name order (the file system's order is not
    a promise: the bundle must not depend on it)."""

    def iterdir(self) -> Iterator[Path]:
        return iter(sorted(super().iterdir(), reverse=True))


@pytest.fixture
def package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A stand-in for the installed onestop.verification package: `trust/` is created by the test."""
    import onestop.verification.anchors as anchors_module

    def files(name: str) -> Path:
        assert name == "onestop.verification"
        return _Package(tmp_path)

    monkeypatch.setattr(anchors_module.resources, "files", files)
    return tmp_path


def test_a_shipped_bundle_is_the_trust_document(pki: S.DevPki, package: Path) -> None:
    """A distribution drops trust.json (or root PEMs) into onestop/verification/trust/."""
    from onestop.licences.pki import cert_pem

    folder = package / "trust"
    assert bundled_anchors() is None  # no folder
    folder.mkdir()
    assert bundled_anchors() is None  # an empty folder
    (folder / "notes.txt").write_text("not a certificate", "utf-8")
    assert bundled_anchors() is None
    (folder / "root.pem").write_bytes(cert_pem(pki.root_cert))
    roots_only = bundled_anchors()
    assert roots_only is not None
    assert not roots_only.seals_published
    full = TrustAnchors(roots=(to_asn1(pki.root_cert),), seals=(to_asn1(pki.seal_cert),))
    # UTF-8 as written (the subjects are Chinese), read as UTF-8 whatever the machine's locale says.
    (folder / "trust.json").write_text(json.dumps(full.document(), ensure_ascii=False), "utf-8")
    with _ascii_locale():
        shipped = bundled_anchors()
    assert shipped is not None
    assert shipped.der() == full.der()


@contextmanager
def _ascii_locale() -> Iterator[None]:
    """The C locale: text files opened without an encoding are read as ASCII."""
    import locale

    before = locale.setlocale(locale.LC_CTYPE)
    locale.setlocale(locale.LC_CTYPE, "C")
    try:
        yield
    finally:
        locale.setlocale(locale.LC_CTYPE, before)


def test_shipped_root_files_are_read_in_name_order(pki: S.DevPki, tsa: F.Tsa, package: Path) -> None:
    """PEM and DER-in-.crt roots alike, in the order of their names."""
    from onestop.licences.pki import cert_pem

    folder = package / "trust"
    folder.mkdir()
    (folder / "a-bureau.pem").write_bytes(cert_pem(pki.root_cert))
    (folder / "b-tsa.crt").write_bytes(tsa.root.public_bytes(Encoding.DER))
    shipped = bundled_anchors()
    assert shipped is not None
    assert shipped.der()[0] == (pki.root_cert.public_bytes(Encoding.DER), tsa.root.public_bytes(Encoding.DER))


def test_a_broken_certificate_fails_when_the_bundle_is_read() -> None:
    """Not later, in the middle of a verification."""
    from asn1crypto import pem

    broken = pem.armor("CERTIFICATE", bytes.fromhex("30053003020105"))  # a SEQUENCE, not a certificate
    with pytest.raises(ValueError, match="missing"):
        load_pem_bundle(broken)


def test_pem_text_is_what_cryptography_writes(pki: S.DevPki) -> None:
    assert to_pem(to_asn1(pki.seal_cert)) == pki.seal_cert.public_bytes(Encoding.PEM).decode("ascii")


def test_anchors_from_the_pki_and_from_der(pki: S.DevPki, tsa: F.Tsa) -> None:
    from onestop.licences.trust import PkiIndex, PkiTrust, SealCertificate

    root, seal, tsa_root = to_asn1(pki.root_cert), to_asn1(pki.seal_cert), to_asn1(tsa.root)
    current = SealCertificate(seal, fingerprint(seal), "alias/seal", None, (root,))
    trust = PkiTrust(
        roots=(root,), seals=(current,), current=current, index=PkiIndex.empty(), tsa=(tsa_root,)
    )
    anchors = TrustAnchors.from_pki(trust)
    assert anchors.der() == ((root.dump(),), (seal.dump(),), (tsa_root.dump(),))
    assert anchors.current_seal == fingerprint(seal)
    assert TrustAnchors.from_pki(replace(trust, current=None)).current_seal is None
    again = TrustAnchors.from_der(*anchors.der()[:2], "ab" * 32, tsa=anchors.der()[2])
    assert (again.der(), again.current_seal) == (anchors.der(), "ab" * 32)
    assert again.roots[0].dump() == root.dump()
