"""Issue the e-licence for an approved application: exactly once, never half-issued.

Write order (each step is safe to repeat, so a retry after a crash anywhere completes the licence):

1. claim the application and reserve the record, status `issuing` (invisible to verification and
   holders), in one conditional transaction; a second call finds the claim and resumes that record;
2. render + seal the PDF and store it at a key derived from the licence id (versioned bucket with
   Object Lock); a resumed call that finds an intact sealed PDF there reuses it instead of adding a
   second version;
3. flip the record `issuing → valid` with the PDF's version id, SHA-256 and the seal certificate's
   fingerprint (conditional: only one writer wins);
4. publish `LicenceIssued`, then remember it was published (`onestop.outbox.deliver`: a crash between
   the two re-publishes on retry; consumers already see events at least once).

If the KMS or S3 call fails, nothing beyond the invisible reservation exists and the error propagates
so that the event is retried.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from functools import partial
from typing import TYPE_CHECKING, Any

from onestop.errors import Conflict, InvalidInput, ObjectExists, Reason
from onestop.events import LicenceIssued, LicenceStatusChanged
from onestop.identifiers.licence_id import make_licence_id, parse_licence_id
from onestop.identifiers.resident_id import validate_resident_id
from onestop.identifiers.uscc import validate_uscc
from onestop.observability import logger
from onestop.outbox import OwedEvent, deliver
from onestop.ports import BlobStore, EventPublisher

from .models import (
    Action,
    AuditEntry,
    EvidenceRef,
    HolderKind,
    LicenceMetadata,
    LicenceRecord,
    LicenceStatus,
    StoredPdf,
    china_date,
    next_status,
    validity_end,
)
from .registry import AlreadyReserved, LicenceRegistry

if TYPE_CHECKING:
    from pyhanko.sign.signers import Signer
    from pyhanko.sign.timestamps import TimeStamper

ISSUE_ACTOR = "onestop:issue"
PDF_CONTENT_TYPE = "application/pdf"


@dataclass(frozen=True)
class ApprovalFacts:
    """What an `ApplicationApproved` event says about the licence to issue."""

    application_id: str
    item_code: str
    item_name: str
    holder_kind: HolderKind
    holder_name: str
    holder_code: str  # USCC for an enterprise, resident ID number for a person
    approved_at: datetime  # the licence's issue date and validity start are this Beijing date
    approved_by: str
    extra: tuple[tuple[str, str], ...] = ()  # further printed lines, e.g. (("经营地址", "…"),)
    evidence: tuple[EvidenceRef, ...] = ()  # the pinned materials the approval was taken on


@dataclass(frozen=True)
class LicenceType:
    """The catalogue's licence spec for the item (`load_catalogue().item(code).licence`)."""

    type_code: str
    name_zh: str
    name_en: str
    validity_years: int | None
    definer_name: str | None = None  # 定义机构名称; defaults to the issuer
    issues: str = "new"  # "new" (version 1, new serial) or "new_version" (replace the current one)

    @classmethod
    def from_spec(cls, spec: Any, definer_name: str | None = None) -> LicenceType:
        """From the catalogue's LicenceSpec (type_code, name_zh, name_en, validity_years, issues)."""
        return cls(
            spec.type_code,
            spec.name_zh,
            spec.name_en,
            spec.validity_years,
            definer_name,
            getattr(spec, "issues", "new"),
        )


@dataclass(frozen=True)
class IssuerProfile:
    """The issuing bureau and where licences are verified."""

    name_zh: str
    name_en: str
    uscc: str
    division_code: str
    public_base_url: str
    tsa_url: str | None = None
    location: str | None = None  # printed in the signature's /Location

    @classmethod
    def from_settings(cls, settings: Any, authority: Any | None = None) -> IssuerProfile:
        """The catalogue's authority (names, USCC, division) with the deployment's URLs from settings."""
        if authority is None:
            from onestop.catalogue import load_catalogue

            authority = load_catalogue().authority
        return cls(
            name_zh=authority.name_zh,
            name_en=authority.name_en,
            uscc=authority.uscc,
            division_code=authority.division_code,
            public_base_url=str(settings.public_base_url),
            tsa_url=str(settings.tsa_url) if settings.tsa_url else None,
        )

    def verify_url(self, licence_id: str) -> str:
        return f"{self.public_base_url.rstrip('/')}/verify/{licence_id}"


def pdf_key(licence_id: str) -> str:
    """Object key of a licence version's sealed PDF in the licences bucket (one key per version)."""
    return f"licences/{licence_id}.pdf"


def licence_number(issuer: IssuerProfile, serial: str) -> str:
    """证照编号 printed on the licence: division code + serial (the serial is unique per issuer)."""
    return f"{issuer.division_code}-{serial}"


def _check_holder(kind: HolderKind, code: str, today: date) -> None:
    if kind is HolderKind.ENTERPRISE:
        validate_uscc(code)
    else:
        validate_resident_id(code, today=today)


def utc_now(now: datetime | None = None) -> datetime:
    """`now` (naive taken as UTC) or the current time, timezone-aware."""
    at = now or datetime.now(UTC)
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def issue_licence(
    approval: ApprovalFacts,
    *,
    licence_type: LicenceType,
    issuer: IssuerProfile,
    registry: LicenceRegistry,
    store: BlobStore,
    signer: Signer,
    publisher: EventPublisher,
    now: datetime | None = None,
    timestamper: TimeStamper | None = None,
) -> LicenceRecord:
    """Issue (or finish issuing, or return) the one licence of `approval.application_id`.

    `licence_type.issues == "new"`: a new licence (new serial, version 1). `"new_version"` (e.g. a
    change application): the next version of the holder's current licence of that type, with the
    approval's particulars and the old validity end; the old version becomes superseded.

    Idempotent: however often it is called for the same application, there is one licence, one
    stored PDF version and (barring a crash between publish and its bookkeeping) one LicenceIssued.
    """
    at = utc_now(now)
    existing = registry.licence_for_application(approval.application_id)
    if existing is None:
        record = _reserve(approval, licence_type, issuer, registry, at)
    else:
        found = registry.get(existing)
        if found is None:  # the claim is written in the same transaction as the record
            raise Conflict(
                "licence_registry_inconsistent",
                "证照登记数据不一致，请联系管理员。",
                "The licence registry is inconsistent; contact an administrator.",
                extra={"licence_id": existing, "application_id": approval.application_id},
            )
        record = found
    return finish_issue(
        record,
        issuer=issuer,
        registry=registry,
        store=store,
        signer=signer,
        publisher=publisher,
        now=at,
        actor=ISSUE_ACTOR,
        reason=f"申请 {approval.application_id} 已批准 / application {approval.application_id} approved",
        timestamper=timestamper,
    )


def _check_approval(approval: ApprovalFacts, today: date) -> None:
    _check_holder(approval.holder_kind, approval.holder_code, today)
    if not approval.holder_name.strip():
        reason = Reason(
            "licence_holder_missing", "请填写持证主体名称。", "Give the holder's name.", "holder_name"
        )
        raise InvalidInput(
            "licence_holder_missing",
            "持证主体名称为空，无法签发证照。",
            "The holder's name is empty; the licence cannot be issued.",
            [reason],
        )


def _reserve(
    approval: ApprovalFacts,
    licence_type: LicenceType,
    issuer: IssuerProfile,
    registry: LicenceRegistry,
    at: datetime,
) -> LicenceRecord:
    # The licence is dated by the decision (approval), not by when this event happens to be handled.
    today = china_date(approval.approved_at)
    _check_approval(approval, today)
    reason = f"申请已由 {approval.approved_by} 批准 / application approved by {approval.approved_by}"
    if licence_type.issues == "new_version":
        old = current_licence_of_type(registry, approval.holder_code, licence_type.type_code)
        record = successor_record(
            old,
            at=at,
            actor=ISSUE_ACTOR,
            reason=reason,
            valid_from=today,
            valid_until=old.metadata.valid_until,
            holder_name=approval.holder_name.strip(),
            extra=approval.extra,
            item_code=approval.item_code,
            item_name=approval.item_name,
            application_id=approval.application_id,
        )
    else:
        year = today.year
        serial = f"{year}{registry.next_serial(year):07d}"
        licence_id = make_licence_id(licence_type.type_code, issuer.uscc, serial, 1)
        meta = LicenceMetadata(
            licence_id=licence_id,
            number=licence_number(issuer, serial),
            name_zh=licence_type.name_zh,
            name_en=licence_type.name_en,
            type_code=licence_type.type_code,
            version=1,
            issuer_name=issuer.name_zh,
            issuer_name_en=issuer.name_en,
            issuer_code=issuer.uscc,
            definer_name=licence_type.definer_name or issuer.name_zh,
            division_code=issuer.division_code,
            issue_date=today,
            valid_from=today,
            valid_until=validity_end(today, licence_type.validity_years),
            holder_name=approval.holder_name.strip(),
            holder_code=approval.holder_code,
            holder_kind=approval.holder_kind,
            item_code=approval.item_code,
            item_name=approval.item_name,
            application_id=approval.application_id,
            extra=approval.extra,
        )
        entry = AuditEntry(at, ISSUE_ACTOR, Action.RESERVE, None, LicenceStatus.ISSUING, reason)
        record = LicenceRecord(metadata=meta, status=LicenceStatus.ISSUING, reserved_at=at, history=(entry,))
    # The issuance record lists the evidence hashes it was issued on.
    return reserve_or_resume(registry, replace(record, evidence=approval.evidence), guard_application=True)


def current_licence_of_type(registry: LicenceRegistry, holder_code: str, type_code: str) -> LicenceRecord:
    """The holder's valid licence of `type_code` (the one a new version replaces)."""
    for record in registry.by_holder(holder_code):
        if record.metadata.type_code == type_code and record.status is LicenceStatus.VALID:
            return record
    raise Conflict(
        "licence_predecessor_missing",
        "持证主体没有该类型的有效证照，无法换发新版本；请先申请新证。",
        "The holder has no valid licence of this type to replace with a new version; apply for a new one.",
        extra={"holder_code": holder_code, "type_code": type_code},
    )


def successor_record(
    old: LicenceRecord,
    *,
    at: datetime,
    actor: str,
    reason: str,
    valid_from: date,
    valid_until: date | None,
    actor_role: str | None = None,
    holder_name: str | None = None,
    extra: tuple[tuple[str, str], ...] | None = None,
    item_code: str | None = None,
    item_name: str | None = None,
    application_id: str | None = None,
) -> LicenceRecord:
    """Version n+1 of `old` (same type, issuer and serial), reserved: status issuing, `supersedes` set."""
    next_status(old.licence_id, Action.SUPERSEDE, old.status)
    parsed = parse_licence_id(old.licence_id)
    version = old.metadata.version + 1
    meta = replace(
        old.metadata,
        licence_id=make_licence_id(parsed.type_code, parsed.issuer_uscc, parsed.serial, version),
        version=version,
        issue_date=china_date(at),
        valid_from=valid_from,
        valid_until=valid_until,
        holder_name=holder_name or old.metadata.holder_name,
        extra=extra if extra is not None else old.metadata.extra,
        item_code=item_code or old.metadata.item_code,
        item_name=item_name or old.metadata.item_name,
        application_id=application_id or old.metadata.application_id,
    )
    entry = AuditEntry(at, actor, Action.RESERVE, None, LicenceStatus.ISSUING, reason, actor_role=actor_role)
    return LicenceRecord(
        metadata=meta,
        status=LicenceStatus.ISSUING,
        reserved_at=at,
        supersedes=old.licence_id,
        history=(entry,),
    )


def reserve_or_resume(
    registry: LicenceRegistry, record: LicenceRecord, *, guard_application: bool
) -> LicenceRecord:
    """Reserve `record`; if the application or the id is already taken, return that record instead
    (a concurrent or earlier attempt won; finishing it is the caller's next step).

    A new record gets its status-list index here (its QR credential names it); a lost race leaves
    an unused index behind, which stays "valid" in the list and is never handed out again."""
    if record.status_index is None:
        record = replace(record, status_index=registry.next_status_index(record.metadata.type_code))
    try:
        registry.reserve(record, guard_application=guard_application)
    except AlreadyReserved as exc:
        winner = registry.get(exc.licence_id)
        if winner is None:
            raise
        logger.info("licence already reserved", extra={"licence_id": exc.licence_id})
        return winner
    logger.info(
        "licence reserved", extra={"licence_id": record.licence_id, "application_id": record.application_id}
    )
    return record


def finish_issue(
    record: LicenceRecord,
    *,
    issuer: IssuerProfile,
    registry: LicenceRegistry,
    store: BlobStore,
    signer: Signer,
    publisher: EventPublisher,
    now: datetime,
    actor: str,
    reason: str,
    timestamper: TimeStamper | None = None,
    actor_role: str | None = None,
) -> LicenceRecord:
    """Take a reserved record to valid (store the sealed PDF, register it, supersede its predecessor
    in the same write) and announce it. A record already valid is only announced if it was not."""
    supersede: tuple[str, AuditEntry] | None = None
    if record.supersedes:
        supersede = (
            record.supersedes,
            AuditEntry(
                now,
                actor,
                Action.SUPERSEDE,
                LicenceStatus.VALID,
                LicenceStatus.SUPERSEDED,
                f"{reason}（新版本 new version {record.licence_id}）",
                actor_role=actor_role,
            ),
        )
    if record.status is LicenceStatus.ISSUING:
        pdf, seal_sha = store_sealed_pdf(
            record.metadata,
            issuer=issuer,
            store=store,
            signer=signer,
            timestamper=timestamper,
            status_index=record.status_index,
            issued_at=now,
        )
        entry = AuditEntry(
            now,
            ISSUE_ACTOR,
            Action.ISSUE,
            LicenceStatus.ISSUING,
            LicenceStatus.VALID,
            "电子证照已签章并存储 / sealed and stored",
        )
        try:
            record = registry.complete(
                record.licence_id,
                pdf=pdf,
                seal_cert_sha256=seal_sha,
                issued_at=now,
                entry=entry,
                supersede=supersede,
            )
        except Conflict:
            current = registry.get(record.licence_id)
            if current is None or current.status is LicenceStatus.ISSUING:
                raise
            record = current  # a concurrent worker completed it first
        logger.info("licence issued", extra={"licence_id": record.licence_id, "sha256": pdf.sha256})
    if record.visible and not record.event_published:
        # Owed since the record turned valid (`event_published` false): a failure propagates, and the
        # retried event finds the licence valid but unannounced and sends it then.
        owed = [OwedEvent.of(licence_issued_event(record), owner=record.licence_id)]
        if supersede is not None:
            old_id, old_entry = supersede
            superseded = status_changed_event(
                old_id,
                old_entry,
                superseded_by=record.licence_id,
                application_id=record.metadata.application_id,
                holder_code=record.metadata.holder_code,
            )
            owed.append(OwedEvent.of(superseded, owner=old_id))
        deliver(publisher, owed, partial(registry.mark_published, record.licence_id), retried=True)
        record = replace(record, event_published=True)
    return record


def store_sealed_pdf(
    meta: LicenceMetadata,
    *,
    issuer: IssuerProfile,
    store: BlobStore,
    signer: Signer,
    timestamper: TimeStamper | None = None,
    status_index: int | None = None,
    issued_at: datetime | None = None,
) -> tuple[StoredPdf, str]:
    """Render, seal and store the PDF of `meta`, or reuse an intact one a crashed attempt left.

    With a `status_index`, the QR code carries the signed credential (licences/credential.py), signed
    by the same key as the seal; without one (a record reserved before credentials), the verify URL."""
    key = pdf_key(meta.licence_id)
    reused = _reusable_pdf(store, key, meta.licence_id)
    if reused is not None:
        return reused
    # Nothing there yet: write only if still nothing (a concurrent delivery may be sealing too). A
    # damaged leftover is replaced by a new version; the registry names the version it issued.
    first_write = store.head(key) is None
    # Imported here: reportlab and pyHanko's signers are ~0.3 s of cold start for the functions that
    # only change a licence's status (api) and never render or seal.
    from .render import render_licence
    from .seal import seal_pdf, timestamper_for

    qr_text = None
    if status_index is not None:
        from .credential import credential_for, encode_credential
        from .jws import seal_key_from_signer

        seal_key = seal_key_from_signer(signer)
        credential = credential_for(
            meta, status_index=status_index, kid=seal_key.kid, issued_at=utc_now(issued_at)
        )
        qr_text = encode_credential(credential, seal_key.sign)
    rendered = render_licence(meta, verify_url=issuer.verify_url(meta.licence_id), qr_text=qr_text)
    if rendered.fallback_chars:
        logger.warning(
            "licence text outside the embedded font; drawn with the fallback font",
            extra={"licence_id": meta.licence_id, "chars": "".join(sorted(rendered.fallback_chars))},
        )
    if rendered.omitted_rows:
        logger.warning(
            "licence lines left off for lack of space",
            extra={"licence_id": meta.licence_id, "rows": list(rendered.omitted_rows)},
        )
    sealed = seal_pdf(
        rendered.pdf,
        signer,
        seal_box=rendered.seal_box,
        signer_name=issuer.name_zh,
        location=issuer.location,
        timestamper=timestamper or timestamper_for(issuer.tsa_url),
    )
    try:
        # Conditional: two deliveries of one approval sealing at once must not leave two immutable
        # (Object Lock) versions of the licence; the loser takes the winner's PDF.
        version_id = store.put(
            key,
            sealed.pdf,
            PDF_CONTENT_TYPE,
            metadata={
                "licence-id": meta.licence_id,
                "sha256": sealed.sha256,
                "seal-cert-sha256": sealed.seal_cert_sha256,
            },
            if_absent=first_write,
        )
    except ObjectExists as exc:
        winner = _reusable_pdf(store, key, meta.licence_id)
        if winner is None:
            raise Conflict(
                "licence_pdf_foreign",
                "证照存储位置已有一个不属于本证照的文件，需要运维人员核查。",
                "The licence's storage location holds a file that is not this licence; operations must "
                "check it.",
                extra={"licence_id": meta.licence_id, "key": key},
            ) from exc
        return winner
    pdf = StoredPdf(store.name, key, version_id, sealed.sha256, len(sealed.pdf))
    return pdf, sealed.seal_cert_sha256


def _reusable_pdf(store: BlobStore, key: str, licence_id: str) -> tuple[StoredPdf, str] | None:
    head = store.head(key)
    if head is None:
        return None
    meta: Mapping[str, str] = head.metadata
    digest, seal_sha = meta.get("sha256"), meta.get("seal-cert-sha256")
    if meta.get("licence-id") != licence_id or not digest or not seal_sha:
        return None
    obj = store.get(key, version_id=head.version_id)
    if hashlib.sha256(obj.body).hexdigest() != digest:
        return None
    logger.info("reusing the sealed PDF of an interrupted issue", extra={"licence_id": licence_id})
    return StoredPdf(store.name, key, obj.version_id or head.version_id, digest, len(obj.body)), seal_sha


def licence_issued_event(record: LicenceRecord) -> LicenceIssued:
    """The `LicenceIssued` event of a record that turned valid."""
    meta = record.metadata
    return LicenceIssued(
        licence_id=record.licence_id,
        application_id=meta.application_id,
        item_code=meta.item_code,
        holder_code=meta.holder_code,
        holder_kind=meta.holder_kind.value,
        holder_name=meta.holder_name,
        version=meta.version,
        supersedes=record.supersedes,
        issued_at=record.issued_at.astimezone(UTC).isoformat() if record.issued_at else None,
        valid_from=meta.valid_from.isoformat(),
        valid_until=meta.valid_until.isoformat() if meta.valid_until else None,
        pdf=record.pdf.as_dict() if record.pdf else None,
        seal_cert_sha256=record.seal_cert_sha256,
    )


def status_changed_event(licence_id: str, entry: AuditEntry, **about: Any) -> LicenceStatusChanged:
    """The `LicenceStatusChanged` event of `entry`; `about`: the licence's application_id,
    holder_code, and its version (a lifecycle action) or superseded_by (a new version)."""
    return LicenceStatusChanged(
        licence_id=licence_id,
        action=entry.action.value,
        from_status=entry.from_status.value if entry.from_status else None,
        to_status=entry.to_status.value,
        actor=entry.actor,
        reason=entry.reason,
        reason_code=entry.reason_code,
        at=entry.at.astimezone(UTC).isoformat(),
        **about,
    )
