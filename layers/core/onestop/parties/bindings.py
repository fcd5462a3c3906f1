"""Binding requests: an applicant asks to act for an enterprise, an admin approves or rejects.

The applicant names the enterprise (USCC and name) and uploads a power of attorney (授权委托书, a PDF)
with a presigned POST under `bindings/<request id>/` of the uploads bucket: outside the `uploads/`
prefix that the ingest notification picks up (template.yaml), so it is never catalogued as a
material. An admin lists the pending requests, reads the document and decides with a reason. Approval
adds the USCC to the account's `custom:uscc` attribute in the identity provider (`PartyDirectory`,
Cognito AdminUpdateUserAttributes); the account acts for the enterprise from its next sign-in (the
claim is in the next token). Every step is in the request's own audit trail (`history`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field

from onestop.applications.identity import Principal
from onestop.applications.models import Page
from onestop.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound, Reason, Unavailable
from onestop.identifiers.uscc import validate_uscc
from onestop.observability import logger, metrics
from onestop.ports import BlobStore, PresignedPost

DOCUMENT_PREFIX = "bindings/"
DOCUMENT_TYPE = "application/pdf"
MAX_DOCUMENT_BYTES = 10 * 1024 * 1024
MAX_NAME_CHARS = 200


class BindingStatus(StrEnum):
    """Where a binding request stands."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class BindingEvent(BaseModel):
    """One step of a request's audit trail: who, in which role, did what, and why."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    at: datetime
    actor: str
    actor_role: str
    action: str
    reason: str | None = None


class BindingRequest(BaseModel):
    """An applicant's request to act for an enterprise, with its audit trail."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    id: str
    requester_sub: str
    requester_username: str
    requester_name: str | None = None
    uscc: str
    enterprise_name: str
    document_key: str
    status: BindingStatus = BindingStatus.PENDING
    version: int = 1
    created_at: datetime
    updated_at: datetime
    decided_by: str | None = None
    decision_reason: str | None = None
    history: list[BindingEvent] = Field(default_factory=list)


class BindingStore(Protocol):
    """Where requests are kept (DynamoDB: `onestop.aws.binding_repository`)."""

    def create(self, request: BindingRequest) -> None: ...

    def get(self, request_id: str) -> BindingRequest | None: ...

    def list_by_requester(self, sub: str, *, limit: int, cursor: str | None) -> Page[BindingRequest]: ...

    def list_pending(self, *, limit: int, cursor: str | None) -> Page[BindingRequest]: ...

    def replace(self, before: BindingRequest, after: BindingRequest) -> None:
        """Write `after` if the stored request is still at `before.version` (Conflict otherwise)."""
        ...


class PartyDirectory(Protocol):
    """The identity provider's record of the parties an account acts for (Cognito: `custom:uscc`)."""

    def bind_enterprise(self, username: str, uscc: str) -> tuple[str, ...]:
        """Add `uscc` to the account's bound enterprises (idempotent); all of them afterwards."""
        ...


@dataclass(frozen=True)
class BindingDeps:
    """What the binding use cases work with."""

    store: BindingStore
    directory: PartyDirectory | None
    documents: BlobStore
    now: Callable[[], datetime]
    new_id: Callable[[], str]
    upload_ttl_seconds: int = 600
    download_ttl_seconds: int = 300


@dataclass(frozen=True)
class RequestedBinding:
    """A new request and the presigned POST for its power of attorney."""

    request: BindingRequest
    upload: PresignedPost


def document_key(request_id: str) -> str:
    return f"{DOCUMENT_PREFIX}{request_id}/power-of-attorney.pdf"


def request_binding(
    deps: BindingDeps,
    principal: Principal,
    *,
    uscc: str,
    enterprise_name: str,
    document_size: int,
) -> RequestedBinding:
    """An applicant asks to be bound to an enterprise; 409 if already bound or already asked."""
    applicant = principal.require_applicant()
    assert applicant.sub is not None
    code = "".join(uscc.split()).upper()
    name = enterprise_name.strip()
    problems: list[Reason] = []
    try:
        validate_uscc(code)
    except DomainError as exc:
        problems.extend(
            Reason(d.code, d.zh, d.en, "uscc") for d in (exc.details or [Reason(exc.code, exc.zh, exc.en)])
        )
    if not name or len(name) > MAX_NAME_CHARS:
        problems.append(
            Reason(
                "enterprise_name_missing",
                f"请填写企业名称（1至{MAX_NAME_CHARS}字）。",
                f"Enter the enterprise's name (1 to {MAX_NAME_CHARS} characters).",
                "enterprise_name",
            )
        )
    if not 0 < document_size <= MAX_DOCUMENT_BYTES:
        problems.append(
            Reason(
                "document_size",
                f"授权委托书须为不超过 {MAX_DOCUMENT_BYTES // (1024 * 1024)} MB 的 PDF 文件。",
                f"The power of attorney must be a PDF of at most {MAX_DOCUMENT_BYTES // (1024 * 1024)} MB.",
                "document.size",
            )
        )
    if problems:
        raise InvalidInput(
            "invalid_binding_request",
            "绑定申请有误，请按提示修改。",
            "The binding request has errors.",
            problems,
        )
    if applicant.acts_for("enterprise", code):
        raise Conflict(
            "already_bound",
            f"本账号已绑定企业 {code}，无需再次申请。",
            f"This account is already bound to {code}.",
        )
    mine = deps.store.list_by_requester(applicant.sub, limit=100, cursor=None).items
    if any(r.uscc == code and r.status is BindingStatus.PENDING for r in mine):
        raise Conflict(
            "binding_pending",
            f"您已申请绑定企业 {code}，正在等待管理员审核。",
            f"You have already asked to be bound to {code}; an administrator has yet to decide.",
        )
    now = deps.now()
    request_id = deps.new_id()
    request = BindingRequest(
        id=request_id,
        requester_sub=applicant.sub,
        requester_username=applicant.username or applicant.sub,
        requester_name=applicant.name,
        uscc=code,
        enterprise_name=name,
        document_key=document_key(request_id),
        created_at=now,
        updated_at=now,
        history=[
            BindingEvent(at=now, actor=applicant.label, actor_role=applicant.primary_role, action="request")
        ],
    )
    upload = deps.documents.presign_post(
        request.document_key,
        DOCUMENT_TYPE,
        document_size,
        deps.upload_ttl_seconds,
        metadata={"binding-request": request_id},
    )
    deps.store.create(request)
    metrics.add_metric(name="BindingRequested", unit="Count", value=1)
    return RequestedBinding(request, upload)


def list_mine(
    deps: BindingDeps, principal: Principal, *, limit: int = 20, cursor: str | None = None
) -> Page[BindingRequest]:
    """The caller's own requests, newest first."""
    principal.require_authenticated()
    assert principal.sub is not None
    return deps.store.list_by_requester(principal.sub, limit=limit, cursor=cursor)


def list_pending(
    deps: BindingDeps, principal: Principal, *, limit: int = 50, cursor: str | None = None
) -> Page[BindingRequest]:
    """Requests waiting for an admin, oldest first (admins only)."""
    principal.require_admin()
    return deps.store.list_pending(limit=limit, cursor=cursor)


def get(deps: BindingDeps, principal: Principal, request_id: str) -> BindingRequest:
    """A request, for its requester and admins (404 for anyone else, as for one that does not exist)."""
    principal.require_authenticated()
    request = deps.store.get(request_id)
    if request is None or not (principal.is_admin or request.requester_sub == principal.sub):
        raise _not_found()
    return request


def document_url(deps: BindingDeps, principal: Principal, request: BindingRequest) -> str | None:
    """A short-lived link to the power of attorney for admins, once it has been uploaded."""
    if not principal.is_admin or deps.documents.head(request.document_key) is None:
        return None
    return deps.documents.presign_get(request.document_key, deps.download_ttl_seconds)


def decide(
    deps: BindingDeps, principal: Principal, request_id: str, *, approve: bool, reason: str
) -> BindingRequest:
    """An admin approves (the USCC is added to the account's claims) or rejects, with a reason."""
    admin = principal.require_admin()
    request = deps.store.get(request_id)
    if request is None:
        raise _not_found()
    if request.requester_sub == admin.sub:
        raise Forbidden(
            "own_request",
            "不能审核本人提出的绑定申请，请由其他管理员办理。",
            "You may not decide on your own binding request; another administrator must.",
        )
    text = reason.strip()
    if request.status is BindingStatus.APPROVED and approve:
        # Approving again re-applies the claim (idempotent): the retry after a failed directory call.
        _apply(deps, request)
        return request
    if request.status is not BindingStatus.PENDING:
        raise Conflict(
            "binding_decided",
            f"该绑定申请已{_STATUS_ZH[request.status]}，不能再次审核。",
            f"This binding request has already been {request.status.value}.",
            extra={"status": request.status.value},
        )
    if approve and deps.documents.head(request.document_key) is None:
        raise Conflict(
            "document_missing",
            "申请人尚未上传授权委托书，不能核准；请等待上传后再审核。",
            "The applicant has not uploaded the power of attorney yet, so the request cannot be "
            "approved; decide once it is there.",
        )
    now = deps.now()
    status = BindingStatus.APPROVED if approve else BindingStatus.REJECTED
    after = request.model_copy(
        update={
            "status": status,
            "version": request.version + 1,
            "updated_at": now,
            "decided_by": admin.label,
            "decision_reason": text,
            "history": [
                *request.history,
                BindingEvent(
                    at=now,
                    actor=admin.label,
                    actor_role=admin.primary_role,
                    action="approve" if approve else "reject",
                    reason=text,
                ),
            ],
        }
    )
    # Recorded first (conditional on the version read): of two admins deciding at once only one wins,
    # and a binding is never set for a request recorded as rejected.
    deps.store.replace(request, after)
    if approve:
        _apply(deps, after)
    metrics.add_metric(name=f"Binding_{status.value}", unit="Count", value=1)
    logger.info("binding decided", extra={"binding_request": request.id, "status": status.value})
    return after


def _apply(deps: BindingDeps, request: BindingRequest) -> None:
    if deps.directory is None:
        raise Unavailable(
            "directory_unavailable",
            "身份目录不可用，绑定已记录为核准但尚未生效；请稍后再次核准。",
            "The identity directory is unavailable: the binding is recorded as approved but not in "
            "effect yet; approve it again later.",
        )
    deps.directory.bind_enterprise(request.requester_username, request.uscc)


_STATUS_ZH = {BindingStatus.PENDING: "待审核", BindingStatus.APPROVED: "核准", BindingStatus.REJECTED: "驳回"}


def _not_found() -> NotFound:
    return NotFound("binding_not_found", "绑定申请不存在。", "No such binding request.")
