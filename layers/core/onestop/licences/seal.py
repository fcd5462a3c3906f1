"""PAdES sealing with pyHanko: ETSI.CAdES.detached, SHA-256, signing time, optional RFC 3161 timestamp.

Any pyHanko `Signer` seals: `onestop.aws.kms_signer.KmsSigner` in production (key in KMS),
`onestop.licences.signers.LocalKeySigner` in tests and local runs.

Appearance: the red seal is drawn into the page content by the renderer, so it shows in every viewer
and printout and is itself covered by the signature. The signature field is a *visible* widget placed
exactly over that drawing with an empty (transparent) appearance: clicking the seal in Acrobat or
Foxit opens the signature's validation panel, and nothing is drawn twice.

The signature is a certification signature with DocMDP "no changes": any later revision other than
validation data (DSS) or document timestamps makes validators report the document as modified.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
from dataclasses import dataclass
from functools import cache

from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko.sign.timestamps import HTTPTimeStamper, TimeStamper
from pyhanko.stamp import NoOpStampStyle

from .pki import sha256_fingerprint

SEAL_FIELD = "BureauSeal"


@dataclass(frozen=True)
class SealedPdf:
    """The sealed file, its SHA-256 and the fingerprint of the certificate that sealed it."""

    pdf: bytes
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
    out = io.BytesIO()
    await pdf_signer.async_sign_pdf(writer, output=out)
    sealed = out.getvalue()
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
