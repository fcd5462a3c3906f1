"""Work assignment routes: claim, release, admin reassignment, the assignment as it stands, and the
reviewer group an admin may reassign to (`onestop.applications.assignment`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.depends import Depends
from aws_lambda_powertools.event_handler.openapi.params import Path
from pydantic import BaseModel, ConfigDict, Field

from onestop.applications import assignment
from onestop.applications.identity import Principal
from onestop.applications.models import Application

from .context import BEARER, application_service, current_principal
from .inputs import Paragraph
from .responses import responses
from .schemas import APPLICATION_ID

router = Router()

Caller = Annotated[Principal, Depends(current_principal)]
AppId = Annotated[str, Path(pattern=APPLICATION_ID, description="application id (32 hex digits)")]


class EscalationOut(BaseModel):
    """The last escalation to the admins (for the due time shown, when `current`)."""

    model_config = ConfigDict(defer_build=True)

    level: Literal["at_risk", "overdue"]
    due: datetime
    at: datetime
    current: bool = Field(description="escalated for the due time the application runs under now")


class AssignmentOut(BaseModel):
    """Who holds the application. `assignee` is null when nobody does (never claimed, released, or
    the lease lapsed: a lapsed lease counts as unassigned)."""

    model_config = ConfigDict(defer_build=True)

    application_id: str
    status: str
    assignee: str | None = None
    assignee_name: str | None = None
    assignee_until: datetime | None = Field(default=None, description="the lease ends then unless renewed")
    mine: bool = Field(description="the caller holds it")
    escalated: EscalationOut | None = None

    @classmethod
    def of(cls, application: Application, caller: Principal) -> AssignmentOut:
        now = application_service().now()
        held = assignment.holder(application, now)
        e = application.escalated
        return cls(
            application_id=application.id,
            status=application.status.value,
            assignee=held,
            assignee_name=application.assignee_name if held else None,
            assignee_until=application.assignee_until if held else None,
            mine=held is not None and held == assignment.who(caller),
            escalated=EscalationOut(
                level=e.level, due=e.due, at=e.at, current=assignment.is_escalated(application)
            )
            if e is not None
            else None,
        )


class ReassignIn(BaseModel):
    """The reviewer who takes over, and why (recorded in the audit trail)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, defer_build=True)

    reviewer: str = Field(
        min_length=1, max_length=128, pattern=r"^[^\s]+$", description="the reviewer's username"
    )
    reason: Paragraph = Field(min_length=1, max_length=500, description="why it is reassigned")


class ReviewerOut(BaseModel):
    model_config = ConfigDict(defer_build=True)

    username: str
    name: str | None = None


class ReviewersOut(BaseModel):
    """The members of the reviewer group."""

    model_config = ConfigDict(defer_build=True)

    items: list[ReviewerOut]


@router.get(
    "/applications/<application_id>/assignment",
    summary="Who holds the application (reviewer)",
    tags=["assignment"],
    security=BEARER,
    responses=responses(200, 403, 404, signed_in=True),
)
def get_assignment(application_id: AppId, caller: Caller) -> AssignmentOut:
    application = assignment.current(application_service().deps, caller, application_id)
    return AssignmentOut.of(application, caller)


@router.post(
    "/applications/<application_id>/claim",
    summary="Claim the application (reviewer): one owner at a time, a lease renewed by every action",
    description=(
        "One conditional write: of two reviewers claiming at once exactly one wins; the other gets 409 "
        "`claimed_by_other` naming the owner. A lapsed lease counts as unassigned and may be claimed. "
        "Claiming again renews one's own lease. Not one's own or one's party's application (403)."
    ),
    tags=["assignment"],
    security=BEARER,
    responses=responses(200, 403, 404, 409, signed_in=True),
)
def claim(application_id: AppId, caller: Caller) -> AssignmentOut:
    application = assignment.claim(application_service().deps, caller, application_id)
    return AssignmentOut.of(application, caller)


@router.post(
    "/applications/<application_id>/release",
    summary="Give the application back to the queue (its owner)",
    tags=["assignment"],
    security=BEARER,
    responses=responses(200, 403, 404, 409, signed_in=True),
)
def release(application_id: AppId, caller: Caller) -> AssignmentOut:
    application = assignment.release(application_service().deps, caller, application_id)
    return AssignmentOut.of(application, caller)


@router.post(
    "/applications/<application_id>/assignee",
    summary="Reassign the application to a reviewer (admin), with a reason",
    description=(
        "Admins only (a reviewer gets 403). The new assignee must be in the reviewer group of the "
        "identity provider (422 otherwise). Recorded in the audit trail with the reason."
    ),
    tags=["assignment"],
    security=BEARER,
    responses=responses(200, 403, 404, 409, 422, 503, signed_in=True),
)
def reassign(application_id: AppId, body: ReassignIn, caller: Caller) -> AssignmentOut:
    application = assignment.reassign(
        application_service().deps, caller, application_id, body.reviewer, body.reason
    )
    return AssignmentOut.of(application, caller)


@router.get(
    "/review/reviewers",
    summary="The reviewer group (admin): whom an application may be reassigned to",
    tags=["assignment"],
    security=BEARER,
    responses=responses(200, 403, signed_in=True),
)
def list_reviewers(caller: Caller) -> ReviewersOut:
    found = assignment.reviewers(application_service().deps, caller)
    return ReviewersOut(items=[ReviewerOut(username=r.username, name=r.name) for r in found])
