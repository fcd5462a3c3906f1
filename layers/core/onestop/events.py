"""The events onestop puts on its bus: one pydantic model per EventBridge detail type.

Producers build the model and publish its `detail()` (`publish(publisher, event)`, or as an owed event
through `onestop.outbox`); consumers read a detail with `Model.parse(detail)`. docs/architecture.md
("Event catalogue") lists who produces and who consumes each.

The wire format is the detail keys below, as they were before the models: events already stored as
owed are re-published exactly as stored. `schema_version` says which shape a detail has; a detail
without it (stored before it existed) reads as version 1. Renaming or removing a field or changing
its meaning increments it; adding an optional field does not. (It is not called `version`:
`LicenceIssued` and `LicenceStatusChanged` carry the licence's version under that name.)

Times are ISO 8601 text as their producer writes it (application and deadline events: UTC to the
second with `Z`; licence events: `isoformat()` with `+00:00`), kept as text so that the wire stays
byte-for-byte what it was; `parse_time` reads either.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar, Literal, Protocol, Self

from pydantic import BaseModel, ConfigDict, Field

from onestop.errors import Reason

SCHEMA_VERSION = 1


def _absent(value: object) -> bool:
    return value is None


def optional(description: str = "") -> Any:
    """A field only some producers write: left out of the detail when None (the wire as it was)."""
    return Field(default=None, exclude_if=_absent, description=description)


def parse_time(text: str) -> datetime:
    """An event's time (either spelling of UTC)."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


class Event(BaseModel):
    """A detail on the bus; subclasses name their `DETAIL_TYPE`."""

    # defer_build: an event's validator is built when that event is first made or read, not for every
    # event type at every cold start.
    model_config = ConfigDict(frozen=True, extra="ignore", defer_build=True)

    DETAIL_TYPE: ClassVar[str]

    schema_version: int = Field(default=SCHEMA_VERSION, description="shape of this detail (absent = 1)")

    def detail(self) -> dict[str, Any]:
        """The EventBridge detail (JSON-ready)."""
        return self.model_dump(mode="json")

    @classmethod
    def parse(cls, detail: Mapping[str, Any]) -> Self:
        """Validate a received detail (pydantic's ValidationError, a ValueError, when malformed)."""
        return cls.model_validate(dict(detail))


class Publisher(Protocol):
    """`onestop.ports.EventPublisher` (repeated here: the port module stays free of the models)."""

    def publish(self, detail_type: str, detail: Mapping[str, Any]) -> None: ...


def publish(publisher: Publisher, event: Event) -> None:
    """Put `event` on the bus now (errors propagate: the caller's retry is the redelivery)."""
    publisher.publish(event.DETAIL_TYPE, event.detail())


class EventReason(BaseModel):
    """A reason as events carry it (`onestop.errors.Reason.as_dict()`)."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    code: str
    zh: str
    en: str
    field: str | None = optional()

    @classmethod
    def of(cls, reason: Reason) -> EventReason:
        return cls(code=reason.code, zh=reason.zh, en=reason.en, field=reason.field)


class EventApplicant(BaseModel):
    """Who applied (`onestop.applications.models.Applicant`)."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    kind: Literal["enterprise", "person"]
    code: str = Field(description="USCC for an enterprise, resident ID number for a person")
    name: str


# ----------------------------------------------------------------------------- applications


class ApplicationEvent(Event):
    application_id: str
    item_code: str


class ApplicationSubmitted(ApplicationEvent):
    """An applicant submitted; the acceptance notice period runs."""

    DETAIL_TYPE: ClassVar[str] = "ApplicationSubmitted"

    applicant: EventApplicant
    submitted_at: str
    acceptance_due: str | None = None


class ApplicationAccepted(ApplicationEvent):
    """A reviewer accepted (受理); the decision deadline runs."""

    DETAIL_TYPE: ClassVar[str] = "ApplicationAccepted"

    accepted_at: str
    deadline: str
    working_days: int


class ApplicationCorrectionRequested(ApplicationEvent):
    """A reviewer asked for correction (补正): `reasons` is the one-time notice (一次性告知), everything
    to correct at once; the applicant is told (the notify function)."""

    DETAIL_TYPE: ClassVar[str] = "ApplicationCorrectionRequested"

    requested_at: str
    requested_by: str
    reasons: list[EventReason] = Field(default_factory=list)
    applicant: EventApplicant
    clock_paused: bool | None = optional("True when asked after acceptance: the decision clock waits")


class ApplicationClockChanged(ApplicationEvent):
    """The decision clock paused, resumed or was extended (`applications.pauses`): `due` is the
    decision deadline after the change; the applicant is told (the notify function)."""

    DETAIL_TYPE: ClassVar[str] = "ApplicationClockChanged"

    change: str = Field(description="paused | resumed | extension_requested | extended | extension_refused")
    procedure: str = Field(description="correction | hearing | expert_review | onsite_inspection | extension")
    reason: EventReason
    at: str
    due: str | None = None
    working_days_added: int | None = None
    actor: str


class EventCorrection(BaseModel):
    """A reviewer's correction of a value read from an evidence material (`FieldCorrection`)."""

    model_config = ConfigDict(frozen=True, extra="ignore", defer_build=True)

    field: str
    old: str | None = None
    new: str
    reason: str
    actor: str
    actor_role: str | None = None
    at: datetime


class EventEvidence(BaseModel):
    """One material of the pinned set a decision was taken on (`applications.models.Evidence`)."""

    model_config = ConfigDict(frozen=True, extra="ignore", defer_build=True)

    slot: str
    upload_id: str
    source: str = "upload"
    version_id: str | None = None
    sha256: str | None = None
    normalised_sha256: str | None = None
    corrections: list[EventCorrection] | None = optional("reviewers' corrections of what was read from it")


class ApplicationApproved(ApplicationEvent):
    """A reviewer approved: the issue function issues the item's licence, if it has one."""

    DETAIL_TYPE: ClassVar[str] = "ApplicationApproved"

    applicant: EventApplicant
    approved_at: str
    approved_by: str | None = None
    evidence: list[EventEvidence] | None = optional("the pinned materials the approval was taken on")
    catalogue_version: int | None = optional("the catalogue version the application pinned (None: 1)")


class ApplicationRejected(ApplicationEvent):
    """A reviewer refused, with reasons."""

    DETAIL_TYPE: ClassVar[str] = "ApplicationRejected"

    applicant: EventApplicant
    rejected_at: str
    rejected_by: str
    reasons: list[EventReason] = Field(default_factory=list)


# ----------------------------------------------------------------------------- materials


class MaterialEvent(Event):
    application_id: str
    slot: str
    upload_id: str
    status: str
    manifest_key: str | None = None


class MaterialCatalogued(MaterialEvent):
    """A material is usable: an upload the ingest pipeline catalogued (or flagged `needs_attention`),
    or an e-licence attached in its place (`source` "elicence" with its `licence_id`)."""

    DETAIL_TYPE: ClassVar[str] = "MaterialCatalogued"

    material_type: str | None = None
    confidence: float | None = None
    problems: list[EventReason] = Field(default_factory=list)
    normalised: dict[str, Any] | None = None
    source: str | None = optional("elicence for an attached e-licence; absent for an upload")
    licence_id: str | None = optional("the attached e-licence")


class MaterialRejected(MaterialEvent):
    """The ingest pipeline refused an upload, with the reason."""

    DETAIL_TYPE: ClassVar[str] = "MaterialRejected"

    reason: EventReason


# ----------------------------------------------------------------------------- licences


class LicenceIssued(Event):
    """A licence version is sealed, stored and valid."""

    DETAIL_TYPE: ClassVar[str] = "LicenceIssued"

    licence_id: str
    application_id: str
    item_code: str
    holder_code: str
    holder_kind: str
    holder_name: str
    version: int = Field(description="the licence's version (001-999), not the schema's")
    supersedes: str | None = None
    issued_at: str | None = None
    valid_from: str
    valid_until: str | None = None
    pdf: dict[str, Any] | None = None
    seal_cert_sha256: str | None = None


class LicenceStatusChanged(Event):
    """A licence's status changed: a lifecycle action (with the licence's `version`), or a version
    superseded by a new one (with `superseded_by`)."""

    DETAIL_TYPE: ClassVar[str] = "LicenceStatusChanged"

    licence_id: str
    action: str
    from_status: str | None = None
    to_status: str
    actor: str
    reason: str
    reason_code: str | None = None
    at: str
    superseded_by: str | None = optional("the new version (a supersede)")
    application_id: str | None = optional()
    holder_code: str | None = optional()
    version: int | None = optional("the licence's version (a lifecycle action)")


class LicenceVersionRequested(Event):
    """A reviewer asked for a renewal (延续) or change (变更): the issue function seals the new version."""

    DETAIL_TYPE: ClassVar[str] = "LicenceVersionRequested"

    licence_id: str
    action: str = Field(description="renew or change")
    reason: str
    validity_years: int | None = None
    holder_name: str | None = None
    requested_by: str | None = None
    requested_role: str | None = None  # the role the request was made in (admin)
    requested_at: str | None = None


# ----------------------------------------------------------------------------- deadlines


class DeadlineFlagged(Event):
    """An application's running deadline is close or past (one event per flag and due time)."""

    application_id: str
    item_code: str
    item_name_zh: str
    item_name_en: str
    status: str
    deadline_kind: str
    level: str
    due: str
    due_local_date: str
    working_days_left: int
    flagged_at: str


class DeadlineAtRisk(DeadlineFlagged):
    DETAIL_TYPE: ClassVar[str] = "DeadlineAtRisk"


class DeadlineOverdue(DeadlineFlagged):
    DETAIL_TYPE: ClassVar[str] = "DeadlineOverdue"


class ApplicationEscalated(ApplicationEvent):
    """An application at risk or overdue was escalated to the bureau's admins by the deadline sweep
    (once per due time and level; `assignee`: the reviewer holding it then, if any)."""

    DETAIL_TYPE: ClassVar[str] = "ApplicationEscalated"

    item_name_zh: str
    item_name_en: str
    level: str  # "at_risk" | "overdue"
    due: str
    working_days_left: int
    assignee: str | None = None
    escalated_at: str


EVENT_TYPES: dict[str, type[Event]] = {
    cls.DETAIL_TYPE: cls
    for cls in (
        ApplicationSubmitted,
        ApplicationAccepted,
        ApplicationApproved,
        ApplicationRejected,
        ApplicationCorrectionRequested,
        ApplicationClockChanged,
        MaterialCatalogued,
        MaterialRejected,
        LicenceIssued,
        LicenceStatusChanged,
        LicenceVersionRequested,
        DeadlineAtRisk,
        DeadlineOverdue,
        ApplicationEscalated,
    )
}
