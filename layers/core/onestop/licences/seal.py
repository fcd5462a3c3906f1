"""PAdES sealing with pyHanko: ETSI.CAdES.detached, SHA-256, signing time, optional RFC 3161 timestamp.

Any pyHanko `Signer` seals: `onestop.aws.kms_signer.KmsSigner` in production (key in KMS),
`onestop.licences.signers.LocalKeySigner` in tests and local runs.

Appearance: the red seal is drawn into the page content by the renderer, so it shows in every viewer
and printout and is itself covered by the signature. The signature field is a *visible* widget placed
exactly over that drawing with an empty (transparent) appearance: clicking the seal in Acrobat or
Foxit opens the signature's validation panel, and nothing is drawn twice.

The signature is a certification signature with DocMDP "no changes": any later revision other than
validation data (DSS) or document timestamps makes validators report the document as modified.

Speed (issue 16): pyHanko's one-call `sign_pdf` builds the CMS twice (a dry run to size the
/Contents placeholder, then the real one) and assembles the signed attributes from freshly built
asn1crypto trees, which re-serialise every nested level each time they are read (~10 ms per CMS on
the bench machine). This module drives pyHanko's documented interrupted-signing steps instead
(signing session -> document digest -> CMS -> fill the placeholder) with the same PdfSigner,
signature dictionary, DocMDP and field; it sizes the placeholder once per signer certificates
(pyHanko's own estimate, cached) and assembles the PAdES signed attributes - content-type,
message-digest, signing-certificate-v2 (PAdES forbids signing-time there; it is /M) - from DER
parsed once per certificate. With a timestamper the placeholder is estimated per seal as before
(token sizes vary). No validation context is configured, so nothing is validated or fetched.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache, lru_cache

from asn1crypto import cms
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko.sign.general import as_signing_certificate_v2, simple_cms_attribute
from pyhanko.sign.signers.pdf_cms import PdfCMSSignedAttributes
from pyhanko.sign.signers.pdf_signer import PdfSigningSession, PdfTBSDocument
from pyhanko.sign.timestamps import HTTPTimeStamper, TimeStamper
from pyhanko.stamp import NoOpStampStyle

from .pki import sha256_fingerprint

SEAL_FIELD = "BureauSeal"


@dataclass(frozen=True)
class SealedPdf:
    """The sealed file, its SHA-256 and the fingerprint of the certificate that sealed it."""

    # Not in repr: on Python 3.11 asyncio.run() formats its main task, result included, while
    # restoring the SIGINT handler - 1-2 ms a seal for the repr of 40 kB of bytes (and log noise).
    pdf: bytes = field(repr=False)
    sha256: str
    seal_cert_sha256: str


def timestamper_for(tsa_url: str | None, timeout: int = 10) -> TimeStamper | None:
    """An RFC 3161 client when a TSA is configured (PAdES B-T), else None (PAdES B-B)."""
    return _http_timestamper(str(tsa_url), timeout) if tsa_url else None


@cache
def _http_timestamper(url: str, timeout: int) -> TimeStamper:
    # One per URL and process: pyHanko sizes the signature with a dummy timestamp token it fetches
    # once and caches on the instance; a fresh instance per licence would double the TSA round trips.
    return HTTPTimeStamper(url, timeout=timeout)


# placeholder size (hex digits) per signing certificate + embedded chain, without a timestamper
_RESERVED: dict[tuple[bytes, tuple[bytes, ...], tuple[bytes, ...], bool], int] = {}


async def _reserved_bytes(session: PdfSigningSession, signer: signers.Signer) -> int:
    """pyHanko's estimate of the /Contents placeholder (a dry-run CMS, +50 %), once per certificate
    set: without a timestamp token or custom attributes the CMS differs between seals only in the
    digest and the signature value, both of fixed or bounded size."""
    custom = signer.signed_attr_prov_spec is not None or signer.unsigned_attr_prov_spec is not None
    if session.timestamper is not None or custom:
        return int(await session.estimate_signature_container_size(None))
    assert signer.signing_cert is not None
    key = (
        signer.signing_cert.sha256,
        tuple(sorted(c.sha256 for c in (signer.cert_registry or ()))),
        tuple(sorted(hashlib.sha256(c.dump()).digest() for c in (signer.attribute_certs or ()))),
        bool(signer.embed_roots),
    )
    reserved = _RESERVED.get(key)
    if reserved is None:
        reserved = _RESERVED[key] = int(await session.estimate_signature_container_size(None))
    return reserved


@lru_cache(maxsize=16)
def _fixed_attributes(cert_der: bytes) -> tuple[cms.CMSAttribute, cms.CMSAttribute]:
    """content-type (data) and signing-certificate-v2 of a certificate, parsed from DER so that they
    serialise as stored instead of being rebuilt at every level."""
    from asn1crypto import x509

    cert = x509.Certificate.load(cert_der)
    content_type = simple_cms_attribute("content_type", "data").dump()
    signing_cert = simple_cms_attribute("signing_certificate_v2", as_signing_certificate_v2(cert)).dump()
    return cms.CMSAttribute.load(content_type), cms.CMSAttribute.load(signing_cert)


async def pades_signed_attributes(
    signer: signers.Signer,
    document_digest: bytes,
    md_algorithm: str,
    timestamper: TimeStamper | None = None,
    signing_time: datetime | None = None,
) -> cms.CMSAttributes:
    """The signed attributes pyHanko puts in a PAdES signature (`Signer.signed_attrs(use_pades=True)`),
    assembled from cached parts. A signer with its own attribute providers gets pyHanko's own."""
    assert signer.signing_cert is not None
    if signer.signed_attr_prov_spec is not None or md_algorithm != "sha256":
        built = await signer.signed_attrs(
            document_digest,
            md_algorithm,
            attr_settings=PdfCMSSignedAttributes(signing_time=signing_time),
            use_pades=True,
            timestamper=timestamper,
        )
        return cms.CMSAttributes.load(built.dump())
    content_type, signing_cert = _fixed_attributes(signer.signing_cert.dump())
    digest = simple_cms_attribute("message_digest", document_digest)
    # DER sorts the SET OF on dump; loading the result back keeps later dumps from re-encoding it
    return cms.CMSAttributes.load(cms.CMSAttributes([content_type, digest, signing_cert]).dump())


async def seal_pdf_async(
    pdf: bytes,
    signer: signers.Signer,
    *,
    seal_box: tuple[int, int, int, int] | None,
    signer_name: str,
    reason: str = "电子证照签发 E-licence issued",
    location: str | None = None,
    timestamper: TimeStamper | None = None,
    field_name: str = SEAL_FIELD,
) -> SealedPdf:
    """Seal `pdf` (page 1) and return the sealed bytes. `seal_box` None makes an invisible field."""
    if signer.signing_cert is None:
        raise ValueError("the signer needs its seal certificate before sealing")
    meta = signers.PdfSignatureMetadata(
        field_name=field_name,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        reason=reason,
        location=location,
        name=signer_name,
        certify=True,
        docmdp_permissions=fields.MDPPerm.NO_CHANGES,
    )
    pdf_signer = signers.PdfSigner(
        meta,
        signer=signer,
        timestamper=timestamper,
        stamp_style=NoOpStampStyle(),
        new_field_spec=fields.SigFieldSpec(field_name, on_page=0, box=seal_box),
    )
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    session = pdf_signer.init_signing_session(writer)
    if not session.use_pades:
        raise ValueError("the seal must be a PAdES signature")
    # No validation context in the metadata: this only checks that, and fetches nothing.
    validation = await session.perform_presign_validation(writer)
    if validation is not None:
        raise ValueError("sealing embeds no validation data")
    tbs = session.prepare_tbs_document(
        validation_info=None, bytes_reserved=await _reserved_bytes(session, signer)
    )
    output = io.BytesIO()
    prepared, _ = tbs.digest_tbs_document(output=output)
    signed_attrs = await pades_signed_attributes(
        signer, prepared.document_digest, session.md_algorithm, session.timestamper, session.system_time
    )
    signature = await signer.async_sign_prescribed_attributes(
        session.md_algorithm, signed_attrs, timestamper=session.timestamper
    )
    await PdfTBSDocument.async_finish_signing(
        output, prepared, signature, post_sign_instr=tbs.post_sign_instructions
    )
    sealed = output.getvalue()
    return SealedPdf(
        pdf=sealed,
        sha256=hashlib.sha256(sealed).hexdigest(),
        seal_cert_sha256=sha256_fingerprint(signer.signing_cert),
    )


def seal_pdf(
    pdf: bytes,
    signer: signers.Signer,
    *,
    seal_box: tuple[int, int, int, int] | None,
    signer_name: str,
    reason: str = "电子证照签发 E-licence issued",
    location: str | None = None,
    timestamper: TimeStamper | None = None,
    field_name: str = SEAL_FIELD,
) -> SealedPdf:
    """Synchronous `seal_pdf_async` (Lambda handlers run no event loop of their own)."""
    return asyncio.run(
        seal_pdf_async(
            pdf,
            signer,
            seal_box=seal_box,
            signer_name=signer_name,
            reason=reason,
            location=location,
            timestamper=timestamper,
            field_name=field_name,
        )
    )
