"""Pure PKI helpers: the bureau root CA, the seal certificate over a given public key, PEM handling.

No I/O and no AWS: `infra/pki` (ops) and the tests call these; the seal's private key lives in KMS
and only its public key comes here.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

_CLOCK_SKEW = timedelta(minutes=5)


@dataclass(frozen=True)
class BureauIdentity:
    """Who issues: printed on licences and written into certificate subjects."""

    name_zh: str
    name_en: str
    uscc: str
    country: str = "CN"


def _name(bureau: BureauIdentity, common_name: str, unit: str | None = None) -> x509.Name:
    attrs = [
        x509.NameAttribute(NameOID.COUNTRY_NAME, bureau.country),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, bureau.name_zh),
    ]
    if unit:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, unit))
    # ETSI EN 319 412-1 semantics: NTR = national trade register, then country and the USCC.
    attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_IDENTIFIER, f"NTR{bureau.country}-{bureau.uscc}"))
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    return x509.Name(attrs)


def build_root_ca(
    bureau: BureauIdentity,
    *,
    now: datetime,
    valid_years: int = 20,
    key: ec.EllipticCurvePrivateKey | None = None,
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """A self-signed root for the bureau's seal certificates (P-384, path length 0)."""
    key = key or ec.generate_private_key(ec.SECP384R1())
    name = _name(bureau, f"{bureau.name_zh}电子证照根证书", "电子证照 E-licence PKI")
    start = now.astimezone(UTC) - _CLOCK_SKEW
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=365 * valid_years))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA384())
    )
    return cert, key


def _leaf(
    *,
    subject: x509.Name,
    public_key: CertificatePublicKeyTypes,
    issuer_cert: x509.Certificate,
    issuer_key: ec.EllipticCurvePrivateKey,
    now: datetime,
    valid_days: int,
    key_usage: x509.KeyUsage,
    eku: list[x509.ObjectIdentifier] | None = None,
) -> x509.Certificate:
    start = now.astimezone(UTC) - _CLOCK_SKEW
    end = min(start + timedelta(days=valid_days), issuer_cert.not_valid_after_utc)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_cert.subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(key_usage, critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_cert.public_key()),  # type: ignore[arg-type]
            critical=False,
        )
    )
    if eku:
        builder = builder.add_extension(x509.ExtendedKeyUsage(eku), critical=True)
    return builder.sign(issuer_key, hashes.SHA384())


def load_public_key(public_key: bytes | CertificatePublicKeyTypes) -> CertificatePublicKeyTypes:
    """Accept a DER SubjectPublicKeyInfo (what KMS GetPublicKey returns) or a key object."""
    if isinstance(public_key, bytes):
        loaded = serialization.load_der_public_key(public_key)
        if not isinstance(loaded, ec.EllipticCurvePublicKey):
            raise ValueError("the seal key must be an elliptic-curve key (KMS ECC_NIST_P256)")
        return loaded
    return public_key


def issue_seal_certificate(
    *,
    root_cert: x509.Certificate,
    root_key: ec.EllipticCurvePrivateKey,
    public_key: bytes | CertificatePublicKeyTypes,
    bureau: BureauIdentity,
    now: datetime,
    valid_years: int = 5,
) -> x509.Certificate:
    """The e-seal certificate over the seal's public key (digitalSignature + nonRepudiation only).

    No extended key usage on purpose: NSS (poppler's pdfsig) and Acrobat accept a document-signing
    certificate without EKU, while a wrong EKU would make them refuse it.
    """
    usage = x509.KeyUsage(
        digital_signature=True,
        content_commitment=True,  # nonRepudiation
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )
    return _leaf(
        subject=_name(bureau, bureau.name_zh, "电子证照专用章 E-licence seal"),
        public_key=load_public_key(public_key),
        issuer_cert=root_cert,
        issuer_key=root_key,
        now=now,
        valid_days=365 * valid_years,
        key_usage=usage,
    )


def issue_timestamping_certificate(
    *,
    root_cert: x509.Certificate,
    root_key: ec.EllipticCurvePrivateKey,
    public_key: CertificatePublicKeyTypes,
    bureau: BureauIdentity,
    now: datetime,
) -> x509.Certificate:
    """A TSA certificate (tests and the local stack exercise PAdES B-T with it)."""
    usage = x509.KeyUsage(
        digital_signature=True,
        content_commitment=True,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )
    return _leaf(
        subject=_name(bureau, f"{bureau.name_zh}时间戳服务", "Time-stamping"),
        public_key=public_key,
        issuer_cert=root_cert,
        issuer_key=root_key,
        now=now,
        valid_days=365 * 5,
        key_usage=usage,
        eku=[ExtendedKeyUsageOID.TIME_STAMPING],
    )


@dataclass(frozen=True)
class DevPki:
    """A root and a seal certificate with its private key in memory: tests and local runs only."""

    bureau: BureauIdentity
    root_cert: x509.Certificate
    root_key: ec.EllipticCurvePrivateKey
    seal_cert: x509.Certificate
    seal_key: ec.EllipticCurvePrivateKey


def make_dev_pki(bureau: BureauIdentity, *, now: datetime | None = None) -> DevPki:
    """Root CA + a local P-256 seal key and certificate (never for production licences)."""
    now = now or datetime.now(UTC)
    root_cert, root_key = build_root_ca(bureau, now=now)
    seal_key = ec.generate_private_key(ec.SECP256R1())
    seal_cert = issue_seal_certificate(
        root_cert=root_cert, root_key=root_key, public_key=seal_key.public_key(), bureau=bureau, now=now
    )
    return DevPki(bureau, root_cert, root_key, seal_cert, seal_key)


def cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def private_key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    """Unencrypted PKCS#8 PEM: for local/dev root keys kept in a 0600 file (production keeps it offline)."""
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def load_private_key_pem(data: bytes) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key(data, password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError("expected an elliptic-curve private key")
    return key


def load_pem_certificates(data: bytes) -> list[x509.Certificate]:
    """Every certificate in a PEM bundle, in order."""
    return x509.load_pem_x509_certificates(data)


def sha256_fingerprint(cert: x509.Certificate | asn1_x509.Certificate) -> str:
    """Lower-case hex SHA-256 of the DER certificate (how records and the index name certificates)."""
    der = (
        cert.dump()
        if isinstance(cert, asn1_x509.Certificate)
        else cert.public_bytes(serialization.Encoding.DER)
    )
    return hashlib.sha256(der).hexdigest()


def to_asn1(cert: x509.Certificate) -> asn1_x509.Certificate:
    """The same certificate as pyHanko's (asn1crypto) type."""
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


def public_key_der(key: CertificatePublicKeyTypes) -> bytes:
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
