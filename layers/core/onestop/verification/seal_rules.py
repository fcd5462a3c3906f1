"""What makes a certificate the bureau's seal, shared by the fast path and the full path.

Key usage digitalSignature + nonRepudiation; extended key usage absent or naming document signing
(a time-stamping or TLS certificate from the same root is not a seal); published in the trust bundle.
"""

from __future__ import annotations

from typing import Any

from asn1crypto import x509 as asn1_x509

from .anchors import TrustAnchors, fingerprint
from .report import Check, CheckResult, failed, passed, unknown

REQUIRED_KEY_USAGE = frozenset({"digital_signature", "non_repudiation"})
# Document signing (RFC 9336), Adobe's and Microsoft's document-signing purposes, e-mail protection
# (what many CAs put on signing certificates), and anyExtendedKeyUsage — by OID: asn1crypto gives
# some of them names (Adobe's is "pdf_signing") and not others.
DOCUMENT_SIGNING_EKU = frozenset(
    {
        "1.3.6.1.5.5.7.3.36",
        "1.2.840.113583.1.1.5",
        "1.3.6.1.4.1.311.10.3.12",
        "1.3.6.1.5.5.7.3.4",
        "2.5.29.37.0",
    }
)


def name_of(cert: asn1_x509.Certificate) -> str:
    try:
        return str(cert.subject.human_friendly)
    except Exception:
        return "?"


def organisation(cert: asn1_x509.Certificate) -> str:
    native = cert.subject.native
    return str(native.get("organization_name") or native.get("common_name") or name_of(cert))


def key_usage(cert: asn1_x509.Certificate) -> set[str]:
    value = cert.key_usage_value
    return set(value.native) if value is not None else set()


def extended_key_usage(cert: asn1_x509.Certificate) -> set[str] | None:
    """The extended key usages as dotted OIDs, or None when the certificate has no EKU extension."""
    value = cert.extended_key_usage_value
    return {purpose.dotted for purpose in value} if value is not None else None


def usage_problem(cert: asn1_x509.Certificate, details: dict[str, Any]) -> CheckResult | None:
    """Key usage and extended key usage of a seal certificate."""
    usage = key_usage(cert)
    if not usage >= REQUIRED_KEY_USAGE:
        return failed(
            Check.ISSUER,
            "key_usage",
            "签章证书不具备电子印章所需的密钥用途（数字签名与不可否认）。",
            "The certificate lacks the key usage a seal needs (digitalSignature and nonRepudiation).",
            key_usage=sorted(usage),
            **details,
        )
    eku = extended_key_usage(cert)
    if eku is not None and not eku & DOCUMENT_SIGNING_EKU:
        return failed(
            Check.ISSUER,
            "extended_key_usage",
            "签章证书的扩展密钥用途不是文档签名（例如是时间戳或网站证书），不能作为电子印章。",
            "The certificate's extended key usage is not document signing (e.g. time-stamping or TLS); "
            "it is not a seal certificate.",
            extended_key_usage=sorted(eku),
            **details,
        )
    return None


def publication_problem(
    cert: asn1_x509.Certificate, anchors: TrustAnchors, details: dict[str, Any]
) -> CheckResult | None:
    """The signer must be one of the seal certificates the bureau published."""
    if not anchors.seals_published:
        return unknown(
            Check.ISSUER,
            "seal_publication_not_checked",
            f"签章证书链至所给的根证书（{organisation(cert)}），但所给的信任材料只有根证书，未能核对该证书"
            "是否为局方公布的电子印章证书。请使用信任清单（--trust-bundle）核验。",
            f"The certificate ({organisation(cert)}) chains to the given root, but the trust material "
            "holds roots only, so whether it is a seal certificate the bureau published was not checked. "
            "Verify with the trust bundle (--trust-bundle).",
            **details,
        )
    if fingerprint(cert) not in anchors.seal_fingerprints:
        return failed(
            Check.ISSUER,
            "unpublished_seal",
            "签章证书虽由局方根证书签发，但不在局方公布的电子印章证书清单中。",
            "The certificate chains to the bureau's root but is not one of the seal certificates the bureau "
            "published.",
            **details,
        )
    return None


def bureau_seal(cert: asn1_x509.Certificate, details: dict[str, Any]) -> CheckResult:
    return bureau_seal_named(organisation(cert), details)


def bureau_seal_named(org: str, details: dict[str, Any]) -> CheckResult:
    return passed(
        Check.ISSUER,
        "bureau_seal",
        f"由{org}的电子印章签发：签名有效，证书链至局方根证书，是局方公布的电子印章证书，签章时证书有效。",
        f"Sealed by {org}: the signature verifies, the certificate chains to the bureau's root, is a "
        "published seal certificate and was valid at signing time.",
        **details,
    )


def known_names(anchors: TrustAnchors) -> set[str]:
    """Organisation and common names of the bureau's certificates (what impersonators imitate)."""
    names: set[str] = set()
    for cert in (*anchors.roots, *anchors.seals):
        native = cert.subject.native
        for key in ("organization_name", "common_name"):
            value = native.get(key)
            if isinstance(value, str):
                names.add(value)
    return names
