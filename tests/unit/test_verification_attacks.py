"""Attack suite: attacked variants of a genuine licence and the pyHanko / PDF-Insecurity corpus.

Every attacked file must fail the right check (never pass); the genuine licence passes every check;
hostile input never raises. Corpus attribution: see test_verification_support.py and
/work/shared/corpus/MANIFEST.md (pyHanko test data, MIT, MatthiasValvekens/pyHanko@7db4e6fe).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from onestop.licences.pki import issue_seal_certificate, to_asn1
from onestop.licences.signers import LocalKeySigner
from onestop.verification import Check, TrustAnchors, Verdict, VerificationReport, verify_pdf

from tests.unit import test_verification_support as S

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def pki() -> S.DevPki:
    return S.make_pki()


@pytest.fixture(scope="module")
def licence(pki: S.DevPki) -> S.Licence:
    return S.make_licence(pki)


def check(licence: S.Licence, data: bytes, anchors: TrustAnchors | None = None) -> VerificationReport:
    lookup = S.registry(S.record_for(licence))
    return verify_pdf(data, trust=anchors or licence.anchors, registry_lookup=lookup)


def verdicts(report: VerificationReport) -> dict[str, tuple[str, str]]:
    return {c.check.value: (c.verdict.value, c.code) for c in report.checks}


def test_genuine_licence_passes_every_check(licence: S.Licence) -> None:
    report = check(licence, licence.sealed)
    assert report.valid, verdicts(report)
    assert [c.check for c in report.checks] == [Check.INTEGRITY, Check.ISSUER, Check.STATUS, Check.IDENTIFIER]
    assert verdicts(report) == {
        "integrity": ("pass", "intact"),
        "issuer": ("pass", "bureau_seal"),
        "status": ("pass", "valid"),
        "identifier": ("pass", "identifier_ok"),
    }
    for c in report.checks:
        assert c.reason_zh
        assert c.reason_en
    # The file is the registered original, so the face data is the registry's.
    assert report.licence["source"] == "registry"
    assert report.licence["holder_name"] == licence.meta.holder_name
    assert report.licence["licence_id"] == licence.meta.licence_id
    assert report.sha256 == licence.sha256


def test_genuine_licence_face_data_is_read_from_the_pdf_offline(licence: S.Licence) -> None:
    report = verify_pdf(licence.sealed, trust=licence.anchors, registry_lookup=None)
    assert verdicts(report)["status"] == ("unknown", "status_not_checked")
    assert not report.valid
    face = report.licence
    assert face["source"] == "pdf"
    assert face["licence_id"] == licence.meta.licence_id
    assert face["number"] == licence.meta.number
    assert face["holder_code"] == licence.meta.holder_code
    assert face["name_zh"] == licence.meta.name_zh
    assert face["issuer_name"] == licence.meta.issuer_name


# ----------------------------------------------------------------------------- attacked licences


def _impostor_chain_seal(pki: S.DevPki) -> LocalKeySigner:
    """A second seal certificate issued by the real root but never published (e.g. mis-issued)."""
    key = ec.generate_private_key(ec.SECP256R1())
    cert = issue_seal_certificate(
        root_cert=pki.root_cert, root_key=pki.root_key, public_key=key.public_key(), bureau=S.BUREAU,
        now=datetime.now(UTC),
    )  # fmt: skip
    return LocalKeySigner(cert, key, [pki.root_cert])


def _no_nonrepudiation_seal(pki: S.DevPki) -> tuple[LocalKeySigner, x509.Certificate]:
    from cryptography.hazmat.primitives import hashes

    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC) - timedelta(minutes=5)
    usage = x509.KeyUsage(True, False, False, False, False, False, False, False, False)
    cert = (
        x509.CertificateBuilder()
        .subject_name(pki.seal_cert.subject)
        .issuer_name(pki.root_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(usage, critical=True)
        .sign(pki.root_key, hashes.SHA384())
    )
    return LocalKeySigner(cert, key, [pki.root_cert]), cert


Attack = Callable[[S.Licence], bytes]

INTEGRITY_ATTACKS: list[tuple[str, Attack, set[str]]] = [
    ("byte flip inside the signed range", lambda lic: S.flip_signed_byte(lic.sealed), {"content_changed"}),
    (
        "byte flip in the signature value",
        lambda lic: S.flip_signature_value(lic.sealed),
        {"signature_invalid"},
    ),
    (
        "byte flip in the CMS structure",
        lambda lic: S.flip_signature_structure(lic.sealed),
        {"signature_malformed"},
    ),
    ("signature value blanked in place", lambda lic: S.zero_signature(lic.sealed), {"not_signed"}),
    ("signature removed (unsigned revision)", lambda lic: lic.sealed[: len(lic.unsigned)], {"not_signed"}),
    ("never sealed", lambda lic: lic.unsigned, {"not_signed"}),
    (
        "garbage appended after %%EOF",
        lambda lic: S.append_garbage(lic.sealed),
        {"data_after_eof", "pdf_damaged"},
    ),
    (
        "garbage with a fake startxref/%%EOF",
        lambda lic: S.append_fake_eof(lic.sealed),
        {"bytes_after_signature", "data_after_eof"},
    ),
    ("truncated by 200 bytes", lambda lic: S.truncate(lic.sealed, 200), {"pdf_damaged"}),
    ("truncated to half", lambda lic: lic.sealed[: len(lic.sealed) // 2], {"pdf_damaged"}),
    (
        "incremental update: overlay content stream",
        lambda lic: S.overlay_content(lic.sealed),
        {"page_changed_after_sealing"},
    ),
    (
        "incremental update: page content replaced",
        lambda lic: S.replace_content(lic.sealed),
        {"object_changed_after_sealing"},
    ),
    (
        "incremental update: FreeText annotation overlay",
        lambda lic: S.add_annotation(lic.sealed),
        {"annotation_added_after_sealing"},
    ),
    (
        "incremental update: Square annotation overlay",
        lambda lic: S.add_annotation(lic.sealed, "/Square"),
        {"annotation_added_after_sealing"},
    ),
    (
        "incremental update: second signature by the bureau key",
        lambda lic: S.add_second_signature(lic.sealed, LocalKeySigner.from_dev_pki(lic.pki)),
        {"form_field_added_after_sealing"},
    ),
    (
        "incremental update: second signature by an impostor",
        lambda lic: S.add_second_signature(lic.sealed, S.impostor_signer(lic.pki, claim_root=False)),
        {"form_field_added_after_sealing"},
    ),
    (
        "incremental update: /Info rewritten to another licence id",
        lambda lic: S.change_info_after_sealing(lic.sealed, S.metadata("20259999999").licence_id),
        {"metadata_changed_after_sealing"},
    ),
    (
        "incremental update: page content rewritten and listed as validation data",
        lambda lic: S.content_rewritten_as_validation_data(lic.sealed),
        {"object_changed_after_sealing"},
    ),
    (
        "shadow hide-and-replace via an xref-only update",
        lambda lic: S.shadow_licence(lic)[1],
        {"xref_manipulated", "object_changed_after_sealing", "page_changed_after_sealing"},
    ),
    (
        "SHA-1 signature",
        lambda lic: S.sign(
            lic.unsigned, LocalKeySigner.from_dev_pki(lic.pki), md_algorithm="sha1", box=lic.seal_box
        ),
        {"weak_digest"},
    ),
]


@pytest.mark.parametrize(
    ("name", "attack", "codes"), INTEGRITY_ATTACKS, ids=[a[0] for a in INTEGRITY_ATTACKS]
)
def test_integrity_attack_fails_integrity(
    licence: S.Licence, name: str, attack: Attack, codes: set[str]
) -> None:
    attacked = attack(licence)
    assert attacked != licence.sealed
    report = check(licence, attacked)
    integrity = report.result(Check.INTEGRITY)
    assert integrity.verdict is Verdict.FAIL, (name, verdicts(report))
    assert integrity.code in codes, (name, verdicts(report))
    assert integrity.reason_zh
    assert integrity.reason_en
    assert not report.valid
    json.dumps(report.as_dict())
    # A copy that is not byte-for-byte the issued file never gets a green status either.
    assert report.result(Check.STATUS).verdict is not Verdict.PASS


ISSUER_ATTACKS: list[tuple[str, Attack, str]] = [
    (
        "re-sealed by a self-signed certificate with the seal's name",
        lambda lic: S.sign(lic.unsigned, S.impostor_signer(lic.pki, claim_root=False), box=lic.seal_box),
        "impersonation",
    ),
    (
        "re-sealed by a certificate claiming the bureau root as issuer",
        lambda lic: S.sign(lic.unsigned, S.impostor_signer(lic.pki, claim_root=True), box=lic.seal_box),
        "impersonation",
    ),
    (
        "sealed under another bureau's PKI",
        lambda lic: S.make_licence(S.make_pki(), lic.meta).sealed,
        "impersonation",  # another PKI under the bureau's own name
    ),
    (
        "sealed with an unpublished certificate from the bureau root",
        lambda lic: S.sign(lic.unsigned, _impostor_chain_seal(lic.pki), box=lic.seal_box),
        "unpublished_seal",
    ),
]


@pytest.mark.parametrize(("name", "attack", "code"), ISSUER_ATTACKS, ids=[a[0] for a in ISSUER_ATTACKS])
def test_issuer_attack_fails_issuer(licence: S.Licence, name: str, attack: Attack, code: str) -> None:
    report = check(licence, attack(licence))
    issuer = report.result(Check.ISSUER)
    assert issuer.verdict is Verdict.FAIL, (name, verdicts(report))
    assert issuer.code == code, (name, verdicts(report))
    # The document itself is intact: it is the issuer that is wrong.
    assert report.result(Check.INTEGRITY).verdict is Verdict.PASS
    assert not report.valid


def test_impersonation_is_named(licence: S.Licence) -> None:
    report = check(licence, S.sign(licence.unsigned, S.impostor_signer(licence.pki, claim_root=False)))
    assert "冒用" in report.result(Check.ISSUER).reason_zh
    assert "impersonation" in report.result(Check.ISSUER).reason_en


def test_seal_without_non_repudiation_fails_key_usage(licence: S.Licence) -> None:
    signer, cert = _no_nonrepudiation_seal(licence.pki)
    anchors = TrustAnchors(roots=(to_asn1(licence.pki.root_cert),), seals=(to_asn1(cert),))
    report = check(licence, S.sign(licence.unsigned, signer, box=licence.seal_box), anchors)
    assert verdicts(report)["issuer"] == ("fail", "key_usage")


def test_seal_expired_at_signing_time_fails_issuer() -> None:
    old = S.make_pki(now=datetime(2012, 1, 1, tzinfo=UTC))  # seal certificate valid 2012-2017
    licence = S.make_licence(old)  # sealed today, after the certificate expired
    report = check(licence, licence.sealed)
    assert verdicts(report)["issuer"] == ("fail", "certificate_not_valid_at_signing")
    assert report.result(Check.INTEGRITY).passed


def test_seal_certificate_expired_since_signing_still_verifies(licence: S.Licence) -> None:
    """Rotation: a licence sealed while its certificate was valid stays valid after the certificate ends."""
    later = datetime.now(UTC) + timedelta(days=365 * 6)  # the seal certificate is valid for 5 years
    report = verify_pdf(licence.sealed, trust=licence.anchors, registry_lookup=None, now=later)
    assert verdicts(report)["issuer"] == ("pass", "bureau_seal")
    assert verdicts(report)["integrity"] == ("pass", "intact")


def test_signing_time_in_the_future_fails_issuer(licence: S.Licence) -> None:
    past = datetime.now(UTC) - timedelta(days=30)
    report = verify_pdf(licence.sealed, trust=licence.anchors, registry_lookup=None, now=past)
    assert verdicts(report)["issuer"] == ("fail", "signing_time_in_future")


def test_validation_data_added_after_sealing_is_allowed(licence: S.Licence) -> None:
    """PAdES LT: a DSS appended later changes no content; the sealed part is still the issued file."""
    with_dss = S.add_dss(licence.sealed, licence.pki)
    report = check(licence, with_dss)
    assert verdicts(report)["integrity"] == ("pass", "intact_with_validation_data")
    assert verdicts(report)["status"] == ("pass", "valid_with_validation_updates")
    assert report.valid
    assert report.result(Check.STATUS).details["sealed_sha256"] == licence.sha256
    assert report.result(Check.STATUS).details["validation_updates"] == 1


def test_shadow_attack_base_document_is_genuine(licence: S.Licence) -> None:
    """Control for the shadow test: the prepared document, as sealed, verifies intact."""
    sealed, _ = S.shadow_licence(licence)
    assert verdicts(check(licence, sealed))["integrity"] == ("pass", "intact")


# ----------------------------------------------------------------------------- corpus

CORPUS_SIGNED: list[tuple[str, str, set[str]]] = [
    ("coverage-anomalies_base.pdf", "integrity", {"not_signed"}),
    ("coverage-anomalies_one-byterange.pdf", "integrity", {"byte_range_manipulated"}),
    ("coverage-anomalies_signature-gap-too-big.pdf", "integrity", {"byte_range_manipulated"}),
    (
        "coverage-anomalies_tail-uncovered.pdf",
        "integrity",
        {"metadata_changed_after_sealing", "byte_range_manipulated"},
    ),
    ("coverage-anomalies_weird-byterange.pdf", "integrity", {"byte_range_manipulated"}),
    ("pdf-sig-with-econtent.pdf", "integrity", {"signature_malformed"}),
    (
        "form-update-override-appearance-stream-sneaky.pdf",
        "integrity",
        {"form_field_added_after_sealing", "annotation_added_after_sealing"},
    ),
    (
        "form-update-override-appearance-stream.pdf",
        "integrity",
        {"form_field_added_after_sealing", "annotation_added_after_sealing"},
    ),
    ("minimal-two-fields-signed-twice.pdf", "issuer", {"untrusted_issuer"}),
    ("minimal-two-fields-signed-twice.pdf", "integrity", {"form_field_added_after_sealing"}),
]


@pytest.mark.parametrize(
    ("name", "check_name", "codes"), CORPUS_SIGNED, ids=[f"{c[0]}-{c[1]}" for c in CORPUS_SIGNED]
)
def test_signature_corpus_fails(licence: S.Licence, name: str, check_name: str, codes: set[str]) -> None:
    report = check(licence, (S.SIGNATURES / name).read_bytes())
    result = report.result(Check(check_name))
    assert result.verdict is Verdict.FAIL, verdicts(report)
    assert result.code in codes, verdicts(report)
    assert not report.valid


@pytest.mark.parametrize(
    "name",
    [
        "pdf-sig-with-econtent.pdf",
        "form-update-override-appearance-stream.pdf",
        "form-update-override-appearance-stream-sneaky.pdf",
    ],
)
def test_non_bureau_ca_fails_issuer_unless_trusted(licence: S.Licence, name: str) -> None:
    data = (S.SIGNATURES / name).read_bytes()
    assert verdicts(check(licence, data))["issuer"][0] != "pass"
    testing_ca = TrustAnchors.from_pem([S.TESTING_CA.read_bytes()])
    trusted = check(licence, data, testing_ca)
    # Trusting pyHanko's testing CA may make the issuer pass; these files still never verify.
    assert trusted.result(Check.INTEGRITY).verdict is Verdict.FAIL
    assert not trusted.valid


ALL_CORPUS_PDFS = sorted((S.CORPUS / "02_pdfs").rglob("*.pdf")) + sorted(S.SIGNATURES.glob("*.pdf"))


@pytest.mark.timeout(60)
@pytest.mark.parametrize("path", ALL_CORPUS_PDFS, ids=[p.name for p in ALL_CORPUS_PDFS])
def test_every_corpus_pdf_fails_with_a_reason(licence: S.Licence, path: Path) -> None:
    report = check(licence, path.read_bytes())
    assert not report.valid
    failing = [c for c in report.checks if c.verdict is Verdict.FAIL]
    assert failing, verdicts(report)
    assert report.result(Check.INTEGRITY).verdict is Verdict.FAIL
    assert all(c.reason_zh and c.reason_en for c in report.checks)
    json.dumps(report.as_dict())  # whatever the file, the report is plain JSON


# ----------------------------------------------------------------------------- poppler cross-check


@pytest.fixture(scope="module")
def nss_db(tmp_path_factory: pytest.TempPathFactory, pki: S.DevPki) -> Path:
    if not (shutil.which("pdfsig") and shutil.which("certutil")):
        pytest.fail(
            "poppler-utils (pdfsig) and libnss3-tools (certutil) are needed "
            "(make test installs them: infra/system_packages.sh)"
        )
    from onestop.licences.pki import cert_pem

    folder = tmp_path_factory.mktemp("nss")
    root = folder / "root.pem"
    root.write_bytes(cert_pem(pki.root_cert))
    subprocess.run(["certutil", "-N", "-d", f"sql:{folder}", "--empty-password"], check=True)
    subprocess.run(
        ["certutil", "-A", "-d", f"sql:{folder}", "-n", "root", "-t", "CT,C,C", "-i", str(root)], check=True
    )
    return folder


def pdfsig_accepts(data: bytes, nss: Path, tmp_path: Path) -> bool:
    """poppler's verdict: valid signature, trusted certificate, total document signed."""
    path = tmp_path / "doc.pdf"
    path.write_bytes(data)
    out = subprocess.run(
        ["pdfsig", "-nssdir", str(nss), str(path)], capture_output=True, text=True, timeout=60
    )
    text = out.stdout
    return (
        out.returncode == 0
        and "Signature is Valid." in text
        and "Certificate is Trusted." in text
        and "Total document signed" in text
        and "Not total document signed" not in text
    )


CROSS_CHECK: list[tuple[str, Attack]] = [
    ("genuine", lambda lic: lic.sealed),
    ("byte flip", lambda lic: S.flip_signed_byte(lic.sealed)),
    ("appended garbage", lambda lic: S.append_garbage(lic.sealed)),
    ("overlay update", lambda lic: S.overlay_content(lic.sealed)),
    (
        "impostor seal",
        lambda lic: S.sign(lic.unsigned, S.impostor_signer(lic.pki, claim_root=True), box=lic.seal_box),
    ),
]


@pytest.mark.parametrize(("name", "build"), CROSS_CHECK, ids=[c[0] for c in CROSS_CHECK])
def test_pdfsig_agrees(licence: S.Licence, nss_db: Path, tmp_path: Path, name: str, build: Attack) -> None:
    data = build(licence)
    report = check(licence, data)
    ours = report.result(Check.INTEGRITY).passed and report.result(Check.ISSUER).passed
    assert ours == pdfsig_accepts(data, nss_db, tmp_path), (name, verdicts(report))
    assert ours == (name == "genuine")
