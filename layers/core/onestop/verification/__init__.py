"""Verification of e-licences for third parties: one core behind the API, the CLI and the web page."""

from .anchors import TrustAnchors, bundled_anchors
from .report import Check, CheckResult, StatusReport, Verdict, VerificationReport
from .service import DEFAULT_LIMITS, VerifyLimits, normalise_licence_id, verify_licence_id, verify_pdf
from .status import RegistryEntry

__all__ = [
    "DEFAULT_LIMITS",
    "Check",
    "CheckResult",
    "RegistryEntry",
    "StatusReport",
    "TrustAnchors",
    "Verdict",
    "VerificationReport",
    "VerifyLimits",
    "bundled_anchors",
    "normalise_licence_id",
    "verify_licence_id",
    "verify_pdf",
]
