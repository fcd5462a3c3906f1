"""Check a QR credential (`onestop.licences.credential`): four ticks, as OpenAttestation separates them.

- integrity: the COSE_Sign1 signature verifies over the payload (a flipped byte fails);
- issuer: the key id names a seal certificate of the trust list, chained to one of its roots, valid
  when the credential was issued;
- status: from the licence type's signed status list (fresh, signed by a trusted seal key), or, online,
  from the registry (the list may lag the registry by a publication);
- registry (online only): the registry has this licence and its facts hash to the credential's digest.

The verdict is the worst finding: invalid > unknown_issuer > revoked > suspended > superseded > expired >
status_unknown > valid. The online API passes the service's own trust, current lists and the registry;
the CLI passes its cached bundle and lists and no registry (the registry tick says "not consulted").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from onestop.licences.credential import Credential, CredentialError, parse_credential, verify_signature

from .anchors import TrustAnchors, key_id

if TYPE_CHECKING:
    from asn1crypto import x509 as asn1_x509

    from onestop.licences.status_list import StatusList

VERDICTS = (
    "valid",
    "invalid",
    "suspended",
    "revoked",
    "superseded",
    "expired",
    "status_unknown",
    "unknown_issuer",
)


@dataclass(frozen=True)
class Tick:
    """One check: ok True (passed), False (failed) or None (could not be checked)."""

    name: str  # "integrity" | "issuer" | "status" | "registry"
    ok: bool | None
    reason_zh: str
    reason_en: str

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "ok": self.ok, "reason_zh": self.reason_zh, "reason_en": self.reason_en}


@dataclass(frozen=True)
class CredentialVerdict:
    """The answer about one QR credential."""

    verdict: str  # one of VERDICTS
    ticks: tuple[Tick, ...]
    credential: Credential | None
    message_zh: str
    message_en: str

    def tick(self, name: str) -> Tick | None:
        return next((t for t in self.ticks if t.name == name), None)

    def as_dict(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict,
            "message_zh": self.message_zh,
            "message_en": self.message_en,
            "ticks": [t.as_dict() for t in self.ticks],
            "credential": self.credential.as_dict() if self.credential else None,
        }


@dataclass(frozen=True)
class SealKeyInfo:
    """A trusted seal certificate by its key id: public key and validity, its chain already checked."""

    kid: str
    cert: asn1_x509.Certificate
    public_key: Any  # cryptography EllipticCurvePublicKey
    not_before: datetime
    not_after: datetime


@lru_cache(maxsize=64)
def _seal_index(trust: TrustAnchors) -> dict[str, SealKeyInfo]:
    """kid -> seal certificate, for the seals that chain directly to one of the trust's roots."""
    from cryptography import x509

    roots = [x509.load_der_x509_certificate(r.dump()) for r in trust.roots]
    out: dict[str, SealKeyInfo] = {}
    for seal in trust.seals:
        cert = x509.load_der_x509_certificate(seal.dump())
        if not any(_issued_by(cert, root) for root in roots):
            continue
        out[key_id(seal)] = SealKeyInfo(
            kid=key_id(seal),
            cert=seal,
            public_key=cert.public_key(),
            not_before=cert.not_valid_before_utc,
            not_after=cert.not_valid_after_utc,
        )
    return out


def _issued_by(cert: Any, root: Any) -> bool:
    try:
        cert.verify_directly_issued_by(root)
    except Exception:  # wrong issuer name, bad signature, unsupported key: not this root's
        return False
    return True


def seal_for_kid(trust: TrustAnchors, kid: str) -> SealKeyInfo | None:
    """The trusted seal certificate with key id `kid`, if the trust list has one chained to a root."""
    return _seal_index(trust).get(kid.lower())


def _tick(name: str, ok: bool | None, zh: str, en: str) -> Tick:
    return Tick(name, ok, zh, en)


_MESSAGES: dict[str, tuple[str, str]] = {
    "valid": ("凭证真实有效，证照状态有效。", "The credential is genuine and the licence is valid."),
    "invalid": (
        "凭证无效：内容被篡改、不是本局签发或与登记信息不符，请勿采信。",
        "The credential is not valid: altered, not the bureau's, or not matching the registry. "
        "Do not rely on it.",
    ),
    "unknown_issuer": (
        "凭证的签发密钥不在局方公布的信任列表中，无法确认签发机构，请勿采信。",
        "The credential was signed by a key the bureau's trust list does not name; its issuer is unknown.",
    ),
    "revoked": (
        "证照已被撤销、注销或吊销，不再有效。",
        "The licence has been revoked, cancelled or withdrawn.",
    ),
    "suspended": ("证照已被暂扣，当前无效。", "The licence is suspended."),
    "superseded": (
        "该证照版本已被新版本替代，请向持证人索取最新版本。",
        "This licence version has been superseded by a newer one; ask the holder for the current version.",
    ),
    "expired": ("证照已超过有效期。", "The licence is past its validity."),
}


def _verdict(
    verdict: str, ticks: list[Tick], cred: Credential | None, status_note: tuple[str, str] | None = None
) -> CredentialVerdict:
    if verdict == "status_unknown":
        zh, en = status_note or ("无法确认证照状态。", "The licence's status cannot be confirmed.")
        zh = f"凭证真实，但{zh}"
        en = f"The credential is genuine, but {en[0].lower()}{en[1:]}"
    else:
        zh, en = _MESSAGES[verdict]
    return CredentialVerdict(verdict, tuple(ticks), cred, zh, en)


def check_credential(
    text: str,
    *,
    trust: TrustAnchors,
    status_lists: Mapping[str, StatusList],
    at: datetime,
    registry_lookup: Callable[[str], Any] | None = None,
) -> CredentialVerdict:
    """The verdict on the QR text `text` at time `at` (see the module docstring for the ticks)."""
    at = at if at.tzinfo else at.replace(tzinfo=UTC)
    try:
        cred, message = parse_credential(text)
    except CredentialError as exc:
        ticks = [_tick("integrity", False, exc.message_zh, exc.message_en)]
        return _verdict("invalid", ticks, None)

    seal = seal_for_kid(trust, cred.kid)
    if seal is None:
        ticks = [
            _tick(
                "integrity",
                None,
                "签名密钥未知，无法核对签名。",
                "Unknown signing key: the signature cannot be checked.",
            ),
            _tick(
                "issuer",
                False,
                f"签名密钥 {cred.kid} 不在信任列表中。",
                f"Signing key {cred.kid} is not in the trust list.",
            ),
        ]
        return _verdict("unknown_issuer", ticks, cred)
    if not verify_signature(message, seal.public_key):
        ticks = [
            _tick(
                "integrity",
                False,
                "签名与内容不符：凭证已被篡改。",
                "The signature does not match the content: the credential was altered.",
            ),
            _tick(
                "issuer",
                None,
                "内容被篡改，签发机构无从确认。",
                "Altered content: the issuer cannot be confirmed.",
            ),
        ]
        return _verdict("invalid", ticks, cred)
    ticks = [_tick("integrity", True, "签名与内容一致。", "The signature matches the content.")]
    if not seal.not_before <= cred.issued_at <= seal.not_after:
        ticks.append(
            _tick(
                "issuer",
                False,
                "签发时间不在印章证书有效期内。",
                "The credential's issue time is outside the seal certificate's validity.",
            )
        )
        return _verdict("unknown_issuer", ticks, cred)
    ticks.append(
        _tick(
            "issuer",
            True,
            f"由局方公布的电子印章密钥 {seal.kid} 签发。",
            f"Signed by the bureau's published seal key {seal.kid}.",
        )
    )

    worst: list[str] = []
    status_note: tuple[str, str] | None = None
    record = registry_lookup(cred.licence_id) if registry_lookup is not None else None
    if registry_lookup is not None:
        registry_tick, record_status = _registry(cred, record)
        if registry_tick.ok is False:
            return _verdict("invalid", [*ticks, registry_tick], cred)
        status_tick, value = _status_from_value(record_status, "登记系统", "the registry")
    else:
        registry_tick = _tick(
            "registry", None, "离线核验，未查询登记系统。", "Offline check: the registry was not consulted."
        )
        status_tick, value, status_note = _status_from_list(
            cred, status_lists.get(cred.status_list), trust, at
        )
    ticks.append(status_tick)
    ticks.append(registry_tick)
    if value is not None and value != 0:
        from onestop.licences.status_list import STATUS_MESSAGES

        worst.append(STATUS_MESSAGES.get(value, "revoked"))
    if cred.valid_until is not None:
        from onestop.licences.models import china_date

        if china_date(at) > cred.valid_until:
            worst.append("expired")
    if value is None:
        worst.append("status_unknown")
    for verdict in ("revoked", "suspended", "superseded", "expired", "status_unknown"):
        if verdict in worst:
            return _verdict(verdict, ticks, cred, status_note)
    return _verdict("valid", ticks, cred)


def _registry(cred: Credential, record: Any) -> tuple[Tick, int | None]:
    from onestop.licences.credential import facts_digest
    from onestop.licences.status_list import status_value

    if record is None or not getattr(record, "visible", True):
        return (
            _tick("registry", False, "登记系统中没有该证照。", "The registry has no such licence."),
            None,
        )
    if not hasattr(record, "metadata"):  # a RegistryEntry (the CLI asking the service's GET /verify/{id})
        return _registry_entry(cred, record)
    if facts_digest(record.metadata) != cred.digest:
        return (
            _tick(
                "registry",
                False,
                "凭证内容与登记的证照信息不符（可能是其他证照的凭证）。",
                "The credential does not match the registered licence facts "
                "(it may belong to another licence).",
            ),
            None,
        )
    if getattr(record, "status_index", None) not in (None, cred.status_index):
        return (
            _tick(
                "registry",
                False,
                "凭证的状态编号与登记不符。",
                "The credential's status index is not the registered one.",
            ),
            None,
        )
    return (
        _tick("registry", True, "与登记系统中的证照信息一致。", "Matches the licence in the registry."),
        status_value(record.status),
    )


def _registry_entry(cred: Credential, entry: Any) -> tuple[Tick, int | None]:
    """Compare with what the service's look-up publishes: validity and version always, the holder only
    where the face is not masked (the facts digest needs the full record, which only the service has)."""
    from onestop.licences.models import LicenceStatus
    from onestop.licences.status_list import status_value

    face = dict(entry.face or {})
    claims = {
        "valid_from": cred.valid_from.isoformat(),
        "valid_until": cred.valid_until.isoformat() if cred.valid_until else None,
        "version": cred.version,
    }
    if not face.get("masked"):
        claims.update(holder_name=cred.holder_name, holder_code=cred.holder_code)
    differs = [k for k, v in claims.items() if k in face and face[k] != v]
    if differs:
        return (
            _tick(
                "registry",
                False,
                f"凭证与登记信息不符（{'、'.join(differs)}）。",
                f"The credential does not match the registry ({', '.join(differs)}).",
            ),
            None,
        )
    status = LicenceStatus(entry.status)
    return (
        _tick(
            "registry", True, "登记系统中有该证照，信息一致。", "The registry holds this licence and agrees."
        ),
        status_value(status),
    )


def _status_from_value(value: int | None, source_zh: str, source_en: str) -> tuple[Tick, int | None]:
    from onestop.licences.status_list import STATUS_MESSAGES

    if value is None:
        return _tick("status", None, "无法确认状态。", "The status cannot be confirmed."), None
    name = STATUS_MESSAGES.get(value, "revoked")
    zh = {"valid": "有效", "suspended": "暂扣", "revoked": "撤销", "superseded": "已被新版本替代"}[name]
    return (
        _tick(
            "status",
            value == 0,
            f"据{source_zh}，证照状态：{zh}。",
            f"According to {source_en}, the licence is {name}.",
        ),
        value,
    )


def _status_from_list(
    cred: Credential, status_list: StatusList | None, trust: TrustAnchors, at: datetime
) -> tuple[Tick, int | None, tuple[str, str] | None]:
    if status_list is None:
        note = ("没有该类证照的状态列表。", "No status list for this licence type is at hand.")
        return _tick("status", None, *note), None, note
    problem = status_list.verify(trust)
    if problem is not None:
        note = ("状态列表的签名无法验证。", f"The status list cannot be trusted ({problem}).")
        return _tick("status", None, *note), None, note
    if status_list.name != cred.status_list:
        note = ("状态列表与凭证的证照类型不符。", "The status list is not this licence type's.")
        return _tick("status", None, *note), None, note
    as_of = status_list.issued_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    if not status_list.fresh(at):
        note = (
            f"状态列表已过期，状态截至 {as_of} 未知（请联网更新）。",
            f"Status unknown as of {as_of}: the status list has expired (update it online).",
        )
        return _tick("status", None, *note), None, note
    value = status_list.status_at(cred.status_index)
    if value is None:
        note = ("状态列表中没有该凭证的编号。", "The status list has no entry for this credential.")
        return _tick("status", None, *note), None, note
    tick, _ = _status_from_value(value, f"截至 {as_of} 的状态列表", f"the status list as of {as_of}")
    return tick, value, None
