"""Builders shared by the verification tests: genuine licences (dev PKI + local key signer), registry
records, and the attacked variants of a genuine licence. No tests here.

Corpus files used by the tests are from /work/shared/corpus (see its MANIFEST.md for sources and
licences): pyHanko test data (MIT, MatthiasValvekens/pyHanko@7db4e6fe), pypdf / pdfminer.six / qpdf /
py-pdf sample-files PDFs (BSD-3-Clause, MIT, Apache-2.0, CC-BY-SA-4.0).
"""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from onestop.identifiers.licence_id import make_licence_id
from onestop.identifiers.uscc import compose_uscc
from onestop.licences.models import (
    Action,
    AuditEntry,
    HolderKind,
    LicenceMetadata,
    LicenceRecord,
    LicenceStatus,
    StoredPdf,
)
from onestop.licences.pki import BureauIdentity, DevPki, make_dev_pki, to_asn1
from onestop.licences.render import render_licence
from onestop.licences.seal import SEAL_FIELD, seal_pdf
from onestop.licences.signers import LocalKeySigner
from onestop.verification import TrustAnchors
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.validation.dss import DocumentSecurityStore
from pyhanko.stamp import NoOpStampStyle

CORPUS = Path("/work/shared/corpus")
SIGNATURES = CORPUS / "03_signatures" / "pyhanko"
TESTING_CA = SIGNATURES / "testing-ca_ca-chain.cert.pem"

BUREAU_USCC = compose_uscc("11440300", "MB2D0315")
BUREAU = BureauIdentity("深圳市商务局", "Shenzhen Municipal Commerce Bureau", BUREAU_USCC)
TYPE_CODE = BUREAU_USCC + "001"
HOLDER_USCC = compose_uscc("91440300", "MA5F1234")
PERSON_ID = "11010519491231002X"


@dataclass(frozen=True)
class Licence:
    """A genuine licence: the unsigned rendering, the sealed PDF, and what built it."""

    meta: LicenceMetadata
    unsigned: bytes
    sealed: bytes
    seal_box: tuple[int, int, int, int]
    pki: DevPki

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.sealed).hexdigest()

    @property
    def anchors(self) -> TrustAnchors:
        return TrustAnchors(roots=(to_asn1(self.pki.root_cert),), seals=(to_asn1(self.pki.seal_cert),))


def metadata(serial: str = "20250000001", *, version: int = 1, person: bool = False) -> LicenceMetadata:
    issued = date(2025, 3, 3)
    return LicenceMetadata(
        licence_id=make_licence_id(TYPE_CODE, BUREAU_USCC, serial, version),
        number=f"440300-{serial}",
        name_zh="成品油零售经营批准证书",
        name_en="Refined oil retail operation approval certificate",
        type_code=TYPE_CODE,
        version=version,
        issuer_name=BUREAU.name_zh,
        issuer_name_en=BUREAU.name_en,
        issuer_code=BUREAU_USCC,
        definer_name=BUREAU.name_zh,
        division_code="440300",
        issue_date=issued,
        valid_from=issued,
        valid_until=date(2030, 3, 2),
        holder_name="张三丰" if person else "深圳市前海能源有限公司",
        holder_code=PERSON_ID if person else HOLDER_USCC,
        holder_kind=HolderKind.PERSON if person else HolderKind.ENTERPRISE,
        item_code="refined-oil-retail-qualification",
        item_name="成品油零售经营资格审批",
        application_id="0" * 31 + "1",
        extra=(("经营地址", "深圳市南山区前海路1号"),),
    )


def make_pki(now: datetime | None = None) -> DevPki:
    return make_dev_pki(BUREAU, now=now or datetime.now(UTC))


def make_licence(pki: DevPki, meta: LicenceMetadata | None = None) -> Licence:
    meta = meta or metadata()
    rendered = render_licence(meta, verify_url=f"https://verify.example/verify/{meta.licence_id}")
    sealed = seal_pdf(
        rendered.pdf, LocalKeySigner.from_dev_pki(pki), seal_box=rendered.seal_box, signer_name=BUREAU.name_zh
    )
    return Licence(meta, rendered.pdf, sealed.pdf, rendered.seal_box, pki)


def record_for(
    licence: Licence,
    status: LicenceStatus = LicenceStatus.VALID,
    *,
    changed_at: datetime | None = None,
    superseded_by: str | None = None,
    sha256: str | None = None,
) -> LicenceRecord:
    """The registry record of `licence`, optionally moved to another status at `changed_at`."""
    issued_at = datetime(2025, 3, 3, 2, 0, tzinfo=UTC)
    history = [
        AuditEntry(
            issued_at, "onestop:issue", Action.ISSUE, LicenceStatus.ISSUING, LicenceStatus.VALID, "issued"
        )
    ]
    if status is not LicenceStatus.VALID:
        action = {
            LicenceStatus.REVOKED: Action.REVOKE,
            LicenceStatus.SUSPENDED: Action.SUSPEND,
            LicenceStatus.CANCELLED: Action.CANCEL,
            LicenceStatus.WITHDRAWN: Action.WITHDRAW,
            LicenceStatus.SUPERSEDED: Action.SUPERSEDE,
        }[status]
        at = changed_at or datetime(2025, 6, 1, 3, 0, tzinfo=UTC)
        history.append(AuditEntry(at, "reviewer-1", action, LicenceStatus.VALID, status, "reason"))
    return LicenceRecord(
        metadata=licence.meta,
        status=status,
        reserved_at=issued_at,
        issued_at=issued_at,
        pdf=StoredPdf(
            "licences", f"licences/{licence.meta.licence_id}.pdf", "v1", sha256 or licence.sha256, 1
        ),
        seal_cert_sha256=None,
        superseded_by=superseded_by,
        history=tuple(history),
    )


def registry(*records: LicenceRecord) -> Callable[[str], LicenceRecord | None]:
    by_id = {r.licence_id: r for r in records}
    return by_id.get


# ----------------------------------------------------------------------------- signing helpers


class _UnscrupulousSigner(signers.PdfSigner):
    """pyHanko refuses to sign a document whose certification forbids changes; an attacker would not."""

    def _enforce_certification_constraints(self, reader: object) -> None:
        return None


def sign(
    pdf: bytes,
    signer: signers.Signer,
    *,
    md_algorithm: str = "sha256",
    box: tuple[int, int, int, int] | None = None,
    field_name: str = SEAL_FIELD,
    certify: bool = True,
) -> bytes:
    """Sign like the licence sealer does, but with any signer and digest (attack material)."""
    meta = signers.PdfSignatureMetadata(
        field_name=field_name,
        md_algorithm=md_algorithm,
        subfilter=fields.SigSeedSubFilter.PADES,
        certify=certify,
        docmdp_permissions=fields.MDPPerm.NO_CHANGES,
    )
    pdf_signer = _UnscrupulousSigner(
        meta,
        signer=signer,
        stamp_style=NoOpStampStyle(),
        new_field_spec=fields.SigFieldSpec(field_name, on_page=0, box=box),
    )
    out = io.BytesIO()
    pdf_signer.sign_pdf(IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False), output=out)
    return out.getvalue()


def impostor_signer(pki: DevPki, *, claim_root: bool) -> LocalKeySigner:
    """A key of the attacker's own with a certificate copying the seal's subject.

    `claim_root` True: the certificate names the bureau root as its issuer (but the attacker signed it);
    False: a plain self-signed certificate with the seal's name.
    """
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    usage = pki.seal_cert.extensions.get_extension_for_class(x509.KeyUsage).value
    cert = (
        x509.CertificateBuilder()
        .subject_name(pki.seal_cert.subject)
        .issuer_name(pki.root_cert.subject if claim_root else pki.seal_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365))
        .add_extension(usage, critical=True)
        .sign(key, hashes.SHA256())
    )
    return LocalKeySigner(cert, key, [])


# ----------------------------------------------------------------------------- attacks


def byte_range(pdf: bytes) -> tuple[int, int, int, int]:
    found = re.findall(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]", pdf)
    a, b, c, d = (int(x) for x in found[-1])
    return a, b, c, d


def flip_signed_byte(pdf: bytes) -> bytes:
    """Flip one bit inside a compressed stream in the signed range (content, still parseable)."""
    _, len1, _, _ = byte_range(pdf)
    at = pdf.index(b"stream", 1000) + 40
    assert at < len1
    out = bytearray(pdf)
    out[at] ^= 0x01
    return bytes(out)


def _der_end(pdf: bytes) -> tuple[int, int]:
    """(start, end) offsets of the hex digits of the DER signature inside /Contents (padding excluded)."""
    _, len1, start2, _ = byte_range(pdf)
    hex_digits = pdf[len1 + 1 : start2 - 1]
    der_len = len(hex_digits.rstrip(b"0"))
    return len1 + 1, len1 + 1 + der_len + (der_len % 2)


def _flip_hex(pdf: bytes, at: int) -> bytes:
    out = bytearray(pdf)
    out[at] = ord("1") if out[at] != ord("1") else ord("2")
    return bytes(out)


def flip_signature_value(pdf: bytes) -> bytes:
    """Change one hex digit near the end of the DER: the ECDSA signature value no longer verifies."""
    _, end = _der_end(pdf)
    return _flip_hex(pdf, end - 6)


def flip_signature_structure(pdf: bytes) -> bytes:
    """Change one hex digit in the DER header: the CMS no longer parses."""
    start, _ = _der_end(pdf)
    return _flip_hex(pdf, start + 1)


def zero_signature(pdf: bytes) -> bytes:
    """Blank the signature value in place (the placeholder stays, the signature is gone)."""
    _, len1, start2, _ = byte_range(pdf)
    return pdf[: len1 + 1] + b"0" * (start2 - len1 - 2) + pdf[start2 - 1 :]


def append_garbage(pdf: bytes) -> bytes:
    return pdf + b"\n% appended after signing\n1 0 obj (not an update) endobj\n"


def append_fake_eof(pdf: bytes) -> bytes:
    """Garbage that ends like a revision: `startxref` pointing back into the signed part, then %%EOF."""
    startxref = re.findall(rb"startxref\s+(\d+)", pdf)[-1]
    return pdf + b"\n% appended\nstartxref\n" + startxref + b"\n%%EOF\n"


def truncate(pdf: bytes, n: int = 200) -> bytes:
    return pdf[:-n]


def _page(writer: IncrementalPdfFileWriter) -> generic.DictionaryObject:
    page = writer.root["/Pages"]["/Kids"][0].get_object()
    assert isinstance(page, generic.DictionaryObject)
    return page


def _write(writer: IncrementalPdfFileWriter) -> bytes:
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


FORGED_TEXT = b"q 1 1 1 rg 180 600 300 20 re f Q BT /F1 14 Tf 190 605 Td (FORGED HOLDER) Tj ET"


def overlay_content(pdf: bytes) -> bytes:
    """Incremental update: a new content stream appended to the page (covers and rewrites a line)."""
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    page = _page(writer)
    ref = writer.add_object(generic.StreamObject(stream_data=FORGED_TEXT))
    contents = page.raw_get("/Contents")
    array = (
        generic.ArrayObject(list(contents))
        if isinstance(contents, generic.ArrayObject)
        else generic.ArrayObject([contents])
    )
    array.append(ref)
    page[generic.NameObject("/Contents")] = array
    writer.update_container(page)
    return _write(writer)


def replace_content(pdf: bytes) -> bytes:
    """Incremental update: a new version of the page's content stream object (same object number)."""
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    ref = _page(writer).raw_get("/Contents")
    if isinstance(ref, generic.ArrayObject):
        ref = ref[0]
    old = ref.get_object()
    writer.objects[(ref.generation, ref.idnum)] = generic.StreamObject(
        stream_data=old.data + b"\n" + FORGED_TEXT
    )
    return _write(writer)


def add_annotation(pdf: bytes, subtype: str = "/FreeText") -> bytes:
    """Incremental update: an annotation whose appearance paints over the holder's name."""
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    page = _page(writer)
    n = generic.NameObject
    appearance = generic.StreamObject(
        {
            n("/Type"): n("/XObject"),
            n("/Subtype"): n("/Form"),
            n("/BBox"): generic.ArrayObject([generic.FloatObject(v) for v in (0, 0, 300, 20)]),
        },
        stream_data=b"1 1 1 rg 0 0 300 20 re f",
    )
    annot = generic.DictionaryObject(
        {
            n("/Type"): n("/Annot"),
            n("/Subtype"): n(subtype),
            n("/Rect"): generic.ArrayObject([generic.FloatObject(v) for v in (180, 600, 480, 620)]),
            n("/Contents"): generic.TextStringObject("FORGED"),
            n("/DA"): generic.pdf_string("/Helv 12 Tf 0 g"),
            n("/AP"): generic.DictionaryObject({n("/N"): writer.add_object(appearance)}),
        }
    )
    existing = page.get("/Annots")
    annots = generic.ArrayObject(list(existing) if existing is not None else [])
    annots.append(writer.add_object(annot))
    page[n("/Annots")] = annots
    writer.update_container(page)
    return _write(writer)


def add_second_signature(pdf: bytes, signer: signers.Signer) -> bytes:
    """Incremental update: another (approval) signature in a new field, e.g. by an attacker's key."""
    return sign(pdf, signer, field_name="Approval", certify=False)


def add_dss(pdf: bytes, pki: DevPki) -> bytes:
    """Incremental update allowed after sealing: a document security store with the chain (PAdES LT)."""
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    DocumentSecurityStore.supply_dss_in_writer(
        writer, None, certs=[to_asn1(pki.seal_cert), to_asn1(pki.root_cert)]
    )
    return _write(writer)


def change_info_after_sealing(pdf: bytes, licence_id: str) -> bytes:
    """Incremental update rewriting only /Info (pyHanko allows it): claim another licence id."""
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    info = writer.trailer["/Info"].get_object()
    info[generic.NameObject("/Subject")] = generic.TextStringObject(licence_id)
    writer.update_container(info)
    return _write(writer)


def shadow_licence(licence: Licence) -> tuple[bytes, bytes]:
    """A shadow "hide-and-replace" attack (Mainka et al., NDSS 2021) on a licence.

    The attacker controls the document before sealing: revision 1 hides a forged version of the page
    content object, revision 2 restores the genuine one (what the bureau sees and seals). After sealing,
    the attacker appends only a cross-reference section that points the content object back at the
    hidden forged version. Returns (sealed document as the bureau signed it, attacked document).
    """
    writer = IncrementalPdfFileWriter(io.BytesIO(licence.unsigned))
    ref = _page(writer).raw_get("/Contents")
    if isinstance(ref, generic.ArrayObject):
        ref = ref[0]
    genuine = ref.get_object().data
    writer.objects[(ref.generation, ref.idnum)] = generic.StreamObject(
        stream_data=genuine + b"\n" + FORGED_TEXT
    )
    with_hidden = _write(writer)
    forged_offset = with_hidden.rindex(f"\n{ref.idnum} {ref.generation} obj".encode()) + 1
    writer = IncrementalPdfFileWriter(io.BytesIO(with_hidden))
    writer.objects[(ref.generation, ref.idnum)] = generic.StreamObject(stream_data=genuine)
    restored = _write(writer)
    sealed = sign(restored, LocalKeySigner.from_dev_pki(licence.pki), box=licence.seal_box)

    reader = PdfFileReader(io.BytesIO(sealed))
    trailer = reader.trailer_view
    prev = reader.xrefs.get_startxref_for_revision(reader.xrefs.total_revisions - 1)
    root, info = trailer.raw_get("/Root"), trailer.raw_get("/Info")
    size = int(trailer["/Size"])
    body = bytearray(sealed)
    body += b"\n"
    xref_at = len(body)
    body += b"xref\n0 1\n0000000000 65535 f \n"
    body += f"{ref.idnum} 1\n{forged_offset:010d} {ref.generation:05d} n \n".encode()
    body += (
        f"trailer\n<< /Size {size} /Root {root.idnum} {root.generation} R "
        f"/Info {info.idnum} {info.generation} R /Prev {prev} >>\n"
    ).encode()
    body += f"startxref\n{xref_at}\n%%EOF\n".encode()
    return sealed, bytes(body)


def content_rewritten_as_validation_data(pdf: bytes) -> bytes:
    """Incremental update: a /DSS whose /Certs lists the page's content stream, which the same update
    redefines (forged text) — an overlay disguised as validation data."""
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    ref = _page(writer).raw_get("/Contents")
    if isinstance(ref, generic.ArrayObject):
        ref = ref[0]
    old = ref.get_object()
    writer.objects[(ref.generation, ref.idnum)] = generic.StreamObject(
        stream_data=old.data + b"\n" + FORGED_TEXT
    )
    dss = generic.DictionaryObject({generic.NameObject("/Certs"): generic.ArrayObject([ref])})
    writer.root[generic.NameObject("/DSS")] = writer.add_object(dss)
    writer.update_root()
    return _write(writer)
