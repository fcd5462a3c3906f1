"""The ingest gate: an uploaded object is catalogued only if an upload ticket asked for exactly it.

A presigned POST policy can be bypassed (a leaked or replayed ticket until it expires, a local stack
that does not check policies, a misconfigured bucket), so ingest checks again what the ticket asked
for, from the records and the object itself, before any OCR work:

- the key names a material record of an existing application, awaiting its upload (or this same
  object version, delivered again);
- the object's `x-amz-meta-upload-id` is the ticket's upload id;
- the application can still change (draft, correction requested): after submission the evidence is
  frozen, and a late upload is refused;
- the object is within the slot's own maximum (stored on the record when the ticket was issued);
- its sniffed format (the bytes, not the declared type) is one the slot accepts.

Pure functions over what the repository read (`UploadClaim`); `ingest_object` does the side effects
(quarantine, audit, metric, the applicant's record).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from onestop.errors import Reason
from onestop.ports import ObjectHead

from .reasons import empty_reason
from .sniff import ACCEPTED_KINDS, Sniffed, looks_like_headless_pdf
from .status import MaterialStatus

# The application states in which materials may still change (applications.models.EDITABLE_STATUSES).
EDITABLE = frozenset({"draft", "correction_requested"})
QUARANTINE_PREFIX = "quarantine/"
UPLOAD_ID_META = "upload-id"
_FORMAT_NAMES = {"pdf": "PDF", "jpeg": "JPEG", "png": "PNG", "tiff": "TIFF"}


@dataclass(frozen=True)
class Ticket:
    """What the upload ticket asked for, as its material record stands now."""

    key: str | None
    status: str
    source: str = "upload"
    max_bytes: int | None = None
    formats: tuple[str, ...] | None = None
    claimed_version: str | None = None  # the object version that used the ticket, once one did
    owner_sub: str | None = None


@dataclass(frozen=True)
class Target:
    """The application the object's key names, as it stands now."""

    status: str
    version: int
    item_code: str | None = None


@dataclass(frozen=True)
class UploadClaim:
    """What the records say about the key: its application and its ticket (None when absent)."""

    application: Target | None
    ticket: Ticket | None


@dataclass(frozen=True)
class Refusal:
    """Why the object is not catalogued. `marks_material`: the object is the ticket holder's own (it
    carries the ticket's key and id) and the ticket is unused, so their record shows the refusal."""

    reason: Reason
    action: str = "upload_refused"  # the audit action
    marks_material: bool = False

    @property
    def code(self) -> str:
        return self.reason.code


class Quarantine(Protocol):
    """Moves a refused object version out of the uploads prefix (`onestop.aws.s3` implements it)."""

    def quarantine(self, key: str, version_id: str | None, reason_code: str) -> str | None:
        """Move `key@version_id` under `quarantine/`; its new key, or None if it was already gone."""
        ...


def not_requested() -> Refusal:
    return Refusal(
        Reason(
            "upload_not_requested",
            "该文件没有对应的上传凭证（上传地址未由本系统签发，或被改动过），未予接收。请在申请页面重新获取上传地址后上传。",
            "No upload ticket asked for this file (its address was not issued by this service, or was "
            "altered); it was not accepted. Request a new upload on the application page.",
        )
    )


def ticket_mismatch() -> Refusal:
    return Refusal(
        Reason(
            "upload_ticket_mismatch",
            "文件未携带与上传凭证一致的标识（请原样提交上传凭证中的全部字段），未予接收。",
            "The file does not carry the upload ticket's id (send every field of the ticket unchanged); "
            "it was not accepted.",
        )
    )


def ticket_used() -> Refusal:
    return Refusal(
        Reason(
            "upload_ticket_used",
            "该上传凭证已使用过，已收到的文件保持不变。如需更换文件，请先删除原文件，再重新获取上传地址。",
            "This upload ticket was already used; the file received first stays as it is. To replace "
            "it, remove the file and request a new upload.",
        )
    )


def late_upload(status: str) -> Refusal:
    return Refusal(
        Reason(
            "late_upload_refused",
            "申请已提交，材料已固定，提交后上传的文件不予接收。如需补充材料，请等待补正通知后再上传。",
            f"The application is {status.replace('_', ' ')}: its materials were fixed when it was "
            "submitted, and a file uploaded since is not accepted. Upload again only if a correction "
            "is requested.",
        ),
        action="late_upload_refused",
    )


def too_large(size: int, max_bytes: int) -> Refusal:
    return Refusal(
        Reason(
            "file_too_large",
            f"文件大小 {size} 字节，超过该材料 {max_bytes} 字节（{max_bytes / 1048576:.0f} MB）的上限；"
            "请压缩或降低扫描分辨率后重新上传。",
            f"The file is {size} bytes, over this material's limit of {max_bytes} bytes "
            f"({max_bytes / 1048576:.0f} MB); compress it or scan at a lower resolution, then upload it "
            "again.",
        ),
        marks_material=True,
    )


def format_refused(sniffed: Sniffed, formats: Iterable[str]) -> Refusal:
    if sniffed.kind == "empty":
        # Nothing to convert: the same words as the pipeline's for an empty file.
        return Refusal(empty_reason(), marks_material=True)
    accepted = "、".join(_FORMAT_NAMES.get(f, f.upper()) for f in formats)
    accepted_en = ", ".join(_FORMAT_NAMES.get(f, f.upper()) for f in formats)
    if sniffed.kind not in ACCEPTED_KINDS:
        kind_zh = {"unknown": "无法识别的格式"}.get(sniffed.kind, sniffed.kind.upper())
        kind_en = {"unknown": "an unrecognised format"}.get(sniffed.kind, sniffed.kind.upper())
        code = "unsupported_type"
    else:
        kind_zh = kind_en = _FORMAT_NAMES[sniffed.kind]
        code = "format_not_accepted"
    return Refusal(
        Reason(
            code,
            f"文件实际格式为{kind_zh}，该材料只接受 {accepted}；请转换格式后重新上传。",
            f"The file is actually {kind_en}; this material accepts only {accepted_en}. Convert it and "
            "upload it again.",
        ),
        marks_material=True,
    )


def _mine(refusal: Refusal) -> Refusal:
    return Refusal(refusal.reason, refusal.action, marks_material=True)


def check_object(
    claim: UploadClaim,
    *,
    key: str,
    upload_id: str,
    head: ObjectHead,
    version_id: str | None,
    max_bytes: int,
) -> Refusal | None:
    """The checks the object's key, metadata and size allow (no body read); None admits it so far.

    A re-delivery of the object version that already claimed the ticket is admitted: the material's
    own conditional write then makes it a no-op (or finishes an interrupted attempt).
    """
    ticket = claim.ticket
    if claim.application is None or ticket is None or ticket.source != "upload":
        return not_requested()
    if ticket.key is not None and ticket.key != key:
        return not_requested()
    if head.metadata.get(UPLOAD_ID_META) != upload_id:
        return ticket_mismatch()
    status = MaterialStatus(ticket.status) if ticket.status in set(MaterialStatus) else None
    if status is not MaterialStatus.AWAITING_UPLOAD:
        if ticket.claimed_version is not None and ticket.claimed_version == version_id:
            return None  # the same version again: a duplicate, or a retry of an interrupted attempt
        # An attempt that failed before it recorded a version leaves the ticket open; anything else
        # means the ticket was used.
        retried = ticket.claimed_version is None and status in (
            MaterialStatus.PROCESSING,
            MaterialStatus.FAILED,
        )
        if not retried:
            if claim.application.status not in EDITABLE:
                return late_upload(claim.application.status)
            return ticket_used()
    if claim.application.status not in EDITABLE:
        return _mine(late_upload(claim.application.status))
    limit = min(ticket.max_bytes or max_bytes, max_bytes)
    if head.size > limit:
        return too_large(head.size, limit)
    return None


def check_format(
    claim: UploadClaim, sniffed: Sniffed, default: Iterable[str] = ACCEPTED_KINDS, data: bytes = b""
) -> Refusal | None:
    """The bytes are a format the slot accepts (the ticket's list, else `default`). `data`: the
    upload; a PDF that lost its header goes on to the pipeline, which rejects it as `pdf_damaged`
    (with its manifest, like any damaged PDF), not as a file of an unrecognised type."""
    ticket = claim.ticket
    formats = tuple(ticket.formats) if ticket is not None and ticket.formats else tuple(sorted(default))
    if sniffed.kind in formats and sniffed.kind in ACCEPTED_KINDS:
        return None
    if sniffed.kind == "unknown" and "pdf" in formats and looks_like_headless_pdf(data):
        return None
    return format_refused(sniffed, formats)
