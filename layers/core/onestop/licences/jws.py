"""Compact JWS (RFC 7515, ES256) for the bureau's published lists: status lists and the trust list.

Signed by the seal key (KMS in production) through a `SealKey`: the signing callable returns a DER
ECDSA P-256/SHA-256 signature (as KMS and pyHanko's signers do), converted here to JWS's raw r||s.
The header names the key (`kid`) and the kind of document (`typ`): a status list cannot be passed off
as a trust list.

KMS signs a RAW message of at most 4096 bytes (`MAX_SIGNING_INPUT`); larger content (the status
list's bitstring, the certificates' PEM) travels beside the JWS in the published document, bound by
its SHA-256 in the signed payload, so every signing input stays small whatever the lists grow to.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .credential import der_to_raw, raw_to_der

TYP_STATUS_LIST = "onestop-status-list+jwt"
TYP_TRUST_LIST = "onestop-trust-list+jwt"
MAX_JWS_CHARS = 16_384
MAX_SIGNING_INPUT = 4096  # KMS Sign, MessageType RAW


class JwsError(ValueError):
    """Not a well-formed compact JWS of ours."""


@dataclass(frozen=True)
class SealKey:
    """The seal key as a raw signer: its key id, its certificate (DER) and chain, and `sign`."""

    kid: str
    cert_der: bytes
    chain_der: tuple[bytes, ...]
    sign: Callable[[bytes], bytes]  # message -> DER ECDSA P-256/SHA-256 signature


def seal_key_from_signer(signer: Any) -> SealKey:
    """The pyHanko signer that seals PDFs (KmsSigner, or LocalKeySigner in tests) as a SealKey: one
    key and one certificate for the PDF seal, the QR credential and the published lists."""
    import asyncio

    from asn1crypto import x509 as asn1_x509

    from onestop.verification.anchors import key_id

    cert: asn1_x509.Certificate = signer.signing_cert
    chain = tuple(c.dump() for c in signer.cert_registry if c.dump() != cert.dump())

    def sign(data: bytes) -> bytes:
        signature: bytes = asyncio.run(signer.async_sign_raw(data, "sha256"))
        return signature

    return SealKey(kid=key_id(cert), cert_der=cert.dump(), chain_der=chain, sign=sign)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError) as exc:
        raise JwsError("bad base64url") from exc


def sign_jws(payload: Mapping[str, Any], *, typ: str, key: SealKey) -> str:
    """Compact JWS of `payload` (JSON) signed by `key`; ValueError past `MAX_SIGNING_INPUT`."""
    header = {"alg": "ES256", "typ": typ, "kid": key.kid}
    body = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    signing_input = f"{_b64(json.dumps(header, separators=(',', ':')).encode())}.{_b64(body)}"
    if len(signing_input) > MAX_SIGNING_INPUT:
        raise ValueError(f"a JWS signing input of {len(signing_input)} bytes is over KMS's RAW limit")
    signature = der_to_raw(key.sign(signing_input.encode("ascii")))
    return f"{signing_input}.{_b64(signature)}"


@dataclass(frozen=True)
class Jws:
    """A decoded compact JWS (signature not yet checked)."""

    header: dict[str, Any]
    payload: dict[str, Any]
    signing_input: bytes
    signature: bytes  # raw r||s

    @property
    def kid(self) -> str:
        return str(self.header.get("kid") or "")

    def verified_by(self, public_key: Any) -> bool:
        """Whether the signature is `public_key`'s (an EC P-256 `cryptography` public key)."""
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec

        if not isinstance(public_key, ec.EllipticCurvePublicKey) or len(self.signature) != 64:
            return False
        try:
            public_key.verify(raw_to_der(self.signature), self.signing_input, ec.ECDSA(hashes.SHA256()))
        except InvalidSignature:
            return False
        return True


def decode_jws(token: str, *, typ: str) -> Jws:
    """Split and decode a compact JWS of type `typ`; raises JwsError."""
    if not isinstance(token, str) or len(token) > MAX_JWS_CHARS or token.count(".") != 2:
        raise JwsError("not a compact JWS")
    h, p, s = token.split(".")
    try:
        header = json.loads(_unb64(h))
        payload = json.loads(_unb64(p))
    except (ValueError, UnicodeDecodeError) as exc:
        raise JwsError("bad JSON") from exc
    if not isinstance(header, dict) or not isinstance(payload, dict):
        raise JwsError("not a JSON object")
    if header.get("alg") != "ES256":
        raise JwsError("algorithm is not ES256")
    if header.get("typ") != typ:
        raise JwsError(f"type is {header.get('typ')!r}, not {typ!r}")
    return Jws(header, payload, f"{h}.{p}".encode("ascii"), _unb64(s))
