"""The signed QR credential printed on every licence: COSE_Sign1 over CBOR, zlib, base45 (as the EU DCC).

Text in the QR code: ``OS1:`` + base45(zlib(COSE_Sign1)). Every character is in the QR alphanumeric
set (base45 is RFC 9285's alphabet, the prefix is upper case), so the QR encoder packs 5.5 bits a
character instead of 8.

The COSE_Sign1 (RFC 9052, tag 18) has the protected header ``{1: -7 (ES256), 4: kid}`` where kid is the
8-byte key id of the seal certificate (`onestop.verification.anchors.key_id`), no unprotected header,
the CBOR payload below and the raw 64-byte r||s ECDSA P-256 signature by the seal key in KMS (the key
that seals the PDF). Payload keys are small integers to keep the QR small:

    1 licence id without the GB/T 36904 root "1.2.156.3005.2."   (text)
    2 holder name   3 holder code   4 item code                    (text)
    5 valid from    6 valid until (absent = long-term)             (days since 1970-01-01)
    7 status-list index                                            (uint)
    8 SHA-256 of the licence's canonical facts (`facts_digest`)    (32 bytes)
    9 issued at                                                    (seconds since the epoch, UTC)

The version, the licence type and the status list (one per licence type) are read from the licence
id, so they cannot disagree with it. Why the facts digest and not the sealed PDF's SHA-256: the QR is
drawn inside the PDF it would have to hash (docs/decisions.md, "Signed QR credential").

cbor2 and zlib are imported inside the functions: the verify and issue handlers import this module,
and only a request that carries a credential pays for them. Base45 (RFC 9285) is done here: the
`base45` package decodes a QR text in ~0.4 ms of pure-Python list work, this in a tenth of that
(tests hold the two to the same output).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric import ec

    from .models import LicenceMetadata

CREDENTIAL_PREFIX = "OS1:"
# The PDF's document information entry that repeats the QR's credential (licences/render.py), where an
# offline verifier of the PDF reads it (verification/face.py).
CREDENTIAL_INFO_KEY = "LicenceCredential"
ID_ROOT = "1.2.156.3005.2."
COSE_SIGN1_TAG = 18
ALG_ES256 = -7
KID_BYTES = 8
# A credential is a few hundred bytes; anything inflating past this is not one of ours (zlib bomb).
MAX_COSE_BYTES = 4096
MAX_TEXT_CHARS = 8192
_EPOCH = date(1970, 1, 1)

# CBOR payload keys
K_ID, K_NAME, K_CODE, K_ITEM, K_FROM, K_UNTIL, K_INDEX, K_DIGEST, K_IAT = range(1, 10)


class CredentialError(ValueError):
    """The text is not a well-formed credential (nothing about its signature: that is the check's)."""

    def __init__(self, code: str, message_zh: str, message_en: str) -> None:
        super().__init__(message_en)
        self.code = code
        self.message_zh = message_zh
        self.message_en = message_en


def _malformed(detail: str) -> CredentialError:
    return CredentialError(
        "credential_malformed",
        f"二维码内容不是有效的电子证照凭证（{detail}）。",
        f"The QR code does not hold a well-formed licence credential ({detail}).",
    )


@dataclass(frozen=True)
class Credential:
    """What the QR credential states about one licence version."""

    licence_id: str
    version: int
    holder_name: str
    holder_code: str
    item_code: str
    licence_type: str  # the 21-character type code
    valid_from: date
    valid_until: date | None  # None = long-term
    status_list: str  # the status list's name: the licence type code
    status_index: int
    digest: str  # hex SHA-256 of the licence's canonical facts (`facts_digest`)
    kid: str  # hex key id of the seal certificate that signed it
    issued_at: datetime

    def as_dict(self) -> dict[str, Any]:
        return {
            "licence_id": self.licence_id,
            "version": self.version,
            "holder_name": self.holder_name,
            "holder_code": self.holder_code,
            "item_code": self.item_code,
            "licence_type": self.licence_type,
            "valid_from": self.valid_from.isoformat(),
            "valid_until": self.valid_until.isoformat() if self.valid_until else None,
            "status_list": self.status_list,
            "status_index": self.status_index,
            "digest": self.digest,
            "kid": self.kid,
            "issued_at": self.issued_at.astimezone(UTC).isoformat(),
        }


def facts_digest(meta: LicenceMetadata) -> str:
    """Hex SHA-256 of the licence's canonical facts: its GB/T 36903 metadata as JSON with sorted keys,
    no whitespace, UTF-8. The registry record holds the same metadata, so anyone holding the record
    (or the PDF's face data) can recompute it."""
    canonical = json.dumps(meta.as_dict(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def credential_for(meta: LicenceMetadata, *, status_index: int, kid: str, issued_at: datetime) -> Credential:
    """The credential of a licence version (the status list is the licence type's)."""
    return Credential(
        licence_id=meta.licence_id,
        version=meta.version,
        holder_name=meta.holder_name,
        holder_code=meta.holder_code,
        item_code=meta.item_code,
        licence_type=meta.type_code,
        valid_from=meta.valid_from,
        valid_until=meta.valid_until,
        status_list=meta.type_code,
        status_index=status_index,
        digest=facts_digest(meta),
        kid=kid,
        issued_at=issued_at,
    )


def looks_like_credential(text: str) -> bool:
    """Whether a QR text claims to be a credential (a URL or anything else does not)."""
    return text.startswith(CREDENTIAL_PREFIX)


# ----------------------------------------------------------------------------- encode


def _days(d: date) -> int:
    return (d - _EPOCH).days


def _payload(cred: Credential) -> dict[int, Any]:
    from onestop.identifiers.licence_id import parse_licence_id

    parsed = parse_licence_id(cred.licence_id)
    if (parsed.version, parsed.type_code) != (cred.version, cred.licence_type) or (
        cred.status_list != cred.licence_type
    ):
        raise ValueError("the credential's version, type and status list must be those of its licence id")
    if not cred.licence_id.startswith(ID_ROOT):
        raise ValueError("licence id without the GB/T 36904 root")
    out: dict[int, Any] = {
        K_ID: cred.licence_id[len(ID_ROOT) :],
        K_NAME: cred.holder_name,
        K_CODE: cred.holder_code,
        K_ITEM: cred.item_code,
        K_FROM: _days(cred.valid_from),
        K_INDEX: cred.status_index,
        K_DIGEST: bytes.fromhex(cred.digest),
        K_IAT: int(cred.issued_at.timestamp()),
    }
    if cred.valid_until is not None:
        out[K_UNTIL] = _days(cred.valid_until)
    return out


def sig_structure(protected: bytes, payload: bytes) -> bytes:
    """The bytes a COSE_Sign1 signature covers (RFC 9052 §4.4, no external AAD)."""
    import cbor2

    return cbor2.dumps(["Signature1", protected, b"", payload])


def encode_credential(cred: Credential, sign: Callable[[bytes], bytes]) -> str:
    """The QR text of `cred`, signed by `sign` (message -> DER ECDSA P-256/SHA-256 signature, as KMS
    and pyHanko's signers return it; converted here to COSE's raw r||s)."""
    import cbor2

    kid = bytes.fromhex(cred.kid)
    if len(kid) != KID_BYTES:
        raise ValueError(f"a kid is {KID_BYTES} bytes")
    protected = cbor2.dumps({1: ALG_ES256, 4: kid})
    payload = cbor2.dumps(_payload(cred))
    signature = der_to_raw(sign(sig_structure(protected, payload)))
    message = cbor2.dumps(cbor2.CBORTag(COSE_SIGN1_TAG, [protected, {}, payload, signature]))
    return CREDENTIAL_PREFIX + b45encode(_deflate(message))


B45_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
_B45_VALUE = {c: i for i, c in enumerate(B45_ALPHABET)}


def b45encode(data: bytes) -> str:
    """RFC 9285: each 2 bytes (big-endian) as 3 base-45 digits, least significant first; a last
    single byte as 2."""
    out: list[str] = []
    for i in range(0, len(data) - 1, 2):
        n = data[i] << 8 | data[i + 1]
        n, c = divmod(n, 45)
        e, d = divmod(n, 45)
        out += (B45_ALPHABET[c], B45_ALPHABET[d], B45_ALPHABET[e])
    if len(data) % 2:
        d, c = divmod(data[-1], 45)
        out += (B45_ALPHABET[c], B45_ALPHABET[d])
    return "".join(out)


def b45decode(text: str) -> bytes:
    """RFC 9285 decoding; ValueError on a character outside the alphabet, a dangling digit or a
    group over its range (a decoder must reject them: no two texts decode to the same bytes)."""
    try:
        v = [_B45_VALUE[c] for c in text]
    except KeyError as exc:
        raise ValueError("not base45") from exc
    full, rest = divmod(len(v), 3)
    if rest == 1:
        raise ValueError("base45 length")
    out = bytearray()
    for i in range(0, full * 3, 3):
        n = v[i] + v[i + 1] * 45 + v[i + 2] * 2025
        if n > 0xFFFF:
            raise ValueError("base45 group out of range")
        out += n.to_bytes(2, "big")
    if rest == 2:
        n = v[-2] + v[-1] * 45
        if n > 0xFF:
            raise ValueError("base45 group out of range")
        out.append(n)
    return bytes(out)


def _deflate(data: bytes) -> bytes:
    import zlib

    return zlib.compress(data, 9)


def der_to_raw(der: bytes) -> bytes:
    """DER ECDSA signature -> 64-byte r||s (P-256)."""
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

    r, s = decode_dss_signature(der)
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def raw_to_der(raw: bytes) -> bytes:
    """64-byte r||s -> DER ECDSA signature (what `cryptography` verifies)."""
    from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

    if len(raw) != 64:
        raise ValueError("an ES256 signature is 64 bytes")
    return encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))


# ----------------------------------------------------------------------------- parse


@dataclass(frozen=True)
class CoseSign1:
    """The four parts of a COSE_Sign1 message."""

    protected: bytes
    payload: bytes
    signature: bytes
    kid: bytes

    def to_be_signed(self) -> bytes:
        return sig_structure(self.protected, self.payload)


def decode_text(text: str) -> bytes:
    """The COSE_Sign1 bytes inside a credential text (prefix, base45, zlib with a size cap)."""
    import zlib

    if not looks_like_credential(text):
        raise _malformed("missing OS1: prefix")
    if len(text) > MAX_TEXT_CHARS:
        raise _malformed("too long")
    try:
        packed = b45decode(text[len(CREDENTIAL_PREFIX) :])
    except ValueError as exc:
        raise _malformed("base45") from exc
    inflater = zlib.decompressobj()
    try:
        message = inflater.decompress(packed, MAX_COSE_BYTES + 1)
    except zlib.error as exc:
        raise _malformed("zlib") from exc
    if len(message) > MAX_COSE_BYTES or inflater.unconsumed_tail:
        raise _malformed("too large")
    if not inflater.eof:
        raise _malformed("zlib stream truncated")
    return message


def decode_sign1(message: bytes) -> CoseSign1:
    """Split a COSE_Sign1 (tag 18) message; the protected header must be exactly ES256 with a kid."""
    import cbor2

    try:
        obj = cbor2.loads(message)
    except Exception as exc:  # cbor2 raises its own decode errors and ValueError/TypeError/…
        raise _malformed("CBOR") from exc
    if isinstance(obj, cbor2.CBORTag):
        if obj.tag != COSE_SIGN1_TAG:
            raise _malformed("not COSE_Sign1")
        obj = obj.value
    if not (isinstance(obj, list | tuple) and len(obj) == 4):
        raise _malformed("not COSE_Sign1")
    protected, unprotected, payload, signature = obj
    if not all(isinstance(x, bytes) for x in (protected, payload, signature)) or not isinstance(
        unprotected, Mapping
    ):
        raise _malformed("not COSE_Sign1")
    try:
        header = cbor2.loads(protected)
    except Exception as exc:
        raise _malformed("protected header") from exc
    if not isinstance(header, Mapping) or header.get(1) != ALG_ES256:
        raise _malformed("algorithm is not ES256")
    kid = header.get(4)
    if not isinstance(kid, bytes) or len(kid) != KID_BYTES:
        raise _malformed("key id")
    if unprotected:  # nothing unsigned may ride along and be taken for signed
        raise _malformed("unprotected header")
    if len(signature) != 64:
        raise _malformed("signature length")
    return CoseSign1(protected, payload, signature, kid)


def _text(payload: Mapping[Any, Any], key: int, *, max_len: int = 400) -> str:
    value = payload.get(key)
    if not isinstance(value, str) or not value or len(value) > max_len:
        raise _malformed(f"field {key}")
    return value


def _uint(payload: Mapping[Any, Any], key: int) -> int:
    value = payload.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0 or value >= 2**40:
        raise _malformed(f"field {key}")
    return value


def _day(payload: Mapping[Any, Any], key: int) -> date:
    try:
        return _EPOCH + timedelta(days=_uint(payload, key))
    except OverflowError as exc:
        raise _malformed(f"field {key}") from exc


def credential_from_sign1(sign1: CoseSign1) -> Credential:
    """The credential a COSE_Sign1 payload states (no signature check)."""
    import cbor2

    from onestop.errors import InvalidInput
    from onestop.identifiers.licence_id import parse_licence_id

    try:
        payload = cbor2.loads(sign1.payload)
    except Exception as exc:
        raise _malformed("payload CBOR") from exc
    if not isinstance(payload, Mapping):
        raise _malformed("payload")
    licence_id = ID_ROOT + _text(payload, K_ID, max_len=120)
    try:
        parsed = parse_licence_id(licence_id)
    except InvalidInput as exc:
        raise _malformed("licence id") from exc
    digest = payload.get(K_DIGEST)
    if not isinstance(digest, bytes) or len(digest) != 32:
        raise _malformed("digest")
    try:
        issued_at = datetime.fromtimestamp(_uint(payload, K_IAT), UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise _malformed("issued at") from exc
    return Credential(
        licence_id=parsed.value,
        version=parsed.version,
        holder_name=_text(payload, K_NAME),
        holder_code=_text(payload, K_CODE, max_len=64),
        item_code=_text(payload, K_ITEM, max_len=64),
        licence_type=parsed.type_code,
        valid_from=_day(payload, K_FROM),
        valid_until=_day(payload, K_UNTIL) if K_UNTIL in payload else None,
        status_list=parsed.type_code,
        status_index=_uint(payload, K_INDEX),
        digest=digest.hex(),
        kid=sign1.kid.hex(),
        issued_at=issued_at,
    )


def parse_credential(text: str) -> tuple[Credential, bytes]:
    """The credential in a QR text and its COSE_Sign1 bytes. Checks the form only, not the signature
    (`onestop.verification.credential_check.check_credential` does). Raises CredentialError."""
    message = decode_text(text.strip())
    return credential_from_sign1(decode_sign1(message)), message


def verify_signature(message: bytes, public_key: ec.EllipticCurvePublicKey) -> bool:
    """Whether the COSE_Sign1 `message` is signed by `public_key` (ES256)."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    sign1 = decode_sign1(message)
    try:
        public_key.verify(raw_to_der(sign1.signature), sign1.to_be_signed(), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True
