"""Channel routes: the applicant follows online what a service window applied for on their behalf.

A window application is opened with `POST /applications` like any other: the caller's app client (the
service-window client) makes it a window application and the clerk its owner (`applications.window`).
"""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.depends import Depends
from aws_lambda_powertools.event_handler.openapi.params import Query

from onestop.applications import window
from onestop.applications.identity import Principal

from .context import BEARER, application_service, current_principal
from .responses import responses
from .schemas import ApplicationPage, ApplicationSummary

router = Router()

Caller = Annotated[Principal, Depends(current_principal)]
# A USCC or a resident ID number (18 characters; either may end in a letter).
PARTY = r"^[0-9A-Za-z]{15,18}$"


@router.get(
    "/applications/window",
    summary="Applications a service window opened for a party I act for, newest first",
    description=(
        "For the applicant to follow online what a clerk applied for at the service window on their "
        "behalf. `party` is the enterprise's USCC or the person's resident ID number; the caller's "
        "verified claims must bind it (custom:uscc, custom:id_number): 403 party_not_bound otherwise."
    ),
    tags=["applications"],
    security=BEARER,
    responses=responses(200, 403, 422, signed_in=True),
)
def list_window_applications(
    caller: Caller,
    party: Annotated[str, Query(pattern=PARTY, description="USCC or resident ID number")],
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[
        str | None, Query(max_length=2000, description="next_cursor of the previous page")
    ] = None,
) -> ApplicationPage:
    deps = application_service().deps
    page = window.list_for_party(deps, caller, party, limit=limit, cursor=cursor)
    return ApplicationPage(items=[ApplicationSummary.of(a) for a in page.items], next_cursor=page.next_cursor)
