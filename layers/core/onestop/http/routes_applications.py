"""Applicant routes: open an application, upload materials, submit, follow it, withdraw."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.depends import Depends
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query

from onestop.applications.identity import Principal
from onestop.applications.models import Contact
from onestop.applications.service import ApplicantInput

from .context import BEARER, application_service, current_principal
from .responses import responses
from .schemas import (
    APPLICATION_ID,
    SLOT,
    ApplicationDetailOut,
    ApplicationPage,
    ApplicationSummary,
    CreateApplicationIn,
    ElicenceIn,
    EnterpriseApplicantIn,
    MaterialOut,
    UploadIn,
    UploadTicketOut,
    WithdrawIn,
)

router = Router()

Caller = Annotated[Principal, Depends(current_principal)]
ApplicationId = Annotated[str, Path(pattern=APPLICATION_ID, description="application id (32 hex digits)")]
# Not `WithdrawIn | None`: Powertools then lets any JSON array through as None.
_NO_COMMENT = WithdrawIn()
Slot = Annotated[str, Path(pattern=SLOT, max_length=64, description="material slot code of the item")]


@router.post(
    "/applications",
    summary="Open a draft application",
    description=(
        "The item must exist and be applicable online; USCC / ID number check digits are verified. The "
        "applicant must be a party the caller's verified claims bind it to (custom:uscc, "
        "custom:id_number): 403 party_not_bound otherwise (ask for a binding: POST /bindings)."
    ),
    tags=["applications"],
    security=BEARER,
    status_code=201,
    responses=responses(201, 403, 409, 422, signed_in=True),  # 409: too many open drafts
)
def create_application(body: CreateApplicationIn, caller: Caller) -> ApplicationSummary:
    a = body.applicant
    applicant = (
        ApplicantInput(kind="enterprise", name=a.name, uscc=a.uscc)
        if isinstance(a, EnterpriseApplicantIn)
        else ApplicantInput(kind="person", name=a.name, id_number=a.id_number)
    )
    contact = Contact(**body.contact.model_dump()) if body.contact else None
    created = application_service().create(caller, body.item_code, applicant, contact)
    return ApplicationSummary.of(created)


@router.get(
    "/applications",
    summary="My applications, newest first",
    tags=["applications"],
    security=BEARER,
    responses=responses(200, 422, signed_in=True),
)
def list_my_applications(
    caller: Caller,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[
        str | None, Query(max_length=2000, description="next_cursor of the previous page")
    ] = None,
) -> ApplicationPage:
    page = application_service().list_mine(caller, limit=limit, cursor=cursor)
    return ApplicationPage(items=[ApplicationSummary.of(a) for a in page.items], next_cursor=page.next_cursor)


@router.get(
    "/applications/<application_id>",
    summary="One application: status, deadline, materials, audit trail",
    tags=["applications"],
    security=BEARER,
    responses=responses(200, 404, 422, signed_in=True),
)
def get_application(application_id: ApplicationId, caller: Caller) -> ApplicationDetailOut:
    return ApplicationDetailOut.of_detail(application_service().get(caller, application_id))


@router.post(
    "/applications/<application_id>/materials/<slot>/uploads",
    summary="Get a presigned POST to upload one file into a material slot",
    description=(
        "Creates the material record (status awaiting_upload) and returns the form to POST to storage. "
        "Only while the application is a draft or waiting for correction."
    ),
    tags=["applications"],
    security=BEARER,
    status_code=201,
    responses=responses(201, 403, 404, 409, 413, 422, signed_in=True),
)
def request_upload(
    application_id: ApplicationId, slot: Slot, body: UploadIn, caller: Caller
) -> UploadTicketOut:
    ticket = application_service().request_upload(
        caller, application_id, slot, filename=body.filename, content_type=body.content_type, size=body.size
    )
    return UploadTicketOut.of(ticket)


@router.post(
    "/applications/<application_id>/materials/<slot>/elicence",
    summary="Fill a material slot with an e-licence the bureau issued (免提交), instead of uploading",
    description=(
        "For slots whose catalogue entry is elicence_replaceable with a licence type. The licence must be "
        "of that type, the applicant's own and valid, and its sealed PDF must verify (seal, issuer, "
        "registry status); the material is then catalogued at once (source elicence). 201 when attached, "
        "200 with the same material when this licence was already attached to the slot. Only while the "
        "application is a draft or waiting for correction."
    ),
    tags=["applications"],
    security=BEARER,
    status_code=201,
    responses={
        **responses(201, 403, 404, 409, 422, 503, signed_in=True),
        200: {"description": "Already attached: the material this licence filled before"},
    },
)
def attach_elicence(
    application_id: ApplicationId, slot: Slot, body: ElicenceIn, caller: Caller
) -> Response[MaterialOut]:
    attached = application_service().attach_elicence(caller, application_id, slot, body.licence_id)
    return Response(
        status_code=201 if attached.created else 200,
        content_type=content_types.APPLICATION_JSON,
        body=MaterialOut.of(attached.material, attached.item, attached.download_url),
    )


@router.delete(
    "/applications/<application_id>/materials/<slot>/uploads/<upload_id>",
    summary="Remove a file from a material slot (draft or correction only)",
    tags=["applications"],
    security=BEARER,
    status_code=204,
    responses=responses(204, 403, 404, 409, 422, signed_in=True),
)
def remove_upload(
    application_id: ApplicationId,
    slot: Slot,
    upload_id: Annotated[str, Path(pattern=APPLICATION_ID, description="upload id (32 hex digits)")],
    caller: Caller,
):  # no return annotation: a 204 has no body to validate
    application_service().remove_upload(caller, application_id, slot, upload_id)
    return Response(status_code=204, content_type=content_types.APPLICATION_JSON, body="")


@router.post(
    "/applications/<application_id>/submit",
    summary="Submit (or resubmit after correction)",
    description=(
        "Checks the materials against the item's list. If anything is missing, rejected, mismatched or "
        "still processing, answers 422 with the one-time notice (一次性告知) naming every problem at once."
    ),
    tags=["applications"],
    security=BEARER,
    responses=responses(200, 403, 404, 409, 422, signed_in=True),
)
def submit_application(application_id: ApplicationId, caller: Caller) -> ApplicationSummary:
    return ApplicationSummary.of(application_service().submit(caller, application_id))


@router.post(
    "/applications/<application_id>/withdraw",
    summary="Withdraw an application that has not been decided",
    tags=["applications"],
    security=BEARER,
    responses=responses(200, 403, 404, 409, 422, signed_in=True),
)
def withdraw_application(
    application_id: ApplicationId,
    caller: Caller,
    body: Annotated[WithdrawIn, Body(description="optional; {} or no body at all")] = _NO_COMMENT,
) -> ApplicationSummary:
    comment = body.comment
    return ApplicationSummary.of(application_service().withdraw(caller, application_id, comment))
