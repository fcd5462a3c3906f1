"""What the PDF checks found: the worker's answer to the verification core."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .report import CheckResult


@dataclass(frozen=True)
class PdfFacts:
    """The two PDF checks and the licence face data from the sealed revision."""

    integrity: CheckResult
    issuer: CheckResult
    licence_id: str | None
    face: dict[str, Any] = field(default_factory=dict)
    # SHA-256 of the sealed bytes (up to the seal's `/ByteRange` end) when integrity passed: the file as
    # issued, which the registry's fingerprint is compared with.
    sealed_sha256: str | None = None
    # Revisions after the sealed one that passed the post-seal policy (validation data, timestamps).
    validation_updates: int = 0
    # True when the file could not be read at all (timeout, resource limit): nothing in it is known.
    unreadable: bool = False
