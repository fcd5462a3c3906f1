"""Use cases of applicants and reviewers. Storage, blobs, events and the clock come in as ports."""

from __future__ import annotations

import base64
import binascii
import json
import re
import unicodedata
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from onestop.catalogue import Catalogue, MaterialRequirement, ServiceItem
from onestop.errors import (
    Conflict,
    DomainError,
    Forbidden,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    Reason,
    Unavailable,
)
from onestop.identifiers.resident_id import validate_resident_id
from onestop.identifiers.uscc import validate_uscc
from onestop.licences.models import HolderKind, china_date
from onestop.observability import logger, metrics
from onestop.ports import BlobStore, EventPublisher

from . import elicence
from .completeness import check_completeness, notice
from .identity import Principal
from .models import (
    EDITABLE_STATUSES,
    Applicant,
    Application,
    ApplicationStatus,
    AuditEvent,
    Contact,
    DeadlineInfo,
    Declared,
    Material,
    MaterialStatus,
    Page,
    iso,
    utcnow,
)
from .ports import ApplicationBundle, ApplicationRepository, Clock
from .state import STATUS_NAMES, TRANSITIONS, Action, Actor, allowed_actions, conflict, next_status

# Accepted formats of the catalogue and the content types and file extensions that carry them.
FORMAT_CONTENT_TYPES = {
    "pdf": "application/pdf",
    "jpeg": "image/jpeg",
    "png": "image/png",
    "tiff": "image/tiff",
}
EXTENSION_FORMATS = {
    ".pdf": "pdf",
    ".jpg": "jpeg",
    ".jpeg": "jpeg",
    ".png": "png",
    ".tif": "tiff",
    ".tiff": "tiff",
}
CONTENT_TYPE_FORMATS = {v: k for k, v in FORMAT_CONTENT_TYPES.items()} | {
    "image/jpg": "jpeg",
    "image/pjpeg": "jpeg",
}

# Online depths at which an application can be made online (III: online application with
# pre-review; IV: fully online, zero visits). I and II only publish guidance and forms.
ONLINE_DEPTHS = frozenset({"III", "IV"})
# Files whose upload was never finished or that failed still count towards this cap, so that a
# slot cannot be used to mint unlimited presigned URLs.
MAX_UPLOAD_ATTEMPTS_PER_SLOT = 20

EVENT_FOR_ACTION: dict[Action, str] = {
    Action.SUBMIT: "ApplicationSubmitted",
    Action.ACCEPT: "ApplicationAccepted",
    Action.APPROVE: "ApplicationApproved",
    Action.REJECT: "ApplicationRejected",
}


def _new_id() -> str:
    return uuid.uuid4().hex


@dataclass(frozen=True)
class ServiceConfig:
    """Limits and timings of the service (from settings in the Lambda, literal in tests)."""

    upload_ttl_seconds: int = 600
    upload_max_bytes: int = 20 * 1024 * 1024
    download_ttl_seconds: int = 300


@dataclass(frozen=True)
class ApplicantInput:
    """The applicant as typed into the portal (validated by `create`)."""

    kind: str
    name: str
    uscc: str | None = None
    id_number: str | None = None


@dataclass(frozen=True)
class ReasonInput:
    """A reviewer's reason; `en` may be left out (the Chinese text is then shown in both)."""

    zh: str
    en: str | None = None
    code: str | None = None
    slot: str | None = None


@dataclass(frozen=True)
class UploadTicket:
    """How to upload one file: a presigned POST plus plain instructions."""

    material: Material
    url: str
    fields: dict[str, str]
    expires_in: int
    max_bytes: int
    instructions_zh: str
    instructions_en: str


@dataclass(frozen=True)
class AttachedElicence:
    """The material an e-licence filled; `created` is False when it was already attached."""

    material: Material
    created: bool
    item: ServiceItem
    download_url: str | None = None


@dataclass(frozen=True)
class ApplicationDetail:
    """What the application page shows."""

    application: Application
    item: ServiceItem | None
    materials: list[Material]
    events: list[AuditEvent]
    open_issues: list[Reason]
    allowed_actions: list[Action]
    download_urls: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class QueueEntry:
    """An application in the reviewer's queue, with how close its due time is."""

    application: Application
    due: datetime | None
    at_risk: bool
    overdue: bool


def _not_found() -> NotFound:
    # The same answer whether the application does not exist or belongs to someone else.
    return NotFound("application_not_found", "申请不存在。", "No such application.")


def sanitise_filename(filename: str) -> str:
    """A safe last path segment for an object key: no directories, no control or odd characters."""
    name = unicodedata.normalize("NFKC", filename).replace("\\", "/").rsplit("/", 1)[-1]
    name = re.sub(r"[^\w.\-]+", "_", name, flags=re.UNICODE).strip("._")
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    stem = stem[:80] or "file"
    ext = ext[:10].lower()
    return f"{stem}.{ext}" if ext else stem


def _deadline_info(deadline: Any) -> DeadlineInfo:
    return DeadlineInfo(
        due=deadline.due,
        working_days=deadline.working_days,
        calendar_known=deadline.calendar_known,
        note_zh=deadline.note_zh or "",
        note_en=deadline.note_en or "",
    )


def _encode_cursor(state: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(state, separators=(",", ":")).encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> dict[str, Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        state = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise _bad_cursor() from exc
    if not isinstance(state, dict):
        raise _bad_cursor()
    return state


def _bad_cursor() -> InvalidInput:
    return InvalidInput(
        "invalid_cursor",
        "分页游标无效，请从第一页重新查询。",
        "The page cursor is not valid; start again from the first page.",
        [Reason("invalid_cursor", "分页游标无效。", "Invalid page cursor.", "cursor")],
    )


class ApplicationService:
    """Applications from creation to decision, for applicants and reviewers."""

    def __init__(
        self,
        repository: ApplicationRepository,
        catalogue: Catalogue,
        uploads: BlobStore,
        publisher: EventPublisher,
        clock: Clock,
        *,
        config: ServiceConfig | None = None,
        materials_store: BlobStore | None = None,
        elicences: elicence.ElicenceSource | None = None,
        now: Callable[[], datetime] = utcnow,
        new_id: Callable[[], str] = _new_id,
    ) -> None:
        self.repository = repository
        self.catalogue = catalogue
        self.uploads = uploads
        self.publisher = publisher
        self.clock = clock
        self.config = config or ServiceConfig()
        self.materials_store = materials_store
        self.elicences = elicences
        self.now = now
        self.new_id = new_id

    # ----------------------------------------------------------------- applicant side

    def create(
        self, principal: Principal, item_code: str, applicant: ApplicantInput, contact: Contact | None = None
    ) -> Application:
        """A new draft application; every problem with the input is reported at once."""
        principal.require_applicant()
        assert principal.sub is not None
        problems: list[Reason] = []
        item = self._item_for_new_application(item_code, problems)
        checked = self._check_applicant(applicant, problems)
        if item is not None and applicant.kind not in item.applicant_kinds:
            kinds_zh = "、".join({"enterprise": "企业", "person": "个人"}[k] for k in item.applicant_kinds)
            problems.append(
                Reason(
                    "applicant_kind_not_accepted",
                    f"事项「{item.name_zh}」只受理以下申请人：{kinds_zh}。",
                    f"'{item.name_en}' accepts applications only from: {', '.join(item.applicant_kinds)}.",
                    "applicant.kind",
                )
            )
        if problems or item is None or checked is None:
            raise InvalidInput(
                "invalid_application",
                "申请信息有误，请按提示修改。",
                "The application has errors; correct the fields listed.",
                problems,
            )
        now = self.now()
        application = Application(
            id=self.new_id(),
            item_code=item.code,
            item_name_zh=item.name_zh,
            item_name_en=item.name_en,
            owner_sub=principal.sub,
            owner_name=principal.name,
            applicant=checked,
            contact=contact,
            status=ApplicationStatus.DRAFT,
            version=1,
            created_at=now,
            updated_at=now,
        )
        event = AuditEvent(
            application_id=application.id,
            at=now,
            n=1,
            actor=principal.label,
            actor_role=principal.primary_role,
            action="create",
            from_status=None,
            to_status=ApplicationStatus.DRAFT,
        )
        self.repository.create(application, event)
        metrics.add_metric(name="ApplicationCreated", unit="Count", value=1)
        return application

    def list_mine(
        self, principal: Principal, *, limit: int = 20, cursor: str | None = None
    ) -> Page[Application]:
        """The caller's own applications, newest first."""
        principal.require_authenticated()
        assert principal.sub is not None
        return self.repository.list_by_owner(principal.sub, limit=limit, cursor=cursor)

    def get(self, principal: Principal, application_id: str) -> ApplicationDetail:
        """The application with materials and audit trail (owner or reviewer only; 404 otherwise)."""
        principal.require_authenticated()
        bundle = self.repository.load(application_id)
        if bundle is None or not self._may_read(principal, bundle.application):
            raise _not_found()
        return self._detail(principal, bundle)

    def request_upload(
        self,
        principal: Principal,
        application_id: str,
        slot: str,
        *,
        filename: str,
        content_type: str,
        size: int,
    ) -> UploadTicket:
        """A presigned POST for one file into `slot`, and its material record (awaiting upload)."""
        application = self._owned(principal, application_id)
        self._require_editable(application, "upload")
        item = self.catalogue.item(application.item_code)
        requirement = self._requirement(item, slot)
        max_bytes = min(requirement.max_bytes, self.config.upload_max_bytes)
        self._check_declared(requirement, filename, content_type, size, max_bytes)
        existing = [m for m in self.repository.list_materials(application.id) if m.slot == slot]
        self._check_slot_room(requirement, existing)

        now = self.now()
        upload_id = self.new_id()
        key = f"uploads/{application.id}/{slot}/{upload_id}/{sanitise_filename(filename)}"
        content_type = FORMAT_CONTENT_TYPES[CONTENT_TYPE_FORMATS[content_type.strip().lower()]]
        # Presigning is local computation: nothing is stored until the record below is written, so a
        # refused write leaves no usable URL behind.
        post = self.uploads.presign_post(
            key,
            content_type=content_type,
            max_bytes=max_bytes,
            expires_in=self.config.upload_ttl_seconds,
            metadata={"application-id": application.id, "slot": slot, "upload-id": upload_id},
        )
        material = Material(
            application_id=application.id,
            slot=slot,
            upload_id=upload_id,
            status=MaterialStatus.AWAITING_UPLOAD,
            source="upload",
            key=key,
            declared=Declared(filename=filename, content_type=content_type, size=size),
            created_at=now,
            updated_at=now,
        )
        self.repository.add_material(application, material)
        metrics.add_metric(name="UploadPresigned", unit="Count", value=1)
        minutes = max(1, post.expires_in // 60)
        return UploadTicket(
            material=material,
            url=post.url,
            fields=dict(post.fields),
            expires_in=post.expires_in,
            max_bytes=max_bytes,
            instructions_zh=(
                f"请在 {minutes} 分钟内向 url 发送 multipart/form-data 格式的 POST 请求："
                "先原样附上 fields 中的全部字段，最后附上文件字段 file。"
                f"文件类型须为 {content_type}，大小不超过 {max_bytes} 字节。"
                "上传后系统将自动识别，可在申请详情中查看处理状态。"
            ),
            instructions_en=(
                f"Within {minutes} minutes, POST multipart/form-data to url: every entry of fields "
                "exactly as given, then the file itself as the last field, named file. "
                f"The file must be {content_type} and at most {max_bytes} bytes. It is checked "
                "automatically after upload; follow its status on the application."
            ),
        )

    def remove_upload(self, principal: Principal, application_id: str, slot: str, upload_id: str) -> None:
        """Take a file out of the application while it can still be changed."""
        application = self._owned(principal, application_id)
        self._require_editable(application, "remove material")
        material = next(
            (
                m
                for m in self.repository.list_materials(application.id)
                if m.slot == slot and m.upload_id == upload_id
            ),
            None,
        )
        if material is None:
            raise NotFound("material_not_found", "该材料不存在。", "No such material in this application.")
        event = AuditEvent(
            application_id=application.id,
            at=self.now(),
            n=application.version,
            tag=upload_id[:12],
            actor=principal.label,
            actor_role=principal.primary_role,
            action="remove_material",
            from_status=ApplicationStatus(application.status),
            to_status=ApplicationStatus(application.status),
            comment=f"{slot}/{upload_id}",
        )
        self.repository.remove_material(application, material, event)

    def attach_elicence(
        self, principal: Principal, application_id: str, slot: str, licence_id: str
    ) -> AttachedElicence:
        """Fill `slot` with an e-licence the bureau issued (免提交) instead of an uploaded file.

        Checked in order, cheapest first, each refusal saying why: the slot takes an e-licence of
        some type; the identifier is well formed and of that type; the registry has it; it is the
        applicant's and valid now; its sealed PDF verifies. The material is then catalogued at once.
        The same licence again in the same slot returns the material already there.
        """
        application = self._owned(principal, application_id)
        self._require_editable(application, "attach e-licence")
        item = self.catalogue.item(application.item_code)
        requirement = self._requirement(item, slot)
        expected_type = elicence.required_type(requirement)
        requested = elicence.parse_requested(licence_id)
        elicence.check_type(requirement, requested, expected_type, self._licence_names(expected_type))
        canonical = requested.value
        upload_id = elicence.elicence_upload_id(canonical)
        existing = [m for m in self.repository.list_materials(application.id) if m.slot == slot]
        already = next((m for m in existing if m.upload_id == upload_id), None)
        if already is not None:
            return AttachedElicence(already, False, item, self._download_url(already))
        self._check_slot_room(requirement, existing)

        source = self._elicence_source()
        now = self.now()
        record = elicence.check_record(source.lookup(canonical), canonical, application, china_date(now))
        if record.metadata.holder_kind is HolderKind.PERSON:
            self._require_own_person_licence(principal, record.application_id)
        verified = elicence.verify_stored(source, record, now)
        material = elicence.catalogued_material(
            application, requirement, verified, bucket=source.store.name, upload_id=upload_id, now=now
        )
        event = AuditEvent(
            application_id=application.id,
            at=now,
            n=application.version,
            tag=self.new_id()[:12],
            actor=principal.label,
            actor_role=principal.primary_role,
            action="attach_elicence",
            from_status=ApplicationStatus(application.status),
            to_status=ApplicationStatus(application.status),
            comment=f"{slot}/{upload_id} {canonical}",
        )
        try:
            self.repository.add_material(application, material, event)
        except Conflict:
            # A concurrent attach of the same licence won the conditional write: same answer as a retry.
            raced = next(
                (
                    m
                    for m in self.repository.list_materials(application.id)
                    if m.slot == slot and m.upload_id == upload_id
                ),
                None,
            )
            if raced is None:
                raise
            return AttachedElicence(raced, False, item, self._download_url(raced))
        metrics.add_metric(name="ElicenceAttached", unit="Count", value=1)
        self._announce_catalogued(material, canonical)
        return AttachedElicence(material, True, item, self._download_url(material))

    def submit(self, principal: Principal, application_id: str) -> Application:
        """Submit (or resubmit after correction); an incomplete set raises the one-time notice."""
        application = self._owned(principal, application_id)
        next_status(ApplicationStatus(application.status), Action.SUBMIT, application.version)
        item = self.catalogue.item(application.item_code)
        materials = self.repository.list_materials(application.id)
        reasons = check_completeness(item, application.applicant, materials)
        if reasons:
            text = notice(item, reasons)
            metrics.add_metric(name="OneTimeNotice", unit="Count", value=1)
            raise InvalidInput(
                "materials_incomplete",
                f"申请材料不齐全或有误，共 {len(reasons)} 项，请一次性补齐后再提交。",
                f"The materials are incomplete or wrong in {len(reasons)} place(s); fix all of them, "
                "then submit again.",
                reasons,
                extra={"notice": {"zh": text.zh, "en": text.en, "count": len(reasons)}},
            )
        now = self.now()
        # Licensing Law art. 32: accept, or say what to correct, within the item's notice period.
        notice_days = max(1, item.correction_notice_days)
        acceptance_due = _deadline_info(self.clock.add_working_days(now, notice_days))
        return self._apply(
            principal,
            application,
            Action.SUBMIT,
            {"submitted_at": now, "acceptance_due": acceptance_due, "correction_reasons": []},
            now=now,
        )

    def withdraw(self, principal: Principal, application_id: str, comment: str | None = None) -> Application:
        """The applicant withdraws an application that has not been decided."""
        application = self._owned(principal, application_id)
        return self._apply(principal, application, Action.WITHDRAW, {}, comment=comment)

    # ----------------------------------------------------------------- reviewer side

    def queue(
        self,
        principal: Principal,
        *,
        statuses: Sequence[ApplicationStatus] = (ApplicationStatus.SUBMITTED, ApplicationStatus.ACCEPTED),
        at_risk_only: bool = False,
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page[QueueEntry]:
        """Applications waiting for a reviewer, most urgent first, across the given statuses."""
        principal.require_reviewer()
        now = self.now()
        due_before = self.clock.at_risk_horizon(now) if at_risk_only else None
        wanted = list(dict.fromkeys(ApplicationStatus(s) for s in statuses))
        state = _decode_cursor(cursor) if cursor else {s.value: None for s in wanted}
        if set(state) != {s.value for s in wanted} or any(
            v is not None and not isinstance(v, str) for v in state.values()
        ):
            raise _bad_cursor()

        fetched: list[tuple[ApplicationStatus, Application, str]] = []
        ends: dict[ApplicationStatus, str | None] = {}
        for status in wanted:
            position = state[status.value]
            if position == "end":
                continue
            page = self.repository.list_by_status(status, limit=limit, cursor=position, due_before=due_before)
            fetched.extend((status, app, token) for app, token in page.entries)
            ends[status] = page.next_cursor

        def sort_key(entry: tuple[ApplicationStatus, Application, str]) -> tuple[str, str]:
            due = entry[1].queue_due()
            return (iso(due) if due else "9999", entry[1].id)

        fetched.sort(key=sort_key)
        taken = fetched[:limit]
        new_state: dict[str, Any] = dict(state)
        for status in ends:
            mine = [e for e in fetched if e[0] == status]
            used = [e for e in taken if e[0] == status]
            if len(used) == len(mine):
                new_state[status.value] = ends[status] if ends[status] is not None else "end"
            elif used:
                new_state[status.value] = used[-1][2]
        done = all(v == "end" for v in new_state.values())
        entries = [self._queue_entry(app, now) for _, app, _ in taken]
        return Page[QueueEntry](items=entries, next_cursor=None if done else _encode_cursor(new_state))

    def decide(
        self,
        principal: Principal,
        application_id: str,
        action: Action,
        *,
        reasons: Sequence[ReasonInput] = (),
        comment: str | None = None,
        expected_version: int | None = None,
    ) -> Application:
        """A reviewer accepts (受理), asks for correction (补正), approves or rejects."""
        principal.require_reviewer()
        transition = TRANSITIONS[action]
        if transition.actor is not Actor.REVIEWER:
            raise Forbidden(
                "not_a_reviewer_action",
                "该操作不是审批操作。",
                f"'{action.value}' is not a reviewer decision.",
            )
        application = self.repository.get(application_id)
        if application is None:
            raise _not_found()
        current = ApplicationStatus(application.status)
        if expected_version is not None and expected_version != application.version:
            raise conflict(
                current,
                application.version,
                action.value,
                zh=f"申请已被他人更新（当前版本 {application.version}，"
                f"您看到的是 {expected_version}），请刷新后再决定。",
                en=f"The application changed since you read it (version {application.version}, you saw "
                f"{expected_version}); reload it before deciding.",
            )
        next_status(current, action, application.version)
        item = self.catalogue.item(application.item_code)
        checked = self._reviewer_reasons(item, reasons, required=transition.needs_reasons)
        now = self.now()
        changes: dict[str, Any] = {}
        if action is Action.ACCEPT:
            changes = {
                "accepted_at": now,
                "deadline": _deadline_info(self.clock.add_working_days(now, item.promised_limit_days)),
            }
        elif action is Action.REQUEST_CORRECTION:
            changes = {"correction_reasons": checked}
        else:  # approve / reject
            changes = {"decided_at": now, "decided_by": principal.label, "decision_reasons": checked}
        return self._apply(principal, application, action, changes, reasons=checked, comment=comment, now=now)

    # ----------------------------------------------------------------- internals

    def _apply(
        self,
        principal: Principal,
        application: Application,
        action: Action,
        changes: dict[str, Any],
        *,
        reasons: Sequence[Reason] = (),
        comment: str | None = None,
        now: datetime | None = None,
    ) -> Application:
        """Move the application by `action`: one conditional write with its audit event, then the event."""
        current = ApplicationStatus(application.status)
        target = next_status(current, action, application.version)
        now = now or self.now()
        detail_type = EVENT_FOR_ACTION.get(action)
        pending = list(application.pending_events)
        if detail_type is not None:
            pending.append(detail_type)
        after = application.model_copy(
            update={
                **changes,
                "status": target,
                "version": application.version + 1,
                "updated_at": now,
                "comment": comment if comment is not None else application.comment,
                "pending_events": pending,
            }
        )
        event = AuditEvent(
            application_id=application.id,
            at=now,
            n=after.version,
            actor=principal.label,
            actor_role=principal.primary_role,
            action=action.value,
            from_status=current,
            to_status=target,
            reason=list(reasons),
            comment=comment,
        )
        detail = self._event_detail(after, action, principal) if detail_type is not None else None
        outbox = {detail_type: detail} if detail_type is not None and detail is not None else None
        self.repository.transition(application, after, event, outbox=outbox)
        metrics.add_metric(name=f"Application_{action.value}", unit="Count", value=1)
        if detail_type is not None and detail is not None:
            after = self._publish(after, detail_type, detail)
        return after

    def _elicence_source(self) -> elicence.ElicenceSource:
        if self.elicences is None:
            raise Unavailable(
                "elicence_unavailable",
                "暂时无法使用电子证照免提交，请稍后再试或上传文件。",
                "E-licences cannot be attached right now; try again later or upload the file.",
            )
        return self.elicences

    def _licence_names(self, type_code: str) -> tuple[str, str] | None:
        for item in self.catalogue.items:
            if item.licence is not None and item.licence.type_code == type_code:
                return item.licence.name_zh, item.licence.name_en
        return None

    def _require_own_person_licence(self, principal: Principal, licence_application_id: str) -> None:
        # Anyone can type a person's ID number into a new application; attaching would then show that
        # person's name. So a person's licence is usable only by the account that applied for it.
        origin = self.repository.get(licence_application_id)
        if origin is None or origin.owner_sub != principal.sub:
            raise InvalidInput(
                "elicence_other_account",
                "个人持有的电子证照只能由申领该证照的账号使用，请用该账号办理或改为上传文件。",
                "A person's e-licence can be attached only from the account that applied for it; use that "
                "account or upload the file instead.",
                [
                    Reason(
                        "elicence_other_account",
                        "该证照不是由本账号申领的。",
                        "This account did not apply for the licence.",
                        "licence_id",
                    )
                ],
            )

    def _announce_catalogued(self, material: Material, licence_id: str) -> None:
        # The same event ingest sends for a catalogued upload. The material is stored either way; a
        # bus failure is logged and counted, not turned into a failed attach.
        classification = material.classification
        detail: dict[str, Any] = {
            "application_id": material.application_id,
            "slot": material.slot,
            "upload_id": material.upload_id,
            "status": material.status.value,
            "source": material.source,
            "licence_id": licence_id,
            "material_type": classification.material_type if classification else None,
            "confidence": classification.confidence if classification else None,
            "problems": [],
            "normalised": material.normalised,
            "manifest_key": None,
        }
        try:
            self.publisher.publish("MaterialCatalogued", detail)
        except Exception:
            logger.exception("event not published", extra={"detail_type": "MaterialCatalogued"})
            metrics.add_metric(name="EventPublishFailed", unit="Count", value=1)

    def _download_url(self, material: Material) -> str | None:
        normalised = material.normalised or {}
        key = normalised.get("key")
        if not key:
            return None
        ttl = self.config.download_ttl_seconds
        if material.source == "elicence":
            store = self.elicences.store if self.elicences is not None else None
            if store is None or normalised.get("bucket") != store.name:
                return None
            version = normalised.get("version_id")
            return store.presign_get(str(key), ttl, version_id=str(version) if version else None)
        if self.materials_store is None:
            return None
        if normalised.get("bucket", self.materials_store.name) != self.materials_store.name:
            return None
        return self.materials_store.presign_get(str(key), ttl)

    def _publish(self, application: Application, detail_type: str, detail: dict[str, Any]) -> Application:
        # After the conditional write only: a lost race must never announce a decision. If the bus
        # fails the decision stands; the event stays in the outbox and the scheduler re-publishes it.
        try:
            self.publisher.publish(detail_type, detail)
        except Exception:
            logger.exception(
                "event not published", extra={"detail_type": detail_type, "application": application.id}
            )
            metrics.add_metric(name="EventPublishFailed", unit="Count", value=1)
            return application
        try:
            self.repository.clear_pending_event(application.id, detail_type)
        except Exception:  # the event went out; a stale marker only causes a duplicate later
            logger.exception("pending event marker not cleared", extra={"application": application.id})
            return application
        return application.model_copy(
            update={"pending_events": [e for e in application.pending_events if e != detail_type]}
        )

    @staticmethod
    def _event_detail(application: Application, action: Action, principal: Principal) -> dict[str, Any]:
        base: dict[str, Any] = {"application_id": application.id, "item_code": application.item_code}
        applicant = application.applicant.model_dump()
        if action is Action.APPROVE:
            assert application.decided_at is not None
            return base | {
                "applicant": applicant,
                "approved_at": iso(application.decided_at),
                "approved_by": principal.label,
            }
        if action is Action.REJECT:
            assert application.decided_at is not None
            return base | {
                "applicant": applicant,
                "rejected_at": iso(application.decided_at),
                "rejected_by": principal.label,
                "reasons": [r.as_dict() for r in application.decision_reasons],
            }
        if action is Action.ACCEPT:
            assert application.accepted_at is not None
            assert application.deadline is not None
            return base | {
                "accepted_at": iso(application.accepted_at),
                "deadline": iso(application.deadline.due),
                "working_days": application.deadline.working_days,
            }
        assert application.submitted_at is not None
        return base | {
            "applicant": applicant,
            "submitted_at": iso(application.submitted_at),
            "acceptance_due": iso(application.acceptance_due.due) if application.acceptance_due else None,
        }

    def _item_for_new_application(self, item_code: str, problems: list[Reason]) -> ServiceItem | None:
        try:
            item = self.catalogue.item(item_code)
        except NotFound:
            problems.append(
                Reason(
                    "unknown_item",
                    f"事项编码「{item_code}」不存在，请从事项清单中选择。",
                    f"There is no service item '{item_code}'; choose one from GET /items.",
                    "item_code",
                )
            )
            return None
        if item.online_depth not in ONLINE_DEPTHS:
            problems.append(
                Reason(
                    "item_not_online",
                    f"事项「{item.name_zh}」暂不支持网上申请，请到窗口办理。",
                    f"'{item.name_en}' cannot be applied for online yet; apply at the service counter.",
                    "item_code",
                )
            )
            return None
        return item

    @staticmethod
    def _check_applicant(applicant: ApplicantInput, problems: list[Reason]) -> Applicant | None:
        name = applicant.name.strip()
        if not name:
            problems.append(
                Reason(
                    "applicant_name_missing",
                    "请填写申请人名称。",
                    "Enter the applicant's name.",
                    "applicant.name",
                )
            )
        if applicant.kind == "enterprise":
            code = "".join((applicant.uscc or "").split()).upper()
            field_name = "applicant.uscc"
        else:
            code = "".join((applicant.id_number or "").split()).upper()
            field_name = "applicant.id_number"
        try:
            if applicant.kind == "enterprise":
                validate_uscc(code)
            else:
                validate_resident_id(code)
        except DomainError as exc:
            problems.extend(
                Reason(d.code, d.zh, d.en, field_name)
                for d in (exc.details or [Reason(exc.code, exc.zh, exc.en)])
            )
            return None
        if not name:
            return None
        return Applicant(
            kind="enterprise" if applicant.kind == "enterprise" else "person", code=code, name=name
        )

    @staticmethod
    def _requirement(item: ServiceItem, slot: str) -> MaterialRequirement:
        for requirement in item.materials:
            if requirement.slot == slot:
                return requirement
        known = ", ".join(r.slot for r in item.materials)
        raise InvalidInput(
            "unknown_material_slot",
            f"事项「{item.name_zh}」没有材料「{slot}」。可用的材料：{known}。",
            f"'{item.name_en}' has no material '{slot}'. Its materials are: {known}.",
            [
                Reason(
                    "unknown_material_slot",
                    f"材料编码「{slot}」不属于该事项。",
                    f"'{slot}' is not a material of this item.",
                    "slot",
                )
            ],
        )

    @staticmethod
    def _check_declared(
        requirement: MaterialRequirement, filename: str, content_type: str, size: int, max_bytes: int
    ) -> None:
        accepted = [f for f in requirement.formats if f in FORMAT_CONTENT_TYPES]
        accepted_types = ", ".join(FORMAT_CONTENT_TYPES[f] for f in accepted)
        problems: list[Reason] = []
        declared_format = CONTENT_TYPE_FORMATS.get(content_type.strip().lower())
        if declared_format is None or declared_format not in accepted:
            problems.append(
                Reason(
                    "format_not_accepted",
                    f"「{requirement.name_zh}」只接受以下文件类型：{accepted_types}；"
                    f"您提交的是 {content_type}。",
                    f"'{requirement.name_en}' accepts only {accepted_types}; this is {content_type}.",
                    "content_type",
                )
            )
        ext = "." + filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
        ext_format = EXTENSION_FORMATS.get(ext)
        if declared_format is not None and ext_format is not None and ext_format != declared_format:
            problems.append(
                Reason(
                    "extension_mismatch",
                    f"文件名后缀 {ext} 与文件类型 {content_type} 不一致，请核对所选文件。",
                    f"The file name ends in {ext} but the type is {content_type}; check the chosen file.",
                    "filename",
                )
            )
        if problems:
            raise InvalidInput(
                "invalid_upload", "上传请求有误。", "The upload request is not valid.", problems
            )
        if size > max_bytes:
            raise PayloadTooLarge(
                "file_too_large",
                f"「{requirement.name_zh}」单个文件不能超过 {max_bytes} 字节，您的文件为 {size} 字节。",
                f"Files for '{requirement.name_en}' may be at most {max_bytes} bytes; this one is {size}.",
                [
                    Reason(
                        "file_too_large",
                        f"不能超过 {max_bytes} 字节。",
                        f"At most {max_bytes} bytes.",
                        "size",
                    )
                ],
                extra={"max_bytes": max_bytes},
            )

    @staticmethod
    def _check_slot_room(requirement: MaterialRequirement, existing: list[Material]) -> None:
        dead = {MaterialStatus.REJECTED, MaterialStatus.FAILED}
        live = [m for m in existing if MaterialStatus(m.status) not in dead]
        if len(live) >= requirement.max_count:
            raise Conflict(
                "too_many_uploads",
                f"「{requirement.name_zh}」最多 {requirement.max_count} 份，已有 {len(live)} 份；"
                "如需更换，请先删除原文件。",
                f"'{requirement.name_en}' takes at most {requirement.max_count} file(s) and has {len(live)}; "
                "remove one before uploading another.",
                [Reason("too_many_uploads", "该材料份数已满。", "This material is full.", "slot")],
            )
        if len(existing) >= MAX_UPLOAD_ATTEMPTS_PER_SLOT:
            raise Conflict(
                "too_many_upload_attempts",
                f"「{requirement.name_zh}」上传次数过多，请联系窗口工作人员。",
                f"Too many uploads for '{requirement.name_en}'; contact the service counter.",
                [Reason("too_many_upload_attempts", "上传次数过多。", "Too many uploads.", "slot")],
            )

    @staticmethod
    def _reviewer_reasons(
        item: ServiceItem, reasons: Sequence[ReasonInput], *, required: bool
    ) -> list[Reason]:
        slots = {r.slot: r for r in item.materials}
        problems: list[Reason] = []
        out: list[Reason] = []
        for i, given in enumerate(reasons):
            if given.slot is not None and given.slot not in slots:
                problems.append(
                    Reason(
                        "unknown_material_slot",
                        f"材料「{given.slot}」不属于该事项。",
                        f"'{given.slot}' is not a material of this item.",
                        f"reasons[{i}].slot",
                    )
                )
                continue
            prefix_zh = prefix_en = ""
            if given.slot is not None:
                prefix_zh = f"「{slots[given.slot].name_zh}」："
                prefix_en = f"'{slots[given.slot].name_en}': "
            en = given.en or f"(reviewer's note in Chinese) {given.zh}"
            out.append(
                Reason(
                    given.code or "reviewer_reason",
                    prefix_zh + given.zh,
                    prefix_en + en,
                    f"materials.{given.slot}" if given.slot else None,
                )
            )
        if required and not reasons:
            problems.append(
                Reason(
                    "reasons_required",
                    "要求补正或不予许可时必须写明理由。",
                    "Give at least one reason when asking for correction or rejecting.",
                    "reasons",
                )
            )
        if problems:
            raise InvalidInput("invalid_decision", "审批意见有误。", "The decision is not valid.", problems)
        return out

    def _owned(self, principal: Principal, application_id: str) -> Application:
        principal.require_authenticated()
        application = self.repository.get(application_id)
        if application is None or not self._may_read(principal, application):
            raise _not_found()
        if application.owner_sub != principal.sub:
            raise Forbidden(
                "owner_only",
                "只有申请人本人可以执行该操作。",
                "Only the applicant who owns the application may do this.",
            )
        return application

    @staticmethod
    def _may_read(principal: Principal, application: Application) -> bool:
        return principal.is_reviewer or application.owner_sub == principal.sub

    @staticmethod
    def _require_editable(application: Application, what: str) -> None:
        status = ApplicationStatus(application.status)
        if status not in EDITABLE_STATUSES:
            name_zh, name_en = STATUS_NAMES[status]
            raise conflict(
                status,
                application.version,
                what,
                zh=f"申请当前状态为「{name_zh}」，材料只能在草稿或待补正状态下更改。",
                en=f"The application is {name_en}; materials can be changed only while it is a draft or "
                "waiting for correction.",
            )

    def _queue_entry(self, application: Application, now: datetime) -> QueueEntry:
        due = application.queue_due()
        overdue = due is not None and due < now
        at_risk = due is not None and not overdue and self.clock.is_at_risk(due, now)
        return QueueEntry(application=application, due=due, at_risk=at_risk, overdue=overdue)

    def _detail(self, principal: Principal, bundle: ApplicationBundle) -> ApplicationDetail:
        application = bundle.application
        try:
            item: ServiceItem | None = self.catalogue.item(application.item_code)
        except NotFound:
            item = None  # retired from the catalogue; the application keeps its snapshot names
        status = ApplicationStatus(application.status)
        issues: list[Reason] = []
        if item is not None and status in EDITABLE_STATUSES:
            issues = check_completeness(item, application.applicant, bundle.materials)
        actions: list[Action] = []
        if application.owner_sub == principal.sub:
            actions += allowed_actions(status, Actor.OWNER)
        if principal.is_reviewer:
            actions += allowed_actions(status, Actor.REVIEWER)
        urls: dict[str, str] = {}
        for material in bundle.materials:
            url = self._download_url(material)
            if url is not None:
                urls[material.upload_id] = url
        order = {r.slot: i for i, r in enumerate(item.materials)} if item is not None else {}
        materials = sorted(
            bundle.materials,
            key=lambda m: (order.get(m.slot, len(order)), m.slot, m.created_at or application.created_at),
        )
        return ApplicationDetail(
            application=application,
            item=item,
            materials=materials,
            events=sorted(bundle.events, key=lambda e: (e.n, e.at)),
            open_issues=issues,
            allowed_actions=actions,
            download_urls=urls,
        )
