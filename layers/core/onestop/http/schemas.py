"""Request and response bodies of the HTTP API (pydantic; they are also the OpenAPI schemas)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, WithJsonSchema
from pydantic.networks import validate_email
from pydantic_core import PydanticCustomError

from onestop.applications.channels import CHANNEL_NAMES, UNRECORDED
from onestop.applications.models import Application, AuditEvent, DeadlineInfo, Evidence, Material
from onestop.applications.service import (
    FORMAT_CONTENT_TYPES,
    ONLINE_DEPTHS,
    ApplicationDetail,
    QueueEntry,
    UploadTicket,
)
from onestop.applications.state import STATUS_NAMES
from onestop.catalogue import MaterialRequirement, ServiceItem
from onestop.errors import Reason

from .inputs import Paragraph, Text, WholeNumber

APPLICATION_ID = r"^[0-9a-f]{32}$"
SLOT = r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$"
ITEM_CODE = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
Lang = Literal["zh", "en"]


# defer_build: a model's validator and serialiser are built when a request first uses it, not when the
# function starts (most of the models here serve a few routes each; docs/decisions.md).
class _In(BaseModel):
    # Unknown fields are refused, so a misspelt field name is reported instead of ignored.
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, defer_build=True)


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True, defer_build=True)


# ----------------------------------------------------------------------------- shared


class LocalisedText(_Out):
    """The same message in Chinese and English."""

    zh: str
    en: str


class ErrorDetail(_Out):
    """One thing wrong, with the field it concerns when there is one."""

    code: str
    zh: str
    en: str
    field: str | None = None

    @classmethod
    def of(cls, reason: Reason) -> ErrorDetail:
        return cls(code=reason.code, zh=reason.zh, en=reason.en, field=reason.field)


class CurrentState(_Out):
    """Where the application stands now (in a 409)."""

    status: str
    version: int | None = None


class NoticeOut(_Out):
    """The one-time notice (一次性告知) as a whole text, numbered, in both languages."""

    zh: str
    en: str
    count: int


class ErrorResponse(_Out):
    """Every error the API returns has this shape."""

    model_config = ConfigDict(extra="allow")

    code: str = Field(description="machine-readable error code")
    message: LocalisedText
    details: list[ErrorDetail] = Field(default_factory=list, description="one entry per problem, by field")
    current: CurrentState | None = Field(default=None, description="409: the application's current state")
    notice: NoticeOut | None = Field(default=None, description="422 on submit: the one-time notice")
    max_bytes: int | None = Field(default=None, description="413: the size limit")
    reference: str | None = Field(default=None, description="500: quote this to support")


# ----------------------------------------------------------------------------- catalogue


class MaterialRequirementOut(_Out):
    """One material the item asks for."""

    slot: str
    material_type: str
    name: str
    name_zh: str
    name_en: str
    requirement: Literal["required", "conditional", "optional"]
    condition_zh: str | None = None
    condition_en: str | None = None
    min_count: int
    max_count: int
    formats: list[str]
    content_types: list[str]
    max_bytes: int
    elicence_replaceable: bool
    # The licence type of this bureau's registry that can fill the slot; None when the replacing
    # licence comes from another authority (e.g. the business licence), which cannot be attached here.
    elicence_type_code: str | None

    @classmethod
    def of(cls, m: MaterialRequirement, lang: Lang) -> MaterialRequirementOut:
        return cls(
            slot=m.slot,
            material_type=m.material_type,
            name=m.name_zh if lang == "zh" else m.name_en,
            name_zh=m.name_zh,
            name_en=m.name_en,
            requirement=m.requirement,
            condition_zh=m.condition_zh,
            condition_en=m.condition_en,
            min_count=m.min_count,
            max_count=m.max_count,
            formats=list(m.formats),
            content_types=[FORMAT_CONTENT_TYPES[f] for f in m.formats],
            max_bytes=m.max_bytes,
            elicence_replaceable=m.elicence_replaceable,
            elicence_type_code=m.elicence_type_code,
        )


class LicenceOut(_Out):
    """The e-licence an item issues."""

    type_code: str
    name_zh: str
    name_en: str
    validity_years: int | None = None


class ItemSummary(_Out):
    """A service item as listed."""

    code: str
    name: str
    name_zh: str
    name_en: str
    category: str
    category_name: LocalisedText
    department: str
    department_en: str
    statutory_limit_days: int
    promised_limit_days: int
    online_depth: str
    applicable_online: bool
    issues_licence: bool

    @classmethod
    def of(cls, item: ServiceItem, lang: Lang = "zh") -> ItemSummary:
        return cls(
            code=item.code,
            name=item.name_zh if lang == "zh" else item.name_en,
            name_zh=item.name_zh,
            name_en=item.name_en,
            category=str(item.category.value),
            category_name=LocalisedText(zh=item.category.name_zh, en=item.category.name_en),
            department=item.department,
            department_en=item.department_en,
            statutory_limit_days=item.statutory_limit_days,
            promised_limit_days=item.promised_limit_days,
            online_depth=item.online_depth,
            applicable_online=item.online_depth in ONLINE_DEPTHS,
            issues_licence=item.licence is not None,
        )


class ItemDetail(ItemSummary):
    """A service item with its legal basis, limits and material list."""

    legal_basis: list[str]
    visits_required: int
    fee: str
    applicant_kinds: list[str]
    correction_notice_days: int
    on_site_review: bool
    public_notice_days: int | None = None
    licence: LicenceOut | None = None
    materials: list[MaterialRequirementOut]

    @classmethod
    def of_item(cls, item: ServiceItem, lang: Lang = "zh") -> ItemDetail:
        return cls(
            **ItemSummary.of(item, lang).model_dump(),
            legal_basis=list(item.legal_basis),
            visits_required=item.visits_required,
            fee=item.fee,
            applicant_kinds=list(item.applicant_kinds),
            correction_notice_days=item.correction_notice_days,
            on_site_review=item.on_site_review,
            public_notice_days=item.public_notice_days,
            licence=LicenceOut.model_validate(item.licence) if item.licence else None,
            materials=[MaterialRequirementOut.of(m, lang) for m in item.materials],
        )


class ItemList(_Out):
    """Items matching a search."""

    items: list[ItemSummary]
    count: int


# ----------------------------------------------------------------------------- applications in


class EnterpriseApplicantIn(_In):
    """An enterprise applies, identified by its unified social credit code."""

    kind: Literal["enterprise"]
    uscc: Text = Field(min_length=1, max_length=40, description="统一社会信用代码 (18 characters)")
    name: Text = Field(min_length=1, max_length=200)


class PersonApplicantIn(_In):
    """A person applies, identified by the resident ID number."""

    kind: Literal["person"]
    id_number: Text = Field(min_length=1, max_length=40, description="公民身份号码 (18 characters)")
    name: Text = Field(min_length=1, max_length=100)


def _email(value: str) -> str:
    """pydantic's own e-mail check, its error given a type of its own (`email`) so that the
    error mapping can say what is wrong without reading the message text."""
    try:
        return validate_email(value)[1]
    except PydanticCustomError as exc:
        raise PydanticCustomError("email", exc.message_template, exc.context) from exc


Email = Annotated[str, AfterValidator(_email), WithJsonSchema({"type": "string", "format": "email"})]


class ContactIn(_In):
    """How to reach the applicant."""

    name: Text | None = Field(default=None, max_length=100)
    phone: str | None = Field(default=None, max_length=30, pattern=r"^\+?[0-9][0-9 \-]{4,28}$")
    email: Email | None = None


class CreateApplicationIn(_In):
    """Open a draft application for a service item."""

    item_code: Text = Field(min_length=1, max_length=100, description="code from GET /items")
    applicant: Annotated[EnterpriseApplicantIn | PersonApplicantIn, Field(discriminator="kind")]
    contact: ContactIn | None = None


class UploadIn(_In):
    """The file the portal is about to upload."""

    filename: Text = Field(min_length=1, max_length=255)
    content_type: Text = Field(
        min_length=1, max_length=100, description="application/pdf, image/jpeg, image/png …"
    )
    size: WholeNumber = Field(gt=0, le=10**12, description="bytes (a JSON integer)")


class ElicenceIn(_In):
    """Fill a material slot with an e-licence the bureau issued (免提交) instead of a file."""

    licence_id: Text = Field(
        min_length=1,
        max_length=200,
        description="GB/T 36904 e-licence identifier: "
        "1.2.156.3005.2.<type code>.<issuer USCC>.<serial>.<version>.<check>",
    )


class WithdrawIn(_In):
    """Why the applicant withdraws (optional)."""

    comment: Paragraph | None = Field(default=None, max_length=2000)


class ReasonIn(_In):
    """A reviewer's reason, optionally tied to one material slot."""

    zh: Paragraph = Field(min_length=1, max_length=1000)
    en: Paragraph | None = Field(default=None, max_length=1000)
    code: str | None = Field(default=None, max_length=64, pattern=r"^[a-z][a-z0-9_]*$")
    slot: str | None = Field(default=None, max_length=64, pattern=SLOT)


class DecisionIn(_In):
    """A reviewer's decision."""

    action: Literal["accept", "request_correction", "approve", "reject"]
    reasons: list[ReasonIn] = Field(default_factory=list, max_length=50)
    comment: Paragraph | None = Field(default=None, max_length=2000)
    version: WholeNumber | None = Field(
        default=None, ge=1, description="the version the reviewer looked at; a newer one stored gives 409"
    )


# ----------------------------------------------------------------------------- applications out


class ApplicantOut(_Out):
    kind: Literal["enterprise", "person"]
    code: str
    name: str


class ContactOut(_Out):
    name: str | None = None
    phone: str | None = None
    email: str | None = None


class DeadlineOut(_Out):
    """A due time counted in working days; `note` says what the holiday calendar knew."""

    due: datetime
    working_days: int
    calendar_known: bool
    note: LocalisedText | None = Field(default=None, description="present when the calendar was not known")

    @classmethod
    def of(cls, d: DeadlineInfo | None) -> DeadlineOut | None:
        if d is None:
            return None
        return cls(
            due=d.due,
            working_days=d.working_days,
            calendar_known=d.calendar_known,
            note=LocalisedText(zh=d.note_zh, en=d.note_en) if d.note_zh or d.note_en else None,
        )


class ApplicationSummary(_Out):
    """An application as listed."""

    id: str
    item_code: str
    item_name: LocalisedText
    catalogue_version: int = Field(default=1, description="the catalogue version the application pinned")
    status: str
    status_name: LocalisedText
    version: int
    applicant: ApplicantOut
    created_at: datetime
    updated_at: datetime
    submitted_at: datetime | None = None
    acceptance_due: DeadlineOut | None = None
    deadline: DeadlineOut | None = None
    licence_id: str | None = None
    channel: str = Field(
        default=UNRECORDED,
        description="where it was made: web_portal, city_app, mini_program, service_window; "
        "unrecorded = before channels were recorded",
    )
    channel_name: LocalisedText | None = None
    clerk: str | None = Field(default=None, description="the window clerk who applied for the applicant")

    @staticmethod
    def fields_of(a: Application) -> dict[str, Any]:
        zh, en = STATUS_NAMES[a.status]
        channel = a.channel or UNRECORDED
        channel_zh, channel_en = CHANNEL_NAMES.get(channel, (channel, channel))
        return {
            "id": a.id,
            "item_code": a.item_code,
            "item_name": LocalisedText(zh=a.item_name_zh, en=a.item_name_en),
            "catalogue_version": a.catalogue_version or 1,
            "status": a.status.value,
            "status_name": LocalisedText(zh=zh, en=en),
            "version": a.version,
            "applicant": ApplicantOut.model_validate(a.applicant),
            "created_at": a.created_at,
            "updated_at": a.updated_at,
            "submitted_at": a.submitted_at,
            "acceptance_due": DeadlineOut.of(a.acceptance_due),
            "deadline": DeadlineOut.of(a.deadline),
            "licence_id": a.licence_id,
            "channel": channel,
            "channel_name": LocalisedText(zh=channel_zh, en=channel_en),
            "clerk": a.clerk,
        }

    @classmethod
    def of(cls, a: Application) -> ApplicationSummary:
        return cls(**cls.fields_of(a))


class ApplicationPage(_Out):
    items: list[ApplicationSummary]
    next_cursor: str | None = None


class DeclaredOut(_Out):
    filename: str
    content_type: str
    size: int


class ClassificationOut(_Out):
    material_type: str
    confidence: float | None = None
    reason: LocalisedText | None = None


class PinnedOut(_Out):
    """The material as pinned at submission: what a decision on the application is taken on."""

    version_id: str | None = Field(default=None, description="the uploaded object's version")
    sha256: str | None = Field(default=None, description="SHA-256 of the uploaded bytes")
    normalised_version_id: str | None = None
    normalised_sha256: str | None = None


class FieldCorrectionOut(_Out):
    """A reviewer's correction of a value read from the material (or of its type): who, when, old →
    new, why. The document itself is unchanged; this is the reviewer's statement beside it."""

    id: str
    field: str = Field(description='a field name, or "material_type"')
    old: str | None = None
    new: str
    reason: str
    actor: str
    actor_role: str
    at: datetime
    resolved: list[str] = Field(default_factory=list, description="problem codes the correction settled")


class FieldReadingOut(_Out):
    """How the pipeline read one field: the value, its OCR confidence and where it is on the page."""

    value: str | None = None
    confidence: float | None = None
    page: int | None = Field(default=None, description="0-based page of the upright document")
    box: list[float] | None = Field(
        default=None, description="x0, y0, x1, y1 as fractions (0..1) of the upright page's width and height"
    )
    source: str | None = None


class PagePreviewOut(_Out):
    """A JPEG of one upright page (the frame the field boxes are fractions of), as a short-lived link."""

    page: int
    url: str


class MaterialOut(_Out):
    """One file in the application, with what the ingest function made of it."""

    slot: str
    slot_name: LocalisedText | None = None
    upload_id: str
    status: str
    source: str
    declared: DeclaredOut | None = None
    reason: ErrorDetail | None = None
    classification: ClassificationOut | None = None
    fields: dict[str, Any] = Field(default_factory=dict)
    problems: list[ErrorDetail] = Field(default_factory=list)
    pages: int | None = None
    download_url: str | None = Field(default=None, description="short-lived link to the normalised PDF")
    pinned: PinnedOut | None = Field(default=None, description="as pinned at submission (None before)")
    created_at: datetime | None = None
    updated_at: datetime | None = None
    fields_as_read: dict[str, Any] | None = Field(
        default=None, description="the pipeline's reading, once a reviewer corrected a value (`fields`)"
    )
    corrections: list[FieldCorrectionOut] = Field(default_factory=list)
    resolved_problems: list[ErrorDetail] = Field(
        default_factory=list, description="problems a reviewer's correction settled"
    )
    readings: dict[str, FieldReadingOut] = Field(default_factory=dict)
    previews: list[PagePreviewOut] = Field(default_factory=list)

    @classmethod
    def of(
        cls,
        m: Material,
        item: ServiceItem | None,
        url: str | None,
        pinned: Evidence | None = None,
        previews: list[str] | None = None,
    ) -> MaterialOut:
        slot_name = None
        if item is not None:
            req = next((r for r in item.materials if r.slot == m.slot), None)
            if req is not None:
                slot_name = LocalisedText(zh=req.name_zh, en=req.name_en)
        c = m.classification
        pages = (m.normalised or {}).get("pages")
        return cls(
            slot=m.slot,
            slot_name=slot_name,
            upload_id=m.upload_id,
            status=m.status.value,
            source=m.source,
            declared=DeclaredOut.model_validate(m.declared) if m.declared else None,
            reason=ErrorDetail.of(m.reason) if m.reason else None,
            classification=(
                ClassificationOut(
                    material_type=c.material_type,
                    confidence=c.confidence,
                    reason=LocalisedText(zh=c.reason_zh, en=c.reason_en)
                    if c.reason_zh and c.reason_en
                    else None,
                )
                if c
                else None
            ),
            fields=dict(m.fields),
            problems=[ErrorDetail.of(p) for p in m.problems],
            pages=pages if isinstance(pages, int) else None,
            download_url=url,
            pinned=PinnedOut.model_validate(pinned.model_dump()) if pinned is not None else None,
            created_at=m.created_at,
            updated_at=m.updated_at,
            fields_as_read=m.fields_as_read,
            corrections=[FieldCorrectionOut.model_validate(c.model_dump()) for c in m.corrections],
            resolved_problems=[ErrorDetail.of(p) for p in m.resolved_problems],
            readings={
                name: FieldReadingOut.model_validate(r)
                for name, r in m.field_readings.items()
                if isinstance(r, dict)
            },
            previews=[PagePreviewOut(page=i, url=u) for i, u in enumerate(previews or [])],
        )


class AuditEventOut(_Out):
    """One entry of the audit trail."""

    at: datetime
    n: int
    actor: str
    actor_role: str | None = None
    action: str
    from_status: str | None = None
    to_status: str | None = None
    reasons: list[ErrorDetail] = Field(default_factory=list)
    comment: str | None = None

    @classmethod
    def of(cls, e: AuditEvent) -> AuditEventOut:
        return cls(
            at=e.at,
            n=e.n,
            actor=e.actor,
            actor_role=e.actor_role,
            action=e.action,
            from_status=e.from_status.value if e.from_status else None,
            to_status=e.to_status.value if e.to_status else None,
            reasons=[ErrorDetail.of(r) for r in e.reason],
            comment=e.comment,
        )


class ApplicationDetailOut(ApplicationSummary):
    """Everything about one application."""

    contact: ContactOut | None = None
    accepted_at: datetime | None = None
    decided_at: datetime | None = None
    decided_by: str | None = None
    correction_reasons: list[ErrorDetail] = Field(default_factory=list)
    decision_reasons: list[ErrorDetail] = Field(default_factory=list)
    comment: str | None = None
    item: ItemSummary | None = None
    materials: list[MaterialOut]
    audit_trail: list[AuditEventOut]
    open_issues: list[ErrorDetail] = Field(
        description="what submission would refuse right now (empty when the set is complete)"
    )
    allowed_actions: list[str] = Field(description="what the caller may do next")

    @classmethod
    def of_detail(cls, d: ApplicationDetail) -> ApplicationDetailOut:
        a = d.application
        return cls(
            **ApplicationSummary.fields_of(a),
            contact=ContactOut.model_validate(a.contact) if a.contact else None,
            accepted_at=a.accepted_at,
            decided_at=a.decided_at,
            decided_by=a.decided_by,
            correction_reasons=[ErrorDetail.of(r) for r in a.correction_reasons],
            decision_reasons=[ErrorDetail.of(r) for r in a.decision_reasons],
            comment=a.comment,
            item=ItemSummary.of(d.item) if d.item else None,
            materials=[
                MaterialOut.of(
                    m,
                    d.item,
                    d.download_urls.get(m.upload_id),
                    d.pinned.get(m.upload_id),
                    d.preview_urls.get(m.upload_id),
                )
                for m in d.materials
            ],
            audit_trail=[AuditEventOut.of(e) for e in d.events],
            open_issues=[ErrorDetail.of(r) for r in d.open_issues],
            allowed_actions=[x.value for x in d.allowed_actions],
        )


class UploadTicketOut(_Out):
    """A presigned POST: send `fields` and then the file (field `file`) to `url` as multipart/form-data."""

    upload_id: str
    slot: str
    key: str
    method: Literal["POST"] = "POST"
    url: str
    fields: dict[str, str]
    expires_in: int
    max_bytes: int
    content_type: str
    instructions: LocalisedText
    status: str

    @classmethod
    def of(cls, t: UploadTicket) -> UploadTicketOut:
        m = t.material
        return cls(
            upload_id=m.upload_id,
            slot=m.slot,
            key=m.key or "",
            url=t.url,
            fields=t.fields,
            expires_in=t.expires_in,
            max_bytes=t.max_bytes,
            content_type=m.declared.content_type if m.declared else "",
            instructions=LocalisedText(zh=t.instructions_zh, en=t.instructions_en),
            status=m.status.value,
        )


class QueueEntryOut(ApplicationSummary):
    """An application in the review queue."""

    due: datetime | None = None
    at_risk: bool
    overdue: bool
    assignee: str | None = Field(default=None, description="who holds a live claim (null: unassigned)")
    assignee_name: str | None = None
    assignee_until: datetime | None = None
    escalated: bool = Field(default=False, description="escalated to the admins for the current due time")

    @classmethod
    def of_entry(cls, e: QueueEntry) -> QueueEntryOut:
        held = e.assignee is not None
        return cls(
            **ApplicationSummary.fields_of(e.application),
            due=e.due,
            at_risk=e.at_risk,
            overdue=e.overdue,
            assignee=e.assignee,
            assignee_name=e.application.assignee_name if held else None,
            assignee_until=e.application.assignee_until if held else None,
            escalated=e.escalated,
        )


class QueuePage(_Out):
    items: list[QueueEntryOut]
    next_cursor: str | None = None
