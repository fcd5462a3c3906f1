"""Applications, their materials and their audit trail: storage-neutral domain records.

The records are pydantic models so that the repository can store them as plain maps and read back
what other functions (ingest, issue) wrote, ignoring attributes this module does not know.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from onestop.errors import Reason
from onestop.materials.status import MaterialStatus as MaterialStatus  # re-exported for the records


def utcnow() -> datetime:
    """Now, in UTC (the one clock the service reads unless a test passes another)."""
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    """UTC ISO 8601 with a `Z`, to the second: sorts as text, which the GSI sort keys rely on."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_precise(moment: datetime) -> str:
    """Like `iso`, to the microsecond: for sort keys that must keep creation order within a second."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class ApplicationStatus(StrEnum):
    """Where an application is in its life."""

    DRAFT = "draft"
    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    CORRECTION_REQUESTED = "correction_requested"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


# The applicant may still change materials only in these states.
EDITABLE_STATUSES = frozenset({ApplicationStatus.DRAFT, ApplicationStatus.CORRECTION_REQUESTED})


class _Record(BaseModel):
    # Other functions add attributes to the same items; reading must not fail on them. Validators are
    # built on first use (defer_build): a cold start builds only the records its first event reads.
    model_config = ConfigDict(frozen=True, extra="ignore", use_enum_values=False, defer_build=True)


class Applicant(_Record):
    """Who applies: an enterprise (by USCC) or a person (by resident ID number)."""

    kind: Literal["enterprise", "person"]
    code: str = Field(description="USCC for an enterprise, resident ID number for a person")
    name: str


class Contact(_Record):
    """How the bureau reaches the applicant about this application."""

    name: str | None = None
    phone: str | None = None
    email: str | None = None


class DeadlineInfo(_Record):
    """A due time in working days, with what the clock knew about the calendar."""

    due: datetime
    working_days: int
    calendar_known: bool
    note_zh: str = ""
    note_en: str = ""


# A material counts as evidence once ingest (or an attached e-licence) catalogued it.
PINNABLE_STATUSES = frozenset({MaterialStatus.CATALOGUED, MaterialStatus.NEEDS_ATTENTION})


class FieldCorrection(_Record):
    """A reviewer's correction of one value read from a material, or of its type (`field` is then
    "material_type"): a statement recorded beside the document; the document's bytes never change
    (`onestop.applications.corrections`). `old == new` confirms a value the pipeline was unsure of."""

    id: str
    field: str
    old: str | None = None
    new: str
    reason: str
    actor: str
    actor_role: str
    at: datetime
    resolved: list[str] = Field(default_factory=list, description="problem codes the correction settled")


def _empty(value: object) -> bool:
    return not value


class Evidence(_Record):
    """One material as submitted: the object version and the SHA-256 of the bytes a decision is taken
    on (pinned at submit, recorded by the decision, listed by the licence), with the reviewers'
    corrections of what was read from it (the bytes and their hashes stay as pinned)."""

    slot: str
    upload_id: str
    source: str = "upload"
    version_id: str | None = Field(default=None, description="the uploaded object's version")
    sha256: str | None = Field(default=None, description="SHA-256 of the uploaded bytes")
    normalised_version_id: str | None = None
    normalised_sha256: str | None = None
    # Left out of the stored and published shape while empty: pinned evidence reads as it always did.
    corrections: list[FieldCorrection] = Field(default_factory=list, exclude_if=_empty)

    @classmethod
    def of(cls, material: Material) -> Evidence:
        original = material.original or {}
        normalised = material.normalised or {}
        # An attached e-licence has no upload: its sealed PDF (the normalised copy) is the evidence.
        return cls(
            slot=material.slot,
            upload_id=material.upload_id,
            source=material.source,
            version_id=original.get("version_id") or normalised.get("version_id"),
            sha256=original.get("sha256") or normalised.get("sha256"),
            normalised_version_id=normalised.get("version_id"),
            normalised_sha256=normalised.get("sha256"),
            corrections=list(material.corrections),
        )


def pin_evidence(materials: list[Material]) -> list[Evidence]:
    """The catalogued materials as evidence, in a stable order."""
    pinned = [Evidence.of(m) for m in materials if MaterialStatus(m.status) in PINNABLE_STATUSES]
    return sorted(pinned, key=lambda e: (e.slot, e.upload_id))


class ClockPause(_Record):
    """A stretch during which the decision clock stood still (Licensing Law art. 45; 补正 after
    acceptance): `working_days` is what ending it gave back to the deadline (`applications.pauses`)."""

    n: int = Field(description="1, 2, … in the order the pauses started")
    procedure: Literal["correction", "hearing", "expert_review", "onsite_inspection"]
    reason: Reason
    started_at: datetime
    started_by: str
    ended_at: datetime | None = None
    ended_by: str | None = None
    working_days: int | None = Field(default=None, description="working days added when it ended")
    due_before: datetime | None = Field(default=None, description="the decision deadline when it paused")
    due_after: datetime | None = Field(default=None, description="the decision deadline once it ended")


class Extension(_Record):
    """The one extension (延期) of the decision deadline: asked by a reviewer, decided by an admin."""

    days: int
    reason: Reason
    status: Literal["requested", "approved", "refused"]
    requested_by: str
    requested_at: datetime
    decided_by: str | None = None
    decided_at: datetime | None = None
    refusal: Reason | None = None
    due_before: datetime | None = None
    due_after: datetime | None = None


class Escalation(_Record):
    """The last escalation of an application to the bureau's admins (`applications.assignment`): at most
    one per due time and level, so a second sweep or a replayed event escalates nothing new."""

    level: Literal["at_risk", "overdue"]
    due: datetime
    at: datetime


class Application(_Record):
    """One application for one service item."""

    id: str
    item_code: str
    item_name_zh: str
    item_name_en: str
    # The catalogue version the application was created with (`catalogue.versions`): its material
    # list, limits and licence are read from that version for good. None: made before catalogue
    # versions existed, i.e. version 1.
    catalogue_version: int | None = None
    owner_sub: str
    owner_name: str | None = None
    applicant: Applicant
    contact: Contact | None = None
    status: ApplicationStatus
    version: int = 1
    created_at: datetime
    updated_at: datetime
    submitted_at: datetime | None = None
    # Licensing Law art. 32: tell the applicant within 5 days whether it is accepted or what to correct.
    acceptance_due: DeadlineInfo | None = None
    accepted_at: datetime | None = None
    # The decision deadline: the item's promised limit in working days, counted from acceptance.
    deadline: DeadlineInfo | None = None
    decided_at: datetime | None = None
    decided_by: str | None = None
    correction_reasons: list[Reason] = Field(default_factory=list)
    decision_reasons: list[Reason] = Field(default_factory=list)
    comment: str | None = None
    licence_id: str | None = None
    evidence: list[Evidence] = Field(
        default_factory=list, description="the materials as pinned at the last submission"
    )
    decision_evidence: list[Evidence] = Field(
        default_factory=list, description="the pinned set the approval or rejection was taken on"
    )
    pending_events: list[str] = Field(
        default_factory=list,
        description="domain events written but not yet published (a sweep may retry them)",
    )
    # Where it was made (`applications.channels`: from the caller's app client, fixed at creation; None
    # = made before channels were recorded) and, at the service window, the clerk who applied on the
    # applicant's behalf (their sub; `owner_sub` is then the clerk too, the applicant as always above).
    channel: str | None = None
    clerk: str | None = None
    # The decision clock's pauses and its one extension (`applications.pauses`); `deadline` is always
    # the effective due time after them.
    clock_pauses: list[ClockPause] = Field(default_factory=list, exclude_if=_empty)  # stored shape as before
    extension: Extension | None = None
    # Work assignment (`applications.assignment`): who holds the application and until when (a lease:
    # past `assignee_until` it counts as unassigned, no sweep needed); written by conditional updates
    # that leave `version` alone, so a claim never makes a concurrent applicant or reviewer write fail.
    assignee: str | None = None
    assignee_name: str | None = None
    assignee_until: datetime | None = None
    escalated: Escalation | None = None

    def queue_due(self) -> datetime | None:
        """The due time that orders this application in the reviewer's queue."""
        if self.status == ApplicationStatus.SUBMITTED and self.acceptance_due is not None:
            return self.acceptance_due.due
        if self.status == ApplicationStatus.CORRECTION_REQUESTED:
            return None  # the clock waits for the applicant
        if any(p.ended_at is None for p in self.clock_pauses):
            return None  # a hearing, expert review or on-site inspection: the clock stands still
        return self.deadline.due if self.deadline is not None else None


class Classification(_Record):
    """What the ingest function decided the file is."""

    material_type: str
    confidence: float | None = None
    reason_zh: str | None = None
    reason_en: str | None = None


class Declared(_Record):
    """What the portal said about the file before uploading it."""

    filename: str
    content_type: str
    size: int


class Material(_Record):
    """One uploaded (or e-licence sourced) file in a material slot of an application."""

    application_id: str
    slot: str
    upload_id: str
    status: MaterialStatus
    source: Literal["upload", "elicence"] = "upload"
    key: str | None = Field(default=None, description="object key the presigned POST fixed")
    declared: Declared | None = None
    max_bytes: int | None = Field(default=None, description="the ticket's size limit (ingest checks it)")
    formats: list[str] | None = Field(default=None, description="formats the ticket's slot accepts")
    reason: Reason | None = None
    original: dict[str, Any] | None = None
    classification: Classification | None = None
    fields: dict[str, Any] = Field(default_factory=dict)
    problems: list[Reason] = Field(default_factory=list)
    normalised: dict[str, Any] | None = None
    manifest_key: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    # Per field as the pipeline read it: value, confidence, page and box (fractions of the upright page).
    field_readings: dict[str, Any] = Field(default_factory=dict)
    # Reviewers' corrections (`onestop.applications.corrections`): `fields` then holds the corrected
    # values, `fields_as_read` the pipeline's, and the problems a correction settled move to `resolved`.
    fields_as_read: dict[str, Any] | None = None
    corrections: list[FieldCorrection] = Field(default_factory=list)
    resolved_problems: list[Reason] = Field(default_factory=list)


class AuditEvent(_Record):
    """One recorded change: who did what, from which state to which, and why."""

    application_id: str
    at: datetime
    n: int = Field(description="the application version this event produced; orders the trail")
    tag: str | None = Field(default=None, description="tells apart events that did not change the version")
    actor: str
    actor_role: str | None = None
    action: str
    from_status: ApplicationStatus | None = None
    to_status: ApplicationStatus | None = None
    reason: list[Reason] = Field(default_factory=list)
    comment: str | None = None


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """One page of a listing and the opaque cursor of the next one."""

    model_config = ConfigDict(frozen=True)

    items: list[T]
    next_cursor: str | None = None
