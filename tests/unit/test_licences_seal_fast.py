"""The trimmed sealing path (issue 16 item 5) against pyHanko's one-call signing: the same signed
attributes, the same signature dictionary, field and DocMDP, the same certificates in the CMS; a
placeholder sized for one certificate set is never reused for a larger one; the seal of a licence
whose QR carries a long credential passes pyHanko, poppler's pdfsig and our own verifier (full and
fast path), and a changed byte still fails."""

from __future__ import annotations

import asyncio
import io
from datetime import UTC, datetime

import pytest
from asn1crypto import cms
from onestop.aws.kms_signer import KmsSigner
from onestop.identifiers.licence_id import make_licence_id
from onestop.licences.pki import DevPki, cert_pem, issue_timestamping_certificate, make_dev_pki, to_asn1
from onestop.licences.render import RenderedLicence, render_licence
from onestop.licences.seal import SEAL_FIELD, pades_signed_attributes, seal_pdf
from onestop.licences.signers import LocalKeySigner
from onestop.verification import TrustAnchors
from onestop.verification.checks import analyse_pdf
from onestop.verification.fastpath import whole_file_seal
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.stamp import NoOpStampStyle

from tests.unit.test_licence_support import (
    BUREAU,
    BUREAU_USCC,
    TYPE_CODE,
    assert_pdfsig_trusted,
    assert_pyhanko_trusted,
    pdfsig,
    pyhanko_status,
    sample_metadata,
)

LICENCE_ID = make_licence_id(TYPE_CODE, BUREAU_USCC, "20250000401")
CREDENTIAL = "OS1:" + "6BFOXN%TS3DH0YOJ58S S-W5HDC *M0II5XHC9B5G2+$N IOP-IA%CCDS:Q8PZUN6*1$HN$NJA:KA:T" * 4


@pytest.fixture(scope="module")
def pki() -> DevPki:
    return make_dev_pki(BUREAU)


@pytest.fixture(scope="module")
def rendered() -> RenderedLicence:
    meta = sample_metadata(licence_id=LICENCE_ID, number="440300-20250000401")
    return render_licence(
        meta, verify_url=f"https://onestop.example.gov.cn/verify/{LICENCE_ID}", qr_text=CREDENTIAL
    )


def _one_call_pyhanko(pdf: bytes, signer: signers.Signer, box: tuple[int, int, int, int]) -> bytes:
    """What sealing did before issue 16: pyHanko's sign_pdf with its own size estimate."""
    meta = signers.PdfSignatureMetadata(
        field_name=SEAL_FIELD,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        reason="电子证照签发 E-licence issued",
        location="深圳",
        name=BUREAU.name_zh,
        certify=True,
        docmdp_permissions=fields.MDPPerm.NO_CHANGES,
    )
    pdf_signer = signers.PdfSigner(
        meta,
        signer=signer,
        stamp_style=NoOpStampStyle(),
        new_field_spec=fields.SigFieldSpec(SEAL_FIELD, on_page=0, box=box),
    )
    out = io.BytesIO()
    pdf_signer.sign_pdf(IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False), output=out)
    return out.getvalue()


def _cms(pdf: bytes) -> tuple[cms.SignedData, dict[str, object], dict[str, object]]:
    sig = PdfFileReader(io.BytesIO(pdf), strict=False).embedded_signatures[0]
    sig_dict = {k: v for k, v in sig.sig_object.items() if k not in ("/Contents", "/ByteRange", "/M")}
    field = {k: v for k, v in sig.sig_field.items() if k not in ("/V", "/P")}
    return sig.signed_data, sig_dict, field


@pytest.mark.parametrize("kind", ["local", "kms"])
def test_signed_attributes_are_the_ones_pyhanko_builds(pki: DevPki, kind: str) -> None:
    if kind == "local":
        signer: signers.Signer = LocalKeySigner.from_dev_pki(pki)
    else:  # the production signer: attributes are built before KMS is called, so no KMS is needed
        signer = KmsSigner("alias/seal", to_asn1(pki.seal_cert), [to_asn1(pki.root_cert)], kms=object())
    for digest in (bytes(32), bytes(range(32)), b"\xff" * 32):
        ours = asyncio.run(pades_signed_attributes(signer, digest, "sha256"))
        theirs = asyncio.run(signer.signed_attrs(digest, "sha256", use_pades=True))
        assert ours.dump() == theirs.dump()
        assert {a["type"].native for a in ours} == {
            "content_type",
            "message_digest",
            "signing_certificate_v2",
        }


def test_seal_matches_pyhankos_one_call_signing(pki: DevPki, rendered: RenderedLicence) -> None:
    signer = LocalKeySigner.from_dev_pki(pki)
    ours = seal_pdf(
        rendered.pdf, signer, seal_box=rendered.seal_box, signer_name=BUREAU.name_zh, location="深圳"
    )
    theirs = _one_call_pyhanko(rendered.pdf, signer, rendered.seal_box)
    ours_cms, ours_dict, ours_field = _cms(ours.pdf)
    theirs_cms, theirs_dict, theirs_field = _cms(theirs)
    assert ours_dict == theirs_dict  # /Type /Filter /SubFilter /Reason /Location /Name /Reference (DocMDP)
    assert ours_field == theirs_field  # name, /Rect over the drawn seal, flags, /Lock-free certification
    assert ours_cms["certificates"].dump() == theirs_cms["certificates"].dump()
    ours_info, theirs_info = ours_cms["signer_infos"][0], theirs_cms["signer_infos"][0]
    for key in ("sid", "digest_algorithm", "signature_algorithm"):
        assert ours_info[key].dump() == theirs_info[key].dump()
    assert [a["type"].native for a in ours_info["signed_attrs"]] == [
        a["type"].native for a in theirs_info["signed_attrs"]
    ]
    for pdf in (ours.pdf, theirs):
        status = pyhanko_status(pdf, [to_asn1(pki.root_cert)])
        assert_pyhanko_trusted(status)
    # the placeholder is pyHanko's own estimate (a dry-run CMS + 50 %): the same size up to the few
    # bytes a DER ECDSA signature varies by (70-72) in the dry run
    assert abs(len(ours.pdf) - len(theirs)) <= 16


def test_a_placeholder_sized_for_one_chain_is_not_reused_for_a_longer_one(
    pki: DevPki, rendered: RenderedLicence
) -> None:
    """The cached size is per signing certificate *and* embedded chain: a signer whose CMS carries
    more certificates than the first one must get its own, larger estimate."""
    from cryptography.hazmat.primitives.asymmetric import ec

    short = LocalKeySigner(pki.seal_cert, pki.seal_key, [])
    extra = [
        issue_timestamping_certificate(
            root_cert=pki.root_cert,
            root_key=pki.root_key,
            public_key=ec.generate_private_key(ec.SECP256R1()).public_key(),
            bureau=BUREAU,
            now=datetime.now(UTC),
        )
        for _ in range(4)
    ]
    long = LocalKeySigner(pki.seal_cert, pki.seal_key, [pki.root_cert, *extra])
    for signer in (short, long, short):
        out = seal_pdf(rendered.pdf, signer, seal_box=rendered.seal_box, signer_name=BUREAU.name_zh)
        assert_pyhanko_trusted(pyhanko_status(out.pdf, [to_asn1(pki.root_cert)]))


def test_credential_licence_seal_passes_pdfsig_and_our_verifier(
    pki: DevPki, rendered: RenderedLicence
) -> None:
    signer = LocalKeySigner.from_dev_pki(pki)
    sealed = seal_pdf(rendered.pdf, signer, seal_box=rendered.seal_box, signer_name=BUREAU.name_zh)
    assert_pdfsig_trusted(sealed.pdf, cert_pem(pki.root_cert))
    anchors = TrustAnchors.from_der([to_asn1(pki.root_cert).dump()], [to_asn1(pki.seal_cert).dump()])
    at = datetime.now(UTC)
    full = analyse_pdf(sealed.pdf, *anchors.der(), at)
    assert full.integrity.passed, full.integrity
    assert full.issuer.passed, full.issuer
    assert full.licence_id == LICENCE_ID
    fast = whole_file_seal(sealed.pdf, anchors, at)
    assert fast is not None
    assert fast.integrity.verdict == full.integrity.verdict
    assert fast.issuer == full.issuer
    # one changed byte inside the signed range (the document's /Creator) fails all three
    data = bytearray(sealed.pdf)
    at_byte = data.index(b"onestop e-licence")
    data[at_byte] ^= 0x01
    forged = bytes(data)
    assert "Signature is Valid." not in pdfsig(forged, [cert_pem(pki.root_cert)])
    assert not pyhanko_status(forged, [to_asn1(pki.root_cert)]).intact
    assert not analyse_pdf(forged, *anchors.der(), at).integrity.passed


def test_a_signer_with_its_own_attribute_providers_gets_pyhankos_attributes(
    pki: DevPki, rendered: RenderedLicence
) -> None:
    """The cached PAdES attributes stand in only for pyHanko's defaults: a signer that brings its own
    provider spec (here a CAdES spec with a signing-time attribute) is sealed with what it asks for."""
    from pyhanko.sign.signers.pdf_cms import CAdESSignedAttributeProviderSpec, PdfCMSSignedAttributes

    signer = LocalKeySigner.from_dev_pki(pki)
    signer.signed_attr_prov_spec = CAdESSignedAttributeProviderSpec(
        attr_settings=PdfCMSSignedAttributes(signing_time=datetime(2025, 3, 14, 2, 30, tzinfo=UTC)),
        signing_cert=signer.signing_cert,
        is_pades=False,  # CAdES: signing-time goes into the signed attributes
        timestamper=None,
    )
    sealed = seal_pdf(rendered.pdf, signer, seal_box=rendered.seal_box, signer_name=BUREAU.name_zh)
    signed_data, _, _ = _cms(sealed.pdf)
    types = {a["type"].native for a in signed_data["signer_infos"][0]["signed_attrs"]}
    assert "signing_time" in types
    assert_pyhanko_trusted(pyhanko_status(sealed.pdf, [to_asn1(pki.root_cert)]))


def test_sealed_result_repr_leaves_the_bytes_out(pki: DevPki, rendered: RenderedLicence) -> None:
    """asyncio.run() on Python 3.11 formats its task's result while restoring the SIGINT handler: a
    repr of the whole PDF cost 1-2 ms a seal (and would flood any log that printed it)."""
    sealed = seal_pdf(
        rendered.pdf, LocalKeySigner.from_dev_pki(pki), seal_box=rendered.seal_box, signer_name=BUREAU.name_zh
    )
    assert len(repr(sealed)) < 300
    assert sealed.sha256 in repr(sealed)
