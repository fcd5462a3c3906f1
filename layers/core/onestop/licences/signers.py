"""A pyHanko signer over a private key held in memory: tests, benchmarks and local runs only.

Production licences are sealed by `onestop.aws.kms_signer.KmsSigner`, whose key never leaves KMS.
"""

from __future__ import annotations

from collections.abc import Sequence

from asn1crypto import keys as asn1_keys
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pyhanko.sign.signers import SimpleSigner
from pyhanko_certvalidator.registry import SimpleCertificateStore

from .pki import DevPki, to_asn1


class LocalKeySigner(SimpleSigner):
    """pyHanko's SimpleSigner built from `cryptography` objects (seal certificate + chain)."""

    def __init__(
        self,
        seal_cert: x509.Certificate,
        seal_key: ec.EllipticCurvePrivateKey,
        chain: Sequence[x509.Certificate] = (),
    ) -> None:
        key_der = seal_key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        super().__init__(
            signing_cert=to_asn1(seal_cert),
            signing_key=asn1_keys.PrivateKeyInfo.load(key_der),
            cert_registry=SimpleCertificateStore.from_certs([to_asn1(c) for c in chain]),
        )

    @classmethod
    def from_dev_pki(cls, pki: DevPki) -> LocalKeySigner:
        return cls(pki.seal_cert, pki.seal_key, [pki.root_cert])
