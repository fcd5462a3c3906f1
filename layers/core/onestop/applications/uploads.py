"""Files into material slots: a presigned POST per file, checked against the slot before it is issued;
and taking a file out again while the application can still change."""

from __future__ import annotations

from dataclasses import dataclass

from onestop.catalogue import MaterialRequirement, ServiceItem
from onestop.errors import Conflict, InvalidInput, NotFound, PayloadTooLarge, Reason
from onestop.observability import metrics

from . import quotas
from .access import owned, require_editable
from .deps import ApplicationDeps
from .file_formats import CONTENT_TYPE_FORMATS, EXTENSION_FORMATS, FORMAT_CONTENT_TYPES, sanitise_filename
from .identity import Principal, Role
from .models import ApplicationStatus, AuditEvent, Declared, Material, MaterialStatus

# Files whose upload was never finished or that failed still count towards this cap, so that a
# slot cannot be used to mint unlimited presigned URLs.
MAX_UPLOAD_ATTEMPTS_PER_SLOT = 20


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


def request_upload(
    deps: ApplicationDeps,
    principal: Principal,
    application_id: str,
    slot: str,
    *,
    filename: str,
    content_type: str,
    size: int,
) -> UploadTicket:
    """A presigned POST for one file into `slot`, and its material record (awaiting upload)."""
    application = owned(deps, principal, application_id)
    require_editable(application, "upload")
    item = deps.catalogue.of(application).item(application.item_code)  # its pinned version
    requirement = requirement_for(item, slot)
    max_bytes = min(requirement.max_bytes, deps.config.upload_max_bytes)
    check_declared(requirement, filename, content_type, size, max_bytes)
    existing = [m for m in deps.repository.list_materials(application.id) if m.slot == slot]
    check_slot_room(requirement, existing)

    now = deps.now()
    upload_id = deps.new_id()
    key = f"uploads/{application.id}/{slot}/{upload_id}/{sanitise_filename(filename)}"
    content_type = FORMAT_CONTENT_TYPES[CONTENT_TYPE_FORMATS[content_type.strip().lower()]]
    # Presigning is local computation: nothing is stored until the record below is written, so a
    # refused write leaves no usable URL behind.
    post = deps.uploads.presign_post(
        key,
        content_type=content_type,
        max_bytes=max_bytes,
        expires_in=deps.config.upload_ttl_seconds,
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
        # What the ticket allows, for ingest to check the object against (materials.gate).
        max_bytes=max_bytes,
        formats=[f for f in requirement.formats if f in FORMAT_CONTENT_TYPES],
        created_at=now,
        updated_at=now,
    )
    with quotas.upload_ticket(deps, principal, application.id, slot):  # 429 over today's quota
        deps.repository.add_material(application, material)
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


def remove_upload(
    deps: ApplicationDeps, principal: Principal, application_id: str, slot: str, upload_id: str
) -> None:
    """Take a file out of the application while it can still be changed."""
    application = owned(deps, principal, application_id)
    require_editable(application, "remove material")
    material = find_material(deps, application.id, slot, upload_id)
    if material is None:
        raise NotFound("material_not_found", "该材料不存在。", "No such material in this application.")
    event = AuditEvent(
        application_id=application.id,
        at=deps.now(),
        n=application.version,
        tag=upload_id[:12],
        actor=principal.label,
        # The owner's act, whatever other groups the account is in (at the window: the clerk's).
        actor_role=(Role.CLERK if application.clerk == principal.sub else Role.APPLICANT).value,
        action="remove_material",
        from_status=ApplicationStatus(application.status),
        to_status=ApplicationStatus(application.status),
        comment=f"{slot}/{upload_id}",
    )
    deps.repository.remove_material(application, material, event)


def find_material(deps: ApplicationDeps, application_id: str, slot: str, upload_id: str) -> Material | None:
    """The application's material `upload_id` in `slot`, as stored now."""
    return next(
        (
            m
            for m in deps.repository.list_materials(application_id)
            if m.slot == slot and m.upload_id == upload_id
        ),
        None,
    )


def requirement_for(item: ServiceItem, slot: str) -> MaterialRequirement:
    """The item's material `slot`, or a 422 that lists the slots it has."""
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


def check_declared(
    requirement: MaterialRequirement, filename: str, content_type: str, size: int, max_bytes: int
) -> None:
    """The declared type, extension and size fit the slot: 422 for type or name, 413 for size."""
    accepted = [f for f in requirement.formats if f in FORMAT_CONTENT_TYPES]
    accepted_types = ", ".join(FORMAT_CONTENT_TYPES[f] for f in accepted)
    problems: list[Reason] = []
    declared_format = CONTENT_TYPE_FORMATS.get(content_type.strip().lower())
    if declared_format is None or declared_format not in accepted:
        problems.append(
            Reason(
                "format_not_accepted",
                f"「{requirement.name_zh}」只接受以下文件类型：{accepted_types}；您提交的是 {content_type}。",
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
        raise InvalidInput("invalid_upload", "上传请求有误。", "The upload request is not valid.", problems)
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


def check_slot_room(requirement: MaterialRequirement, existing: list[Material]) -> None:
    """Room for one more file in the slot: under its count (failed files aside) and the attempt cap."""
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
