"""The fast path for originals: a file the bureau's seal covers whole, checked with `cryptography`.

When exactly one signature's `/ByteRange` covers the whole file (only end-of-line bytes after it), every
byte but the `/Contents` hex string is authenticated by that signature: there is no later revision to
analyse. So instead of pyHanko's validator and difference analysis we check, directly:
the byte range and the gap, `/Contents` size and zero padding, the CMS (one SignerInfo, detached,
content-type data, message digest over the byte range, signing-certificate-v2 binding, ECDSA or RSA
signature over the signed attributes), the signer being a published seal with the right key usage, its
chain to a root of the bundle (one level, as the bureau's PKI is built) and its validity at signing time.

Anything unexpected (a timestamp token, another chain shape, a second signature, an unpublished
signer) returns None: the full path in the sandboxed worker decides, with its reasons. The fast path
only ever says "pass"; it never fails a file on its own.
"""

from __future__ import annotations

import hashlib
import io
import re
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from asn1crypto import cms, tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from pyhanko.sign.general import check_ess_certid
from pyhanko.sign.validation.generic_cms import get_signing_cert_attr

from . import seal_rules
from .anchors import TrustAnchors, fingerprint
from .facts import PdfFacts
from .report import Check, passed
from .structure import DEFAULT_STRUCTURE, StructureLimits, byte_range_problem, content_end, contents_problem

CLOCK_SKEW = timedelta(minutes=5)
_BYTE_RANGE = re.compile(rb"/ByteRange\s*\[\s*(\d{1,10})\s+(\d{1,10})\s+(\d{1,10})\s+(\d{1,10})\s*\]")
_HASHES: dict[str, type[hashes.SHA256 | hashes.SHA384 | hashes.SHA512]] = {
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}


@lru_cache(maxsize=64)
def _issued_by(cert_der: bytes, root_der: bytes) -> bool:
    """The certificate's signature verifies under the root's key (cached: the same pair every time)."""
    try:
        x509.load_der_x509_certificate(cert_der).verify_directly_issued_by(
            x509.load_der_x509_certificate(root_der)
        )
    except Exception:
        return False
    return True


def _within(cert: asn1_x509.Certificate, at: datetime) -> bool:
    validity = cert["tbs_certificate"]["validity"]
    return bool(validity["not_before"].native <= at <= validity["not_after"].native)


def _attrs(signer_info: cms.SignerInfo) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for attr in signer_info["signed_attrs"]:
        out.setdefault(attr["type"].native, []).append(attr["values"])
    return out


def _signer_cert(signed_data: cms.SignedData, signer_info: cms.SignerInfo) -> asn1_x509.Certificate | None:
    sid = signer_info["sid"]
    for choice in signed_data["certificates"] or []:
        if choice.name != "certificate":
            continue
        cert = choice.chosen
        if sid.name == "issuer_and_serial_number":
            same_issuer = cert.issuer.dump() == sid.chosen["issuer"].dump()  # bytes: Name.__eq__ is slow
            if same_issuer and cert.serial_number == sid.chosen["serial_number"].native:
                return cert
        elif cert.key_identifier == sid.chosen.native:
            return cert
    return None


@lru_cache(maxsize=64)
def _binds(cert_der: bytes, certid_der: bytes, v2: bool) -> bool:
    """pyHanko's check of a signing-certificate(-v2) binding (cached: every licence of a seal carries the
    same one, and pyHanko compares its issuer with asn1crypto's slow name equality)."""
    certid = (tsp.ESSCertIDv2 if v2 else tsp.ESSCertID).load(certid_der)
    return bool(check_ess_certid(asn1_x509.Certificate.load(cert_der), certid))


@lru_cache(maxsize=64)
def _public_key(cert_der: bytes) -> Any:
    return x509.load_der_x509_certificate(cert_der).public_key()


def _der_len(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def _signature_ok(cert: asn1_x509.Certificate, signer_info: cms.SignerInfo, raw: bytes, digest: str) -> bool:
    key = _public_key(cert.dump())
    # The signature is over the attributes' DER with the SET OF tag (not the [0] of the SignerInfo);
    # re-tag the original bytes rather than re-encode them (`untag().dump()` costs ~6 ms).
    signed = b"\x31" + _der_len(len(raw)) + raw
    signature = signer_info["signature"].native
    algorithm = signer_info["signature_algorithm"]
    algo = algorithm.signature_algo
    try:
        hash_name = algorithm.hash_algo  # "sha256_ecdsa" names its hash, as pyHanko verifies it
    except ValueError:
        hash_name = digest  # a bare "ecdsa" or "rsassa_pkcs1v15": the digest algorithm's
    if hash_name not in _HASHES:
        return False  # a weak hash: the full path explains
    hash_cls = _HASHES[hash_name]
    try:
        if algo == "ecdsa" and isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, signed, ec.ECDSA(hash_cls()))
        elif algo == "rsassa_pkcs1v15" and isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, signed, padding.PKCS1v15(), hash_cls())
        else:
            return False
    except InvalidSignature:
        return False
    return True


# `/M` and its value in the signature dictionary: a literal string (escapes and all: pyHanko writes the
# colon of "D:" as \072) or a hex string; read with pyHanko's own object reader, as the full path reads it.
_M = re.compile(rb"/M\s*(\((?:[^()\\]|\\.)*\)|<[0-9A-Fa-f\s]*>)", re.S)


def _signing_time(data: bytes, at: int, attrs: dict[str, list[Any]]) -> datetime | None:
    """The signing time the signer reported, as pyHanko's `self_reported_timestamp` reads it for the full
    path: the one signed signing-time value, else the signature dictionary's /M (inside the signed bytes,
    as PAdES puts it). None when there is no such time or more than one: the full path decides."""
    times = [value for values in attrs.get("signing_time", []) for value in values]
    if len(times) > 1:
        return None
    if times:
        signed_at: datetime = times[0].native
        return signed_at
    from pyhanko.pdf_utils.generic import Reference, parse_pdf_date, read_object

    # The signature dictionary around its /ByteRange (its /Contents holds hex digits only).
    start = data.rfind(b" obj", 0, at)
    stop = data.find(b"endobj", at)
    found = _M.findall(data, start, stop) if start >= 0 and stop >= 0 else []
    if len(found) != 1:
        return None
    return parse_pdf_date(str(read_object(io.BytesIO(found[0]), Reference(0))), strict=True)


def _face(data: bytes) -> dict[str, Any]:
    """The file is authenticated by now: read its /Info directly, else with pyHanko's reader."""
    from .face import read_face, read_face_authenticated

    face = read_face_authenticated(data)
    if face is not None:
        return face
    from pyhanko.pdf_utils.reader import PdfFileReader

    reader = PdfFileReader(io.BytesIO(data), strict=True)
    return read_face(reader, reader.xrefs.total_revisions - 1)


@lru_cache(maxsize=64)
def _described(cert_der: bytes, root_der: bytes) -> tuple[dict[str, str], bool]:
    """What the report says of a seal certificate and its root, and whether its usage is a seal's
    (cached per certificate pair: asn1crypto's name rendering is the slowest part of the fast path)."""
    cert, root = asn1_x509.Certificate.load(cert_der), asn1_x509.Certificate.load(root_der)
    details = {
        "signer": seal_rules.name_of(cert),
        "signer_sha256": fingerprint(cert),
        "signer_issuer": cert.issuer.human_friendly,
        "root": seal_rules.name_of(root),
        "root_sha256": fingerprint(root),
        "organisation": seal_rules.organisation(cert),
    }
    validity = cert["tbs_certificate"]["validity"]
    details.update(
        not_before=validity["not_before"].native.isoformat(),
        not_after=validity["not_after"].native.isoformat(),
    )
    return details, seal_rules.usage_problem(cert, {}) is None


def whole_file_seal(
    data: bytes, anchors: TrustAnchors, now: datetime, limits: StructureLimits = DEFAULT_STRUCTURE
) -> PdfFacts | None:
    """The verdict for a whole-file bureau seal, or None when the full path must decide. Never raises."""
    try:
        return _whole_file_seal(data, anchors, now, limits)
    except Exception:
        return None


def _whole_file_seal(
    data: bytes, anchors: TrustAnchors, now: datetime, limits: StructureLimits
) -> PdfFacts | None:
    end = content_end(data)
    if end is None or data[end:].strip(b"\r\n") or not anchors.seals_published:
        return None
    ranges = list(_BYTE_RANGE.finditer(data))
    if len(ranges) != 1 or data.count(b"/ByteRange") != 1:
        return None
    a, b, c, d = (int(x) for x in ranges[0].groups())
    covered_to = c + d  # the sealed file itself ends with an EOL after its %%EOF, covered too
    if not end <= covered_to <= len(data):
        return None
    gap = data[b + 1 : c - 1]
    if len(gap) % 2 or len(gap) // 2 > limits.max_contents_bytes:
        return None
    contents = bytes.fromhex(gap.decode("ascii"))
    if byte_range_problem(data, [a, b, c, d], contents) or contents_problem(contents, limits):
        return None
    info = cms.ContentInfo.load(contents)  # the zero padding after the DER is not read
    if info["content_type"].native != "signed_data":
        return None
    signed_data = info["content"]
    if (
        len(signed_data["signer_infos"]) != 1
        or signed_data["encap_content_info"]["content"].native is not None
    ):
        return None
    signer_info = signed_data["signer_infos"][0]
    raw_attrs = signer_info["signed_attrs"].contents  # before anything parsed below re-encodes it
    digest = signer_info["digest_algorithm"]["algorithm"].native
    if digest not in _HASHES or signer_info["unsigned_attrs"].native:
        return None  # weak digests and signature timestamps: the full path explains
    attrs = _attrs(signer_info)
    if [v.native for v in attrs.get("content_type", [])] != [["data"]]:
        return None
    covered = hashlib.new(digest, data[a:b])
    covered.update(data[c : c + d])
    if [v.native for v in attrs.get("message_digest", [])] != [[covered.digest()]]:
        return None
    signing_time = _signing_time(data, ranges[0].start(), attrs)
    if signing_time is None:
        return None
    cert = _signer_cert(signed_data, signer_info)
    if cert is None or fingerprint(cert) not in anchors.seal_fingerprints:
        return None
    # The signing-certificate(-v2) binding, checked as the full path's pyHanko checks it (raises on two).
    binding = get_signing_cert_attr(signer_info["signed_attrs"])
    v2 = isinstance(binding, tsp.SigningCertificateV2)
    if binding is not None and not _binds(cert.dump(), binding["certs"][0].dump(), v2):
        return None
    if not _signature_ok(cert, signer_info, raw_attrs, digest):
        return None
    if signing_time > now + CLOCK_SKEW or not _within(cert, signing_time):
        return None
    root = anchors.roots_by_subject.get(cert.issuer.dump())
    if root is None or not _within(root, signing_time) or not _issued_by(cert.dump(), root.dump()):
        return None
    described, usage_ok = _described(cert.dump(), root.dump())
    if not usage_ok:
        return None
    details: dict[str, Any] = {
        **{k: v for k, v in described.items() if k != "organisation"},
        "signing_time": signing_time.isoformat(),
        "revocation": "soft-fail, no fetching: only revocation data embedded in the file",
    }

    face = _face(data)
    revisions = data.count(b"startxref")
    integrity = passed(
        Check.INTEGRITY,
        "intact",
        "文件自加盖电子印章后未被改动，签章覆盖整个文件。",
        "The document has not been altered since it was sealed; the seal covers the whole file.",
        revisions=revisions,
        fast_path=True,
        signatures=[{"signer": details["signer"], "signer_sha256": details["signer_sha256"],
                     "md_algorithm": digest, "signing_time": details["signing_time"]}],
    )  # fmt: skip
    return PdfFacts(
        integrity,
        seal_rules.bureau_seal_named(described["organisation"], details),
        face.get("licence_id"),
        face,
        hashlib.sha256(data[:covered_to]).hexdigest(),
    )
