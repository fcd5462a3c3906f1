"""The trust bundle document (GET /trust, `--trust-bundle`): its exact shape, values derived here from
the certificates with `cryptography` (not with the code under test), and the round trip."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.serialization import Encoding
from onestop.licences.pki import to_asn1
from onestop.verification import TrustAnchors
from onestop.verification.anchors import bundled_anchors, key_id, load_pem_bundle

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


def test_a_shipped_bundle_is_the_trust_document(
    pki: S.DevPki, tmp_path: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A distribution drops trust.json (or root PEMs) into onestop/verification/trust/."""
    from pathlib import Path

    import onestop.verification.anchors as anchors_module
    from onestop.licences.pki import cert_pem

    folder = Path(str(tmp_path)) / "trust"
    folder.mkdir()

    class Files:
        def joinpath(self, name: str) -> Path:
            return folder

    monkeypatch.setattr(anchors_module.resources, "files", lambda _: Files())
    (folder / "root.pem").write_bytes(cert_pem(pki.root_cert))
    roots_only = bundled_anchors()
    assert roots_only is not None
    assert not roots_only.seals_published
    full = TrustAnchors(roots=(to_asn1(pki.root_cert),), seals=(to_asn1(pki.seal_cert),))
    (folder / "trust.json").write_text(json.dumps(full.document()), "utf-8")
    shipped = bundled_anchors()
    assert shipped is not None
    assert shipped.der() == full.der()
