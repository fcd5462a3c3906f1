"""Service-quality routes: 好差评 reviews, rectification cases of bad reviews, and the KPI report."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.depends import Depends
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from pydantic import BaseModel, ConfigDict, Field

from onestop.applications.clock import SHANGHAI, WorkingDayClock
from onestop.applications.identity import Principal
from onestop.applications.models import utcnow
from onestop.aws import composition
from onestop.catalogue.coverage import catalogue_coverage
from onestop.errors import InvalidInput, NotFound, Reason
from onestop.quality.corrections import material_corrections
from onestop.quality.kpis import KpiReport, Period, kpi_report
from onestop.quality.models import (
    INDICATOR_NAMES,
    CaseStatus,
    CaseStep,
    Indicators,
    RectificationCase,
    ReviewLevel,
)
from onestop.quality.reviews import MAX_COMMENT, MAX_NOTE, ReviewService, ReviewView

from .context import BEARER, current_principal
from .inputs import Paragraph, WholeNumber
from .responses import responses
from .schemas import APPLICATION_ID, ITEM_CODE, DeadlineOut, LocalisedText

router = Router()

Caller = Annotated[Principal, Depends(current_principal)]
ApplicationId = Annotated[str, Path(pattern=APPLICATION_ID, description="application id (32 hex digits)")]
CaseId = Annotated[str, Path(pattern=APPLICATION_ID, description="case id (32 hex digits)")]

LevelCode = Literal["very_satisfied", "satisfied", "basically_satisfied", "dissatisfied", "very_dissatisfied"]
StepCode = Literal["verify", "rectify", "respond"]
CaseStatusCode = Literal["open", "verified", "rectified", "closed"]


def now() -> datetime:
    """The time the routes act at (tests replace it)."""
    return utcnow()


def review_service() -> ReviewService:
    # Per request around `now` (tests replace it), from the composition root's cached adapters.
    return composition.review_service(now=lambda: now())


# ----------------------------------------------------------------------------- bodies


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, defer_build=True)  # as schemas._In


class IndicatorsIn(_In):
    """Each online indicator rated 1 (worst) to 5 (best)."""

    overall_satisfaction: WholeNumber = Field(ge=1, le=5, description="总体满意度")
    efficiency: WholeNumber = Field(ge=1, le=5, description="办事效率")
    guidance_accuracy: WholeNumber = Field(ge=1, le=5, description="办事指南准确性")
    convenience: WholeNumber = Field(ge=1, le=5, description="办事便利度")
    platform_usability: WholeNumber = Field(ge=1, le=5, description="平台易用性")


class ReviewIn(_In):
    """The applicant's 好差评 of a finished application."""

    level: LevelCode = Field(
        description="非常满意 very_satisfied, 满意 satisfied, 基本满意 basically_satisfied, "
        "不满意 dissatisfied, 非常不满意 very_dissatisfied"
    )
    indicators: IndicatorsIn
    comment: Paragraph | None = Field(default=None, max_length=MAX_COMMENT)


class CaseStepIn(_In):
    """A reviewer's step on a rectification case, with what was done."""

    step: StepCode = Field(description="核实 verify → 整改 rectify → 反馈 respond (closes the case)")
    # No min_length: an empty note gets the service's own "write a note on what was done" reason.
    note: Paragraph = Field(max_length=MAX_NOTE)
    version: WholeNumber | None = Field(default=None, ge=1, description="the case version the reviewer read")


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True, defer_build=True)  # as schemas._Out


class IndicatorOut(_Out):
    code: str
    name: LocalisedText
    score: int


class CaseStepOut(_Out):
    step: str
    step_name: LocalisedText
    note: str
    by: str
    at: datetime


class CaseOut(_Out):
    """A rectification case opened by a bad review."""

    id: str
    application_id: str
    item_code: str
    review_level: str
    review_comment: str | None = None
    status: str
    status_name: LocalisedText
    next_step: str | None = None
    deadline: DeadlineOut
    overdue: bool
    at_risk: bool = Field(description="not closed, not overdue, at most one working day left")
    opened_at: datetime
    updated_at: datetime
    closed_at: datetime | None = None
    closed_on_time: bool | None = None
    steps: list[CaseStepOut]
    version: int

    @classmethod
    def of(cls, case: RectificationCase, at: datetime) -> CaseOut:
        deadline = DeadlineOut.of(case.deadline)
        assert deadline is not None
        return cls(
            id=case.id,
            application_id=case.application_id,
            item_code=case.item_code,
            review_level=case.review_level.value,
            review_comment=case.review_comment,
            status=case.status.value,
            status_name=LocalisedText(zh=case.status.zh, en=case.status.en),
            next_step=case.next_step.value if case.next_step else None,
            deadline=deadline,
            overdue=case.overdue(at),
            at_risk=case.status is not CaseStatus.CLOSED
            and WorkingDayClock().is_at_risk(case.deadline.due, at),
            opened_at=case.opened_at,
            updated_at=case.updated_at,
            closed_at=case.closed_at,
            closed_on_time=case.closed_on_time,
            steps=[
                CaseStepOut(
                    step=s.step.value,
                    step_name=LocalisedText(zh=s.step.zh, en=s.step.en),
                    note=s.note,
                    by=s.by,
                    at=s.at,
                )
                for s in case.steps
            ],
            version=case.version,
        )


class CasePage(_Out):
    items: list[CaseOut]
    next_cursor: str | None = None


class CaseProgressOut(_Out):
    """What the applicant sees of the case their bad review opened."""

    id: str
    status: str
    status_name: LocalisedText
    deadline: DeadlineOut
    response: str | None = Field(default=None, description="the bureau's answer (反馈), once given")


class ReviewOut(_Out):
    """A 好差评 review."""

    application_id: str
    item_code: str
    level: str
    level_name: LocalisedText
    score: int = Field(description="5 (非常满意) … 1 (非常不满意)")
    indicators: list[IndicatorOut]
    comment: str | None = None
    created_at: datetime
    bad: bool = Field(description="不满意 or 非常不满意: a rectification case was opened")
    case: CaseProgressOut | None = None

    @classmethod
    def of(cls, view: ReviewView) -> ReviewOut:
        r = view.review
        level = ReviewLevel(r.level)
        scores = r.indicators.model_dump()
        case = view.case
        progress = None
        if case is not None:
            deadline = DeadlineOut.of(case.deadline)
            assert deadline is not None
            progress = CaseProgressOut(
                id=case.id,
                status=case.status.value,
                status_name=LocalisedText(zh=case.status.zh, en=case.status.en),
                deadline=deadline,
                response=case.response,
            )
        return cls(
            application_id=r.application_id,
            item_code=r.item_code,
            level=level.value,
            level_name=LocalisedText(zh=level.zh, en=level.en),
            score=level.score,
            indicators=[
                IndicatorOut(code=code, name=LocalisedText(zh=zh, en=en), score=scores[code])
                for code, (zh, en) in INDICATOR_NAMES.items()
            ],
            comment=r.comment,
            created_at=r.created_at,
            bad=level.is_bad,
            case=progress,
        )


# ----------------------------------------------------------------------------- reviews


@router.post(
    "/applications/<application_id>/review",
    summary="Rate the service of a finished application (好差评), once",
    description=(
        "Only the applicant, only once the application is approved, rejected or withdrawn, only once. "
        "不满意 / 非常不满意 opens a rectification case (核实 → 整改 → 反馈) due in 10 working days."
    ),
    tags=["quality"],
    security=BEARER,
    status_code=201,
    responses=responses(201, 403, 404, 409, 422, signed_in=True),
)
def submit_review(application_id: ApplicationId, body: ReviewIn, caller: Caller) -> ReviewOut:
    view = review_service().submit(
        caller,
        application_id,
        ReviewLevel(body.level),
        Indicators.model_validate(body.indicators.model_dump()),
        body.comment,
    )
    return ReviewOut.of(view)


@router.get(
    "/applications/<application_id>/review",
    summary="The review of an application, with the progress of its rectification case",
    tags=["quality"],
    security=BEARER,
    responses=responses(200, 404, 422, signed_in=True),
)
def get_review(application_id: ApplicationId, caller: Caller) -> ReviewOut:
    return ReviewOut.of(review_service().get(caller, application_id))


# ----------------------------------------------------------------------------- cases


@router.get(
    "/cases",
    summary="Rectification cases of bad reviews, earliest deadline first (reviewer)",
    description=(
        "With `status`: that status, page by page. Without: every case not yet closed, in one list."
    ),
    tags=["quality"],
    security=BEARER,
    responses=responses(200, 403, 422, signed_in=True),
)
def list_cases(
    caller: Caller,
    status: Annotated[CaseStatusCode | None, Query(description="only cases in this status")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    cursor: Annotated[
        str | None, Query(max_length=2000, description="next_cursor of the previous page")
    ] = None,
) -> CasePage:
    at = now()
    page = review_service().list_cases(
        caller, CaseStatus(status) if status else None, limit=limit, cursor=cursor
    )
    return CasePage(items=[CaseOut.of(c, at) for c in page.items], next_cursor=page.next_cursor)


@router.get(
    "/cases/<case_id>",
    summary="One rectification case with its steps (reviewer)",
    tags=["quality"],
    security=BEARER,
    responses=responses(200, 403, 404, 422, signed_in=True),
)
def get_case(case_id: CaseId, caller: Caller) -> CaseOut:
    return CaseOut.of(review_service().get_case(caller, case_id), now())


@router.post(
    "/cases/<case_id>/steps",
    summary="Verify (核实), rectify (整改) or answer (反馈) a case, in that order (reviewer)",
    description="A step out of order, or on a case changed since `version`, is a 409 with the current state.",
    tags=["quality"],
    security=BEARER,
    responses=responses(200, 403, 404, 409, 422, signed_in=True),
)
def record_case_step(case_id: CaseId, body: CaseStepIn, caller: Caller) -> CaseOut:
    case = review_service().record_step(
        caller, case_id, CaseStep(body.step), body.note, expected_version=body.version
    )
    return CaseOut.of(case, now())


# ----------------------------------------------------------------------------- KPIs


# A calendar date as text: typed as `date`, a query value like "0" would be read as a Unix time.
DATE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"


def _day(text: str | None, field: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(
            "invalid_date",
            "日期无效。",
            "The date is not valid.",
            [
                Reason(
                    "invalid_date",
                    f"{text} 不是有效日期（YYYY-MM-DD）。",
                    f"{text} is not a date (YYYY-MM-DD).",
                    field,
                )
            ],
        ) from None


@router.get(
    "/stats",
    summary="Service KPIs of a period, per item and per category (reviewer / admin)",
    description=(
        "Dates are whole days in Asia/Shanghai, both included; default: this month to today. "
        "received, accepted, completed, on-time rate, overdue, returned for correction, rejected, "
        "licences issued, average and p90 working days to decision, reviews by level, open bad-review "
        "cases (open now, whatever the period), the catalogue's promised online share (items of "
        "online depth III/IV, not a measurement); `channels`: received applications per channel as "
        "recorded (web portal, city app, mini program, service window; older ones `unrecorded`, not "
        'guessed) and the measured online rate; and (without `item`) the "zero error" '
        "figure: materials catalogued in the period and how many a reviewer corrected, per material "
        "type, with corrections per field."
    ),
    tags=["quality"],
    security=BEARER,
    responses=responses(200, 403, 422, signed_in=True),
)
def stats(
    caller: Caller,
    from_: Annotated[
        str | None,
        Query(alias="from", pattern=DATE, description="first day (YYYY-MM-DD)", examples=["2025-06-01"]),
    ] = None,
    to: Annotated[
        str | None, Query(pattern=DATE, description="last day (YYYY-MM-DD)", examples=["2025-06-30"])
    ] = None,
    item: Annotated[str | None, Query(pattern=ITEM_CODE, max_length=100, description="one item only")] = None,
) -> KpiReport:
    caller.require_reviewer()
    at = now()
    today = at.astimezone(SHANGHAI).date()
    end = _day(to, "to") or today
    start = _day(from_, "from") or end.replace(day=1)
    period = Period.of(start, end)
    book = composition.catalogue_book()
    version = book.current_version()
    catalogue = book.at(version)  # the current version: its names, depths and coverage
    coverage = catalogue_coverage(catalogue, version)
    if item is not None:
        try:
            catalogue.item(item)
        except NotFound:
            raise InvalidInput(
                "unknown_item",
                f"事项编码「{item}」不存在。",
                f"There is no service item '{item}'.",
                [Reason("unknown_item", "未知的事项编码。", "Unknown item code.", "item")],
            ) from None
    source = composition.quality_repository()
    report = kpi_report(source, catalogue, WorkingDayClock(), period, now=at, item_code=item)
    if item is not None:
        return report.model_copy(update={"coverage": coverage})
    materials = material_corrections(source.materials_between(period.start_at, period.end_at), catalogue)
    return report.model_copy(update={"materials": materials, "coverage": coverage})
