"""Binding routes: an applicant asks to act for an enterprise (with a power of attorney), an admin
approves or rejects; approval sets the account's `custom:uscc` claim (`onestop.parties.bindings`)."""

from __future__ import annotations

from typing import Annotated, Literal

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.depends import Depends
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from pydantic import BaseModel, ConfigDict, Field

from onestop.applications.identity import Principal
from onestop.aws.composition import binding_deps
from onestop.parties import bindings
from onestop.parties.bindings import BindingRequest

from .context import BEARER, current_principal
from .inputs import Paragraph, Text, WholeNumber
from .responses import responses

router = Router()

Caller = Annotated[Principal, Depends(current_principal)]
REQUEST_ID = r"^[0-9a-f]{32}$"
RequestId = Annotated[str, Path(pattern=REQUEST_ID, description="binding request id (32 hex digits)")]
Limit = Annotated[int, Query(ge=1, le=100)]
Cursor = Annotated[str | None, Query(max_length=2000, description="next_cursor of the previous page")]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, defer_build=True)  # as schemas._In


class _Out(BaseModel):
    model_config = ConfigDict(defer_build=True)  # built on first use, as schemas._Out


class DocumentIn(_In):
    """The power of attorney (授权委托书) about to be uploaded: a PDF."""

    content_type: Literal["application/pdf"] = "application/pdf"
    size: WholeNumber = Field(gt=0, le=bindings.MAX_DOCUMENT_BYTES, description="bytes (a JSON integer)")


class BindingIn(_In):
    """Ask to act for an enterprise."""

    uscc: Text = Field(min_length=1, max_length=40, description="the enterprise's USCC (18 characters)")
    enterprise_name: Text = Field(min_length=1, max_length=bindings.MAX_NAME_CHARS)
    document: DocumentIn


class BindingDecisionIn(_In):
    """An admin's decision with its reason (recorded in the request's audit trail)."""

    action: Literal["approve", "reject"]
    reason: Paragraph = Field(
        min_length=2, max_length=1000, description="why, in words the applicant can act on"
    )


class BindingEventOut(_Out):
    """One step of a request's audit trail."""

    at: str
    actor: str
    actor_role: str
    action: str
    reason: str | None = None


class BindingOut(_Out):
    """A binding request as its requester or an admin sees it."""

    id: str
    uscc: str
    enterprise_name: str
    status: Literal["pending", "approved", "rejected"]
    requester: str
    requester_name: str | None = None
    created_at: str
    updated_at: str
    decided_by: str | None = None
    decision_reason: str | None = None
    history: list[BindingEventOut]
    document_url: str | None = Field(default=None, description="admins: short-lived link to the document")

    @classmethod
    def of(cls, request: BindingRequest, document_url: str | None = None) -> BindingOut:
        return cls(
            id=request.id,
            uscc=request.uscc,
            enterprise_name=request.enterprise_name,
            status=request.status.value,
            requester=request.requester_sub,
            requester_name=request.requester_name,
            created_at=request.created_at.isoformat(),
            updated_at=request.updated_at.isoformat(),
            decided_by=request.decided_by,
            decision_reason=request.decision_reason,
            history=[
                BindingEventOut(
                    at=e.at.isoformat(),
                    actor=e.actor,
                    actor_role=e.actor_role,
                    action=e.action,
                    reason=e.reason,
                )
                for e in request.history
            ],
            document_url=document_url,
        )


class DocumentUploadOut(_Out):
    """A presigned POST: send `fields` and then the PDF (field `file`) to `url` as multipart/form-data."""

    method: Literal["POST"] = "POST"
    url: str
    fields: dict[str, str]
    expires_in: int
    key: str


class BindingCreatedOut(_Out):
    """The new request and where to upload its power of attorney."""

    request: BindingOut
    upload: DocumentUploadOut


class BindingPage(_Out):
    """A page of binding requests."""

    items: list[BindingOut]
    next_cursor: str | None = None


@router.post(
    "/bindings",
    summary="Ask to act for an enterprise (企业绑定申请), with a power of attorney",
    description=(
        "Applicants. Answers the request and a presigned POST for the power of attorney (PDF). An admin "
        "approves or rejects it; once approved, the enterprise's USCC is in the account's `custom:uscc` "
        "claim from the next sign-in. 409 if already bound or already asked."
    ),
    tags=["bindings"],
    security=BEARER,
    status_code=201,
    responses=responses(201, 403, 409, 422, signed_in=True),
)
def request_binding(body: BindingIn, caller: Caller) -> BindingCreatedOut:
    made = bindings.request_binding(
        binding_deps(),
        caller,
        uscc=body.uscc,
        enterprise_name=body.enterprise_name,
        document_size=body.document.size,
    )
    upload = DocumentUploadOut(
        url=made.upload.url,
        fields=dict(made.upload.fields),
        expires_in=made.upload.expires_in,
        key=made.request.document_key,
    )
    return BindingCreatedOut(request=BindingOut.of(made.request), upload=upload)


@router.get(
    "/bindings",
    summary="My binding requests, newest first",
    tags=["bindings"],
    security=BEARER,
    responses=responses(200, 422, signed_in=True),
)
def my_bindings(caller: Caller, limit: Limit = 20, cursor: Cursor = None) -> BindingPage:
    page = bindings.list_mine(binding_deps(), caller, limit=limit, cursor=cursor)
    return BindingPage(items=[BindingOut.of(r) for r in page.items], next_cursor=page.next_cursor)


@router.get(
    "/bindings/pending",
    summary="Binding requests waiting for an admin, oldest first",
    tags=["bindings"],
    security=BEARER,
    responses=responses(200, 403, 422, signed_in=True),
)
def pending_bindings(caller: Caller, limit: Limit = 50, cursor: Cursor = None) -> BindingPage:
    page = bindings.list_pending(binding_deps(), caller, limit=limit, cursor=cursor)
    return BindingPage(items=[BindingOut.of(r) for r in page.items], next_cursor=page.next_cursor)


@router.get(
    "/bindings/<request_id>",
    summary="A binding request with its audit trail (admins: a link to the power of attorney)",
    tags=["bindings"],
    security=BEARER,
    responses=responses(200, 404, 422, signed_in=True),
)
def get_binding(request_id: RequestId, caller: Caller) -> BindingOut:
    deps = binding_deps()
    request = bindings.get(deps, caller, request_id)
    return BindingOut.of(request, bindings.document_url(deps, caller, request))


@router.post(
    "/bindings/<request_id>/decision",
    summary="Approve or reject a binding request (admins; not one's own)",
    description=(
        "Approval needs the uploaded power of attorney and adds the USCC to the requester's `custom:uscc` "
        "attribute in the user pool (AdminUpdateUserAttributes); approving an approved request again "
        "re-applies it. A decided request cannot be decided otherwise (409)."
    ),
    tags=["bindings"],
    security=BEARER,
    responses=responses(200, 403, 404, 409, 422, 503, signed_in=True),
)
def decide_binding(request_id: RequestId, body: BindingDecisionIn, caller: Caller) -> BindingOut:
    decided = bindings.decide(
        binding_deps(), caller, request_id, approve=body.action == "approve", reason=body.reason
    )
    return BindingOut.of(decided)
