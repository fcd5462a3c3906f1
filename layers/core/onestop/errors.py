"""Domain errors. Each carries a machine code and a reason in Chinese and English.

They are mapped to HTTP in one place (`onestop.http.errors`); domain code never builds responses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar


@dataclass(frozen=True)
class Reason:
    """One thing wrong, said so that a person can act on it."""

    code: str
    zh: str
    en: str
    field: str | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "zh": self.zh, "en": self.en}
        if self.field is not None:
            out["field"] = self.field
        return out


@dataclass
class DomainError(Exception):
    """Base of every error the domain raises on purpose."""

    code: str
    zh: str
    en: str
    details: list[Reason] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    http_status: ClassVar[int] = 400

    def __post_init__(self) -> None:
        super().__init__(f"{self.code}: {self.en}")

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "message": {"zh": self.zh, "en": self.en}}
        if self.details:
            out["details"] = [d.as_dict() for d in self.details]
        out.update(self.extra)
        return out


class MalformedRequest(DomainError):
    """The request cannot be read as what the route takes (e.g. JSON nested past the limit)."""

    http_status = 400


class InvalidInput(DomainError):
    """The request is well-formed but its content breaks a rule (field-level details)."""

    http_status = 422


class Unauthorized(DomainError):
    """No or bad credentials."""

    http_status = 401


class Forbidden(DomainError):
    """Authenticated, but the role does not allow this."""

    http_status = 403


class NotFound(DomainError):
    """No such thing, or not yours (we never confirm the existence of others' data)."""

    http_status = 404


class Conflict(DomainError):
    """Illegal or concurrent state transition; `extra` carries the current state."""

    http_status = 409


class ObjectExists(Conflict):
    """A conditional write found something already stored at the key (`if_absent` writes)."""


class PayloadTooLarge(DomainError):
    """A declared or actual size over the limit."""

    http_status = 413


class TooManyRequests(DomainError):
    """A per-account quota is used up; `retry_after` seconds until it is renewed."""

    http_status = 429

    @property
    def retry_after(self) -> int:
        return int(self.extra.get("retry_after", 60))


class Unavailable(DomainError):
    """A dependency failed transiently; the caller may retry."""

    http_status = 503
