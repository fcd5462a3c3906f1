"""Document timestamps after the seal: every one validated, every one reported.

A `/DocTimeStamp` the policy admitted (invisible field, own revision) must also be a real RFC 3161
token over exactly its byte range (message imprint), signed by a TSA whose certificate chains to the
bundle's TSA anchors and carries the timeStamping extended key usage, with a genTime no earlier than
the seal and not in the future. One that does not is an alteration: it would otherwise let anything
typed `/DocTimeStamp` ride along as "validation data".
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from asn1crypto import x509 as asn1_x509
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import EmbeddedPdfSignature
from pyhanko.sign.validation.pdf_embedded import async_validate_pdf_timestamp
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

from .anchors import fingerprint
from .policy import TimestampField

CLOCK_SKEW = timedelta(minutes=5)
TIME_STAMPING = "time_stamping"


@dataclass(frozen=True)
class TimestampResult:
    """One document timestamp: what it says, and the problem with it if any (code, English reason)."""

    field: str
    revision: int
    time: datetime | None
    tsa: str | None
    tsa_sha256: str | None
    problem: tuple[str, str] | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "field": self.field,
            "revision": self.revision,
            "time": self.time.isoformat() if self.time else None,
            "tsa": self.tsa,
            "tsa_sha256": self.tsa_sha256,
            "valid": self.problem is None,
            **({"problem": self.problem[1]} if self.problem else {}),
        }


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _eku(cert: asn1_x509.Certificate) -> set[str]:
    value = cert.extended_key_usage_value
    return set(value.native) if value is not None else set()


def validate_timestamp(
    reader: PdfFileReader,
    ts: TimestampField,
    byte_range_problem: str | None,
    tsa_anchors: Sequence[asn1_x509.Certificate],
    sealed_at: datetime | None,
    now: datetime,
) -> TimestampResult:
    """Validate one document timestamp. Never raises."""
    result = TimestampResult(ts.name, ts.revision, None, None, None)
    if byte_range_problem:
        return _with(result, "timestamp_invalid", byte_range_problem)
    try:
        emb = EmbeddedPdfSignature(reader, reader.get_object(ts.field_ref), ts.name)
        signer = emb.signer_cert
        result = TimestampResult(
            ts.name, ts.revision, None, signer.subject.human_friendly, fingerprint(signer)
        )
    except Exception as exc:
        return _with(result, "timestamp_invalid", f"not an RFC 3161 timestamp token ({type(exc).__name__})")
    if not tsa_anchors:
        return _with(result, "timestamp_untrusted", "no TSA is trusted by this trust bundle")
    context = ValidationContext(
        trust_roots=list(tsa_anchors), allow_fetching=False, revocation_mode="soft-fail", moment=now
    )
    try:
        status = asyncio.run(async_validate_pdf_timestamp(emb, context, skip_diff=True))
    except Exception as exc:
        return _with(result, "timestamp_invalid", f"the token cannot be validated ({type(exc).__name__})")
    at = _aware(status.timestamp) if status.timestamp else None
    result = TimestampResult(ts.name, ts.revision, at, result.tsa, result.tsa_sha256)
    if not status.intact or not status.valid:
        return _with(result, "timestamp_invalid", "the token's imprint or signature does not match the file")
    if status.coverage not in (SignatureCoverageLevel.ENTIRE_REVISION, SignatureCoverageLevel.ENTIRE_FILE):
        return _with(result, "timestamp_invalid", "the token does not cover its whole revision")
    if TIME_STAMPING not in _eku(signer):
        return _with(result, "timestamp_untrusted", "the signer has no timeStamping extended key usage")
    if not status.trusted:
        return _with(
            result, "timestamp_untrusted", "the TSA does not chain to a TSA anchor of the trust bundle"
        )
    if at is None or at > now + CLOCK_SKEW:
        return _with(result, "timestamp_time_implausible", "the timestamp's time lies in the future")
    if sealed_at is not None and at < sealed_at - CLOCK_SKEW:
        return _with(result, "timestamp_time_implausible", "the timestamp's time is earlier than the seal")
    return result


def _with(result: TimestampResult, code: str, reason: str) -> TimestampResult:
    return TimestampResult(
        result.field, result.revision, result.time, result.tsa, result.tsa_sha256, (code, reason)
    )
