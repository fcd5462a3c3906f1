"""The legal clock (issue 18 item 4): pauses for special procedures, the one extension, the clock view.

Reviewers pause and resume the decision clock for a hearing, expert review or on-site inspection
(Licensing Law art. 45) and ask for the one extension (art. 42); admins approve or refuse it. The
applicant and the reviewers read the clock (paused since …, extended by …, the due date now).
Every change takes the version the caller read (`version`, optional): a newer one stored, or a race
lost, answers 409 with the current state.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.depends import Depends
from aws_lambda_powertools.event_handler.openapi.params import Path
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from onestop.applications import clock_changes, pauses
from onestop.applications.clock import SHANGHAI
from onestop.applications.identity import Principal
from onestop.applications.models import Application, ApplicationStatus, ClockPause, Extension
from onestop.errors import Reason

from .context import BEARER, application_service, current_principal
from .inputs import Paragraph, WholeNumber
from .responses import responses
from .schemas import APPLICATION_ID, DeadlineOut, ErrorDetail, LocalisedText

router = Router()

Caller = Annotated[Principal, Depends(current_principal)]
AppId = Annotated[str, Path(pattern=APPLICATION_ID, description="application id (32 hex digits)")]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, defer_build=True)


class _Out(BaseModel):
    model_config = ConfigDict(defer_build=True)


Version = Annotated[
    WholeNumber | None,
    Field(default=None, ge=1, description="the version the caller read; a newer one stored gives 409"),
]


class ClockReasonIn(_In):
    """Why, in Chinese; `en` may be left out (the Chinese text is then shown in both)."""

    zh: Paragraph = Field(min_length=1, max_length=1000)
    en: Paragraph | None = Field(default=None, max_length=1000)


class PauseIn(_In):
    """Stop the decision clock for a special procedure (art. 45: its time is not counted)."""

    procedure: Literal["hearing", "expert_review", "onsite_inspection"]
    reason: ClockReasonIn
    at: AwareDatetime | None = Field(
        default=None, description="when it began (default now; not in the future, not before acceptance)"
    )
    version: Version = None


class PauseEndIn(_In):
    """End a special-procedure pause: the deadline moves by the working days it covered."""

    at: AwareDatetime | None = Field(default=None, description="when it ended (default now)")
    comment: Paragraph | None = Field(default=None, max_length=2000)
    version: Version = None


class ExtensionIn(_In):
    """Ask for the one extension of the decision deadline (20 + at most 10 working days)."""

    days: WholeNumber = Field(ge=1, le=pauses.MAX_EXTENSION_DAYS, description="working days")
    reason: ClockReasonIn
    version: Version = None


class ExtensionDecisionIn(_In):
    """An admin's decision on the extension asked for; a refusal needs a reason."""

    decision: Literal["approve", "refuse"]
    reason: ClockReasonIn | None = None
    version: Version = None


class PauseOut(_Out):
    """One pause of the decision clock."""

    n: int
    procedure: str
    procedure_name: LocalisedText
    reason: ErrorDetail
    started_at: datetime
    started_by: str
    ended_at: datetime | None = None
    ended_by: str | None = None
    working_days: int | None = Field(default=None, description="working days added to the deadline")
    due_before: datetime | None = None
    due_after: datetime | None = None

    @classmethod
    def of(cls, p: ClockPause) -> PauseOut:
        zh, en = pauses.PROCEDURES[p.procedure]
        return cls(
            n=p.n,
            procedure=p.procedure,
            procedure_name=LocalisedText(zh=zh, en=en),
            reason=ErrorDetail.of(p.reason),
            started_at=p.started_at,
            started_by=p.started_by,
            ended_at=p.ended_at,
            ended_by=p.ended_by,
            working_days=p.working_days,
            due_before=p.due_before,
            due_after=p.due_after,
        )


class ExtensionOut(_Out):
    """The extension asked for, and its decision."""

    days: int
    reason: ErrorDetail
    status: Literal["requested", "approved", "refused"]
    requested_by: str
    requested_at: datetime
    decided_by: str | None = None
    decided_at: datetime | None = None
    refusal: ErrorDetail | None = None
    due_before: datetime | None = None
    due_after: datetime | None = None

    @classmethod
    def of(cls, e: Extension) -> ExtensionOut:
        return cls(
            days=e.days,
            reason=ErrorDetail.of(e.reason),
            status=e.status,
            requested_by=e.requested_by,
            requested_at=e.requested_at,
            decided_by=e.decided_by,
            decided_at=e.decided_at,
            refusal=ErrorDetail.of(e.refusal) if e.refusal else None,
            due_before=e.due_before,
            due_after=e.due_after,
        )


class ClockOut(_Out):
    """The decision clock of one application: its effective deadline, pauses and extension."""

    application_id: str
    version: int
    status: str
    accepted_at: datetime | None = None
    deadline: DeadlineOut | None = Field(default=None, description="the effective decision deadline")
    paused: bool
    open_pause: PauseOut | None = None
    pauses: list[PauseOut]
    paused_working_days: int
    extension: ExtensionOut | None = None
    extension_days: int
    summary: list[LocalisedText] = Field(description="what the applicant is shown, one line each")
    allowed_actions: list[str] = Field(description="what the caller may do to the clock now")

    @classmethod
    def of(cls, a: Application, caller: Principal) -> ClockOut:
        current = pauses.open_pause(a)
        return cls(
            application_id=a.id,
            version=a.version,
            status=ApplicationStatus(a.status).value,
            accepted_at=a.accepted_at,
            deadline=DeadlineOut.of(a.deadline),
            paused=current is not None,
            open_pause=PauseOut.of(current) if current else None,
            pauses=[PauseOut.of(p) for p in a.clock_pauses],
            paused_working_days=pauses.paused_working_days(a),
            extension=ExtensionOut.of(a.extension) if a.extension else None,
            extension_days=pauses.extension_days(a),
            summary=[LocalisedText(zh=zh, en=en) for zh, en in summary(a)],
            allowed_actions=allowed(a, caller),
        )


def _day(moment: datetime) -> str:
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%d")


def summary(a: Application) -> list[tuple[str, str]]:
    """The clock in a few sentences, zh and en (the portal shows them)."""
    lines: list[tuple[str, str]] = []
    current = pauses.open_pause(a)
    if current is not None:
        zh, en = pauses.PROCEDURES[current.procedure]
        lines.append(
            (
                f"办理时限自 {_day(current.started_at)} 起因{zh}暂停计时，原因：{current.reason.zh}",
                f"Clock paused since {_day(current.started_at)} for {en}; reason: {current.reason.en}",
            )
        )
    for p in a.clock_pauses:
        if p.ended_at is not None and p.working_days:
            zh, en = pauses.PROCEDURES[p.procedure]
            lines.append(
                (
                    f"{zh}期间（{_day(p.started_at)} 至 {_day(p.ended_at)}）不计时，期限顺延 "
                    f"{p.working_days} 个工作日",
                    f"Time for {en} ({_day(p.started_at)} to {_day(p.ended_at)}) not counted: deadline "
                    f"moved by {p.working_days} working day(s)",
                )
            )
    e = a.extension
    if e is not None and e.status == "approved":
        lines.append(
            (
                f"办理期限经批准延长 {e.days} 个工作日，理由：{e.reason.zh}",
                f"Deadline extended by {e.days} working day(s): {e.reason.en}",
            )
        )
    if a.deadline is not None and a.accepted_at is not None:
        due = _day(a.deadline.due)
        if current is not None:
            lines.append(
                (
                    f"暂停结束后期限将顺延；当前期限 {due}",
                    f"The deadline moves once the pause ends; currently due {due}",
                )
            )
        else:
            lines.append((f"办理期限：{due}", f"Decision due: {due}"))
    return lines


def allowed(a: Application, caller: Principal) -> list[str]:
    """The clock actions open to the caller now (the desk offers only these)."""
    if not caller.is_reviewer or a.owner_sub == caller.sub:
        return []
    out: list[str] = []
    status = ApplicationStatus(a.status)
    current = pauses.open_pause(a)
    if status == ApplicationStatus.ACCEPTED and a.deadline is not None:
        if current is None:
            out.append("pause")
        elif current.procedure != "correction":
            out.append("end_pause")
        e = a.extension
        if e is None or e.status == "refused":
            out.append("request_extension")
    e = a.extension
    waiting = status in (ApplicationStatus.ACCEPTED, ApplicationStatus.CORRECTION_REQUESTED)
    asked = e is not None and e.status == "requested" and e.requested_by != caller.label
    if caller.is_admin and waiting and asked and a.deadline is not None:
        out.append("decide_extension")
    return out


def _reason(given: ClockReasonIn, code: str) -> Reason:
    return Reason(code, given.zh, given.en or f"(reviewer's note in Chinese) {given.zh}")


@router.get(
    "/applications/<application_id>/clock",
    summary="The decision clock: effective deadline, pauses, extension",
    description="For the applicant who owns the application and for reviewers.",
    tags=["clock"],
    security=BEARER,
    responses=responses(200, 404, signed_in=True),
)
def get_clock(application_id: AppId, caller: Caller) -> ClockOut:
    deps = application_service().deps
    return ClockOut.of(clock_changes.view(deps, caller, application_id), caller)


@router.post(
    "/applications/<application_id>/clock/pauses",
    summary="Pause the clock for a hearing, expert review or on-site inspection (reviewer)",
    description=(
        "Licensing Law art. 45: the time these take is not counted. One pause at a time (409 while "
        "another is open, including a correction's); only an accepted application awaiting decision. "
        "Publishes ApplicationClockChanged (paused)."
    ),
    tags=["clock"],
    security=BEARER,
    responses=responses(200, 403, 404, 409, 422, signed_in=True),
)
def start_pause(application_id: AppId, body: PauseIn, caller: Caller) -> ClockOut:
    deps = application_service().deps
    after = clock_changes.start_pause(
        deps,
        caller,
        application_id,
        body.procedure,
        _reason(body.reason, body.procedure),
        at=body.at,
        expected_version=body.version,
    )
    return ClockOut.of(after, caller)


@router.post(
    "/applications/<application_id>/clock/pauses/<n>/end",
    summary="End a special-procedure pause (reviewer); the deadline moves by the days it covered",
    description=(
        "The deadline is pushed by the working days after the pause began up to the day it ended "
        "(holidays and make-up days from the official calendar). Ending it again is 409, never a second "
        "push; an end before its start is 422. A correction's pause ends with the applicant's "
        "resubmission only."
    ),
    tags=["clock"],
    security=BEARER,
    responses=responses(200, 403, 404, 409, 422, signed_in=True),
)
def end_pause(
    application_id: AppId,
    n: Annotated[int, Path(ge=1, le=1000, description="the pause's number")],
    body: PauseEndIn,
    caller: Caller,
) -> ClockOut:
    deps = application_service().deps
    after = clock_changes.end_pause(
        deps, caller, application_id, n, at=body.at, comment=body.comment, expected_version=body.version
    )
    return ClockOut.of(after, caller)


@router.post(
    "/applications/<application_id>/clock/extension",
    summary="Ask for the one extension of the decision deadline (reviewer)",
    description=(
        f"At most {pauses.MAX_EXTENSION_DAYS} working days, with a reason, before the deadline "
        "passes; an admin decides. A second extension, or a second request while one waits, is 409."
    ),
    tags=["clock"],
    security=BEARER,
    responses=responses(200, 403, 404, 409, 422, signed_in=True),
)
def request_extension(application_id: AppId, body: ExtensionIn, caller: Caller) -> ClockOut:
    deps = application_service().deps
    after = clock_changes.request_extension(
        deps,
        caller,
        application_id,
        body.days,
        _reason(body.reason, "extension"),
        expected_version=body.version,
    )
    return ClockOut.of(after, caller)


@router.post(
    "/applications/<application_id>/clock/extension/decision",
    summary="Approve or refuse the extension asked for (admin)",
    description=(
        "Admins only (a reviewer gets 403), and not the admin who asked. Approval moves the deadline by "
        "the days asked; a refusal needs a reason. Publishes ApplicationClockChanged."
    ),
    tags=["clock"],
    security=BEARER,
    responses=responses(200, 403, 404, 409, 422, signed_in=True),
)
def decide_extension(application_id: AppId, body: ExtensionDecisionIn, caller: Caller) -> ClockOut:
    deps = application_service().deps
    refusal = _reason(body.reason, "extension_refused") if body.reason is not None else None
    after = clock_changes.decide_extension(
        deps,
        caller,
        application_id,
        body.decision == "approve",
        refusal=refusal,
        expected_version=body.version,
    )
    return ClockOut.of(after, caller)
