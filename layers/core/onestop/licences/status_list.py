"""Signed status lists, one per licence type: a Bitstring Status List (W3C VC 2.0 style).

Each licence version gets, at issue, an index in its type's list (allocated atomically by the
registry, never reused). The list is a bitstring of `STATUS_SIZE` = 2 bits per index, most significant
bit first (index 0 = the two leftmost bits of the first byte), gzip-compressed and base64url-encoded
with the multibase prefix "u", as the W3C recommendation's `encodedList`:

    0 valid      1 suspended      2 revoked (撤销, 注销, 吊销: no longer valid for good)      3 superseded

A list is never shorter than `MIN_ENTRIES` (131,072) indexes so that fetching it tells the bureau
nothing about which licence is being checked (the "herd privacy" of the W3C recommendation); zeros
compress to a few hundred bytes.

The published document is the `encodedList` and a compact JWS (`onestop.licences.jws`, typ
`onestop-status-list+jwt`) signed by the seal key over the list's name, its validity window (valid from
its issue time until `VALIDITY` later) and the SHA-256 of the `encodedList` (which can outgrow what
KMS signs in one message). It is republished on
every lifecycle change and by schedule every `REPUBLISH_EVERY`, so a verifier's copy is always fresh
for a day after any publication; a verifier holding an expired list says "status unknown as of …".
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from .jws import TYP_STATUS_LIST, JwsError, SealKey, decode_jws, sign_jws
from .models import LicenceStatus

if TYPE_CHECKING:
    from onestop.verification.anchors import TrustAnchors

STATUS_SIZE = 2
MIN_ENTRIES = 131_072
MAX_ENTRIES = 1 << 24  # 4 MiB of bits at 2 bits an entry; far past any licence type's volume
VALIDITY = timedelta(hours=36)
REPUBLISH_EVERY = timedelta(hours=12)
PUBLIC_PREFIX = "public/"
CONTENT_TYPE = "application/json"

VALID, SUSPENDED, REVOKED, SUPERSEDED = 0, 1, 2, 3
STATUS_MESSAGES = {VALID: "valid", SUSPENDED: "suspended", REVOKED: "revoked", SUPERSEDED: "superseded"}


def status_value(status: LicenceStatus) -> int:
    """The list value of a registry status. `issuing` and expiry are not list states: an unfinished
    licence has no credential yet, and expiry is in the credential itself."""
    if status is LicenceStatus.SUSPENDED:
        return SUSPENDED
    if status is LicenceStatus.SUPERSEDED:
        return SUPERSEDED
    if status in (LicenceStatus.VALID, LicenceStatus.ISSUING, LicenceStatus.EXPIRED):
        return VALID
    return REVOKED  # revoked, cancelled, withdrawn, transferred, other


def status_list_key(name: str) -> str:
    """Object key of a list in the licences bucket (public prefix, served by GET /status-lists/{type})."""
    return f"{PUBLIC_PREFIX}status-lists/{name}.json"


class StatusListError(ValueError):
    """Not a well-formed status list."""


def _pack(entries: Mapping[int, int], size: int) -> bytes:
    bits = bytearray(size * STATUS_SIZE // 8)
    for index, value in entries.items():
        if not 0 <= index < size or not 0 <= value < (1 << STATUS_SIZE):
            raise ValueError(f"status entry {index}={value} out of range")
        bit = index * STATUS_SIZE
        bits[bit // 8] |= value << (8 - STATUS_SIZE - bit % 8)
    return bytes(bits)


def _list_size(entries: Iterable[int]) -> int:
    highest = max(entries, default=-1)
    size = MIN_ENTRIES
    while size <= highest:
        size *= 2
    if size > MAX_ENTRIES:
        raise ValueError("status list too large")
    return size


def _encode_list(bits: bytes) -> str:
    import gzip

    return "u" + base64.urlsafe_b64encode(gzip.compress(bits, 9, mtime=0)).rstrip(b"=").decode("ascii")


def _decode_list(text: Any) -> bytes:
    import gzip
    import zlib

    if not isinstance(text, str) or not text.startswith("u"):
        raise StatusListError("encodedList is not multibase base64url")
    try:
        packed = base64.urlsafe_b64decode(text[1:] + "=" * (-len(text[1:]) % 4))
        # Bounded inflate: a list never exceeds MAX_ENTRIES * STATUS_SIZE bits (gzip bomb otherwise).
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        limit = MAX_ENTRIES * STATUS_SIZE // 8
        bits = inflater.decompress(packed, limit + 1)
    except (ValueError, zlib.error, gzip.BadGzipFile) as exc:
        raise StatusListError("encodedList is not gzip base64url") from exc
    if len(bits) > limit or inflater.unconsumed_tail or not inflater.eof:
        raise StatusListError("encodedList too large or truncated")
    return bits


def _time(value: Any) -> datetime:
    if not isinstance(value, str):
        raise StatusListError("missing time")
    try:
        at = datetime.fromisoformat(value)
    except ValueError as exc:
        raise StatusListError(f"bad time {value!r}") from exc
    return at if at.tzinfo else at.replace(tzinfo=UTC)


@dataclass(frozen=True)
class StatusList:
    """One licence type's signed status list (decoded; `verify` checks the signature)."""

    name: str  # the licence type code
    bits: bytes
    issued_at: datetime
    valid_from: datetime
    valid_until: datetime
    kid: str
    encoded: str  # the published encodedList, bound by its SHA-256 in the JWS
    jws: str  # the signed form: what is published, served, cached and re-verified

    @property
    def size(self) -> int:
        return len(self.bits) * 8 // STATUS_SIZE

    def status_at(self, index: int) -> int | None:
        """The status value of `index`, or None when the list has no such index."""
        if not 0 <= index < self.size:
            return None
        bit = index * STATUS_SIZE
        return (self.bits[bit // 8] >> (8 - STATUS_SIZE - bit % 8)) & ((1 << STATUS_SIZE) - 1)

    def fresh(self, at: datetime) -> bool:
        return self.valid_from - timedelta(minutes=5) <= at <= self.valid_until

    def document(self) -> dict[str, Any]:
        """The published JSON: the JWS, with its dates beside it for people and caches."""
        return {
            "type": "BitstringStatusList",
            "list": self.name,
            "issued_at": self.issued_at.isoformat(),
            "valid_until": self.valid_until.isoformat(),
            "encodedList": self.encoded,
            "jws": self.jws,
        }

    @classmethod
    def from_document(cls, doc: Mapping[str, Any]) -> StatusList:
        """From the published JSON (GET /status-lists/{type}, the CLI's cache). The signed payload says
        everything but the bitstring, which must hash to what it names (signature: `verify`)."""
        token, encoded = doc.get("jws"), doc.get("encodedList")
        if not isinstance(token, str) or not isinstance(encoded, str):
            raise StatusListError("no jws or encodedList")
        try:
            jws = decode_jws(token, typ=TYP_STATUS_LIST)
        except JwsError as exc:
            raise StatusListError(str(exc)) from exc
        body = jws.payload
        if body.get("type") != "BitstringStatusList" or body.get("statusSize") != STATUS_SIZE:
            raise StatusListError("not a 2-bit BitstringStatusList")
        name = body.get("list")
        if not isinstance(name, str) or not name:
            raise StatusListError("list name missing")
        if hashlib.sha256(encoded.encode("ascii", "replace")).hexdigest() != body.get("encodedListSha256"):
            raise StatusListError("encodedList does not match the signed digest")
        return cls(
            name=name,
            bits=_decode_list(encoded),
            issued_at=_time(body.get("issued_at")),
            valid_from=_time(body.get("validFrom")),
            valid_until=_time(body.get("validUntil")),
            kid=jws.kid,
            encoded=encoded,
            jws=token,
        )

    def verify(self, trust: TrustAnchors) -> str | None:
        """None when the list is signed by a seal key of `trust` (chained to one of its roots);
        otherwise why not (English, for logs and the tick's detail). Remembered per list and trust:
        a verifier checks many credentials against one list."""
        return _verify(self.jws, trust)


@lru_cache(maxsize=64)
def _verify(token: str, trust: TrustAnchors) -> str | None:
    from onestop.verification.credential_check import seal_for_kid

    jws = decode_jws(token, typ=TYP_STATUS_LIST)
    seal = seal_for_kid(trust, jws.kid)
    if seal is None:
        return f"status list signed by key {jws.kid!r}, which the trust list does not name"
    if not jws.verified_by(seal.public_key):
        return "status list signature does not verify"
    return None


def build_status_list(
    name: str, entries: Mapping[int, int], *, key: SealKey, at: datetime, validity: timedelta = VALIDITY
) -> StatusList:
    """Sign the list `name` with `entries` (index -> status value); unlisted indexes are valid (0)."""
    at = at.astimezone(UTC).replace(microsecond=0)
    encoded = _encode_list(_pack(entries, _list_size(entries)))
    payload = {
        "type": "BitstringStatusList",
        "list": name,
        "statusPurpose": "message",
        "statusSize": STATUS_SIZE,
        "statusMessages": [{"status": f"0x{k:x}", "message": v} for k, v in STATUS_MESSAGES.items()],
        "encodedListSha256": hashlib.sha256(encoded.encode("ascii")).hexdigest(),
        "issued_at": at.isoformat(),
        "validFrom": at.isoformat(),
        "validUntil": (at + validity).isoformat(),
    }
    token = sign_jws(payload, typ=TYP_STATUS_LIST, key=key)
    return StatusList.from_document({"jws": token, "encodedList": encoded})
