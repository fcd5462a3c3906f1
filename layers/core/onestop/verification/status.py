"""The registry-side checks: the identifier's check character, and the licence's status.

`RegistryEntry` is what verification needs from a registry record. The verify function builds it from
`LicenceRecord`; `GET /verify/{id}` publishes it; the CLI reads it back from there. So the status check
below is the one used by the API, the CLI and the web page.
"""

from __future__ import annotations

import hmac
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any

from onestop.errors import InvalidInput
from onestop.identifiers.licence_id import parse_licence_id
from onestop.licences.models import CHINA_TZ, HolderKind, LicenceRecord, LicenceStatus, china_date

from .report import Check, CheckResult, failed, passed, unknown


@dataclass(frozen=True)
class RegistryEntry:
    """A licence as the registry knows it, at one moment: its effective status and since when."""

    licence_id: str
    status: LicenceStatus  # effective: a valid licence past its validity is expired (05)
    status_since: datetime | None
    pdf_sha256: str | None
    superseded_by: str | None
    face: Mapping[str, Any] = field(default_factory=dict)  # the licence face data (what is printed)

    @classmethod
    def from_record(cls, record: LicenceRecord, now: datetime) -> RegistryEntry:
        status = record.effective_status(china_date(now))
        return cls(
            licence_id=record.licence_id,
            status=status,
            status_since=_since(record, status),
            pdf_sha256=record.pdf.sha256 if record.pdf else None,
            superseded_by=record.superseded_by,
            face=face_of(record),
        )

    def public(self, *, masked: bool) -> dict[str, Any]:
        """What `GET /verify/{id}` publishes (`masked` hides the holder's name and code)."""
        return {
            "licence_id": self.licence_id,
            "status": self.status.value,
            "status_zh": self.status.zh,
            "status_en": self.status.en,
            "status_since": self.status_since.isoformat() if self.status_since else None,
            "pdf_sha256": self.pdf_sha256,
            "superseded_by": self.superseded_by,
            "licence": masked_face(self.face) if masked else dict(self.face),
        }

    @classmethod
    def from_public(cls, d: Mapping[str, Any]) -> RegistryEntry:
        since = d.get("status_since")
        return cls(
            licence_id=str(d["licence_id"]),
            status=LicenceStatus(d["status"]),
            status_since=datetime.fromisoformat(since) if since else None,
            pdf_sha256=d.get("pdf_sha256"),
            superseded_by=d.get("superseded_by"),
            face=dict(d.get("licence") or {}),
        )


RegistryLookup = Callable[[str], "LicenceRecord | RegistryEntry | None"]


def face_of(record: LicenceRecord) -> dict[str, Any]:
    """The licence face (the fields printed on it), from the registry record."""
    m = record.metadata
    return {
        "source": "registry",
        "licence_id": m.licence_id,
        "number": m.number,
        "name_zh": m.name_zh,
        "name_en": m.name_en,
        "holder_name": m.holder_name,
        "holder_code": m.holder_code,
        "holder_kind": m.holder_kind.value,
        "issuer_name": m.issuer_name,
        "issuer_name_en": m.issuer_name_en,
        "issuer_code": m.issuer_code,
        "item_name": m.item_name,
        "issue_date": m.issue_date.isoformat(),
        "valid_from": m.valid_from.isoformat(),
        "valid_until": m.valid_until.isoformat() if m.valid_until else None,
        "version": m.version,
    }


def _mask_name(name: str) -> str:
    chars = list(name.strip())
    if len(chars) <= 1:
        return "*"
    if len(chars) == 2:
        return chars[0] + "*"
    return chars[0] + "*" * (len(chars) - 2) + chars[-1]


def _mask_organisation(name: str) -> str:
    # Enough to recognise the name printed on the paper in hand (its first two and last four
    # characters, e.g. 深圳****有限公司), not enough to read a holder off an unseen number.
    chars = list(name.strip())
    if len(chars) <= 6:
        return _mask_name(name)
    return "".join(chars[:2]) + "*" * (len(chars) - 6) + "".join(chars[-4:])


def _mask_code(code: str) -> str:
    return code[:4] + "*" * max(len(code) - 8, 0) + code[-4:] if len(code) > 8 else "*" * len(code)


def masked_face(face: Mapping[str, Any]) -> dict[str, Any]:
    """The face data a look-up by number shows to anyone: every holder's name and code masked.

    Licence numbers are sequential and so guessable; unmasked, the public look-up would be a directory
    of holders to target (issue 13: enterprises were listed, then their originals pulled). Whoever
    holds the licence knows its holder and names it (`holder_check`) to see the face in full.
    """
    out = dict(face)
    person = out.get("holder_kind") == HolderKind.PERSON.value
    if out.get("holder_name"):
        name = str(out["holder_name"])
        out["holder_name"] = _mask_name(name) if person else _mask_organisation(name)
    if out.get("holder_code"):
        out["holder_code"] = _mask_code(str(out["holder_code"]))
    out["masked"] = True
    return out


def _comparable(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).split()).casefold()


def holder_check(face: Mapping[str, Any] | None, claimed: str) -> CheckResult:
    """Whether `claimed` (a holder name or code, as printed) is the licence's holder."""
    wanted = _comparable(claimed).encode()
    known = [str(face.get(k) or "") for k in ("holder_name", "holder_code")] if face else []
    # Constant-time comparison: the answer must not leak how much of a guess was right.
    if wanted and any(k and hmac.compare_digest(_comparable(k).encode(), wanted) for k in known):
        return passed(
            Check.HOLDER,
            "holder_matches",
            "所填持证主体与登记一致。",
            "The holder given is the registered holder of this licence.",
        )
    return failed(
        Check.HOLDER,
        "holder_mismatch",
        "所填持证主体（名称或代码）与该证照的登记不一致，请按证照上的原样填写；不一致时不能确认该证照属于此主体。",
        "The holder given (name or code) is not this licence's registered holder. Type it exactly as printed "
        "on the licence; until it matches, the licence cannot be taken as this holder's.",
    )


def _since(record: LicenceRecord, status: LicenceStatus) -> datetime | None:
    if status is LicenceStatus.EXPIRED and record.status is not LicenceStatus.EXPIRED:
        until = record.metadata.valid_until
        if until is not None:  # expiry is derived: from the day after the last valid day, Beijing time
            return datetime.combine(until + timedelta(days=1), time.min, CHINA_TZ)
    for entry in reversed(record.history):
        if entry.to_status is status:
            return entry.at if entry.at.tzinfo else entry.at.replace(tzinfo=UTC)
    return record.issued_at


# ----------------------------------------------------------------------------- identifier


def identifier_check(licence_id: str | None) -> CheckResult:
    """The GB/T 36904 shape and its ISO 7064 MOD 37,36 check character."""
    if not licence_id:
        return failed(
            Check.IDENTIFIER,
            "no_identifier",
            "文件中没有电子证照标识，不是本系统签发的电子证照。",
            "The document carries no e-licence identifier; it is not an e-licence issued by this system.",
        )
    try:
        parsed = parse_licence_id(licence_id)
    except InvalidInput as exc:
        return failed(
            Check.IDENTIFIER,
            exc.code,
            exc.zh + "".join(d.zh for d in exc.details),
            " ".join([exc.en, *(d.en for d in exc.details)]),
            licence_id=licence_id,
            problems=[d.as_dict() for d in exc.details],
        )
    return passed(
        Check.IDENTIFIER,
        "identifier_ok",
        "电子证照标识格式正确，校验位无误。",
        "The e-licence identifier is well formed and its check character is right.",
        licence_id=parsed.value,
        issuer_code=parsed.issuer_uscc,
        type_code=parsed.type_code,
        serial=parsed.serial,
        version=parsed.version,
    )


def identifier_unreadable() -> CheckResult:
    """The file could not be read: its identifier is unknown, which is not the same as absent."""
    return unknown(
        Check.IDENTIFIER,
        "identifier_unreadable",
        "文件未能完成解析，无法读取电子证照标识。",
        "The file could not be analysed, so its e-licence identifier could not be read.",
    )


# ----------------------------------------------------------------------------- status


def status_unreadable() -> CheckResult:
    return unknown(
        Check.STATUS,
        "status_not_checked",
        "文件未能完成解析，无法读取证照标识，因此未查询登记状态。",
        "The file could not be analysed, so its identifier is unknown and its status was not looked up.",
    )


def lookup_entry(registry_lookup: RegistryLookup, licence_id: str, now: datetime) -> RegistryEntry | None:
    """The registry's entry for `licence_id`; a record still being issued counts as absent."""
    found = registry_lookup(licence_id)
    if found is None:
        return None
    if isinstance(found, RegistryEntry):
        return found
    if not found.visible:
        return None
    return RegistryEntry.from_record(found, now)


def _date(at: datetime | None) -> tuple[str, str]:
    if at is None:
        return "", ""
    d = china_date(at)
    return f"（自{d.year}年{d.month}月{d.day}日起）", f" on {d.isoformat()}"


def registry_unavailable(error: str) -> CheckResult:
    return unknown(
        Check.STATUS,
        "registry_unavailable",
        "暂时无法查询证照登记状态，请稍后再试。",
        "The licence registry cannot be reached right now; try again later.",
        error=error[:300],
    )


def status_offline() -> CheckResult:
    return unknown(
        Check.STATUS,
        "status_not_checked",
        "离线核验不查询证照状态；如需确认证照仍然有效，请联网核验（--service）。",
        "Offline verification does not check the licence's status; to confirm it is still valid, "
        "verify online (--service).",
    )


def status_from_credential(
    credential: str,
    licence_id: str | None,
    trust: Any,
    status_lists: Mapping[str, Any],
    at: datetime,
) -> CheckResult:
    """Offline, the status of a sealed PDF by the signed status list of its licence type, read for the
    credential the PDF carries (its document information repeats the QR's: licences/render.py). The
    judgement is the one for a picture of the licence (credential_check.check_credential): the
    credential's own signature by a published seal key, the list's signature and freshness, the
    entry at the credential's index. Only called when the PDF's seal passed, so the credential is the
    bureau's; one naming another licence, or not verifying, leaves the status unknown."""
    from .credential_check import check_credential

    verdict = check_credential(credential, trust=trust, status_lists=status_lists, at=at)
    cred = verdict.credential
    online_zh, online_en = "如需确认，请联网核验（--service）。", "To confirm it, verify online (--service)."
    if cred is None or verdict.verdict in ("invalid", "unknown_issuer") or cred.licence_id != licence_id:
        return unknown(
            Check.STATUS,
            "status_credential_unusable",
            f"文件所载的状态凭证无法用于核对状态。{online_zh}",
            f"The status credential the file carries cannot be used to check the status. {online_en}",
        )
    tick = verdict.tick("status")
    details: dict[str, Any] = {"source": "status_list", "status_list": cred.status_list}
    if verdict.verdict == "valid" and tick is not None and tick.ok:
        return passed(Check.STATUS, "valid_per_status_list", tick.reason_zh, tick.reason_en, **details)
    if verdict.verdict in ("revoked", "suspended", "superseded", "expired"):
        return failed(
            Check.STATUS,
            f"{verdict.verdict}_per_status_list",
            verdict.message_zh,
            verdict.message_en,
            **details,
        )
    zh, en = (tick.reason_zh, tick.reason_en) if tick else (verdict.message_zh, verdict.message_en)
    return unknown(Check.STATUS, "status_list_unusable", f"{zh}{online_zh}", f"{en} {online_en}", **details)


FACE_COMPARED = ("licence_id", "number", "holder_code", "name_zh", "issuer_name")


def status_check(
    licence_id: str | None,
    entry: RegistryEntry | None,
    file_sha256: str | None,
    sealed_sha256: str | None = None,
    face: Mapping[str, Any] | None = None,
    validation_updates: int = 0,
) -> CheckResult:
    """Registered, the issued file (when a file is given), its face data the registry's, status valid.

    "The issued original" only when the whole file's SHA-256 is the registry's. When integrity passed,
    `sealed_sha256` is the fingerprint of the sealed part: if that is the registry's, the file is the
    issued original followed by `validation_updates` admitted updates (or an end-of-line); the report
    says exactly that. `face` is what the sealed revision states; it must agree with the registry.
    """
    if not licence_id:
        return failed(
            Check.STATUS,
            "no_identifier",
            "文件中没有电子证照标识，无法查询登记状态。",
            "The document carries no e-licence identifier, so its registration cannot be looked up.",
        )
    if entry is None:
        return failed(
            Check.STATUS,
            "licence_not_found",
            "登记库中没有这个电子证照标识，证照不是本机关签发的或标识有误。",
            "The registry has no licence with this identifier: it was not issued here, or the "
            "identifier is wrong.",
            licence_id=licence_id,
        )
    details: dict[str, Any] = {
        "licence_id": entry.licence_id,
        "status": entry.status.value,
        "status_zh": entry.status.zh,
        "status_en": entry.status.en,
        "status_since": entry.status_since.isoformat() if entry.status_since else None,
    }
    if entry.superseded_by:
        details["superseded_by"] = entry.superseded_by
    if file_sha256 is not None:
        details["registered_sha256"] = entry.pdf_sha256
        details["file_sha256"] = file_sha256
        if sealed_sha256 is not None and sealed_sha256 != file_sha256:
            details["sealed_sha256"] = sealed_sha256
        registered = (entry.pdf_sha256 or "").lower()
        exact = bool(registered) and registered == file_sha256.lower()
        if not exact and (not registered or registered != (sealed_sha256 or "").lower()):
            return failed(
                Check.STATUS,
                "not_issued_file",
                "此文件与登记的签发文件不一致（SHA-256指纹不同），不是签发的原件。",
                "This file is not the one registered at issue (different SHA-256 fingerprint); "
                "it is not the original.",
                **details,
            )
        mismatch = _face_mismatch(face, entry.face)
        if mismatch:
            return failed(
                Check.STATUS,
                "face_mismatch",
                "文件中的证照信息与登记的信息不一致，不是签发的原件。",
                "The licence data in the file differs from the registry's record; it is not the original.",
                mismatched=mismatch,
                **details,
            )
    else:
        exact = False
    since_zh, since_en = _date(entry.status_since)
    if entry.status is LicenceStatus.VALID:
        if file_sha256 is not None and not exact:
            n = validation_updates
            return passed(
                Check.STATUS,
                "valid_with_validation_updates",
                f"证照已登记，状态有效；此文件签章部分即为签发原件，其后有{n}次经核验的验证数据更新"
                + ("（或仅文件末尾的换行）。" if n == 0 else "。"),
                "The licence is registered and valid; the sealed revision of this file is the issued "
                "original, "
                f"followed by {n} validation update(s) that passed the checks"
                + (" (or only an end-of-line at the end)." if n == 0 else "."),
                validation_updates=n,
                **details,
            )
        return passed(
            Check.STATUS,
            "valid",
            "证照已登记，状态有效" + ("，且此文件即为签发原件。" if file_sha256 else "。"),
            "The licence is registered and valid"
            + (", and this file is the issued original." if file_sha256 else "."),
            **details,
        )
    if entry.status is LicenceStatus.SUPERSEDED:
        newer_zh = f"，新版本标识为 {entry.superseded_by}" if entry.superseded_by else ""
        newer_en = f"; the new version is {entry.superseded_by}" if entry.superseded_by else ""
        return failed(
            Check.STATUS,
            "superseded",
            f"此版本已被新版本替代{since_zh}{newer_zh}，请向持证人索取新版证照。",
            f"This version was superseded by a newer one{since_en}{newer_en}; "
            "ask the holder for the new version.",
            **details,
        )
    return failed(
        Check.STATUS,
        f"status_{entry.status.en.split()[0]}",
        f"证照状态为“{entry.status.zh}”{since_zh}，目前不是有效证照。",
        _status_sentence_en(entry.status, since_en),
        **details,
    )


def _face_mismatch(face: Mapping[str, Any] | None, registered: Mapping[str, Any]) -> list[str]:
    """Face keys the file states differently from the registry (keys it does not state are not compared).

    A registry face fetched from the public look-up is masked: the file's face is masked the same way
    before comparing (the holder's code then agrees in its visible characters, whatever the kind; the
    name is not compared). The SHA-256 comparison before this one stays exact.
    """
    if not face:
        return []
    if registered.get("masked"):
        face = masked_face(face)
    return [
        k for k in FACE_COMPARED if face.get(k) is not None and str(face.get(k)) != str(registered.get(k))
    ]


def _status_sentence_en(status: LicenceStatus, since_en: str) -> str:
    if not since_en:
        return f"The licence is {status.en}; it is not currently valid."
    if status is LicenceStatus.EXPIRED:
        return f"The licence expired{since_en}; it is not currently valid."
    return f"The licence was {status.en}{since_en}; it is not currently valid."
