"""The signed trust list: `GET /trust` as a compact JWS the offline verifier can check.

What it holds: the bureau roots, the seal certificates with their key id (`kid`) and validity, the
TSA anchors, and which keys sign status lists (the seal keys: one key seals the PDF, signs the QR
credential and the lists). Old seal certificates stay listed after a rollover, so licences sealed
before it keep verifying; the new seal is listed before it is made current (`python -m infra.pki`).

Who signs it and how a verifier anchors it (docs/decisions.md, "Signed trust list"): the current seal
key (KMS) signs it, naming its key id; a verifier accepts it only when that seal is among the list's
seals and its certificate chains to a root the verifier already pins (the CLI's bundled anchors,
`--root FILE`, or the roots of the list it cached before). The list cannot add a root: roots it names
that the verifier does not pin are left out (and reported), so a stolen seal key cannot make a
verifier trust a new root. A root rollover is re-pinned out of band.

The JWS signs a manifest (every certificate's SHA-256 by role, the current seal, the status lists, the
validity window); the certificates' PEM are the document's top-level entries as before (what
`TrustAnchors.from_trust_document` and older `--trust-bundle` readers read). A verifier that checks
the signature takes only certificates the manifest names, in the role it names them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .jws import TYP_TRUST_LIST, Jws, JwsError, SealKey, decode_jws, sign_jws

if TYPE_CHECKING:
    from asn1crypto import x509 as asn1_x509

    from onestop.verification.anchors import TrustAnchors

    from .status_list import StatusList

TRUST_LIST_FORMAT = 2
TRUST_LIST_KEY = "public/trust.json"
VALIDITY = timedelta(days=7)
CACHE_TRUST = "trust.json"
CACHE_LISTS = "status-lists"
CACHE_PINS = "pinned-roots.pem"


class TrustListError(ValueError):
    """The trust list cannot be accepted; `message_zh` / `message_en` say why."""

    def __init__(self, message_zh: str, message_en: str) -> None:
        super().__init__(message_en)
        self.message_zh = message_zh
        self.message_en = message_en


def sign_trust_list(
    anchors: TrustAnchors,
    *,
    key: SealKey,
    at: datetime,
    status_lists: Iterable[str] = (),
    validity: timedelta = VALIDITY,
    verify_base_url: str | None = None,
) -> dict[str, Any]:
    """The published trust document of `anchors`, signed by `key` (whose certificate must be listed).

    The JWS signs a manifest: the SHA-256 of every certificate by role, the current seal, the status
    lists and the validity window. The certificates themselves (PEM) are the document's top-level
    entries, bound by those hashes (a manifest stays far below KMS's 4096-byte message whatever the
    number of rollovers; the PEMs would not)."""
    from onestop.verification.anchors import fingerprint, key_id

    at = at.astimezone(UTC).replace(microsecond=0)
    if key.kid not in {key_id(c) for c in anchors.seals}:
        raise ValueError(f"the signing seal {key.kid} is not among the published seals")
    manifest: dict[str, Any] = {
        "format": TRUST_LIST_FORMAT,
        "issued_at": at.isoformat(),
        "valid_until": (at + validity).isoformat(),
        "roots": [fingerprint(c) for c in anchors.roots],
        "seals": [fingerprint(c) for c in anchors.seals],
        "tsa": [fingerprint(c) for c in anchors.tsa],
        "current_seal": anchors.current_seal,
        # The seal keys sign the status lists too; one kid per seal certificate.
        "status_list_keys": [key_id(c) for c in anchors.seals],
        "status_lists": sorted(status_lists),
        # The bureau's verify site: a URL-only QR code pointing elsewhere is a forgery warning.
        "verify_base_url": verify_base_url,
    }
    readable = anchors.document(generated_at=at)  # what older `--trust-bundle` readers read
    for name in ("format", "issued_at", "valid_until", "status_list_keys", "status_lists", "verify_base_url"):
        readable[name] = manifest[name]
    return {**readable, "jws": sign_jws(manifest, typ=TYP_TRUST_LIST, key=key)}


@dataclass(frozen=True)
class VerifiedTrustList:
    """A trust list whose signature chains to a pinned root; `anchors` holds only what it may."""

    anchors: TrustAnchors
    issued_at: datetime
    valid_until: datetime
    signer_kid: str
    status_lists: tuple[str, ...]
    document: dict[str, Any] = field(repr=False)  # as published (to cache and pass on)
    verify_base_url: str | None = None
    ignored_roots: tuple[str, ...] = ()  # sha256 of listed roots that are not pinned

    def fresh(self, at: datetime) -> bool:
        return at <= self.valid_until


def _time(value: Any) -> datetime:
    try:
        at = datetime.fromisoformat(str(value))
    except ValueError as exc:
        raise _rejected("签发时间格式错误", f"bad time {value!r}") from exc
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _rejected(zh: str, en: str) -> TrustListError:
    return TrustListError(f"信任列表不可信：{zh}。", f"The trust list cannot be trusted: {en}.")


def _issued_by(cert: Any, root: Any) -> bool:
    try:
        cert.verify_directly_issued_by(root)
    except Exception:  # another root's (wrong name, bad signature, other key type)
        return False
    return True


def _chains(cert: Any, roots: Sequence[Any]) -> bool:
    return any(_issued_by(cert, root) for root in roots)


def verify_trust_list(
    document: Mapping[str, Any],
    *,
    pinned_roots: Sequence[asn1_x509.Certificate],
    not_before: datetime | None = None,
) -> VerifiedTrustList:
    """Check the trust document against the pinned roots; raises TrustListError.

    Only certificates whose SHA-256 the signed manifest lists are taken, in the role it lists them.
    `not_before`: the issue time of the list the verifier holds already; an older list is a rollback
    (replaying a list from before a key was withdrawn) and is refused.
    """
    from cryptography import x509

    from onestop.verification.anchors import TrustAnchors, fingerprint, key_id, load_pem_bundle

    if not pinned_roots:
        raise _rejected("没有预置的根证书", "no pinned root to check it against")
    token = document.get("jws")
    if not isinstance(token, str):
        raise _rejected("缺少签名", "it is not signed (no jws)")
    try:
        jws: Jws = decode_jws(token, typ=TYP_TRUST_LIST)
    except JwsError as exc:
        raise _rejected("签名格式错误", str(exc)) from exc
    manifest = jws.payload
    if manifest.get("format") != TRUST_LIST_FORMAT:
        raise _rejected("格式版本未知", f"unknown format {manifest.get('format')!r}")

    def listed(role: str) -> tuple[asn1_x509.Certificate, ...]:
        wanted = manifest.get(role)
        if not isinstance(wanted, list) or not all(isinstance(h, str) for h in wanted):
            raise _rejected("清单格式错误", f"the manifest's {role} is malformed")
        found: dict[str, asn1_x509.Certificate] = {}
        for entry in document.get(role) or []:
            try:
                for cert in load_pem_bundle(str(entry["pem"]).encode("ascii")):
                    found.setdefault(fingerprint(cert), cert)
            except (ValueError, KeyError, TypeError):
                continue  # not a certificate the manifest can name
        missing = [h for h in wanted if h not in found]
        if missing:
            raise _rejected("缺少清单所列的证书", f"the certificate {missing[0]} it lists is not in it")
        return tuple(found[h] for h in wanted)

    roots_listed, seals_listed, tsa_listed = listed("roots"), listed("seals"), listed("tsa")
    signer_cert = next((c for c in seals_listed if key_id(c) == jws.kid), None)
    if signer_cert is None:
        raise _rejected("签名密钥不在列表的印章证书中", "its signing key is not one of the seals it lists")
    signer = x509.load_der_x509_certificate(signer_cert.dump())
    roots = [x509.load_der_x509_certificate(r.dump()) for r in pinned_roots]
    if not _chains(signer, roots):
        raise _rejected(
            "签名证书不是由预置根证书签发", "its signing certificate is not issued by a pinned root"
        )
    if not jws.verified_by(signer.public_key()):
        raise _rejected("签名与内容不符（已被篡改）", "the signature does not match its content (altered)")
    issued_at, valid_until = _time(manifest.get("issued_at")), _time(manifest.get("valid_until"))
    if not signer.not_valid_before_utc <= issued_at <= signer.not_valid_after_utc:
        raise _rejected(
            "签发时签名证书不在有效期内", "the signing certificate was not valid when it was signed"
        )
    if not_before is not None and issued_at < not_before:
        raise _rejected(
            "比已缓存的列表更旧（可能是重放）", "it is older than the one already held (a replay)"
        )
    pinned = {fingerprint(r) for r in pinned_roots}
    kept_seals = tuple(s for s in seals_listed if _chains(x509.load_der_x509_certificate(s.dump()), roots))
    current = manifest.get("current_seal")
    anchors = TrustAnchors(
        roots=tuple(r for r in roots_listed if fingerprint(r) in pinned) or tuple(pinned_roots),
        seals=kept_seals,
        current_seal=current if isinstance(current, str) else None,
        tsa=tsa_listed,
    )
    names = manifest.get("status_lists") or []
    base_url = manifest.get("verify_base_url")
    return VerifiedTrustList(
        verify_base_url=base_url if isinstance(base_url, str) else None,
        anchors=anchors,
        issued_at=issued_at,
        valid_until=valid_until,
        signer_kid=jws.kid,
        status_lists=tuple(str(n) for n in names),
        document=dict(document),
        ignored_roots=tuple(fingerprint(r) for r in roots_listed if fingerprint(r) not in pinned),
    )


# ----------------------------------------------------------------------------- the CLI's offline cache


def write_cache(
    folder: Path,
    trust: VerifiedTrustList,
    lists: Iterable[StatusList],
    pinned_roots: Sequence[asn1_x509.Certificate] = (),
) -> list[Path]:
    """Store the verified trust document, the status lists and the pinned roots for offline checks;
    the files written."""
    from onestop.verification.anchors import to_pem

    folder.mkdir(parents=True, exist_ok=True)
    (folder / CACHE_LISTS).mkdir(exist_ok=True)
    written = [folder / CACHE_TRUST]
    written[0].write_text(json.dumps(trust.document, ensure_ascii=False, indent=2), "utf-8")
    if pinned_roots:
        (folder / CACHE_PINS).write_text("".join(to_pem(r) for r in pinned_roots), "ascii")
        written.append(folder / CACHE_PINS)
    for status_list in lists:
        path = folder / CACHE_LISTS / f"{_safe(status_list.name)}.json"
        path.write_text(json.dumps(status_list.document(), ensure_ascii=False, indent=2), "utf-8")
        written.append(path)
    return written


def _safe(name: str) -> str:
    if not name or not all(c.isalnum() or c in "-_" for c in name):
        raise ValueError(f"unsafe list name {name!r}")
    return name


def load_cache(
    folder: Path, *, pinned_roots: Sequence[asn1_x509.Certificate] | None = None
) -> tuple[TrustAnchors, dict[str, StatusList]]:
    """The cached trust (re-verified against `pinned_roots`, or the roots pinned in the folder by
    `onestop trust update`; without either, read as an unsigned trust bundle) and status lists.

    Each list's own signature is checked when it is used (`check_credential`), against this trust."""
    from onestop.verification.anchors import TrustAnchors, load_pem_bundle

    from .status_list import StatusList, StatusListError

    document = json.loads((folder / CACHE_TRUST).read_text("utf-8"))
    pins = folder / CACHE_PINS
    if not pinned_roots and pins.is_file():  # the roots `onestop trust update` pinned
        pinned_roots = load_pem_bundle(pins.read_bytes())
    if pinned_roots:
        anchors = verify_trust_list(document, pinned_roots=pinned_roots).anchors
    else:
        anchors = TrustAnchors.from_trust_document(document)
    lists: dict[str, StatusList] = {}
    lists_dir = folder / CACHE_LISTS
    if lists_dir.is_dir():
        for path in sorted(lists_dir.glob("*.json")):
            try:
                status_list = StatusList.from_document(json.loads(path.read_text("utf-8")))
            except (StatusListError, ValueError):
                continue  # a damaged file is as good as none: the status tick says unknown
            lists[status_list.name] = status_list
    return anchors, lists
