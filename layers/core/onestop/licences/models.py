"""E-licence metadata (after GB/T 36903), the registry record, status codes and legal transitions."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta, timezone
from enum import StrEnum
from typing import Any

from onestop.errors import Conflict

# China has one time zone and no daylight saving; dates printed on a licence are Beijing dates.
CHINA_TZ = timezone(timedelta(hours=8), "CST")


class LicenceStatus(StrEnum):
    """Status codes of the national profile, plus onestop's own `superseded` and `issuing`.

    `issuing` is internal: a reserved record whose PDF is not yet stored and sealed. It is never shown
    to verifiers or holders (treat it as "not found").
    """

    VALID = "01"
    SUSPENDED = "02"
    REVOKED = "03"
    CANCELLED = "04"
    EXPIRED = "05"
    TRANSFERRED = "06"
    WITHDRAWN = "07"
    OTHER = "99"
    SUPERSEDED = "superseded"
    ISSUING = "issuing"

    @property
    def zh(self) -> str:
        return _STATUS_NAMES[self][0]

    @property
    def en(self) -> str:
        return _STATUS_NAMES[self][1]


_STATUS_NAMES: dict[LicenceStatus, tuple[str, str]] = {
    LicenceStatus.VALID: ("有效", "valid"),
    LicenceStatus.SUSPENDED: ("暂扣", "suspended"),
    LicenceStatus.REVOKED: ("撤销", "revoked"),
    LicenceStatus.CANCELLED: ("注销", "cancelled"),
    LicenceStatus.EXPIRED: ("失效", "expired"),
    LicenceStatus.TRANSFERRED: ("转出", "transferred"),
    LicenceStatus.WITHDRAWN: ("吊销", "withdrawn"),
    LicenceStatus.OTHER: ("其他", "other"),
    LicenceStatus.SUPERSEDED: ("已被新版本替代", "superseded by a newer version"),
    LicenceStatus.ISSUING: ("签发中", "being issued"),
}


class Action(StrEnum):
    """What happened to a licence; each audit entry names one."""

    RESERVE = "reserve"
    ISSUE = "issue"
    SUSPEND = "suspend"
    REINSTATE = "reinstate"
    REVOKE = "revoke"
    CANCEL = "cancel"
    WITHDRAW = "withdraw"
    SUPERSEDE = "supersede"


# action -> (statuses it may start from, status it leads to). Anything else is a Conflict.
TRANSITIONS: dict[Action, tuple[frozenset[LicenceStatus], LicenceStatus]] = {
    Action.ISSUE: (frozenset({LicenceStatus.ISSUING}), LicenceStatus.VALID),
    Action.SUSPEND: (frozenset({LicenceStatus.VALID}), LicenceStatus.SUSPENDED),
    Action.REINSTATE: (frozenset({LicenceStatus.SUSPENDED}), LicenceStatus.VALID),
    Action.REVOKE: (frozenset({LicenceStatus.VALID, LicenceStatus.SUSPENDED}), LicenceStatus.REVOKED),
    Action.CANCEL: (frozenset({LicenceStatus.VALID, LicenceStatus.SUSPENDED}), LicenceStatus.CANCELLED),
    Action.WITHDRAW: (frozenset({LicenceStatus.VALID, LicenceStatus.SUSPENDED}), LicenceStatus.WITHDRAWN),
    # renew / change: only a valid licence is replaced by a new version
    Action.SUPERSEDE: (frozenset({LicenceStatus.VALID}), LicenceStatus.SUPERSEDED),
}

_ACTION_NAMES: dict[Action, tuple[str, str]] = {
    Action.RESERVE: ("预留证照编号", "reserved"),
    Action.ISSUE: ("签发", "issued"),
    Action.SUSPEND: ("暂扣", "suspended"),
    Action.REINSTATE: ("恢复", "reinstated"),
    Action.REVOKE: ("撤销", "revoked"),
    Action.CANCEL: ("注销", "cancelled"),
    Action.WITHDRAW: ("吊销", "withdrawn"),
    Action.SUPERSEDE: ("换发新版本（续期或变更）", "renewed or changed"),
}


def illegal_transition(licence_id: str, action: Action, current: LicenceStatus | str) -> Conflict:
    """The 409 for an action the current status does not allow; `extra` carries the current status."""
    status = LicenceStatus(current)
    act_zh, act_en = _ACTION_NAMES[action]
    return Conflict(
        "licence_illegal_transition",
        f"证照当前状态为“{status.zh}”，不能{act_zh}。",
        f"The licence is {status.en}; it cannot be {act_en} now.",
        extra={"licence_id": licence_id, "current_status": status.value, "action": action.value},
    )


def next_status(licence_id: str, action: Action, current: LicenceStatus) -> LicenceStatus:
    """The status `action` leads to from `current`, or a Conflict."""
    allowed_from, to = TRANSITIONS[action]
    if current not in allowed_from:
        raise illegal_transition(licence_id, action, current)
    return to


class HolderKind(StrEnum):
    """Applicant kinds: an enterprise (USCC) or a person (resident ID number)."""

    ENTERPRISE = "enterprise"
    PERSON = "person"

    @property
    def code_type(self) -> str:
        """持证主体代码类型. 111 = resident ID number is published; 001 for the USCC is *unconfirmed*."""
        return {HolderKind.ENTERPRISE: "001", HolderKind.PERSON: "111"}[self]

    @property
    def code_label_zh(self) -> str:
        return {HolderKind.ENTERPRISE: "统一社会信用代码", HolderKind.PERSON: "公民身份号码"}[self]

    @property
    def code_label_en(self) -> str:
        return {HolderKind.ENTERPRISE: "Unified social credit code", HolderKind.PERSON: "Resident ID number"}[
            self
        ]


@dataclass(frozen=True)
class LicenceMetadata:
    """The GB/T 36903 metadata of one licence version (what is printed and what is shared)."""

    licence_id: str  # 电子证照标识 (GB/T 36904)
    number: str  # 证照编号, the human-facing number
    name_zh: str  # 证照名称
    name_en: str
    type_code: str  # 证照类型代码 (definer USCC + 3 digits)
    version: int  # 版本号
    issuer_name: str  # 颁发机构名称
    issuer_name_en: str
    issuer_code: str  # 颁发机构代码 (USCC)
    definer_name: str  # 定义机构名称
    division_code: str  # 管辖属地编码, e.g. 440300
    issue_date: date  # 颁发日期 (Beijing date)
    valid_from: date  # 有效期起始
    valid_until: date | None  # 有效期截至; None = long-term (长期)
    holder_name: str  # 持证主体
    holder_code: str  # 持证主体代码
    holder_kind: HolderKind
    item_code: str  # 关联事项代码
    item_name: str  # 关联事项名称
    application_id: str
    extra: tuple[tuple[str, str], ...] = ()  # further printed lines: (label, value), e.g. 经营地址

    @property
    def definer_code(self) -> str:
        """定义机构代码: the first 18 characters of the type code are the definer's USCC."""
        return self.type_code[:18]

    @property
    def holder_code_type(self) -> str:
        return self.holder_kind.code_type

    def as_dict(self) -> dict[str, Any]:
        return {
            "licence_id": self.licence_id,
            "number": self.number,
            "name_zh": self.name_zh,
            "name_en": self.name_en,
            "type_code": self.type_code,
            "version": self.version,
            "issuer_name": self.issuer_name,
            "issuer_name_en": self.issuer_name_en,
            "issuer_code": self.issuer_code,
            "definer_name": self.definer_name,
            "definer_code": self.definer_code,
            "division_code": self.division_code,
            "issue_date": self.issue_date.isoformat(),
            "valid_from": self.valid_from.isoformat(),
            "valid_until": self.valid_until.isoformat() if self.valid_until else None,
            "holder_name": self.holder_name,
            "holder_code": self.holder_code,
            "holder_code_type": self.holder_code_type,
            "holder_kind": self.holder_kind.value,
            "item_code": self.item_code,
            "item_name": self.item_name,
            "application_id": self.application_id,
            "extra": [list(pair) for pair in self.extra],
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> LicenceMetadata:
        return cls(
            licence_id=d["licence_id"],
            number=d["number"],
            name_zh=d["name_zh"],
            name_en=d["name_en"],
            type_code=d["type_code"],
            version=int(d["version"]),
            issuer_name=d["issuer_name"],
            issuer_name_en=d["issuer_name_en"],
            issuer_code=d["issuer_code"],
            definer_name=d["definer_name"],
            division_code=d["division_code"],
            issue_date=date.fromisoformat(d["issue_date"]),
            valid_from=date.fromisoformat(d["valid_from"]),
            valid_until=date.fromisoformat(d["valid_until"]) if d.get("valid_until") else None,
            holder_name=d["holder_name"],
            holder_code=d["holder_code"],
            holder_kind=HolderKind(d["holder_kind"]),
            item_code=d["item_code"],
            item_name=d["item_name"],
            application_id=d["application_id"],
            extra=tuple((str(k), str(v)) for k, v in d.get("extra", [])),
        )


@dataclass(frozen=True)
class StoredPdf:
    """Where the sealed PDF of one version lives, and its fingerprint."""

    bucket: str
    key: str
    version_id: str | None
    sha256: str
    size: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "bucket": self.bucket,
            "key": self.key,
            "version_id": self.version_id,
            "sha256": self.sha256,
            "size": self.size,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> StoredPdf:
        return cls(d["bucket"], d["key"], d.get("version_id"), d["sha256"], int(d["size"]))


@dataclass(frozen=True)
class AuditEntry:
    """One status change (or issue step) with who did it and why."""

    at: datetime
    actor: str
    action: Action
    from_status: LicenceStatus | None
    to_status: LicenceStatus
    reason: str = ""
    reason_code: str | None = None
    actor_role: str | None = None  # the role acted in (a status change: admin); None on issue steps

    def as_dict(self) -> dict[str, Any]:
        out = {
            "at": self.at.astimezone(UTC).isoformat(),
            "actor": self.actor,
            "action": self.action.value,
            "from_status": self.from_status.value if self.from_status else None,
            "to_status": self.to_status.value,
            "reason": self.reason,
            "reason_code": self.reason_code,
        }
        if self.actor_role is not None:
            out["actor_role"] = self.actor_role
        return out

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> AuditEntry:
        return cls(
            at=datetime.fromisoformat(d["at"]),
            actor=d["actor"],
            action=Action(d["action"]),
            from_status=LicenceStatus(d["from_status"]) if d.get("from_status") else None,
            to_status=LicenceStatus(d["to_status"]),
            reason=d.get("reason") or "",
            reason_code=d.get("reason_code"),
            actor_role=d.get("actor_role"),
        )


CORRECTED_BY_REVIEWER = {"zh": "审核人员更正", "en": "corrected by reviewer"}


@dataclass(frozen=True)
class EvidenceRef:
    """One material the licence was issued on: the uploaded object's version and SHA-256, and the
    values a reviewer corrected on it (the reviewer's statement; the hashed bytes are as uploaded)."""

    slot: str
    upload_id: str
    sha256: str | None
    version_id: str | None = None
    normalised_sha256: str | None = None
    source: str = "upload"
    # {field, old, new, reason, actor, actor_role, at, note: CORRECTED_BY_REVIEWER}
    corrections: tuple[Mapping[str, Any], ...] = ()

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "slot": self.slot,
            "upload_id": self.upload_id,
            "source": self.source,
            "sha256": self.sha256,
            "version_id": self.version_id,
            "normalised_sha256": self.normalised_sha256,
        }
        if self.corrections:  # absent otherwise: records issued without corrections read as before
            out["corrections"] = [{**c, "note": CORRECTED_BY_REVIEWER} for c in self.corrections]
        return out

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> EvidenceRef:
        return cls(
            slot=str(d["slot"]),
            upload_id=str(d["upload_id"]),
            sha256=d.get("sha256"),
            version_id=d.get("version_id"),
            normalised_sha256=d.get("normalised_sha256"),
            source=str(d.get("source") or "upload"),
            corrections=tuple(
                {k: v for k, v in c.items() if k != "note"} for c in d.get("corrections") or []
            ),
        )


@dataclass(frozen=True)
class LicenceRecord:
    """The registry record of one licence version (PK ``LIC#<licence id>``, SK ``META``)."""

    metadata: LicenceMetadata
    status: LicenceStatus
    reserved_at: datetime
    issued_at: datetime | None = None  # when the sealed PDF was registered (status became valid)
    pdf: StoredPdf | None = None
    seal_cert_sha256: str | None = None
    supersedes: str | None = None
    superseded_by: str | None = None
    event_published: bool = False  # LicenceIssued went out (retries publish it if a crash hid it)
    history: tuple[AuditEntry, ...] = field(default=())
    evidence: tuple[EvidenceRef, ...] = ()  # the application's materials the approval was taken on
    # Index in its type's status list (licences/status_list.py), allocated at reservation, never reused;
    # None for licences issued before the QR credential (their QR holds the verify URL only).
    status_index: int | None = None

    @property
    def licence_id(self) -> str:
        return self.metadata.licence_id

    @property
    def application_id(self) -> str:
        return self.metadata.application_id

    @property
    def holder_code(self) -> str:
        return self.metadata.holder_code

    @property
    def visible(self) -> bool:
        """False while being issued: verification and holders must treat it as not found."""
        return self.status is not LicenceStatus.ISSUING

    def effective_status(self, today: date) -> LicenceStatus:
        """The status shown to people: a valid licence past its validity is expired (05)."""
        until = self.metadata.valid_until
        if self.status is LicenceStatus.VALID and until is not None and today > until:
            return LicenceStatus.EXPIRED
        return self.status

    def with_entry(self, entry: AuditEntry, **changes: Any) -> LicenceRecord:
        return replace(self, history=(*self.history, entry), **changes)

    def as_dict(self) -> dict[str, Any]:
        return {
            "licence_id": self.licence_id,
            "status": self.status.value,
            "metadata": self.metadata.as_dict(),
            "reserved_at": self.reserved_at.astimezone(UTC).isoformat(),
            "issued_at": self.issued_at.astimezone(UTC).isoformat() if self.issued_at else None,
            "pdf": self.pdf.as_dict() if self.pdf else None,
            "seal_cert_sha256": self.seal_cert_sha256,
            "supersedes": self.supersedes,
            "superseded_by": self.superseded_by,
            "event_published": self.event_published,
            "history": [e.as_dict() for e in self.history],
            "evidence": [e.as_dict() for e in self.evidence],
            "status_index": self.status_index,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> LicenceRecord:
        return cls(
            metadata=LicenceMetadata.from_dict(d["metadata"]),
            status=LicenceStatus(d["status"]),
            reserved_at=datetime.fromisoformat(d["reserved_at"]),
            issued_at=datetime.fromisoformat(d["issued_at"]) if d.get("issued_at") else None,
            pdf=StoredPdf.from_dict(d["pdf"]) if d.get("pdf") else None,
            seal_cert_sha256=d.get("seal_cert_sha256"),
            supersedes=d.get("supersedes"),
            superseded_by=d.get("superseded_by"),
            event_published=bool(d.get("event_published", False)),
            history=tuple(AuditEntry.from_dict(e) for e in d.get("history", [])),
            evidence=tuple(EvidenceRef.from_dict(e) for e in d.get("evidence") or []),
            status_index=int(d["status_index"]) if d.get("status_index") is not None else None,
        )

    def public_view(self, today: date) -> dict[str, Any]:
        """What a holder, reviewer or verifier may see (no storage internals beyond the fingerprint)."""
        status = self.effective_status(today)
        return {
            "licence_id": self.licence_id,
            "status": status.value,
            "status_zh": status.zh,
            "status_en": status.en,
            "metadata": self.metadata.as_dict(),
            "issued_at": self.issued_at.astimezone(UTC).isoformat() if self.issued_at else None,
            "pdf_sha256": self.pdf.sha256 if self.pdf else None,
            "seal_cert_sha256": self.seal_cert_sha256,
            "supersedes": self.supersedes,
            "superseded_by": self.superseded_by,
        }


def china_date(at: datetime) -> date:
    """The Beijing calendar date of an instant (naive datetimes are taken as UTC)."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(CHINA_TZ).date()


def add_years(start: date, years: int) -> date:
    """`start` plus whole years; 29 February falls back to 28 February."""
    try:
        return start.replace(year=start.year + years)
    except ValueError:
        return start.replace(year=start.year + years, day=28)


def validity_end(valid_from: date, validity_years: int | None) -> date | None:
    """Last valid day for a validity of `validity_years` starting `valid_from` (None = long-term)."""
    if validity_years is None:
        return None
    return add_years(valid_from, validity_years) - timedelta(days=1)
