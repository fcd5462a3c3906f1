"""Ingest one uploaded object: read it, run the pipeline, store the catalogued material, tell the bus.

Storage, records and events come in as ports, so this runs the same against AWS, moto or fakes.
Transient storage errors propagate: the queue delivers the message again.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import partial
from typing import Any, Protocol
from urllib.parse import unquote

from onestop.applications.models import ApplicationStatus, AuditEvent
from onestop.catalogue import Catalogue, load_catalogue
from onestop.errors import NotFound, PayloadTooLarge, Reason
from onestop.events import EventReason, MaterialCatalogued, MaterialEvent, MaterialRejected
from onestop.observability import logger, metrics
from onestop.outbox import OwedEvent, deliver
from onestop.ports import BlobStore, EventPublisher, ObjectHead

from .classify import MATERIAL_TYPES
from .fields import ApplicantLike
from .gate import (
    QUARANTINE_PREFIX,
    Quarantine,
    Refusal,
    UploadClaim,
    check_format,
    check_object,
    not_requested,
)
from .limits import DEFAULT_LIMITS, Limits
from .ocr import OcrEngine
from .pipeline import CATALOGUED, REJECTED, Declared, IngestOutcome, process_upload, too_large_reason
from .sniff import ACCEPTED_KINDS, sniff
from .status import OPEN_STATUSES

# Who the audit trail names for what ingest records on an application.
INGEST_ACTOR = "onestop:ingest"

_KEY = re.compile(r"^uploads/(?P<app>[^/]+)/(?P<slot>[^/]+)/(?P<upload>[^/]+)/(?P<name>[^/]+)$")


@dataclass(frozen=True)
class MaterialRef:
    """Which material an upload belongs to, read from its object key."""

    application_id: str
    slot: str
    upload_id: str
    filename: str = ""

    @classmethod
    def from_key(cls, key: str) -> MaterialRef | None:
        """`uploads/<application id>/<slot code>/<upload id>/<sanitised filename>`, or None."""
        m = _KEY.match(key)
        if not m:
            return None
        return cls(m["app"], m["slot"], m["upload"], unquote(m["name"]))

    @property
    def catalogue_prefix(self) -> str:
        return f"catalogue/{self.application_id}/{self.slot}/{self.upload_id}/"


@dataclass(frozen=True)
class MaterialContext:
    """What the records say about the material before processing."""

    applicant: ApplicantLike | None = None
    item_code: str | None = None
    catalogue_version: int | None = None  # the version the application pinned (None: version 1)
    expected_material_type: str | None = None
    declared: Mapping[str, Any] | None = None
    status: str | None = None


@dataclass(frozen=True)
class MaterialResult:
    """What processing wrote to the material record."""

    status: str
    reason: Reason | None
    original: Mapping[str, Any]
    classification: Mapping[str, Any] | None
    fields: Mapping[str, str]
    problems: tuple[Reason, ...]
    normalised: Mapping[str, Any] | None
    manifest_key: str | None
    announcement: tuple[str, Mapping[str, Any]] | None = None  # the event owed once this is stored
    # Per field: value, confidence, page, box (fractions of the upright page) — what a reviewer checks.
    field_readings: Mapping[str, Any] = field(default_factory=dict)


class MaterialRepository(Protocol):
    """The material records of applications (`onestop.aws.material_repository` implements it)."""

    def context(self, ref: MaterialRef) -> MaterialContext:
        """Applicant, expected type and current status of the material (defaults when unknown)."""
        ...

    def claim(self, ref: MaterialRef) -> UploadClaim:
        """The application the key names and the ticket's material record, as they stand now."""
        ...

    def begin_processing(self, ref: MaterialRef, original: Mapping[str, Any]) -> bool:
        """Mark the material `processing`: the first object for a ticket awaiting it while the
        application is editable, or a retry of the version that claimed it; False otherwise."""
        ...

    def refuse(
        self,
        ref: MaterialRef,
        reason: Reason,
        original: Mapping[str, Any],
        announcement: tuple[str, Mapping[str, Any]] | None = None,
    ) -> bool:
        """Mark the (unfinished) material `rejected` with `reason`; False when it is finished."""
        ...

    def audit(self, event: AuditEvent) -> None:
        """Record `event` in the application's audit trail."""
        ...

    def complete(self, ref: MaterialRef, result: MaterialResult) -> bool:
        """Store the outcome; False when another delivery already completed it."""
        ...

    def mark_failed(self, ref: MaterialRef, reason: Reason, reference: str) -> bool:
        """Mark `failed` (unless already finished), with a reference support staff can trace."""
        ...

    def unannounced(self, ref: MaterialRef) -> tuple[str, dict[str, Any]] | None:
        """The event a finished material still owes the bus (detail type, detail), if any."""
        ...

    def mark_announced(self, ref: MaterialRef) -> None:
        """The material's event went out."""
        ...


@dataclass(frozen=True)
class IngestResult:
    """Summary returned to the handler (and cached by its idempotency layer): JSON-serialisable."""

    bucket: str
    key: str
    version_id: str | None
    status: str
    reason_code: str | None = None
    skipped: bool = False
    application_id: str | None = None
    slot: str | None = None
    upload_id: str | None = None
    manifest_key: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "bucket": self.bucket,
            "key": self.key,
            "version_id": self.version_id,
            "status": self.status,
            "reason_code": self.reason_code,
            "skipped": self.skipped,
            "application_id": self.application_id,
            "slot": self.slot,
            "upload_id": self.upload_id,
            "manifest_key": self.manifest_key,
        }


class UploadMissing(NotFound):
    """The notified object is gone (deleted, or its version expired); retried, then marked failed."""


def failed_reason(reference: str) -> Reason:
    return Reason(
        "processing_failed",
        f"文件处理失败（参考号 {reference}），请稍后重新上传；如仍失败，请凭参考号联系我们。",
        f"Processing the file failed (reference {reference}); upload it again later, and quote the "
        "reference if it keeps failing.",
    )


def _original(
    bucket: str, key: str, version_id: str | None, size: int, sha: str | None, kind: str | None
) -> dict:
    out: dict[str, Any] = {"bucket": bucket, "key": key, "version_id": version_id, "size": size}
    if sha is not None:
        out["sha256"] = sha
    if kind is not None:
        out["sniffed_type"] = kind
    return out


def _too_large_outcome(size: int, limits: Limits) -> IngestOutcome:
    """Rejected from the object's size alone: the body is never downloaded."""
    reason = too_large_reason(size, limits.max_bytes)
    manifest = {
        "schema": "onestop.material-manifest/1",
        "status": REJECTED,
        "reason": reason.as_dict(),
        "original": {"sha256": None, "size": size, "sniffed_type": None},
        "normalised": None,
    }
    return IngestOutcome(
        status=REJECTED, reason=reason, sniffed=sniff(b""), sha256="", size=size, manifest=manifest
    )


def _shipped(version: int | None) -> Catalogue:
    """Without a catalogue book (tests, tools): only version 1, the shipped catalogue."""
    if version not in (None, 1):
        raise NotFound(
            "catalogue_version_not_found",
            f"事项目录没有版本 {version}。",
            f"The catalogue has no version {version}.",
        )
    return load_catalogue()


def _slot_type(item_code: str, slot: str, catalogue: Catalogue | None = None) -> str | None:
    """The material type the service item's list expects in this slot (None if unknown), in the
    application's catalogue version (default: version 1)."""
    try:
        return (catalogue or _shipped(None)).item(item_code).material(slot).material_type
    except NotFound:
        return None


def _slot_takes(item_code: str | None, slot: str, catalogue: Catalogue | None = None) -> dict[str, Any]:
    """What else the slot takes besides documents of its type: photos, known non-materials (in the
    application's catalogue version; default: version 1)."""
    try:
        req = (catalogue or _shipped(None)).item(item_code).material(slot) if item_code else None
    except NotFound:
        req = None
    if req is None:
        return {}
    return {"accepts_photos": req.accepts_photos, "also_accepts": tuple(req.also_accepts)}


def ingest_object(
    bucket: str,
    key: str,
    version_id: str | None,
    *,
    uploads: BlobStore,
    materials: BlobStore,
    repository: MaterialRepository,
    publisher: EventPublisher,
    quarantine: Quarantine | None = None,
    engine: OcrEngine | None = None,
    limits: Limits = DEFAULT_LIMITS,
    expected_type_of: Callable[[MaterialRef, MaterialContext], str | None] | None = None,
    catalogues: Callable[[int | None], Catalogue] | None = None,
) -> IngestResult:
    """Process the uploaded object `bucket/key@version_id` into a catalogued (or rejected) material,
    if its upload ticket asked for it (`onestop.materials.gate`); anything else is refused: not
    catalogued, moved to `quarantine/`, audited on its application and counted."""
    if key.startswith(QUARANTINE_PREFIX):
        return IngestResult(bucket, key, version_id, status="ignored", skipped=True)
    ref = MaterialRef.from_key(key)
    refusing = partial(
        _refuse, bucket=bucket, key=key, repository=repository, publisher=publisher, quarantine=quarantine
    )
    if ref is None:
        # Not `uploads/<application>/<slot>/<upload>/<name>`: no ticket ever names such a key.
        logger.warning("not an upload key", extra={"bucket": bucket, "key": key})
        head = uploads.head(key, version_id)
        if head is None:
            return IngestResult(bucket, key, version_id, status="gone", skipped=True)
        return refusing(not_requested(), None, UploadClaim(None, None), version_id or head.version_id, head)
    base: dict[str, Any] = {
        "application_id": ref.application_id,
        "slot": ref.slot,
        "upload_id": ref.upload_id,
    }
    claim = repository.claim(ref)
    head = uploads.head(key, version_id)
    if head is None:
        if claim.ticket is None or claim.ticket.status not in OPEN_STATUSES:
            # Refused and quarantined earlier (a notification delivered again), or nobody's: done.
            logger.info("object gone; nothing owed", extra={"key": key, "version_id": version_id})
            return IngestResult(bucket, key, version_id, status="gone", skipped=True, **base)
        raise UploadMissing(
            "upload_missing",
            "上传的文件已不存在。",
            "The uploaded file no longer exists.",
            extra={"bucket": bucket, "key": key, "version_id": version_id},
        )
    version_id = version_id or head.version_id
    refusal = check_object(
        claim, key=key, upload_id=ref.upload_id, head=head, version_id=version_id, max_bytes=limits.max_bytes
    )
    if refusal is not None:
        return refusing(refusal, ref, claim, version_id, head)
    if version_id:
        # S3 does not order notifications: the event of an older version may arrive after a newer one
        # was uploaded under the same key. The newest version's own event catalogues it; an older one
        # must not overwrite it.
        latest = uploads.head(key)
        if latest is not None and latest.version_id and latest.version_id != version_id:
            logger.info("older object version; skipped", extra={"key": key, "version_id": version_id})
            return IngestResult(bucket, key, version_id, status="superseded", skipped=True, **base)
    original = _original(bucket, key, version_id, head.size, None, None)
    if not repository.begin_processing(ref, original):
        # Lost a race: another object claimed the ticket, or the application was submitted meanwhile.
        claim = repository.claim(ref)
        refusal = check_object(
            claim,
            key=key,
            upload_id=ref.upload_id,
            head=head,
            version_id=version_id,
            max_bytes=limits.max_bytes,
        )
        if refusal is not None:
            return refusing(refusal, ref, claim, version_id, head)
        unannounced = repository.unannounced(ref)
        if unannounced is not None:  # finished earlier, but the bus failed before the event went out
            owed = OwedEvent(*unannounced, owner=ref.application_id)
            deliver(publisher, owed, partial(repository.mark_announced, ref), retried=True)
        logger.info("already processed; skipped", extra={"key": key, "version_id": version_id})
        return IngestResult(bucket, key, version_id, status="duplicate", skipped=True, **base)
    context = repository.context(ref)
    # The slot's rules come from the catalogue version the application pinned, not today's.
    catalogue = (catalogues or _shipped)(context.catalogue_version)
    expected = context.expected_material_type
    if expected_type_of is not None:
        expected = expected_type_of(ref, context) or expected
    if expected is None and context.item_code:
        expected = _slot_type(context.item_code, ref.slot, catalogue)
    if expected is None and ref.slot in MATERIAL_TYPES:
        expected = ref.slot
    declared = dict(context.declared or {}) or {"filename": ref.filename, "content_type": head.content_type}

    retained = None
    if head.size > limits.max_bytes:
        outcome = _too_large_outcome(head.size, limits)
    else:
        try:
            stored = uploads.get(key, version_id, max_bytes=limits.max_bytes)
        except PayloadTooLarge:  # grew between head and get (a new version under the same key)
            outcome = _too_large_outcome(head.size, limits)
        except NotFound as exc:
            raise UploadMissing(exc.code, exc.zh, exc.en, extra={"key": key}) from exc
        else:
            sniffed = sniff(stored.body)
            formats = _slot_formats(claim, ref.slot, catalogue)
            refusal = check_format(claim, sniffed, formats, stored.body)
            if refusal is not None:  # before any OCR work
                return refusing(refusal, ref, claim, version_id, head)
            outcome = process_upload(
                stored.body,
                declared=Declared.of(declared),
                expected_material_type=expected,
                applicant=context.applicant,
                limits=limits,
                engine=engine,
                **_slot_takes(context.item_code, ref.slot, catalogue),
            )
            if outcome.status != REJECTED:
                # The uploaded bytes themselves, kept with the catalogue: raw uploads expire with the
                # uploads bucket's lifecycle, the evidence a decision was taken on must not.
                retained = _retain(materials, ref, stored.body, sniffed.mime, base)
    original = _original(
        bucket,
        key,
        version_id,
        outcome.size,
        outcome.sha256 or None,
        outcome.sniffed.mime if outcome.sha256 else None,
    )
    if retained is not None:
        original["retained"] = retained

    prefix = ref.catalogue_prefix
    normalised = None
    if outcome.normalised_pdf is not None:
        pdf_key = prefix + "material.pdf"
        pdf_version = materials.put(pdf_key, outcome.normalised_pdf, "application/pdf", metadata=_meta(base))
        normalised = {
            "bucket": materials.name,
            "key": pdf_key,
            "sha256": outcome.manifest.get("normalised", {}).get("sha256"),
            "pages": outcome.pages,
        }
        if pdf_version:
            normalised["version_id"] = pdf_version
        previews = _store_previews(materials, prefix, outcome.page_previews, base)
        if previews:
            normalised["previews"] = previews
    manifest_key = prefix + "manifest.json"
    manifest = dict(outcome.manifest)
    manifest["material"] = {**base, "original": original, "normalised": normalised}
    materials.put(
        manifest_key,
        json.dumps(manifest, ensure_ascii=False, indent=1).encode("utf-8"),
        "application/json",
        metadata=_meta(base),
    )
    classification = outcome.classification.as_dict() if outcome.classification is not None else None
    result = MaterialResult(
        status=outcome.status,
        reason=None if outcome.status == CATALOGUED and not outcome.problems else outcome.reason,
        original=original,
        classification=classification,
        fields=outcome.fields,
        problems=outcome.problems,
        normalised=normalised,
        manifest_key=manifest_key,
        field_readings=dict(outcome.field_readings),
    )
    # The event is stored with the result and marked sent after publishing (onestop.outbox): if the bus
    # fails, the retry finds the material finished but unannounced and sends it then (exactly once,
    # barring a crash between publishing and marking).
    event: MaterialEvent
    if outcome.status == REJECTED:
        event = MaterialRejected(
            **base, status=outcome.status, reason=EventReason.of(outcome.reason), manifest_key=manifest_key
        )
    else:
        # Type and confidence as the record stores them (the confidence rounded).
        decided: dict[str, Any] = {}
        if classification is not None:
            decided = {k: classification[k] for k in ("material_type", "confidence")}
        event = MaterialCatalogued(
            **base,
            **decided,
            status=outcome.status,
            problems=[EventReason.of(p) for p in outcome.problems],
            normalised=normalised,
            manifest_key=manifest_key,
        )
    owed = OwedEvent.of(event, owner=ref.application_id)
    result = replace(result, announcement=(owed.detail_type, owed.detail))
    if not repository.complete(ref, result):
        logger.info("completed by another delivery", extra={"key": key})
        return IngestResult(bucket, key, version_id, status="duplicate", skipped=True, **base)
    deliver(publisher, owed, partial(repository.mark_announced, ref), retried=True)
    logger.info(
        "material processed",
        extra={**base, "status": outcome.status, "reason": outcome.reason.code, "timings": outcome.timings},
    )
    return IngestResult(
        bucket,
        key,
        version_id,
        status=outcome.status,
        reason_code=outcome.reason.code,
        manifest_key=manifest_key,
        **base,
    )


def _slot_formats(claim: UploadClaim, slot: str, catalogue: Catalogue) -> tuple[str, ...]:
    """The formats the slot accepts: the ticket's (stored when it was issued), else the catalogue's
    (tickets issued before the ticket kept them), else every format ingest can read."""
    if claim.ticket is not None and claim.ticket.formats:
        return claim.ticket.formats
    item_code = claim.application.item_code if claim.application is not None else None
    if item_code:
        try:
            return tuple(catalogue.item(item_code).material(slot).formats)
        except NotFound:
            pass
    return tuple(sorted(ACCEPTED_KINDS))


def _store_previews(
    materials: BlobStore, prefix: str, previews: tuple[bytes, ...], base: Mapping[str, str]
) -> list[dict[str, Any]]:
    """The JPEG of each upright page beside the normalised PDF (the frame the field boxes are
    fractions of), for the reviewer's desk: where, which version."""
    out: list[dict[str, Any]] = []
    for page, jpeg in enumerate(previews):
        key = f"{prefix}page-{page + 1:03d}.jpg"
        version = materials.put(key, jpeg, "image/jpeg", metadata=_meta(base))
        entry: dict[str, Any] = {"page": page, "key": key}
        if version:
            entry["version_id"] = version
        out.append(entry)
    return out


def _retain(
    materials: BlobStore, ref: MaterialRef, body: bytes, content_type: str, base: Mapping[str, str]
) -> dict[str, Any]:
    """Keep the original bytes with the catalogue (versioned, no expiry): where, which version."""
    key = ref.catalogue_prefix + "original"
    version = materials.put(key, body, content_type, metadata=_meta(base))
    return {"bucket": materials.name, "key": key, "version_id": version}


def _refuse(
    refusal: Refusal,
    ref: MaterialRef | None,
    claim: UploadClaim,
    version_id: str | None,
    head: ObjectHead,
    *,
    bucket: str,
    key: str,
    repository: MaterialRepository,
    publisher: EventPublisher,
    quarantine: Quarantine | None,
) -> IngestResult:
    """Not catalogued: recorded (the applicant's own material, the application's audit trail), then
    moved out of `uploads/`, and counted. Recording comes first: a crash in between leaves the object
    in place, and the retry refuses it again."""
    original = _original(bucket, key, version_id, head.size, None, None)
    base: dict[str, Any] = {}
    if ref is not None:
        base = {"application_id": ref.application_id, "slot": ref.slot, "upload_id": ref.upload_id}
    if ref is not None and claim.application is not None:
        if refusal.marks_material and claim.ticket is not None:
            event = MaterialRejected(**base, status=REJECTED, reason=EventReason.of(refusal.reason))
            owed = OwedEvent.of(event, owner=ref.application_id)
            if repository.refuse(ref, refusal.reason, original, (owed.detail_type, owed.detail)):
                deliver(publisher, owed, partial(repository.mark_announced, ref), retried=True)
        status = ApplicationStatus(claim.application.status)
        repository.audit(
            AuditEvent(
                application_id=ref.application_id,
                at=datetime.now(UTC),
                n=claim.application.version,
                tag=hashlib.sha256(f"{key}@{version_id}".encode()).hexdigest()[:12],
                actor=INGEST_ACTOR,
                actor_role="system",
                action=refusal.action,
                from_status=status,
                to_status=status,
                reason=[refusal.reason],
                comment=f"{ref.slot}/{ref.upload_id} {key}@{version_id}",
            )
        )
    moved = quarantine.quarantine(key, version_id, refusal.code) if quarantine is not None else None
    metrics.add_metric(name="UploadRefused", unit="Count", value=1)
    metrics.add_metric(name=f"UploadRefused_{refusal.code}", unit="Count", value=1)
    logger.warning(
        "upload refused",
        extra={**base, "key": key, "version_id": version_id, "reason": refusal.code, "quarantined": moved},
    )
    return IngestResult(
        bucket, key, version_id, status="refused", reason_code=refusal.code, skipped=True, **base
    )


def _meta(base: Mapping[str, str]) -> dict[str, str]:
    # S3 user metadata is ASCII; ids are ASCII by construction, escape anything else.
    return {k.replace("_", "-"): v.encode("ascii", "backslashreplace").decode() for k, v in base.items()}
