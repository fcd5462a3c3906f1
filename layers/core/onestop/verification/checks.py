"""The two checks that read the PDF itself: integrity (the seal covers an unaltered file) and issuer.

`analyse_pdf` runs inside the verification worker (see `onestop/sandbox.py`) because it parses untrusted
bytes. It never raises: whatever a hostile file provokes ends as a failed check with a reason.

Integrity, for the bureau's seal (or, when no signature is the bureau's, for every signature):
- our own byte-range check first (cheap, and what catches USF/SWA-style manipulations): `/ByteRange`
  is `[0 a b c]` inside the file, the gap `a..b` is exactly the `/Contents` hex string, and that
  string is not an empty placeholder;
- the file ends at a `%%EOF` and every byte after the sealed part belongs to a later revision;
- no weak digest (MD5, SHA-1: SHAttered);
- pyHanko `validate_pdf_signature` with difference analysis: digest intact, signature valid,
  coverage ENTIRE_FILE, or ENTIRE_REVISION with later revisions that only add validation data or
  document timestamps (modification level NONE or LTA_UPDATES and DocMDP respected). Form filling,
  annotations and anything else fail: a licence has nothing to fill in or annotate.

Issuer, for the same signature: the signer certificate chains to one of the trust anchors, has key
usage digitalSignature + nonRepudiation, and was valid at signing time (the time from a trusted
signature timestamp when there is one, else the signing time the signer put in the signature).
No network: `allow_fetching=False`, revocation mode "soft-fail" (only revocation data embedded in the
file counts; a licence's own withdrawal is the registry's business, see the status check).
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import logging
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from asn1crypto import x509 as asn1_x509
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.fields import enumerate_sig_fields
from pyhanko.sign.validation import EmbeddedPdfSignature, validate_pdf_signature
from pyhanko.sign.validation.status import PdfSignatureStatus, SignatureCoverageLevel
from pyhanko_certvalidator import CertificateValidator, ValidationContext
from pyhanko_certvalidator.errors import ExpiredError, NotYetValidError
from pyhanko_certvalidator.path import ValidationPath

from onestop.identifiers.licence_id import ROOT as LICENCE_ID_ROOT

from .anchors import TrustAnchors, fingerprint
from .report import Check, CheckResult, failed, passed

WEAK_DIGESTS = frozenset({"md2", "md4", "md5", "sha1"})
REQUIRED_KEY_USAGE = frozenset({"digital_signature", "non_repudiation"})
CLOCK_SKEW = timedelta(minutes=5)
ALLOWED_LATER_UPDATES = frozenset({ModificationLevel.NONE, ModificationLevel.LTA_UPDATES})
_HEX = re.compile(rb"[0-9A-Fa-f]*")
_MiB = 1024 * 1024
_MAX_INFO_CHARS = 500


@dataclass(frozen=True)
class PdfFacts:
    """What the worker found: the two PDF checks and the licence face data from the sealed revision."""

    integrity: CheckResult
    issuer: CheckResult
    licence_id: str | None
    face: dict[str, Any] = field(default_factory=dict)
    # SHA-256 of the sealed bytes (`/ByteRange` end) when only allowed updates follow them: the file
    # as issued, which the registry's fingerprint is compared with.
    sealed_sha256: str | None = None


def _decode_limits() -> Any:
    """Tighter stream-decoding bounds than pyHanko's untrusted-input defaults (a licence's largest
    stream is its ~30 KB font): a zlib bomb stops at 32 MB per stream and 64 MB per document."""
    try:
        from pyhanko.pdf_utils.decode_limits import DecodeLimits, DocumentDecodeBudget, StreamDecodeLimits
    except ImportError:  # pyHanko < 0.38: the worker's memory cap and deadline still bound it
        return None
    return DecodeLimits(
        per_stream=StreamDecodeLimits(max_output_size=32 * _MiB),
        document_budget=DocumentDecodeBudget(base_allowance=64 * _MiB, max_ratio=20),
    )


def quiet_pyhanko() -> None:
    """pyHanko logs a stack trace for every untrusted or altered signature; the report says it better."""
    for name in ("pyhanko", "pyhanko_certvalidator", "pyhanko.sign", "pyhanko.pdf_utils"):
        logging.getLogger(name).setLevel(logging.CRITICAL)


# ----------------------------------------------------------------------------- reasons


def _integrity_fail(code: str, zh: str, en: str, **details: Any) -> CheckResult:
    return failed(Check.INTEGRITY, code, zh, en, **details)


def _issuer_fail(code: str, zh: str, en: str, **details: Any) -> CheckResult:
    return failed(Check.ISSUER, code, zh, en, **details)


NOT_SIGNED = (
    "not_signed",
    "文件未加盖电子印章（没有有效的数字签名），不是电子证照原件。",
    "The document carries no seal (no digital signature); it is not an original e-licence.",
)
NO_SEAL_FOR_ISSUER = (
    "no_seal",
    "文件没有可核验的电子印章，无法确认签发机关。",
    "There is no seal to check, so the issuer cannot be established.",
)


def _not_pdf() -> PdfFacts:
    zh, en = "文件不是PDF文件。", "The file is not a PDF."
    return PdfFacts(
        _integrity_fail("not_pdf", zh, en),
        _issuer_fail(NO_SEAL_FOR_ISSUER[0], NO_SEAL_FOR_ISSUER[1], NO_SEAL_FOR_ISSUER[2]),
        None,
    )


# ----------------------------------------------------------------------------- entry point


def analyse_pdf(
    data: bytes,
    roots_der: Sequence[bytes],
    seals_der: Sequence[bytes],
    now: datetime,
    max_signatures: int = 8,
) -> PdfFacts:
    """Integrity and issuer of `data` against the given anchors. Never raises."""
    quiet_pyhanko()
    try:
        anchors = TrustAnchors.from_der(roots_der, seals_der)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return _analyse(data, anchors, now, max_signatures)
    except RecursionError:
        return _unreadable("RecursionError", "objects nested too deeply")
    except Exception as exc:  # hostile input may raise anything; it is a failed check, never a 500
        return _unreadable(type(exc).__name__, str(exc))


def _unreadable(error_type: str, message: str) -> PdfFacts:
    return PdfFacts(
        _integrity_fail(
            "pdf_unreadable",
            "文件结构损坏或异常，无法核验签章。",
            "The file's structure is damaged or abnormal; its seal cannot be checked.",
            error=f"{error_type}: {message[:300]}",
        ),
        _issuer_fail(*NO_SEAL_FOR_ISSUER),
        None,
    )


@dataclass
class _Sig:
    """One signature field as found, with everything learnt about it."""

    name: str
    sig_object: Any
    problem: CheckResult | None = None  # byte-range or structure problem found before pyHanko
    emb: EmbeddedPdfSignature | None = None
    status: PdfSignatureStatus | None = None
    error: str | None = None  # pyHanko refused the signature structure
    issuer: CheckResult | None = None
    signing_time: datetime | None = None

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {"field": self.name}
        if self.emb is not None:
            try:
                out["signer"] = self.emb.signer_cert.subject.human_friendly
                out["signer_sha256"] = fingerprint(self.emb.signer_cert)
            except Exception:
                out["signer"] = None
            out["signed_revision"] = self.emb.signed_revision
            out["md_algorithm"] = self.emb.md_algorithm
        if self.signing_time is not None:
            out["signing_time"] = self.signing_time.isoformat()
        if self.issuer is not None:
            out["bureau_seal"] = self.issuer.passed
        return out


def _analyse(data: bytes, anchors: TrustAnchors, now: datetime, max_signatures: int) -> PdfFacts:
    if b"%PDF-" not in data[:1024]:
        return _not_pdf()
    try:
        reader = PdfFileReader(io.BytesIO(data), strict=True, decode_limits=_decode_limits())
        revisions = reader.xrefs.total_revisions
    except Exception as exc:
        return PdfFacts(
            _integrity_fail(
                "pdf_damaged",
                "PDF文件结构损坏（交叉引用表或文件尾无法读取），无法核验签章。",
                "The PDF structure is damaged (cross-reference table or trailer unreadable); "
                "its seal cannot be checked.",
                error=f"{type(exc).__name__}: {str(exc)[:300]}",
            ),
            _issuer_fail(*NO_SEAL_FOR_ISSUER),
            None,
        )
    if reader.encrypted:
        return PdfFacts(
            _integrity_fail(
                "pdf_encrypted",
                "文件已加密。电子证照从不加密，此文件不是电子证照原件。",
                "The file is encrypted. E-licences are never encrypted; this is not an original.",
            ),
            _issuer_fail(*NO_SEAL_FOR_ISSUER),
            None,
        )

    sigs = _collect(reader, data, max_signatures)
    if isinstance(sigs, CheckResult) or not sigs:
        # Unsealed: still say what the file claims to be (the status check's fingerprint comparison
        # keeps a copied identifier from passing for the original).
        face = _face(reader, revisions - 1)
        integrity = (
            sigs if isinstance(sigs, CheckResult) else _integrity_fail(*NOT_SIGNED, revisions=revisions)
        )
        return PdfFacts(integrity, _issuer_fail(*NO_SEAL_FOR_ISSUER), face.get("licence_id"), face)
    for sig in sigs:
        _validate(sig, anchors, now)

    seal = next((s for s in sigs if s.issuer is not None and s.issuer.passed), None)
    judged = [seal] if seal is not None else sigs
    results = [_integrity_of(s, data, reader) for s in judged]
    integrity = next((r for r in results if not r.passed), results[0])
    integrity = _with_details(integrity, revisions=revisions, signatures=[s.summary() for s in sigs])

    principal = seal or _principal(sigs)
    issuer = principal.issuer if principal.issuer is not None else _issuer_fail(*NO_SEAL_FOR_ISSUER)
    if seal is None and len(sigs) > 1:
        issuer = _with_details(issuer, signatures=[s.summary() for s in sigs])
    sealed_rev = principal.emb.signed_revision if principal.emb is not None else revisions - 1
    face = _face(reader, sealed_rev)
    sealed_sha256 = None
    if integrity.passed and principal.emb is not None:
        current = face if sealed_rev == revisions - 1 else _face(reader, revisions - 1)
        integrity = _metadata_kept(integrity, face, current)
    if integrity.passed and principal.emb is not None:  # still: the metadata may have been rewritten
        covered_to = int(principal.emb.byte_range[2]) + int(principal.emb.byte_range[3])
        sealed_sha256 = hashlib.sha256(data[:covered_to]).hexdigest()
    return PdfFacts(integrity, issuer, face.get("licence_id"), face, sealed_sha256)


_LICENCE_INFO_KEYS = ("licence_id", "number", "holder_code", "name_zh", "issuer_name")


def _metadata_kept(integrity: CheckResult, sealed: dict[str, Any], current: dict[str, Any]) -> CheckResult:
    """pyHanko lets a later revision rewrite /Info; for a licence, its identifying entries must not change."""
    changed = [k for k in _LICENCE_INFO_KEYS if sealed.get(k) != current.get(k)]
    if not changed:
        return integrity
    return _integrity_fail(
        "metadata_changed_after_sealing",
        "签章后文件的证照信息（文档属性中的标识、编号等）被改写，文件已被改动。",
        "After sealing, the licence data in the document properties (identifier, number, …) was "
        "rewritten; the file was altered.",
        changed=changed,
        **integrity.details,
    )


def _with_details(result: CheckResult, **extra: Any) -> CheckResult:
    details = {**result.details, **extra}
    return CheckResult(result.check, result.verdict, result.code, result.reason_zh, result.reason_en, details)


def _principal(sigs: list[_Sig]) -> _Sig:
    """Without a bureau seal, the signature to describe: the first one pyHanko could read."""
    return next((s for s in sigs if s.emb is not None), sigs[0])


# ----------------------------------------------------------------------------- collecting


def _collect(reader: PdfFileReader, data: bytes, max_signatures: int) -> list[_Sig] | CheckResult:
    """Every filled signature field (document timestamps excluded), in signed-revision order."""
    found: list[_Sig] = []
    for fq_name, value, field_ref in enumerate_sig_fields(reader, filled_status=True):
        sig_object = value.get_object() if value is not None else None
        if not isinstance(sig_object, generic.DictionaryObject):
            found.append(
                _Sig(str(fq_name), sig_object, problem=_malformed_sig("the /V entry is not a dictionary"))
            )
            continue
        if sig_object.get("/Type") == "/DocTimeStamp":
            continue  # an allowed LTA addition; the seal's difference analysis judges it
        if len(found) >= max_signatures:
            return _integrity_fail(
                "too_many_signatures",
                f"文件含有超过{max_signatures}个签名，不是电子证照原件。",
                f"The file has more than {max_signatures} signatures; it is not an original e-licence.",
            )
        sig = _Sig(str(fq_name), sig_object)
        sig.problem = _byte_range_problem(data, sig_object)
        if sig.problem is None or sig.problem.code != NOT_SIGNED[0]:
            try:
                sig.emb = EmbeddedPdfSignature(reader, field_ref, fq_name)
            except Exception as exc:
                sig.problem = sig.problem or _malformed_sig(f"{type(exc).__name__}: {str(exc)[:200]}")
        found.append(sig)
    if found and all(s.problem is not None and s.problem.code == NOT_SIGNED[0] for s in found):
        return []  # only empty placeholders: the document was never signed
    return sorted(found, key=lambda s: s.emb.signed_revision if s.emb is not None else 1 << 30)


def _malformed_sig(error: str) -> CheckResult:
    return _integrity_fail(
        "signature_malformed",
        "签名数据结构异常，无法核验（可能被篡改）。",
        "The signature data is malformed and cannot be checked (it may have been tampered with).",
        error=error,
    )


def _byte_range_problem(data: bytes, sig_object: generic.DictionaryObject) -> CheckResult | None:
    """The PDF-Insecurity checks on /ByteRange and /Contents, on the raw bytes."""
    byte_range = sig_object.get("/ByteRange")
    contents = sig_object.get("/Contents")
    if not isinstance(contents, bytes) or not contents.strip(b"\x00"):
        return _integrity_fail(*NOT_SIGNED)
    if (
        not isinstance(byte_range, generic.ArrayObject)
        or len(byte_range) != 4
        or not all(isinstance(x, int) and not isinstance(x, bool) for x in byte_range)
    ):
        return _byte_range_fail("the byte range is not four integers", byte_range)
    start, len1, start2, len2 = (int(x) for x in byte_range)
    if start != 0 or len1 <= 0 or start2 <= len1 or len2 < 0 or start2 + len2 > len(data):
        return _byte_range_fail("the byte range does not describe [0 a b c] inside the file", byte_range)
    gap = data[len1:start2]
    hex_digits = gap[1:-1]
    if (
        len(gap) < 2
        or gap[:1] != b"<"
        or gap[-1:] != b">"
        or not _HEX.fullmatch(hex_digits)
        or len(hex_digits) % 2
    ):
        return _byte_range_fail("the unsigned gap is not exactly one hex string", byte_range)
    if bytes.fromhex(hex_digits.decode("ascii")) != bytes(contents):
        return _byte_range_fail("the unsigned gap is not the signature's /Contents", byte_range)
    return None


def _byte_range_fail(error: str, byte_range: Any) -> CheckResult:
    return _integrity_fail(
        "byte_range_manipulated",
        "签名的字节范围（ByteRange）异常：未签名的部分不只是签名值本身，文件可能被篡改。",
        "The signature's byte range is abnormal: the unsigned part is not just the signature value; "
        "the file may have been tampered with.",
        error=error,
        byte_range=_safe_list(byte_range),
    )


def _safe_list(value: Any) -> list[Any] | None:
    if isinstance(value, generic.ArrayObject):
        return [int(x) if isinstance(x, int) else str(x)[:40] for x in list(value)[:8]]
    return None


# ----------------------------------------------------------------------------- validating


def _run(coro: Any) -> Any:
    return asyncio.run(coro)


def _validate(sig: _Sig, anchors: TrustAnchors, now: datetime) -> None:
    """pyHanko's validation (integrity facts) and our issuer check, each failure kept as a reason."""
    emb = sig.emb
    if emb is None:
        return
    reported: datetime | None
    try:
        reported = emb.self_reported_timestamp
    except Exception:
        reported = None
    if (
        sig.problem is None
        and emb.md_algorithm not in WEAK_DIGESTS
        and _mechanism_hash(emb) not in WEAK_DIGESTS
    ):
        moment = min(reported, now) if reported is not None else now
        context = ValidationContext(
            trust_roots=list(anchors.roots),
            other_certs=list(anchors.seals),
            allow_fetching=False,
            revocation_mode="soft-fail",
            moment=moment,
        )
        try:
            sig.status = validate_pdf_signature(emb, context)
        except Exception as exc:  # e.g. encapsulated content in a detached signature
            sig.error = f"{type(exc).__name__}: {str(exc)[:300]}"
    sig.signing_time = _signing_time(sig.status, reported)
    # pyHanko already validated the chain against the same anchors at the same moment when it calls
    # the signature trusted: reuse that path instead of building it twice (the common, genuine case).
    trusted_path = None
    if (
        sig.status is not None
        and sig.status.trusted
        and sig.signing_time == (min(reported, now) if reported else None)
    ):
        trusted_path = sig.status.validation_path
    try:
        sig.issuer = issuer_check(
            emb.signer_cert, list(emb.other_embedded_certs), anchors, sig.signing_time, now, trusted_path
        )
    except Exception as exc:
        sig.issuer = _issuer_fail(
            "signer_certificate_unreadable",
            "签名中的证书无法读取。",
            "The certificate in the signature cannot be read.",
            error=f"{type(exc).__name__}: {str(exc)[:200]}",
        )


def _mechanism_hash(emb: EmbeddedPdfSignature) -> str | None:
    try:
        return str(emb.signer_info["signature_algorithm"].hash_algo).lower()
    except Exception:  # RSA PKCS#1 v1.5 names no hash here: the digest algorithm is the one used
        return None


def _signing_time(status: PdfSignatureStatus | None, reported: datetime | None) -> datetime | None:
    """A trusted signature timestamp's time, else the signing time the signer reported."""
    if status is not None:
        tst = status.timestamp_validity
        if tst is not None and tst.valid and tst.intact and tst.trusted:
            return _aware(tst.timestamp)
        if status.signer_reported_dt is not None:
            return _aware(status.signer_reported_dt)
    return _aware(reported) if reported is not None else None


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _integrity_of(sig: _Sig, data: bytes, reader: PdfFileReader) -> CheckResult:
    details = sig.summary()
    if sig.problem is not None:
        return _with_details(sig.problem, **details)
    emb = sig.emb
    assert emb is not None
    weak = {emb.md_algorithm, _mechanism_hash(emb)} & WEAK_DIGESTS
    if weak:
        name = sorted(weak)[0].upper().replace("SHA", "SHA-")
        return _integrity_fail(
            "weak_digest",
            f"签名使用了已被攻破的摘要算法 {name}，不能证明文件未被改动。",
            f"The signature uses the broken digest algorithm {name}; it cannot prove the file is unaltered.",
            **details,
        )
    if sig.error is not None or sig.status is None:
        return _with_details(_malformed_sig(sig.error or "no result"), **details)
    tail = data.rstrip(b"\x00\t\n\x0c\r ")
    if not tail.endswith(b"%%EOF"):
        return _integrity_fail(
            "data_after_eof",
            "文件末尾（%%EOF之后）被追加了数据，文件已被改动。",
            "Data was appended after the end of the file (%%EOF); the file was altered.",
            **details,
        )
    status = sig.status
    details.update(
        coverage=status.coverage.name if status.coverage else None,
        modification_level=status.modification_level.name if status.modification_level else None,
        docmdp_ok=status.docmdp_ok,
    )
    if not status.intact:
        return _integrity_fail(
            "content_changed",
            "签章后文件内容被改动：签名所覆盖的字节与签名时不一致。",
            "The content was changed after sealing: the signed bytes differ from those that were sealed.",
            **details,
        )
    if not status.valid:
        return _integrity_fail(
            "signature_invalid",
            "签名值校验失败，签章已损坏或系伪造。",
            "The signature value does not verify: the seal is damaged or forged.",
            **details,
        )
    covered_to = int(emb.byte_range[2]) + int(emb.byte_range[3])
    if status.coverage is SignatureCoverageLevel.ENTIRE_FILE and covered_to == len(data):
        return passed(
            Check.INTEGRITY,
            "intact",
            "文件自加盖电子印章后未被改动，签章覆盖整个文件。",
            "The document has not been altered since it was sealed; the seal covers the whole file.",
            **details,
        )
    if status.coverage is not SignatureCoverageLevel.ENTIRE_REVISION:
        return _integrity_fail(
            "not_whole_file",
            "签章没有覆盖整个文件，未覆盖的部分可能被改动。",
            "The seal does not cover the whole file; the uncovered part may have been altered.",
            **details,
        )
    last = reader.xrefs.total_revisions - 1
    if emb.signed_revision >= last or reader.xrefs.get_startxref_for_revision(last) < covered_to:
        return _integrity_fail(
            "bytes_after_signature",
            "签章之后的文件内容不是规范的增量更新，文件已被改动。",
            "What follows the sealed part of the file is not a proper incremental update; "
            "the file was altered.",
            **details,
        )
    return _modification_result(status, details)


def _modification_result(status: PdfSignatureStatus, details: dict[str, Any]) -> CheckResult:
    level = status.modification_level
    if level in ALLOWED_LATER_UPDATES and status.docmdp_ok is not False:
        return passed(
            Check.INTEGRITY,
            "intact_with_validation_data",
            "文件自加盖电子印章后内容未被改动；之后仅追加了验证数据或时间戳。",
            "The content has not been altered since sealing; only validation data or timestamps "
            "were added since.",
            **details,
        )
    if level is ModificationLevel.FORM_FILLING:
        return _integrity_fail(
            "form_filled_after_sealing",
            "签章后文件被追加了表单填写或另一个签名。电子证照没有可填写的内容，此类追加即视为改动。",
            "After sealing, form fields were filled in or another signature was added. A licence has "
            "nothing to fill in, so this counts as an alteration.",
            **details,
        )
    if level is ModificationLevel.ANNOTATIONS:
        return _integrity_fail(
            "annotations_added",
            "签章后文件被追加了批注，批注可在页面上覆盖显示文字或图案，视为改动。",
            "Annotations were added after sealing; they can overlay text or images on the page, so this "
            "counts as an alteration.",
            **details,
        )
    return _integrity_fail(
        "modified_after_sealing",
        "签章后文件被增量更新改动了内容（如替换页面内容、增加覆盖层）。",
        "An incremental update after sealing changed the content (e.g. replaced page content or added "
        "an overlay).",
        **details,
    )


# ----------------------------------------------------------------------------- issuer


def _name(cert: asn1_x509.Certificate) -> str:
    try:
        return str(cert.subject.human_friendly)
    except Exception:
        return "?"


def _key_usage(cert: asn1_x509.Certificate) -> set[str]:
    value = cert.key_usage_value
    return set(value.native) if value is not None else set()


def issuer_check(
    cert: asn1_x509.Certificate,
    embedded: Sequence[asn1_x509.Certificate],
    anchors: TrustAnchors,
    signing_time: datetime | None,
    now: datetime,
    trusted_path: ValidationPath | None = None,
) -> CheckResult:
    """Chain to an anchor, seal key usage, validity at signing time, and (when known) a published seal.

    `trusted_path`: a path pyHanko already validated for this certificate against these anchors at
    `signing_time`; without one the path is built and validated here.
    """
    at = signing_time or now
    details: dict[str, Any] = {
        "signer": _name(cert),
        "signer_sha256": fingerprint(cert),
        "signer_issuer": cert.issuer.human_friendly,
        "signing_time": signing_time.isoformat() if signing_time else None,
        "revocation": "soft-fail, no fetching: only revocation data embedded in the file",
    }
    if at > now + CLOCK_SKEW:
        return _issuer_fail(
            "signing_time_in_future",
            "签名时间晚于当前时间，签名不可信。",
            "The signing time lies in the future; the signature cannot be trusted.",
            **details,
        )
    validity = cert["tbs_certificate"]["validity"]
    not_before, not_after = validity["not_before"].native, validity["not_after"].native
    details.update(not_before=not_before.isoformat(), not_after=not_after.isoformat())
    try:
        path = trusted_path or _validate_path(cert, embedded, anchors, at)
    except (ExpiredError, NotYetValidError) as exc:
        return _issuer_fail(
            "certificate_not_valid_at_signing",
            f"签章证书（或其上级证书）在签名时（{at:%Y-%m-%d %H:%M} UTC）不在有效期内"
            f"（签章证书有效期 {not_before:%Y-%m-%d} 至 {not_after:%Y-%m-%d}）。",
            f"The seal certificate (or one above it) was not valid at signing time ({at:%Y-%m-%d %H:%M} "
            f"UTC; the seal certificate is valid {not_before:%Y-%m-%d} to {not_after:%Y-%m-%d}).",
            error=f"{type(exc).__name__}: {str(exc)[:200]}",
            **details,
        )
    except Exception as exc:
        known_names = {c.subject.dump() for c in (*anchors.roots, *anchors.seals)}
        impersonating = cert.subject.dump() in known_names or cert.issuer.dump() in known_names
        zh = "签章证书不是由局方根证书签发的，不能确认为局方电子印章。"
        en = "The seal certificate was not issued by the bureau's root; it is not the bureau's seal."
        if impersonating:
            zh += "证书名称与局方证书相同，系冒用。"
            en += " It copies the name of a bureau certificate: an impersonation."
        return _issuer_fail(
            "untrusted_issuer", zh, en, error=f"{type(exc).__name__}: {str(exc)[:200]}", **details
        )
    usage = _key_usage(cert)
    if not usage >= REQUIRED_KEY_USAGE:
        return _issuer_fail(
            "key_usage",
            "签章证书不具备电子印章所需的密钥用途（数字签名与不可否认）。",
            "The certificate lacks the key usage a seal needs (digitalSignature and nonRepudiation).",
            key_usage=sorted(usage),
            **details,
        )
    root = getattr(path.trust_anchor.authority, "certificate", None)
    if root is not None:
        details.update(root=_name(root), root_sha256=fingerprint(root))
    if anchors.seals and fingerprint(cert) not in anchors.seal_fingerprints:
        return _issuer_fail(
            "unpublished_seal",
            "签章证书虽由局方根证书签发，但不在局方公布的电子印章证书清单中。",
            "The certificate chains to the bureau's root but is not one of the seal certificates the bureau "
            "published.",
            **details,
        )
    organisation = _organisation(cert)
    return passed(
        Check.ISSUER,
        "bureau_seal",
        f"由{organisation}的电子印章签发：证书链至局方根证书，签章时证书有效。",
        f"Sealed by {organisation}: the certificate chains to the bureau's root and was valid "
        "at signing time.",
        **details,
    )


def _validate_path(
    cert: asn1_x509.Certificate,
    embedded: Sequence[asn1_x509.Certificate],
    anchors: TrustAnchors,
    at: datetime,
) -> ValidationPath:
    context = ValidationContext(
        trust_roots=list(anchors.roots),
        other_certs=[*anchors.seals, *embedded],
        allow_fetching=False,
        revocation_mode="soft-fail",
        moment=at,
    )
    validator = CertificateValidator(cert, intermediate_certs=list(embedded), validation_context=context)
    path: ValidationPath = _run(validator.async_validate_path())
    return path


def _organisation(cert: asn1_x509.Certificate) -> str:
    native = cert.subject.native
    return str(native.get("organization_name") or native.get("common_name") or _name(cert))


# ----------------------------------------------------------------------------- face data


def _text(value: Any) -> str | None:
    if value is None:
        return None
    try:
        text = str(value.get_object() if isinstance(value, generic.IndirectObject) else value)
    except Exception:
        return None
    return text.strip()[:_MAX_INFO_CHARS] or None


def _face(reader: PdfFileReader, revision: int) -> dict[str, Any]:
    """Licence face data from the document information of the sealed revision.

    Read from the sealed revision on purpose: pyHanko's difference analysis allows /Info to change in
    a later revision, so the current /Info could say anything.
    """
    try:
        # Resolve through the historical resolver: the trailer's references would otherwise resolve to
        # the newest version of the object, i.e. whatever a later revision put there.
        history = reader.get_historical_resolver(max(revision, 0))
        info = history.trailer_view.raw_get("/Info")
        if isinstance(info, generic.IndirectObject):
            info = history.get_object(info.reference)
    except Exception:
        return {}
    if not isinstance(info, generic.DictionaryObject):
        return {}
    title, author = _text(info.get("/Title")), _text(info.get("/Author"))
    subject, keywords = _text(info.get("/Subject")), _text(info.get("/Keywords"))
    words = [w.strip() for w in (keywords or "").split(",")]
    licence_id = subject if subject and subject.startswith(LICENCE_ID_ROOT) else None
    if licence_id is None and words and words[0].startswith(LICENCE_ID_ROOT):
        licence_id = words[0]
    face: dict[str, Any] = {"source": "pdf", "licence_id": licence_id}
    if licence_id is not None and len(words) >= 3:
        face["number"] = words[1] or None
        face["holder_code"] = words[2] or None
    if title:
        number = face.get("number")
        face["name_zh"] = title[: -len(number)].strip() if number and title.endswith(number) else title
    if author:
        face["issuer_name"] = author
    return face
