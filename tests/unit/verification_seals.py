"""Seals made for the fast-path tests. No tests here.

- `make_pki`: a bureau root and a seal certificate (EC P-256 or RSA 2048 seal key) with the validity
  the test chooses, built with onestop.licences.pki as the real PKI is;
- `pyhanko_seal`: a licence sealed by pyHanko as onestop.licences.seal seals it, with the test's key,
  digest and sub-filter (PAdES: /M only; adbe.pkcs7.detached: a signed signing-time attribute too),
  a fixed room for the signature, optionally rewriting /Info in the sealing revision;
- `with_xref_stream`: the unsigned licence saved again with a cross-reference stream and object streams
  (pikepdf), so that its sealing revision has no `trailer` keyword either;
- `seal_cms` / `with_seal`: a CMS signature built here, part by part (asn1crypto, signed with
  `cryptography`), over the byte range of a sealed file, replacing pyHanko's: each test chooses the
  signing-time attributes, the signing-certificate binding, the signer identifier, the certificates, the
  algorithms, a second signer, encapsulated content, unsigned attributes;
- `replace_same_length`, `set_byte_range_to_file`: byte surgery on the signed part, made before a new
  CMS is computed, so the result is again a file the bureau's key sealed whole.
"""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

import pikepdf
from asn1crypto import cms, tsp
from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from onestop.licences.pki import build_root_ca, issue_seal_certificate, to_asn1
from onestop.licences.seal import SEAL_FIELD
from onestop.verification import TrustAnchors
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko.sign.timestamps import TimeStamper
from pyhanko.stamp import NoOpStampStyle
from pyhanko_certvalidator.registry import SimpleCertificateStore

from tests.unit import test_verification_support as S
from tests.unit import verification_forgeries as F

SealKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
PKI_SKEW = timedelta(minutes=5)  # onestop.licences.pki starts every certificate 5 minutes before `now`
HASHES: dict[str, type[hashes.SHA1 | hashes.SHA256 | hashes.SHA384 | hashes.SHA512]] = {
    "sha1": hashes.SHA1,
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}


# ----------------------------------------------------------------------------- the PKI


@dataclass(frozen=True)
class Pki:
    """The bureau root and one seal certificate with its private key."""

    root: x509.Certificate
    root_key: ec.EllipticCurvePrivateKey
    seal: x509.Certificate
    seal_key: SealKey

    @property
    def anchors(self) -> TrustAnchors:
        return TrustAnchors(roots=(to_asn1(self.root),), seals=(to_asn1(self.seal),))

    @property
    def seal_asn1(self) -> asn1_x509.Certificate:
        return to_asn1(self.seal)

    @property
    def root_asn1(self) -> asn1_x509.Certificate:
        return to_asn1(self.root)

    def signer(self) -> signers.SimpleSigner:
        key_der = self.seal_key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        return signers.SimpleSigner(
            signing_cert=self.seal_asn1,
            signing_key=asn1_keys.PrivateKeyInfo.load(key_der),
            cert_registry=SimpleCertificateStore.from_certs([self.root_asn1]),
        )

    def another_seal(self) -> x509.Certificate:
        """A second certificate from the same root (another key, its own serial number)."""
        return issue_seal_certificate(
            root_cert=self.root,
            root_key=self.root_key,
            public_key=ec.generate_private_key(ec.SECP256R1()).public_key(),
            bureau=S.BUREAU,
            now=self.seal.not_valid_before_utc + PKI_SKEW,
        )


def day_ago() -> datetime:
    return datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)


def make_pki(
    key: Literal["ec", "rsa"] = "ec",
    *,
    root_from: datetime | None = None,
    seal_from: datetime | None = None,
    seal_years: int = 5,
) -> Pki:
    """Root valid from `root_from` (20 years), seal certificate valid from `seal_from` for `seal_years`
    (at most to the root's end); both default to a day ago, to the second."""
    root_from = root_from or day_ago()
    seal_from = seal_from or root_from
    root, root_key = build_root_ca(S.BUREAU, now=root_from + PKI_SKEW)
    seal_key: SealKey = (
        ec.generate_private_key(ec.SECP256R1())
        if key == "ec"
        else rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )
    seal = issue_seal_certificate(
        root_cert=root,
        root_key=root_key,
        public_key=seal_key.public_key(),
        bureau=S.BUREAU,
        now=seal_from + PKI_SKEW,
        valid_years=seal_years,
    )
    return Pki(root, root_key, seal, seal_key)


# ----------------------------------------------------------------------------- sealing with pyHanko


def pyhanko_seal(
    licence: S.Licence,
    pki: Pki,
    *,
    unsigned: bytes | None = None,
    md: str = "sha256",
    subfilter: fields.SigSeedSubFilter = fields.SigSeedSubFilter.PADES,
    reserve: int | None = 16384,
    info: dict[str, str] | None = None,
    indirect_info: bool = False,
    timestamper: TimeStamper | None = None,
) -> bytes:
    """`licence`'s rendering (or `unsigned`) sealed by pyHanko as onestop.licences.seal does: DocMDP
    no-changes certification, the seal widget over the drawn seal. `reserve`: hex digits set aside for
    the signature (None: pyHanko's own estimate). `info`: /Info entries the sealing revision writes (each
    in an object of its own when `indirect_info`)."""
    meta = signers.PdfSignatureMetadata(
        field_name=SEAL_FIELD,
        md_algorithm=md,
        subfilter=subfilter,
        reason="电子证照签发 E-licence issued",
        name=S.BUREAU.name_zh,
        certify=True,
        docmdp_permissions=fields.MDPPerm.NO_CHANGES,
    )
    writer = IncrementalPdfFileWriter(io.BytesIO(unsigned or licence.unsigned), strict=False)
    if info:
        document_info = writer.trailer["/Info"]
        for key, value in info.items():
            text = generic.TextStringObject(value)
            document_info[generic.NameObject(f"/{key}")] = writer.add_object(text) if indirect_info else text
        writer.update_container(document_info)
    pdf_signer = signers.PdfSigner(
        meta,
        signer=pki.signer(),
        timestamper=timestamper,
        stamp_style=NoOpStampStyle(),
        new_field_spec=fields.SigFieldSpec(SEAL_FIELD, on_page=0, box=licence.seal_box),
    )
    out = io.BytesIO()
    pdf_signer.sign_pdf(writer, output=out, bytes_reserved=reserve)
    return out.getvalue()


def with_xref_stream(pdf: bytes) -> bytes:
    """`pdf` saved again with a cross-reference stream and its objects in object streams."""
    out = io.BytesIO()
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        doc.save(out, object_stream_mode=pikepdf.ObjectStreamMode.generate)
    return out.getvalue()


def with_annotation_m(pdf: bytes, at: datetime) -> bytes:
    """An incremental update adding a link annotation on page 1 with its own /M (modification date):
    the document then holds an /M that is not the seal's."""
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    page_ref = writer.root["/Pages"]["/Kids"].raw_get(0)
    page = page_ref.get_object()
    annot = generic.DictionaryObject(
        {
            generic.NameObject("/Type"): generic.NameObject("/Annot"),
            generic.NameObject("/Subtype"): generic.NameObject("/Link"),
            generic.NameObject("/Rect"): generic.ArrayObject([generic.NumberObject(0)] * 4),
            generic.NameObject("/M"): generic.pdf_date(at),
        }
    )
    annots = generic.ArrayObject([writer.add_object(annot)])
    page[generic.NameObject("/Annots")] = annots
    writer.update_container(page)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


# ----------------------------------------------------------------------------- byte surgery


def replace_same_length(pdf: bytes, old: bytes, new: bytes, *, after: int = 0) -> bytes:
    """The first `old` at or after `after` replaced by `new`, padded with blanks to the same length."""
    at = pdf.index(old, after)
    assert len(new) <= len(old), (new, old)
    return pdf[:at] + new.ljust(len(old)) + pdf[at + len(old) :]


def signature_dictionary(pdf: bytes) -> tuple[int, int]:
    """(start, end) of the seal's signature dictionary object."""
    at = pdf.index(b"/ByteRange [")
    return pdf.rfind(b" obj", 0, at), pdf.index(b"endobj", at)


def m_entry(pdf: bytes) -> bytes:
    """The seal dictionary's /M entry as written (`/M (D\\072...)`)."""
    start, end = signature_dictionary(pdf)
    found = re.search(rb"/M\s*\([^)]*\)", pdf[start:end])
    assert found is not None
    return found.group(0)


def _reason_entry(pdf: bytes) -> bytes:
    start, end = signature_dictionary(pdf)
    found = re.search(rb"/Reason\s*\([^\n]*\)", pdf[start:end])
    assert found is not None
    return found.group(0)


def set_m(pdf: bytes, value: bytes | None, *, keep: bool = False) -> bytes:
    """The seal dictionary's /M set to `value` (PDF syntax) in place of its /Reason (room for any form of
    date); the original /M blanked out unless `keep`; `value` None: no /M at all."""
    if not keep:
        pdf = replace_same_length(pdf, m_entry(pdf), b"", after=signature_dictionary(pdf)[0])
    if value is not None:
        pdf = replace_same_length(pdf, _reason_entry(pdf), b"/M " + value, after=signature_dictionary(pdf)[0])
    return pdf


def replace_xmp_value(pdf: bytes, attribute: bytes, new: bytes) -> bytes:
    """The value of an XMP attribute (the packet pyHanko writes after the signature dictionary) replaced by
    `new`, padded with blanks."""
    _, end = signature_dictionary(pdf)
    start = pdf.index(attribute + b'="', end) + len(attribute) + 2
    value = pdf[start : pdf.index(b'"', start)]
    return replace_same_length(pdf, value, new, after=start)


def byte_range(pdf: bytes) -> tuple[int, int, int, int]:
    """The seal's /ByteRange (the first one in the file: a test may write another one later)."""
    found = re.search(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]", pdf)
    assert found is not None
    a, b, c, d = (int(x) for x in found.groups())
    return a, b, c, d


def set_byte_range_to_file(pdf: bytes) -> bytes:
    """The /ByteRange rewritten to cover everything around /Contents up to the end of `pdf`."""
    _, b, c, _ = byte_range(pdf)
    return F._set_byte_range(pdf, (0, b, c, len(pdf) - c))


def covered(pdf: bytes) -> bytes:
    a, b, c, d = byte_range(pdf)
    return pdf[a:b] + pdf[c : c + d]


def put_cms(pdf: bytes, der: bytes) -> bytes:
    """`der` written into the seal's /Contents, zero-padded to its length."""
    _, b, c, _ = byte_range(pdf)
    digits = der.hex().encode()
    assert len(digits) <= c - b - 2
    return pdf[: b + 1] + digits.ljust(c - b - 2, b"0") + pdf[c - 1 :]


# ----------------------------------------------------------------------------- CMS made here


def attribute(name: str, *values: object) -> cms.CMSAttribute:
    return cms.CMSAttribute({"type": name, "values": list(values)})


def signing_time(*at: datetime) -> cms.CMSAttribute:
    """One signing-time attribute holding each of `at` (UTCTime, to the second)."""
    return attribute("signing_time", *(cms.Time(name="utc_time", value=t) for t in at))


def ess_v2(
    cert: asn1_x509.Certificate,
    *,
    algorithm: str = "sha256",
    cert_hash: bytes | None = None,
    serial: int | None = None,
    ids: int = 1,
) -> cms.CMSAttribute:
    """signing-certificate-v2 naming `cert` (or the given hash / serial number) `ids` times."""
    one = tsp.ESSCertIDv2(
        {
            "hash_algorithm": {"algorithm": algorithm},
            "cert_hash": cert_hash or hashlib.new(algorithm, cert.dump()).digest(),
            "issuer_serial": {
                "issuer": [asn1_x509.GeneralName(name="directory_name", value=cert.issuer)],
                "serial_number": cert.serial_number if serial is None else serial,
            },
        }
    )
    return attribute("signing_certificate_v2", tsp.SigningCertificateV2({"certs": [one] * ids}))


def ess_v1(cert: asn1_x509.Certificate, *, cert_hash: bytes | None = None) -> cms.CMSAttribute:
    """signing-certificate (v1, SHA-1) naming `cert`."""
    one = tsp.ESSCertID({"cert_hash": cert_hash or hashlib.sha1(cert.dump()).digest()})
    return attribute("signing_certificate", tsp.SigningCertificate({"certs": [one]}))


def default_attrs(pdf: bytes, pki: Pki, digest: str = "sha256") -> list[cms.CMSAttribute]:
    """What pyHanko's PAdES seal signs: content type, message digest, signing-certificate-v2."""
    return [
        attribute("content_type", "data"),
        attribute("message_digest", hashlib.new(digest, covered(pdf)).digest()),
        ess_v2(pki.seal_asn1),
    ]


def _sign(key: SealKey, data: bytes, hash_name: str) -> bytes:
    algorithm = HASHES[hash_name]()
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key.sign(data, ec.ECDSA(algorithm))
    return key.sign(data, padding.PKCS1v15(), algorithm)


def _signature(key: SealKey, data: bytes, hash_name: str, until: Callable[[bytes], bool] | None) -> bytes:
    for _ in range(10_000):
        value = _sign(key, data, hash_name)
        if until is None or until(value):
            return value
    raise AssertionError("no signature value as wanted in 10,000 tries")


Sid = Literal["issuer_and_serial_number", "subject_key_identifier"]


def signer_info(
    pki: Pki,
    attrs: Sequence[cms.CMSAttribute],
    *,
    digest: str = "sha256",
    sid: Sid = "issuer_and_serial_number",
    signature_algorithm: str | None = None,
    sign_hash: str | None = None,
    unsigned: Sequence[cms.CMSAttribute] | None = None,
    until: Callable[[bytes], bool] | None = None,
) -> cms.SignerInfo:
    """A SignerInfo over `attrs`, signed with the seal key using `sign_hash` (default: `digest`);
    `signature_algorithm` is what it claims (default: "<digest>_ecdsa" or "rsassa_pkcs1v15"); signed
    again until the signature value satisfies `until` (ECDSA signatures are randomised)."""
    cert = pki.seal_asn1
    signed_attrs = cms.CMSAttributes(list(attrs))
    to_sign = signed_attrs.dump()  # the SET OF (tag 0x31) is what is signed
    rsa_key = isinstance(pki.seal_key, rsa.RSAPrivateKey)
    claimed = signature_algorithm or ("rsassa_pkcs1v15" if rsa_key else f"{digest}_ecdsa")
    identifier = (
        cms.SignerIdentifier(
            name="issuer_and_serial_number",
            value=cms.IssuerAndSerialNumber({"issuer": cert.issuer, "serial_number": cert.serial_number}),
        )
        if sid == "issuer_and_serial_number"
        else cms.SignerIdentifier(name="subject_key_identifier", value=cert.key_identifier)
    )
    info = cms.SignerInfo(
        {
            "version": "v1" if sid == "issuer_and_serial_number" else "v3",
            "sid": identifier,
            "digest_algorithm": {"algorithm": digest},
            "signed_attrs": signed_attrs,
            "signature_algorithm": {"algorithm": claimed},
            "signature": _signature(pki.seal_key, to_sign, sign_hash or digest, until),
            "unsigned_attrs": list(unsigned) if unsigned else None,
        }
    )
    reloaded = cms.SignerInfo.load(info.dump())
    assert b"\x31" + reloaded["signed_attrs"].dump()[1:] == to_sign  # what a verifier re-tags
    return reloaded


def content_info(
    infos: Sequence[cms.SignerInfo],
    certificates: Sequence[asn1_x509.Certificate | cms.CertificateChoices],
    *,
    digests: Sequence[str] = ("sha256",),
    content: bytes | None = None,
) -> bytes:
    """The ContentInfo of a SignedData holding `infos` and `certificates` (in the order given)."""
    signed = cms.SignedData(
        {
            "version": "v3" if any(i["version"].native == "v3" for i in infos) else "v1",
            "digest_algorithms": [{"algorithm": d} for d in digests],
            "encap_content_info": {"content_type": "data", "content": content},
            "certificates": [
                c
                if isinstance(c, cms.CertificateChoices)
                else cms.CertificateChoices(name="certificate", value=c)
                for c in certificates
            ],
            "signer_infos": list(infos),
        }
    )
    der = cms.ContentInfo({"content_type": "signed_data", "content": signed}).dump()
    # DER sorts a SET OF by encoding; signers that write BER keep their own order: keep the one given.
    in_der = cms.ContentInfo.load(der)["content"]["certificates"].contents
    as_given = b"".join(c.dump() for c in signed["certificates"])
    assert len(in_der) == len(as_given)
    assert der.count(in_der) == 1
    return der.replace(in_der, as_given)


def seal_cms(
    pdf: bytes,
    pki: Pki,
    *,
    digest: str = "sha256",
    attrs: Sequence[cms.CMSAttribute] | None = None,
    extra_attrs: Sequence[cms.CMSAttribute] = (),
    certificates: Sequence[asn1_x509.Certificate | cms.CertificateChoices] | None = None,
    second_signer: bool = False,
    content: bytes | None = None,
    **info_options: object,
) -> bytes:
    """A seal over `pdf`'s byte range: `attrs` (default: pyHanko's PAdES three) plus `extra_attrs`,
    the seal and root certificates (or `certificates`), options of `signer_info`."""
    signed = list(attrs if attrs is not None else default_attrs(pdf, pki, digest)) + list(extra_attrs)
    one = signer_info(pki, signed, digest=digest, **info_options)  # type: ignore[arg-type]
    infos = [one, one] if second_signer else [one]
    certs = certificates if certificates is not None else [pki.seal_asn1, pki.root_asn1]
    return content_info(infos, certs, digests=(digest,), content=content)


def with_seal(pdf: bytes, pki: Pki, **options: object) -> bytes:
    """`pdf` with its /Contents replaced by `seal_cms(pdf, pki, **options)` (zero-padded)."""
    return put_cms(pdf, seal_cms(pdf, pki, **options))  # type: ignore[arg-type]
