"""The full path: integrity and issuer of any PDF, inside the sandboxed verification worker.

`analyse_pdf` parses untrusted bytes (see `onestop/sandbox.py`); it never raises: whatever a hostile
file provokes ends as a failed check with a reason. The order matters for cost: raw-byte checks and
caps first (structure.py), then parsing, then the seal's byte range and `/Contents` before any CMS is
parsed, then pyHanko's CMS validation, our own post-seal policy (policy.py) and the document
timestamps (timestamps.py), and pyHanko's difference analysis as a second opinion.

The seal is the first signature of the document (the certification signature the bureau applies);
anything signed after it is judged by the post-seal policy. Integrity passes when the seal's CMS
verifies over its byte range and what follows the sealed revision is end-of-line bytes only, or
validation updates that the policy admits and whose timestamps validate.

Issuer is judged only for a signature that verified: the signer chains to a root of the trust bundle,
was valid at signing time, has a seal's key usage, and is one of the published seal certificates. A
signature that does not verify says nothing about who made it: issuer is "not checked" then.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import logging
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from asn1crypto import x509 as asn1_x509
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.fields import enumerate_sig_fields
from pyhanko.sign.validation import EmbeddedPdfSignature, validate_pdf_signature
from pyhanko.sign.validation.status import PdfSignatureStatus
from pyhanko_certvalidator import CertificateValidator, ValidationContext
from pyhanko_certvalidator.errors import ExpiredError, NotYetValidError
from pyhanko_certvalidator.path import ValidationPath

from . import seal_rules
from .anchors import TrustAnchors, fingerprint
from .face import read_face
from .facts import PdfFacts
from .names import confusable_with
from .policy import Finding, review_updates
from .report import Check, CheckResult, failed, passed, unknown
from .structure import (
    DEFAULT_STRUCTURE,
    EOL,
    StructureLimits,
    byte_range_problem,
    cap_problem,
    contents_problem,
    nesting_too_deep,
    too_many_fields,
    too_many_timestamps,
    trailing_problem,
)
from .timestamps import TimestampResult, validate_timestamp

WEAK_DIGESTS = frozenset({"md2", "md4", "md5", "sha1"})
CLOCK_SKEW = timedelta(minutes=5)
ALLOWED_LATER_UPDATES = frozenset({ModificationLevel.NONE, ModificationLevel.LTA_UPDATES})
_MiB = 1024 * 1024

__all__ = ["PdfFacts", "analyse_pdf", "issuer_check", "quiet_pyhanko"]


def _decode_limits() -> Any:
    """Tighter stream-decoding bounds than pyHanko's untrusted-input defaults (a licence's largest
    stream is its ~30 KB font): a zlib bomb stops at 16 MB per stream and 32 MB per document."""
    try:
        from pyhanko.pdf_utils.decode_limits import DecodeLimits, DocumentDecodeBudget, StreamDecodeLimits
    except ImportError:  # pyHanko < 0.38: the worker's memory cap and deadline still bound it
        return None
    return DecodeLimits(
        per_stream=StreamDecodeLimits(max_output_size=16 * _MiB),
        document_budget=DocumentDecodeBudget(base_allowance=32 * _MiB, max_ratio=20),
    )


def quiet_pyhanko() -> None:
    """pyHanko logs a stack trace for every untrusted or altered signature; the report says it better."""
    for name in ("pyhanko", "pyhanko_certvalidator", "pyhanko.sign", "pyhanko.pdf_utils"):
        logging.getLogger(name).setLevel(logging.CRITICAL)


# ----------------------------------------------------------------------------- reasons


def _integrity_fail(code: str, zh: str, en: str, **details: Any) -> CheckResult:
    return failed(Check.INTEGRITY, code, zh, en, **details)


NOT_SIGNED = (
    "not_signed",
    "文件未加盖电子印章（没有有效的数字签名），不是电子证照原件。",
    "The document carries no seal (no digital signature); it is not an original e-licence.",
)


def issuer_not_checked(why_zh: str = "", why_en: str = "", **details: Any) -> CheckResult:
    """No verified signature: nothing can be said about who sealed the file."""
    return unknown(
        Check.ISSUER,
        "issuer_not_checked",
        "没有通过验证的电子印章，无法确认签发机关。" + why_zh,
        "There is no seal whose signature verifies, so the issuer cannot be established." + why_en,
        **details,
    )


def _facts(integrity: CheckResult, face: dict[str, Any] | None = None, **details: Any) -> PdfFacts:
    face = face or {}
    return PdfFacts(integrity, issuer_not_checked(**details), face.get("licence_id"), face)


# ----------------------------------------------------------------------------- entry point


def analyse_pdf(
    data: bytes,
    roots_der: Sequence[bytes],
    seals_der: Sequence[bytes],
    tsa_der: Sequence[bytes],
    now: datetime,
    limits: StructureLimits = DEFAULT_STRUCTURE,
) -> PdfFacts:
    """Integrity and issuer of `data` against the given trust bundle. Never raises."""
    quiet_pyhanko()
    try:
        anchors = TrustAnchors.from_der(roots_der, seals_der, tsa=tsa_der)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return _analyse(data, anchors, now, limits)
    except RecursionError:
        return _facts(nesting_too_deep())
    except Exception as exc:  # hostile input may raise anything; it is a failed check, never a 500
        return _facts(_unreadable(type(exc).__name__, str(exc)))


def _unreadable(error_type: str, message: str) -> CheckResult:
    return _integrity_fail(
        "pdf_unreadable",
        "文件结构损坏或异常，无法核验签章。",
        "The file's structure is damaged or abnormal; its seal cannot be checked.",
        error=f"{error_type}: {message[:300]}",
    )


@dataclass
class _Sig:
    """One signature field as found, with everything learnt about it."""

    name: str
    field_ref: Any
    sig_object: Any
    problem: CheckResult | None = None  # byte-range, /Contents or structure problem found before pyHanko
    emb: EmbeddedPdfSignature | None = None
    status: PdfSignatureStatus | None = None
    error: str | None = None  # pyHanko refused the signature structure
    signing_time: datetime | None = None

    @property
    def field_reference(self) -> generic.Reference | None:
        """The seal field's object reference (what the post-seal policy guards)."""
        return self.field_ref.reference if isinstance(self.field_ref, generic.IndirectObject) else None

    @property
    def verified(self) -> bool:
        """The CMS signature verifies over its byte range (who signed is another question)."""
        return self.problem is None and self.status is not None and self.status.intact and self.status.valid

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
        return out


def _analyse(data: bytes, anchors: TrustAnchors, now: datetime, limits: StructureLimits) -> PdfFacts:
    if b"%PDF-" not in data[:1024]:
        return _facts(_integrity_fail("not_pdf", "文件不是PDF文件。", "The file is not a PDF."))
    early = trailing_problem(data) or cap_problem(data, limits)
    if early is not None:
        return _facts(early)
    try:
        reader = PdfFileReader(io.BytesIO(data), strict=True, decode_limits=_decode_limits())
        revisions = reader.xrefs.total_revisions
    except RecursionError:
        raise
    except Exception as exc:
        return _facts(
            _integrity_fail(
                "pdf_damaged",
                "PDF文件结构损坏（交叉引用表或文件尾无法读取），无法核验签章。",
                "The PDF structure is damaged (cross-reference table or trailer unreadable); "
                "its seal cannot be checked.",
                error=f"{type(exc).__name__}: {str(exc)[:300]}",
            )
        )
    if reader.encrypted:
        return _facts(
            _integrity_fail(
                "pdf_encrypted",
                "文件已加密。电子证照从不加密，此文件不是电子证照原件。",
                "The file is encrypted. E-licences are never encrypted; this is not an original.",
            )
        )
    if revisions > limits.max_revisions:
        return _facts(
            _integrity_fail(
                "too_many_revisions",
                f"文件有{revisions}次增量更新，超过{limits.max_revisions}次的上限，不是电子证照原件。",
                f"The file has {revisions} revisions, over the limit of {limits.max_revisions}; "
                "it is not an original e-licence.",
                revisions=revisions,
            )
        )
    found = _collect(reader, data, limits)
    if isinstance(found, CheckResult):
        return _facts(found, read_face(reader, revisions - 1))
    if not found:
        face = read_face(reader, revisions - 1)
        return _facts(_unsigned(reader, data, revisions), face)
    seal = found[0]
    _validate(seal, anchors, now)
    integrity = _integrity_of(seal, data, reader, anchors, now, limits)
    integrity = _with_details(integrity, revisions=revisions, signatures=[s.summary() for s in found])
    issuer = _issuer_of(seal, anchors, now)
    sealed_rev = seal.emb.signed_revision if seal.emb is not None else revisions - 1
    face = read_face(reader, sealed_rev)
    sealed_sha256 = None
    updates = 0
    if integrity.passed and seal.emb is not None:
        covered_to = int(seal.emb.byte_range[2]) + int(seal.emb.byte_range[3])
        sealed_sha256 = hashlib.sha256(data[:covered_to]).hexdigest()
        updates = revisions - 1 - sealed_rev
    return PdfFacts(integrity, issuer, face.get("licence_id"), face, sealed_sha256, updates)


def _unsigned(reader: PdfFileReader, data: bytes, revisions: int) -> CheckResult:
    """No filled signature field now: never sealed, or a seal that a later revision removed or retyped."""
    if b"/ByteRange" in data:
        for r in range(revisions - 1):
            try:
                earlier = [
                    v
                    for _, v, _ in enumerate_sig_fields(reader.get_historical_resolver(r), filled_status=True)
                ]
            except Exception:  # noqa: S112 - an unreadable old revision proves nothing either way
                continue
            if any(_filled(v) for v in earlier):
                return _integrity_fail(
                    "seal_removed",
                    "文件曾加盖电子印章，但之后的修改删除或改写了印章签名域，文件已被改动。",
                    "The file was sealed, but a later revision removed or retyped the seal's signature "
                    "field; the file was altered.",
                    sealed_revision=r,
                    revisions=revisions,
                )
    return _integrity_fail(*NOT_SIGNED, revisions=revisions)


def _filled(value: Any) -> bool:
    """A signature value with a non-empty /Contents (not a placeholder)."""
    try:
        sig = value.get_object() if isinstance(value, generic.IndirectObject) else value
        contents = sig.get("/Contents") if isinstance(sig, generic.DictionaryObject) else None
    except Exception:
        return False
    return isinstance(contents, bytes) and bool(contents.strip(b"\x00"))


def _with_details(result: CheckResult, **extra: Any) -> CheckResult:
    details = {**result.details, **extra}
    return CheckResult(result.check, result.verdict, result.code, result.reason_zh, result.reason_en, details)


# ----------------------------------------------------------------------------- collecting


def _collect(reader: PdfFileReader, data: bytes, limits: StructureLimits) -> list[_Sig] | CheckResult:
    """Every filled signature field except document timestamps (the post-seal policy judges those),
    in signed-revision order; a cap exceeded or only empty placeholders end it early."""
    found: list[_Sig] = []
    count = stamps = 0
    for fq_name, value, field_ref in enumerate_sig_fields(reader, filled_status=True):
        count += 1
        if count > limits.max_signature_fields:
            return too_many_fields(count, limits)
        sig_object = value.get_object() if value is not None else None
        if isinstance(sig_object, generic.DictionaryObject) and sig_object.get("/Type") == "/DocTimeStamp":
            stamps += 1
            if stamps > limits.max_timestamps:
                return too_many_timestamps(stamps, limits)
            continue
        sig = _Sig(str(fq_name), field_ref, sig_object)
        if not isinstance(sig_object, generic.DictionaryObject):
            sig.problem = _malformed_sig("the /V entry is not a dictionary")
            found.append(sig)
            continue
        sig.problem = _raw_problem(data, sig_object, limits)
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


def _raw_problem(
    data: bytes, sig_object: generic.DictionaryObject, limits: StructureLimits
) -> CheckResult | None:
    """Before any CMS parsing: a signature value is present, within the size cap, zero-padded, and the
    byte range describes exactly the file around it."""
    contents = sig_object.get("/Contents")
    if not isinstance(contents, bytes) or not contents.strip(b"\x00"):
        return _integrity_fail(*NOT_SIGNED)
    problem = contents_problem(bytes(contents), limits)
    if problem is not None:
        return problem
    byte_range = sig_object.get("/ByteRange")
    as_list = list(byte_range) if isinstance(byte_range, generic.ArrayObject) else None
    error = byte_range_problem(data, as_list, bytes(contents))
    if error is None:
        return None
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


def _reported_time(emb: EmbeddedPdfSignature) -> datetime | None:
    try:
        return emb.self_reported_timestamp
    except Exception:
        return None


def _validate(sig: _Sig, anchors: TrustAnchors, now: datetime) -> None:
    """pyHanko's CMS validation and difference analysis (our second opinion)."""
    emb = sig.emb
    if emb is None:
        return
    reported = _reported_time(emb)
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
        ts_context = ValidationContext(
            trust_roots=list(anchors.tsa) or list(anchors.roots),
            allow_fetching=False,
            revocation_mode="soft-fail",
        )
        try:
            sig.status = validate_pdf_signature(emb, context, ts_validation_context=ts_context)
        except Exception as exc:  # e.g. encapsulated content in a detached signature
            sig.error = f"{type(exc).__name__}: {str(exc)[:300]}"
    sig.signing_time = _signing_time(sig.status, reported)


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


def _integrity_of(
    sig: _Sig,
    data: bytes,
    reader: PdfFileReader,
    anchors: TrustAnchors,
    now: datetime,
    limits: StructureLimits,
) -> CheckResult:
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
        if emb.signed_revision < reader.xrefs.total_revisions - 1:
            # pyHanko gave up (e.g. on a hybrid xref): our own policy may still say what was done.
            try:
                review = review_updates(reader, data, emb.signed_revision, sig.field_reference)
            except Exception:
                review = None
            if review is not None and not review.allowed:
                return _policy_fail(review.first(), review.findings, details)
        return _with_details(_malformed_sig(sig.error or "no result"), **details)
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
    last = reader.xrefs.total_revisions - 1
    if emb.signed_revision == last:
        if data[covered_to:].strip(EOL):
            return _integrity_fail(
                "data_after_eof",
                "文件末尾被追加了数据，文件已被改动。",
                "Data was appended to the end of the file; the file was altered.",
                **details,
            )
        return passed(
            Check.INTEGRITY,
            "intact",
            "文件自加盖电子印章后未被改动，签章覆盖整个文件。",
            "The document has not been altered since it was sealed; the seal covers the whole file.",
            **details,
        )
    if (
        emb.signed_revision > last
        or reader.xrefs.get_startxref_for_revision(emb.signed_revision + 1) < covered_to
    ):
        return _integrity_fail(
            "bytes_after_signature",
            "签章之后的文件内容不是规范的增量更新，文件已被改动。",
            "What follows the sealed part of the file is not a proper incremental update; "
            "the file was altered.",
            **details,
        )
    return _later_updates(sig, data, reader, anchors, now, limits, details)


def _later_updates(
    sig: _Sig,
    data: bytes,
    reader: PdfFileReader,
    anchors: TrustAnchors,
    now: datetime,
    limits: StructureLimits,
    details: dict[str, Any],
) -> CheckResult:
    """Our allowlist over every later revision, every document timestamp validated, then pyHanko's view."""
    assert sig.emb is not None
    assert sig.status is not None
    review = review_updates(reader, data, sig.emb.signed_revision, sig.field_reference)
    details.update(updates=review.updates, dss_revisions=review.dss_revisions)
    if not review.allowed:
        return _policy_fail(review.first(), review.findings, details)
    if len(review.timestamps) > limits.max_timestamps:
        return _with_details(too_many_timestamps(len(review.timestamps), limits), **details)
    results = [
        validate_timestamp(
            reader,
            ts,
            _timestamp_raw_problem(reader, data, ts.field_ref, limits),
            anchors.tsa,
            sig.signing_time,
            now,
        )
        for ts in review.timestamps
    ]
    details["timestamps"] = [r.as_dict() for r in results]
    bad = next((r for r in results if r.problem is not None), None)
    if bad is not None:
        return _timestamp_fail(bad, details)
    status = sig.status
    if status.modification_level not in ALLOWED_LATER_UPDATES or status.docmdp_ok is False:
        # Our policy admitted it, pyHanko did not: the stricter of two opinions wins.
        return _integrity_fail(
            "modified_after_sealing",
            "签章后文件被增量更新改动了内容（第二意见：pyHanko差异分析）。",
            "An incremental update after sealing changed the content (second opinion: pyHanko's "
            "difference analysis).",
            **details,
        )
    n = review.updates
    stamps = "、".join(f"{r.time:%Y-%m-%d %H:%M} UTC（{r.tsa}）" for r in results if r.time)
    stamps_en = "; ".join(f"{r.time:%Y-%m-%d %H:%M} UTC by {r.tsa}" for r in results if r.time)
    return passed(
        Check.INTEGRITY,
        "intact_with_validation_data",
        f"文件自加盖电子印章后内容未被改动；之后有{n}次更新，仅追加了验证数据"
        + (f"或经验证的文档时间戳：{stamps}。" if stamps else "。"),
        f"The content has not been altered since sealing; {n} later update(s) only added validation data"
        + (f" or document timestamps that validate: {stamps_en}." if stamps_en else "."),
        **details,
    )


_POLICY_REASONS: dict[str, tuple[str, str]] = {
    "annotation_added_after_sealing": (
        "签章后文件被追加了批注或覆盖层，它们可以在页面上遮盖或改写文字、图案和链接，视为改动。",
        "Annotations were added after sealing; they can cover or rewrite text, images and links on the page, "
        "so this counts as an alteration.",
    ),
    "timestamp_not_invisible": (
        "签章后追加的“文档时间戳”签名域并非不可见（位置、外观或附加项异常），可用于在页面上显示内容，视为改动。",
        "A 'document timestamp' field added after sealing is not provably invisible (its position, "
        "appearance or extra entries); it can show content on the page, so this counts as an alteration.",
    ),
    "form_field_added_after_sealing": (
        "签章后文件被追加了表单域或另一个签名。电子证照没有可填写的内容，此类追加即视为改动。",
        "After sealing, form fields or another signature were added. A licence has nothing to fill in, "
        "so this counts as an alteration.",
    ),
    "page_changed_after_sealing": (
        "签章后页面被增量更新改动（如替换页面内容、增加覆盖层）。",
        "An incremental update after sealing changed a page (e.g. replaced its content or added an overlay).",
    ),
    "metadata_changed_after_sealing": (
        "签章后文件的元数据（文档属性或XMP元数据中的证照信息）被改写，文件已被改动。",
        "After sealing, the document metadata (document properties or XMP) was rewritten; "
        "the file was altered.",
    ),
    "document_changed_after_sealing": (
        "签章后文件的文档级结构被改动（如打开动作、书签、名称树或目录）。",
        "After sealing, document-level structure was changed (e.g. an open action, bookmarks, a name tree or "
        "the catalog).",
    ),
    "seal_removed": (
        "签章后的修改删除或改写了印章签名域，文件已被改动。",
        "A later revision removed or rewrote the seal's signature field; the file was altered.",
    ),
    "xref_manipulated": (
        "签章后的增量更新的交叉引用表异常（混合交叉引用、指向其他更新的对象、未列出的对象），这是隐藏改动的手法。",
        "The cross-reference data of an update after sealing is abnormal (hybrid xref, entries pointing into "
        "other revisions, unlisted objects): a technique for hiding changes.",
    ),
    "object_changed_after_sealing": (
        "签章后的增量更新重新定义或删除了已签章文档中的对象，文件已被改动。",
        "An incremental update after sealing redefined or deleted objects of the sealed document; the file "
        "was altered.",
    ),
    "orphan_object_after_sealing": (
        "签章后的增量更新加入了与验证数据无关的对象，文件已被改动。",
        "An incremental update after sealing added objects that are not validation data; "
        "the file was altered.",
    ),
}


def _policy_fail(first: Finding, findings: list[Finding], details: dict[str, Any]) -> CheckResult:
    zh, en = _POLICY_REASONS.get(first.code, _POLICY_REASONS["object_changed_after_sealing"])
    return _integrity_fail(
        first.code,
        zh,
        f"{en} Found: {first.what}.",
        findings=[f.as_dict() for f in findings[:20]],
        **details,
    )


_TIMESTAMP_REASONS: dict[str, tuple[str, str]] = {
    "timestamp_invalid": (
        "签章后追加的文档时间戳无效（不是有效的时间戳令牌，或与文件内容不符），视为改动。",
        "A document timestamp added after sealing is not valid (not a genuine timestamp token, "
        "or it does not "
        "match the file); this counts as an alteration.",
    ),
    "timestamp_untrusted": (
        "签章后追加的文档时间戳不是由受信任的时间戳服务机构签发的，视为改动。",
        "A document timestamp added after sealing was not issued by a trusted time-stamping authority; this "
        "counts as an alteration.",
    ),
    "timestamp_time_implausible": (
        "签章后追加的文档时间戳的时间不合理（早于签章或晚于当前时间），视为改动。",
        "A document timestamp added after sealing has an implausible time "
        "(before the seal or in the future); "
        "this counts as an alteration.",
    ),
}


def _timestamp_fail(bad: TimestampResult, details: dict[str, Any]) -> CheckResult:
    assert bad.problem is not None
    code, why = bad.problem
    zh, en = _TIMESTAMP_REASONS[code]
    return _integrity_fail(code, zh, f"{en} ({why})", **details)


def _timestamp_raw_problem(
    reader: PdfFileReader, data: bytes, field_ref: Any, limits: StructureLimits
) -> str | None:
    try:
        value = reader.get_object(field_ref)["/V"]
        sig_object = value.get_object() if isinstance(value, generic.IndirectObject) else value
    except Exception as exc:
        return f"the timestamp's value cannot be read ({type(exc).__name__})"
    problem = _raw_problem(data, sig_object, limits)
    if problem is None:
        return None
    return str(problem.details.get("error") or problem.reason_en)


# ----------------------------------------------------------------------------- issuer


def _issuer_of(seal: _Sig, anchors: TrustAnchors, now: datetime) -> CheckResult:
    if seal.emb is None or not seal.verified:
        return issuer_not_checked(
            "（签名本身未通过验证）",
            " (the signature itself does not verify)",
            **({"signer_claimed": _claimed(seal)} if seal.emb is not None else {}),
        )
    reported = _reported_time(seal.emb)
    trusted_path = None
    status = seal.status
    if (
        status is not None
        and status.trusted
        and seal.signing_time == (min(reported, now) if reported else None)
    ):
        trusted_path = status.validation_path  # pyHanko already built it against the same anchors
    try:
        return issuer_check(
            seal.emb.signer_cert,
            list(seal.emb.other_embedded_certs),
            anchors,
            seal.signing_time,
            now,
            trusted_path,
        )
    except Exception as exc:
        return failed(
            Check.ISSUER,
            "signer_certificate_unreadable",
            "签名中的证书无法读取。",
            "The certificate in the signature cannot be read.",
            error=f"{type(exc).__name__}: {str(exc)[:200]}",
        )


def _claimed(seal: _Sig) -> str | None:
    try:
        return seal_rules.name_of(seal.emb.signer_cert) if seal.emb is not None else None
    except Exception:
        return None


def _impersonation(cert: asn1_x509.Certificate, anchors: TrustAnchors) -> str | None:
    """The bureau name a foreign certificate copies or imitates, if any."""
    known_ders = {c.subject.dump() for c in (*anchors.roots, *anchors.seals)}
    if cert.subject.dump() in known_ders or cert.issuer.dump() in known_ders:
        return seal_rules.name_of(cert)
    names = seal_rules.known_names(anchors)
    for subject in (cert.subject.native, cert.issuer.native):
        for key in ("organization_name", "common_name"):
            value = subject.get(key)
            if isinstance(value, str):
                if value in names:
                    return value
                imitated = confusable_with(value, names)
                if imitated:
                    return imitated
    return None


def issuer_check(
    cert: asn1_x509.Certificate,
    embedded: Sequence[asn1_x509.Certificate],
    anchors: TrustAnchors,
    signing_time: datetime | None,
    now: datetime,
    trusted_path: ValidationPath | None = None,
) -> CheckResult:
    """For a signature that verified: chain to a root, validity at signing time, seal key usage, a
    published seal. `trusted_path`: a path pyHanko already validated for this certificate against
    these anchors at `signing_time`; without one the path is built and validated here.
    """
    at = signing_time or now
    details: dict[str, Any] = {
        "signer": seal_rules.name_of(cert),
        "signer_sha256": fingerprint(cert),
        "signer_issuer": cert.issuer.human_friendly,
        "signing_time": signing_time.isoformat() if signing_time else None,
        "revocation": "soft-fail, no fetching: only revocation data embedded in the file",
    }
    if at > now + CLOCK_SKEW:
        return failed(
            Check.ISSUER,
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
        return failed(
            Check.ISSUER,
            "certificate_not_valid_at_signing",
            f"签章证书（或其上级证书）在签名时（{at:%Y-%m-%d %H:%M} UTC）不在有效期内"
            f"（签章证书有效期 {not_before:%Y-%m-%d} 至 {not_after:%Y-%m-%d}）。",
            f"The seal certificate (or one above it) was not valid at signing time ({at:%Y-%m-%d %H:%M} "
            f"UTC; the seal certificate is valid {not_before:%Y-%m-%d} to {not_after:%Y-%m-%d}).",
            error=f"{type(exc).__name__}: {str(exc)[:200]}",
            **details,
        )
    except Exception as exc:
        imitated = _impersonation(cert, anchors)
        error = f"{type(exc).__name__}: {str(exc)[:200]}"
        if imitated:
            return failed(
                Check.ISSUER,
                "impersonation",
                f"签章证书不是由局方根证书签发的，却使用了与局方相同或形近的名称（“{imitated}”），系冒用。",
                f"The seal certificate was not issued by the bureau's root, yet it uses a name identical or "
                f'confusable with the bureau\'s ("{imitated}"): an impersonation.',
                imitated=imitated,
                error=error,
                **details,
            )
        return failed(
            Check.ISSUER,
            "untrusted_issuer",
            "签章证书不是由局方根证书签发的，不能确认为局方电子印章。",
            "The seal certificate was not issued by the bureau's root; it is not the bureau's seal.",
            error=error,
            **details,
        )
    root = getattr(path.trust_anchor.authority, "certificate", None)
    if root is not None:
        details.update(root=seal_rules.name_of(root), root_sha256=fingerprint(root))
    problem = seal_rules.usage_problem(cert, details) or seal_rules.publication_problem(
        cert, anchors, details
    )
    return problem or seal_rules.bureau_seal(cert, details)


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
