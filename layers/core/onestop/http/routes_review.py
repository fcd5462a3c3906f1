"""Reviewer routes: the queue and decisions (role from the JWT claims)."""

from __future__ import annotations

from typing import Annotated, Literal

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.depends import Depends
from aws_lambda_powertools.event_handler.openapi.params import Path, Query

from onestop.applications.identity import Principal
from onestop.applications.models import ApplicationStatus
from onestop.applications.service import ReasonInput
from onestop.applications.state import Action

from .context import BEARER, application_service, current_principal
from .responses import responses
from .schemas import APPLICATION_ID, ApplicationSummary, DecisionIn, QueueEntryOut, QueuePage

router = Router()

Caller = Annotated[Principal, Depends(current_principal)]


@router.get(
    "/review/queue",
    summary="Applications waiting for a reviewer, most urgent first",
    description=(
        "Without `status`: submitted (awaiting acceptance) and accepted (awaiting decision) together, "
        "ordered by due time. `at_risk=true` keeps only those due within the at-risk window or overdue. "
        "`assigned=mine|unassigned` and `escalated=true` filter by work assignment (a filtered page may "
        "hold fewer than `limit` entries and still have a next cursor)."
    ),
    tags=["review"],
    security=BEARER,
    responses=responses(200, 403, 422, signed_in=True),
)
def review_queue(
    caller: Caller,
    status: Annotated[
        ApplicationStatus | None,
        Query(description="only this status; not draft (a draft is the applicant's until submitted)"),
    ] = None,
    at_risk: Annotated[bool, Query(description="only due soon or overdue")] = False,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    cursor: Annotated[
        str | None, Query(max_length=4000, description="next_cursor of the previous page")
    ] = None,
    assigned: Annotated[
        Literal["any", "mine", "unassigned"],
        Query(description="mine: claimed by the caller; unassigned: nobody's (or a lapsed claim)"),
    ] = "any",
    escalated: Annotated[bool, Query(description="only those escalated to the admins")] = False,
) -> QueuePage:
    statuses = [status] if status is not None else [ApplicationStatus.SUBMITTED, ApplicationStatus.ACCEPTED]
    page = application_service().queue(
        caller,
        statuses=statuses,
        at_risk_only=at_risk,
        limit=limit,
        cursor=cursor,
        assigned=assigned,
        escalated_only=escalated,
    )
    return QueuePage(items=[QueueEntryOut.of_entry(e) for e in page.items], next_cursor=page.next_cursor)


@router.post(
    "/applications/<application_id>/decision",
    summary="Accept (受理), request correction (补正), approve or reject",
    description=(
        "request_correction and reject need at least one reason. `version` (optional) makes the decision "
        "conditional on the version the reviewer read. Approval publishes ApplicationApproved."
    ),
    tags=["review"],
    security=BEARER,
    responses=responses(200, 403, 404, 409, 422, signed_in=True),
)
def decide(
    application_id: Annotated[
        str, Path(pattern=APPLICATION_ID, description="application id (32 hex digits)")
    ],
    body: DecisionIn,
    caller: Caller,
) -> ApplicationSummary:
    reasons = [ReasonInput(zh=r.zh, en=r.en, code=r.code, slot=r.slot) for r in body.reasons]
    decided = application_service().decide(
        caller,
        application_id,
        Action(body.action),
        reasons=reasons,
        comment=body.comment,
        expected_version=body.version,
    )
    return ApplicationSummary.of(decided)
