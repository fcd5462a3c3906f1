"""The one verification core behind the API, the CLI and the web page.

`verify_pdf` runs the PDF checks (integrity, issuer) in the sandboxed worker, then the identifier and
status checks here (the registry look-up needs this process's AWS clients). `verify_licence_id`
answers a look-up by number: identifier and status only.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from onestop.errors import InvalidInput, Reason
from onestop.identifiers.licence_id import parse_licence_id
from onestop.licences.trust import PkiTrust
from onestop.sandbox import Sandbox, SandboxCrashed, SandboxTimeout, close_shared, shared_sandbox

from .anchors import TrustAnchors

if TYPE_CHECKING:
    from onestop.licences.status_list import StatusList
from .facts import PdfFacts
from .report import Check, CheckResult, StatusReport, VerificationReport, failed, unknown
from .status import (
    RegistryLookup,
    holder_check,
    identifier_check,
    identifier_unreadable,
    lookup_entry,
    registry_unavailable,
    status_check,
    status_from_credential,
    status_offline,
    status_unreadable,
)
from .structure import DEFAULT_STRUCTURE, StructureLimits

# `.checks` (pyHanko) is imported when a PDF is first verified, not with this module: importing
# pyHanko is ~0.5 s of cold start for the functions that only look licences up (api, status routes).

MiB = 1024 * 1024


@dataclass(frozen=True)
class VerifyLimits:
    """Bounds for one verification. A genuine licence is ~40 KB and verifies in a few tens of ms."""

    max_bytes: int = 4 * MiB  # under what reaches a Lambda: 6 MB payload, the body in base64
    timeout_s: float = 10.0
    memory_bytes: int = 768 * MiB  # address space the worker may add to what it inherited
    structure: StructureLimits = DEFAULT_STRUCTURE
    isolate: bool = True  # parse in the forked worker (False: in this process, e.g. for benchmarks)
    fast_path: bool = True  # a whole-file bureau seal is checked with `cryptography` in process


DEFAULT_LIMITS = VerifyLimits()


SANDBOX = "verification"


def _sandbox(memory_bytes: int) -> Sandbox:
    # Imported here, in this process, so that every worker forked from now on starts with pyHanko loaded.
    from .checks import quiet_pyhanko

    return shared_sandbox(SANDBOX, memory_bytes, quiet_pyhanko)


def shutdown_sandboxes() -> None:
    """Stop the verification workers (tests; a Lambda container simply freezes with its worker)."""
    close_shared(SANDBOX)


def _now(now: datetime | None) -> datetime:
    at = now or datetime.now(UTC)
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _anchors(trust: TrustAnchors | PkiTrust) -> TrustAnchors:
    return trust if isinstance(trust, TrustAnchors) else TrustAnchors.from_pki(trust)


def _pdf_facts(data: bytes, anchors: TrustAnchors, now: datetime, limits: VerifyLimits) -> PdfFacts:
    """The fast path for a whole-file bureau seal, else the full path in the sandboxed worker."""
    from .checks import analyse_pdf

    if limits.fast_path:
        from .fastpath import whole_file_seal

        fast = whole_file_seal(data, anchors, now, limits.structure)
        if fast is not None:
            return fast
    roots, seals, tsa = anchors.der()
    args = (data, roots, seals, tsa, now, limits.structure)
    if not limits.isolate:
        return analyse_pdf(*args)
    sandbox = _sandbox(limits.memory_bytes)
    try:
        return sandbox.run(analyse_pdf, args, limits.timeout_s)
    except SandboxTimeout:
        return _not_analysed(
            "verification_timeout",
            f"文件在{limits.timeout_s:g}秒内未能完成解析，无法核验（可能是恶意构造的文件）。",
            f"The file could not be analysed within {limits.timeout_s:g} s, so it could not be checked "
            "(it may be maliciously crafted).",
        )
    except SandboxCrashed as exc:
        return _not_analysed(
            "verification_aborted",
            "解析文件时超出资源限制或出错，无法核验（可能是恶意构造的文件）。",
            "Analysing the file exceeded the resource limits or failed, so it could not be checked "
            "(it may be maliciously crafted).",
            error=str(exc)[:300],
        )


def _not_analysed(code: str, zh: str, en: str, **details: str) -> PdfFacts:
    """The worker gave no answer: nothing about the file is known, and nothing may pass."""
    return PdfFacts(
        unknown(Check.INTEGRITY, code, zh, en, **details),
        unknown(
            Check.ISSUER,
            "issuer_not_checked",
            "文件未能完成解析，无法确认签发机关。",
            "The file could not be analysed, so the issuer cannot be established.",
        ),
        None,
        unreadable=True,
    )


def _too_large(limits: VerifyLimits) -> PdfFacts:
    return PdfFacts(
        failed(
            Check.INTEGRITY,
            "file_too_large",
            f"文件超过{limits.max_bytes // MiB} MB，不是电子证照原件（电子证照通常小于100 KB）。",
            f"The file is over {limits.max_bytes // MiB} MB; it is not an original e-licence "
            "(e-licences are usually under 100 KB).",
        ),
        unknown(
            Check.ISSUER,
            "issuer_not_checked",
            "文件过大，未作解析，无法确认签发机关。",
            "The file is too large to be analysed, so the issuer cannot be established.",
        ),
        None,
    )


def verify_pdf(
    data: bytes,
    *,
    trust: TrustAnchors | PkiTrust,
    registry_lookup: RegistryLookup | None,
    now: datetime | None = None,
    limits: VerifyLimits = DEFAULT_LIMITS,
    status_lists: Mapping[str, StatusList] | None = None,
) -> VerificationReport:
    """Every check on a licence PDF. `registry_lookup` None means offline: the status is `unknown`,
    unless `status_lists` (the signed lists a verifier keeps, `onestop trust update`) give the status
    of the credential the sealed file carries.

    Never raises for anything about the file; a registry that fails makes the status `unknown`.
    """
    at = _now(now)
    digest = hashlib.sha256(data).hexdigest()
    facts = (
        _too_large(limits) if len(data) > limits.max_bytes else _pdf_facts(data, _anchors(trust), at, limits)
    )
    licence_id = facts.licence_id
    identifier = identifier_unreadable() if facts.unreadable else identifier_check(licence_id)
    face = dict(facts.face) if facts.face else {"source": "pdf", "licence_id": licence_id}
    credential = face.pop("credential", None)  # repeated by the QR; not face data to show
    if facts.unreadable:
        status = status_unreadable()
    elif registry_lookup is None:
        sealed = facts.integrity.passed and facts.issuer.passed
        if status_lists is not None and credential is not None and sealed:
            status = status_from_credential(credential, licence_id, _anchors(trust), status_lists, at)
        else:
            status = status_offline()
    elif not licence_id:
        status = status_check(None, None, digest)
    else:
        try:
            entry = lookup_entry(registry_lookup, licence_id, at)
        except Exception as exc:  # the registry is down: say so, do not guess
            status = registry_unavailable(f"{type(exc).__name__}: {exc}")
        else:
            status = status_check(
                licence_id, entry, digest, facts.sealed_sha256, facts.face, facts.validation_updates
            )
            if entry is not None and status.passed:
                # The sealed revision is the issued original: show the registry's full face data for it.
                face = dict(entry.face)
    return VerificationReport(
        checks=(facts.integrity, facts.issuer, status, identifier),
        licence=face,
        sha256=digest,
        size=len(data),
        checked_at=at,
    )


def normalise_licence_id(licence_id: str) -> str:
    """The canonical identifier, or InvalidInput (422) with the reasons in zh and en."""
    text = (licence_id or "").strip()
    if not text or len(text) > 200:
        raise InvalidInput(
            "licence_id_malformed",
            "电子证照标识格式不正确。",
            "The e-licence identifier is not well formed.",
            [
                Reason(
                    "licence_id_length",
                    "标识为空或过长。",
                    "The identifier is empty or too long.",
                    "licence_id",
                )
            ],
        )
    return parse_licence_id(text).value


def verify_licence_id(
    licence_id: str,
    *,
    registry_lookup: RegistryLookup,
    now: datetime | None = None,
    holder: str | None = None,
) -> StatusReport:
    """Identifier and registry status of a licence number. Raises InvalidInput for a malformed id.

    Anyone can look any number up, so the holder is masked; an asker who names the holder (`holder`:
    name or code as printed) gets a holder check, and the face in full when it matches.
    """
    at = _now(now)
    canonical = normalise_licence_id(licence_id)
    identifier = identifier_check(canonical)
    try:
        entry = lookup_entry(registry_lookup, canonical, at)
    except Exception as exc:
        return StatusReport(canonical, (identifier, registry_unavailable(f"{type(exc).__name__}: {exc}")),
                            None, None, at)  # fmt: skip
    status = status_check(canonical, entry, None)
    checks: tuple[CheckResult, ...] = (identifier, status)
    revealed = False
    if holder is not None:
        named = holder_check(entry.face if entry is not None else None, holder)
        checks = (*checks, named)
        revealed = named.passed
    public = entry.public(masked=not revealed) if entry is not None else None
    licence = public.pop("licence") if public is not None else None
    return StatusReport(canonical, checks, licence, public, at)
