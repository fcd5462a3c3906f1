"""PKI helpers and the published trust material: certificate profile, publishing, loading, rotation."""

from __future__ import annotations

import io
import json
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from onestop.licences.issuance import issue_licence
from onestop.licences.models import LicenceRecord
from onestop.licences.pki import (
    DevPki,
    build_root_ca,
    cert_pem,
    issue_seal_certificate,
    make_dev_pki,
    public_key_der,
    sha256_fingerprint,
)
from onestop.licences.signers import LocalKeySigner
from onestop.licences.trust import PkiError, index_key, load_trust
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature

from infra.pki.bootstrap import ensure_root, publish
from tests.unit.test_licence_support import (
    APPROVED_AT,
    BUREAU,
    ISSUER,
    OIL_LICENCE,
    MemoryBlobStore,
    MemoryRegistry,
    RecordingPublisher,
    approval,
    assert_pdfsig_trusted,
    assert_pyhanko_trusted,
    pyhanko_status,
)

NOW = datetime(2025, 3, 1, tzinfo=UTC)


def test_seal_certificate_profile() -> None:
    root, root_key = build_root_ca(BUREAU, now=NOW)
    seal_key = ec.generate_private_key(ec.SECP256R1())
    seal = issue_seal_certificate(
        root_cert=root, root_key=root_key, public_key=seal_key.public_key(), bureau=BUREAU, now=NOW
    )
    ku = seal.extensions.get_extension_for_class(x509.KeyUsage)
    assert ku.critical
    assert ku.value.digital_signature
    assert ku.value.content_commitment  # nonRepudiation
    assert not ku.value.key_cert_sign
    assert not ku.value.key_encipherment
    assert not seal.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert seal.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "深圳市商务局"
    assert seal.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "深圳市商务局"
    assert seal.subject.get_attributes_for_oid(NameOID.COUNTRY_NAME)[0].value == "CN"
    seal.verify_directly_issued_by(root)
    assert seal.not_valid_after_utc <= root.not_valid_after_utc
    root_bc = root.extensions.get_extension_for_class(x509.BasicConstraints).value
    assert root_bc.ca
    assert root_bc.path_length == 0
    # a DER SubjectPublicKeyInfo (what KMS GetPublicKey returns) works the same
    again = issue_seal_certificate(
        root_cert=root,
        root_key=root_key,
        public_key=public_key_der(seal_key.public_key()),
        bureau=BUREAU,
        now=NOW,
    )
    assert again.public_key() == seal.public_key()


def test_ensure_root_creates_once_with_a_private_key_file(tmp_path: Path) -> None:
    cert, _key = ensure_root(tmp_path / "root", BUREAU, now=NOW)
    mode = stat.S_IMODE((tmp_path / "root" / "root.key.pem").stat().st_mode)
    assert mode == 0o600
    again, _ = ensure_root(tmp_path / "root", BUREAU, now=NOW + timedelta(days=1))
    assert sha256_fingerprint(again) == sha256_fingerprint(cert)


def test_publish_and_load_trust() -> None:
    store = MemoryBlobStore()
    pki = make_dev_pki(BUREAU, now=NOW)
    index = publish(
        store,
        "pki/",
        root_cert=pki.root_cert,
        seal_cert=pki.seal_cert,
        kms_key_id="alias/seal",
        kms_key_arn="arn:k1",
    )
    assert index.current_seal == sha256_fingerprint(pki.seal_cert)
    doc = json.loads(store.get("pki/index.json").body)
    assert doc["roots"][0]["key"] == f"pki/roots/{sha256_fingerprint(pki.root_cert)}.pem"
    assert doc["seals"][0]["kms_key_arn"] == "arn:k1"
    trust = load_trust(store, "pki/")
    current = trust.current_seal()
    assert current.sha256 == sha256_fingerprint(pki.seal_cert)
    assert current.signing_key_id == "arn:k1"  # the exact key, not the alias
    assert [c.dump() for c in current.chain] == [c.dump() for c in trust.roots]
    # publishing the same material again adds nothing
    puts = store.puts
    publish(
        store,
        "pki/",
        root_cert=pki.root_cert,
        seal_cert=pki.seal_cert,
        kms_key_id="alias/seal",
        kms_key_arn="arn:k1",
    )
    assert store.puts == puts + 1  # only the index is rewritten


def test_missing_or_tampered_pki_is_reported() -> None:
    store = MemoryBlobStore()
    with pytest.raises(PkiError, match="cannot read the PKI index"):
        load_trust(store, "pki/")
    pki = make_dev_pki(BUREAU, now=NOW)
    publish(store, "pki/", root_cert=pki.root_cert, seal_cert=pki.seal_cert, kms_key_id="k", kms_key_arn=None)
    other = make_dev_pki(BUREAU, now=NOW)
    store.put(
        f"pki/seals/{sha256_fingerprint(pki.seal_cert)}.pem",
        cert_pem(other.seal_cert),
        "application/x-pem-file",
    )
    with pytest.raises(PkiError, match="does not hold the certificate"):
        load_trust(store, "pki/")


def test_seal_from_another_root_is_refused_on_publish() -> None:
    a, b = make_dev_pki(BUREAU, now=NOW), make_dev_pki(BUREAU, now=NOW)
    with pytest.raises(InvalidSignature):
        publish(
            MemoryBlobStore(),
            "pki/",
            root_cert=a.root_cert,
            seal_cert=b.seal_cert,
            kms_key_id="k",
            kms_key_arn=None,
        )


def _issue(pki: DevPki, store: MemoryBlobStore, registry: MemoryRegistry, app_id: str) -> LicenceRecord:
    return issue_licence(
        approval(app_id),
        licence_type=OIL_LICENCE,
        issuer=ISSUER,
        registry=registry,
        store=store,
        signer=LocalKeySigner.from_dev_pki(pki),
        publisher=RecordingPublisher(),
        now=APPROVED_AT,
    )


def test_rotation_keeps_old_licences_valid() -> None:
    store, registry = MemoryBlobStore(), MemoryRegistry()
    old = make_dev_pki(BUREAU, now=NOW)
    publish(
        store, "pki/", root_cert=old.root_cert, seal_cert=old.seal_cert, kms_key_id="k1", kms_key_arn="arn:k1"
    )
    old_licence = _issue(old, store, registry, "app-old")

    # rotation: a new seal key certified by the same root; later even a new root
    new_key = ec.generate_private_key(ec.SECP256R1())
    new_seal = issue_seal_certificate(
        root_cert=old.root_cert,
        root_key=old.root_key,
        public_key=new_key.public_key(),
        bureau=BUREAU,
        now=NOW,
    )
    publish(store, "pki/", root_cert=old.root_cert, seal_cert=new_seal, kms_key_id="k2", kms_key_arn="arn:k2")
    new_root = make_dev_pki(BUREAU, now=NOW)
    publish(
        store,
        "pki/",
        root_cert=new_root.root_cert,
        seal_cert=new_root.seal_cert,
        kms_key_id="k3",
        kms_key_arn="arn:k3",
    )

    trust = load_trust(store, "pki/")
    assert len(trust.roots) == 2
    assert len(trust.seals) == 3
    assert trust.current_seal().sha256 == sha256_fingerprint(new_root.seal_cert)
    assert old_licence.seal_cert_sha256 is not None
    assert trust.seal_by_sha256(old_licence.seal_cert_sha256) is not None
    new_licence = _issue(new_root, store, registry, "app-new")
    for licence in (old_licence, new_licence):
        assert licence.pdf is not None
        body = store.get(licence.pdf.key).body
        status = pyhanko_status(body, list(trust.roots))
        assert_pyhanko_trusted(status)
        assert_pdfsig_trusted(body, [cert_pem(old.root_cert), cert_pem(new_root.root_cert)])
    assert index_key("pki") == "pki/index.json"


def test_validation_context_can_validate_as_of_issue_time() -> None:
    store = MemoryBlobStore()
    pki = make_dev_pki(BUREAU, now=NOW)
    publish(store, "pki/", root_cert=pki.root_cert, seal_cert=pki.seal_cert, kms_key_id="k", kms_key_arn=None)
    trust = load_trust(store, "pki/")
    licence = _issue(pki, store, MemoryRegistry(), "app-1")
    assert licence.pdf is not None
    body = store.get(licence.pdf.key).body
    sig = PdfFileReader(io.BytesIO(body)).embedded_signatures[0]
    ten_years_on = datetime.now(UTC) + timedelta(days=3650)  # the seal certificate has expired by then
    expired = validate_pdf_signature(sig, trust.validation_context(moment=ten_years_on))
    assert not expired.bottom_line
    as_issued = validate_pdf_signature(sig, trust.validation_context(moment=datetime.now(UTC)))
    assert as_issued.bottom_line
