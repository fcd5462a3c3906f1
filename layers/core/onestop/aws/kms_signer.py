"""A pyHanko Signer whose private key never leaves AWS KMS (ECC_NIST_P256, ECDSA_SHA_256).

Laid out like pyHanko's own remote signers (PKCS#11, CSC): the certificate and chain are known up
front, `async_sign_raw` receives the DER of the CMS signed attributes and returns a DER ECDSA
signature. KMS is called with `MessageType="RAW"` so that KMS hashes the message exactly once (with
`DIGEST` the caller would pre-hash; moto's DIGEST mode hashes a second time, and a RAW message of
signed attributes is far below KMS's 4096-byte limit anyway).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from asn1crypto import x509 as asn1_x509
from asn1crypto.algos import SignedDigestAlgorithm
from botocore.exceptions import BotoCoreError, ClientError
from pyhanko.sign.general import SigningError
from pyhanko.sign.signers import Signer
from pyhanko_certvalidator.registry import SimpleCertificateStore

from onestop.errors import Unavailable
from onestop.licences.trust import SealCertificate
from onestop.observability import traced

from .clients import client

KMS_RAW_MESSAGE_LIMIT = 4096
# A DER ECDSA P-256 signature is at most 72 bytes (two 33-byte INTEGERs + headers); pyHanko sizes
# the /Contents placeholder from a dry run, which must not call KMS.
_P256_MAX_SIGNATURE = 72


class KmsSigner(Signer):
    """Seal with a KMS asymmetric key; `seal_cert` must certify that key's public key."""

    def __init__(
        self,
        key_id: str,
        seal_cert: asn1_x509.Certificate,
        chain: Sequence[asn1_x509.Certificate] = (),
        *,
        kms: Any | None = None,
        embed_roots: bool = True,
    ) -> None:
        super().__init__(
            signing_cert=seal_cert,
            cert_registry=SimpleCertificateStore.from_certs(list(chain)),
            signature_mechanism=SignedDigestAlgorithm({"algorithm": "sha256_ecdsa"}),
            embed_roots=embed_roots,
        )
        if seal_cert.public_key.algorithm != "ec" or seal_cert.public_key.curve[1] != "secp256r1":
            raise ValueError("the seal certificate must carry a P-256 key (KMS ECC_NIST_P256)")
        self.key_id = key_id
        self._kms = kms

    @classmethod
    def for_seal(cls, seal: SealCertificate, *, kms: Any | None = None) -> KmsSigner:
        """The signer for a published seal certificate (`load_trust(store, prefix).current_seal()`)."""
        return cls(seal.signing_key_id, seal.cert, seal.chain, kms=kms)

    @property
    def kms(self) -> Any:
        return self._kms if self._kms is not None else client("kms")

    @traced
    def check_public_key(self) -> None:
        """Fail early if the certificate does not certify the KMS key (else every seal is invalid)."""
        try:
            reply = self.kms.get_public_key(KeyId=self.key_id)
        except (ClientError, BotoCoreError) as exc:
            raise _unavailable(exc) from exc
        assert self.signing_cert is not None
        if reply["PublicKey"] != self.signing_cert.public_key.dump():
            raise ValueError(
                f"the seal certificate does not match the public key of KMS key {self.key_id}; "
                "run `python -m infra.pki bootstrap` for this key"
            )

    async def async_sign_raw(self, data: bytes, digest_algorithm: str, dry_run: bool = False) -> bytes:
        if digest_algorithm != "sha256":
            raise SigningError(f"KMS seal key signs with ECDSA_SHA_256 only, not {digest_algorithm}")
        if dry_run:
            return bytes(_P256_MAX_SIGNATURE)
        if len(data) > KMS_RAW_MESSAGE_LIMIT:
            raise SigningError(f"signed attributes of {len(data)} bytes exceed KMS's RAW message limit")
        return await asyncio.to_thread(self._sign, data)

    @traced
    def _sign(self, data: bytes) -> bytes:
        try:
            reply = self.kms.sign(
                KeyId=self.key_id,
                Message=data,
                MessageType="RAW",
                SigningAlgorithm="ECDSA_SHA_256",
            )
        except (ClientError, BotoCoreError) as exc:
            raise _unavailable(exc) from exc
        signature: bytes = reply["Signature"]
        return signature


def _unavailable(exc: Exception) -> Unavailable:
    code = (
        exc.response.get("Error", {}).get("Code", "") if isinstance(exc, ClientError) else type(exc).__name__
    )
    return Unavailable(
        "seal_key_unavailable",
        "电子印章密钥服务暂时不可用，证照未签发，请稍后重试。",
        "The seal key service is unavailable; the licence was not sealed. Retry later.",
        extra={"kms_error": code},
    )
