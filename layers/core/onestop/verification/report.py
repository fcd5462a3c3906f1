"""What a verification says: one result per check, each with a verdict and a reason in zh and en.

The same report is returned by the API, printed by the CLI and drawn by the web page, so that the
three faces never disagree. A report is valid only when every check passes; `unknown` (e.g. the
registry could not be asked) is not a pass.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any


class Check(StrEnum):
    """The checks, in the order they are shown."""

    INTEGRITY = "integrity"  # not altered since the seal was applied
    ISSUER = "issuer"  # sealed by the bureau (chain to its trust anchor)
    STATUS = "status"  # registered, this exact file, and currently valid
    IDENTIFIER = "identifier"  # the GB/T 36904 check character is right
    HOLDER = "holder"  # a look-up by number: the holder the asker names is the licence's holder

    @property
    def zh(self) -> str:
        return _CHECK_NAMES[self][0]

    @property
    def en(self) -> str:
        return _CHECK_NAMES[self][1]


_CHECK_NAMES: dict[Check, tuple[str, str]] = {
    Check.INTEGRITY: ("文件完整性", "Document integrity"),
    Check.ISSUER: ("签发机关", "Issuer"),
    Check.STATUS: ("证照状态", "Licence status"),
    Check.IDENTIFIER: ("证照标识", "Licence identifier"),
    Check.HOLDER: ("持证主体", "Holder"),
}

CHECK_ORDER = (Check.INTEGRITY, Check.ISSUER, Check.STATUS, Check.IDENTIFIER, Check.HOLDER)


class Verdict(StrEnum):
    """pass, fail, or unknown (the check could not be made, e.g. the registry was unreachable)."""

    PASS = "pass"  # noqa: S105 - a verdict, not a password
    FAIL = "fail"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check. `code` is stable and machine-readable; `details` is JSON-ready."""

    check: Check
    verdict: Verdict
    code: str
    reason_zh: str
    reason_en: str
    details: Mapping[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return self.verdict is Verdict.PASS

    def as_dict(self) -> dict[str, Any]:
        return {
            "check": self.check.value,
            "name": {"zh": self.check.zh, "en": self.check.en},
            "verdict": self.verdict.value,
            "code": self.code,
            "reason_zh": self.reason_zh,
            "reason_en": self.reason_en,
            "details": dict(self.details),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> CheckResult:
        return cls(
            check=Check(d["check"]),
            verdict=Verdict(d["verdict"]),
            code=str(d["code"]),
            reason_zh=str(d["reason_zh"]),
            reason_en=str(d["reason_en"]),
            details=dict(d.get("details") or {}),
        )


def passed(check: Check, code: str, zh: str, en: str, **details: Any) -> CheckResult:
    return CheckResult(check, Verdict.PASS, code, zh, en, details)


def failed(check: Check, code: str, zh: str, en: str, **details: Any) -> CheckResult:
    return CheckResult(check, Verdict.FAIL, code, zh, en, details)


def unknown(check: Check, code: str, zh: str, en: str, **details: Any) -> CheckResult:
    return CheckResult(check, Verdict.UNKNOWN, code, zh, en, details)


def _ordered(checks: Iterable[CheckResult]) -> tuple[CheckResult, ...]:
    return tuple(sorted(checks, key=lambda c: CHECK_ORDER.index(c.check)))


def _iso(at: datetime) -> str:
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(UTC).isoformat()


@dataclass(frozen=True)
class VerificationReport:
    """The verdict on one PDF: every check, the licence face data read from it, the file's fingerprint.

    `licence` holds the face data: what the PDF itself says (source "pdf"), replaced by the registry's
    record of the licence when the file is byte-for-byte the registered one (source "registry").
    """

    checks: tuple[CheckResult, ...]
    licence: Mapping[str, Any]
    sha256: str | None
    size: int
    checked_at: datetime

    def __post_init__(self) -> None:
        object.__setattr__(self, "checks", _ordered(self.checks))

    @property
    def valid(self) -> bool:
        """True only when every check passed."""
        return bool(self.checks) and all(c.passed for c in self.checks)

    def result(self, check: Check) -> CheckResult:
        return next(c for c in self.checks if c.check is check)

    def as_dict(self) -> dict[str, Any]:
        return {
            "valid": self.valid,
            "summary": summary(self.checks),
            "checks": [c.as_dict() for c in self.checks],
            "licence": dict(self.licence),
            "file": {"sha256": self.sha256, "size": self.size},
            "checked_at": _iso(self.checked_at),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> VerificationReport:
        file = d.get("file") or {}
        return cls(
            checks=tuple(CheckResult.from_dict(c) for c in d["checks"]),
            licence=dict(d.get("licence") or {}),
            sha256=file.get("sha256"),
            size=int(file.get("size") or 0),
            checked_at=datetime.fromisoformat(d["checked_at"]),
        )


@dataclass(frozen=True)
class StatusReport:
    """The verdict on a licence number typed in or scanned (no file): identifier and registry status."""

    licence_id: str
    checks: tuple[CheckResult, ...]
    licence: Mapping[str, Any] | None  # public face data; None when the registry does not know the id
    registry: Mapping[str, Any] | None  # status, since, sha256 of the issued file, successor
    checked_at: datetime

    def __post_init__(self) -> None:
        object.__setattr__(self, "checks", _ordered(self.checks))

    @property
    def valid(self) -> bool:
        return bool(self.checks) and all(c.passed for c in self.checks)

    def result(self, check: Check) -> CheckResult:
        return next(c for c in self.checks if c.check is check)

    def as_dict(self) -> dict[str, Any]:
        return {
            "licence_id": self.licence_id,
            "valid": self.valid,
            "summary": summary(self.checks),
            "checks": [c.as_dict() for c in self.checks],
            "licence": dict(self.licence) if self.licence is not None else None,
            "registry": dict(self.registry) if self.registry is not None else None,
            "checked_at": _iso(self.checked_at),
        }


def _names_en(checks: list[CheckResult]) -> str:
    names = [c.check.en.lower() for c in checks]
    listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    return f"the {listed} check" + ("s" if len(names) > 1 else "")


def summary(checks: Iterable[CheckResult]) -> dict[str, str]:
    """One sentence for the whole result, in both languages."""
    checks = list(checks)
    failing = [c for c in checks if c.verdict is Verdict.FAIL]
    open_ = [c for c in checks if c.verdict is Verdict.UNKNOWN]
    if checks and not failing and not open_:
        return {"zh": "核验通过：各项检查均通过。", "en": "Verified: every check passed."}
    if failing:
        names_zh = "、".join(c.check.zh for c in failing)
        return {
            "zh": f"核验未通过：{names_zh}检查未通过。",
            "en": f"Not verified: {_names_en(failing)} failed.",
        }
    names_zh = "、".join(c.check.zh for c in open_)
    return {
        "zh": f"无法完成核验：{names_zh}暂时无法确认。",
        "en": f"Not fully verified: {_names_en(open_)} could not be made.",
    }
