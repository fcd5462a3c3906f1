"""好差评: the applicant rates a finished application once; a bad rating opens a rectification case.

A case is verified (核实), rectified (整改) and answered (反馈), in that order, by reviewers, each step
with a note, within `CASE_DEADLINE_WORKING_DAYS` working days of the review. A step out of order, or
one that lost a race with another reviewer, is a Conflict (409) carrying the case's current state.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from onestop.applications.clock import WorkingDayClock
from onestop.applications.identity import Principal
from onestop.applications.models import Application, ApplicationStatus, DeadlineInfo, Page, utcnow
from onestop.applications.state import STATUS_NAMES
from onestop.applications.window import follows, is_window_application
from onestop.errors import Conflict, Forbidden, InvalidInput, NotFound, Reason
from onestop.observability import logger, metrics

from .models import (
    CASE_DEADLINE_WORKING_DAYS,
    COMPLETED_STATUSES,
    CaseStatus,
    CaseStep,
    CaseStepRecord,
    Indicators,
    RectificationCase,
    Review,
    ReviewLevel,
)
from .ports import ApplicationReader, ReviewStore


def _may_read(principal: Principal, application: Application) -> bool:
    """Reviewers, the owner, and for a window application the accounts bound to its applicant."""
    return principal.is_reviewer or application.owner_sub == principal.sub or follows(principal, application)


MAX_COMMENT = 1000
MAX_NOTE = 2000


@dataclass(frozen=True)
class ReviewView:
    """A review with the case it opened (if any)."""

    review: Review
    case: RectificationCase | None


def _new_id() -> str:
    return uuid.uuid4().hex


def _application_not_found() -> NotFound:
    # The same answer whether the application does not exist or belongs to someone else.
    return NotFound("application_not_found", "申请不存在。", "No such application.")


def _case_not_found() -> NotFound:
    return NotFound("case_not_found", "整改工单不存在。", "No such rectification case.")


def case_conflict(case: RectificationCase, step: CaseStep) -> Conflict:
    """The 409 for a step the case's current state does not allow."""
    expected = case.next_step
    if expected is None:
        zh = f"整改工单已办结，不能再执行「{step.zh}」。"
        en = f"The case is closed; '{step.value}' is not possible any more."
    else:
        zh = f"整改工单当前为「{case.status.zh}」，下一步应为「{expected.zh}」，不能执行「{step.zh}」。"
        en = f"The case is {case.status.en}; the next step is '{expected.value}', not '{step.value}'."
    return Conflict(
        "illegal_case_step",
        zh,
        en,
        extra={
            "current": {
                "status": case.status.value,
                "version": case.version,
                "next_step": expected.value if expected else None,
            }
        },
    )


class ReviewService:
    """Reviews for applicants; rectification cases for reviewers."""

    def __init__(
        self,
        applications: ApplicationReader,
        store: ReviewStore,
        clock: WorkingDayClock,
        *,
        now: Callable[[], datetime] = utcnow,
        new_id: Callable[[], str] = _new_id,
    ) -> None:
        self.applications = applications
        self.store = store
        self.clock = clock
        self.now = now
        self.new_id = new_id

    # ----------------------------------------------------------------- applicant side

    def submit(
        self,
        principal: Principal,
        application_id: str,
        level: ReviewLevel,
        indicators: Indicators,
        comment: str | None = None,
    ) -> ReviewView:
        """Rate a finished application, once, as its applicant; a bad rating opens a case."""
        principal.require_authenticated()
        assert principal.sub is not None
        application = self.applications.get(application_id)
        if application is None or not _may_read(principal, application):
            raise _application_not_found()
        # The applicant rates: the owner, or for a window application the accounts bound to its
        # applicant — never the clerk, who would be rating the window's own service.
        rates = follows(principal, application) if is_window_application(application) else None
        if not (rates if rates is not None else application.owner_sub == principal.sub):
            raise Forbidden(
                "applicant_only",
                "只有申请人本人可以评价该申请的办理服务。",
                "Only the applicant who made the application may rate its service.",
            )
        status = ApplicationStatus(application.status)
        if status not in COMPLETED_STATUSES:
            name_zh, name_en = STATUS_NAMES[status]
            raise Conflict(
                "review_not_yet_possible",
                f"申请当前状态为「{name_zh}」，办结（准予、不予许可或撤回）后才能评价。",
                f"The application is {name_en}; it can be rated once it is finished "
                "(approved, rejected or withdrawn).",
                extra={"current": {"status": status.value, "version": application.version}},
            )
        text = (comment or "").strip() or None
        if text is not None and len(text) > MAX_COMMENT:
            raise InvalidInput(
                "invalid_review",
                "评价内容有误。",
                "The review is not valid.",
                [
                    Reason(
                        "comment_too_long",
                        f"评价内容不能超过 {MAX_COMMENT} 个字符。",
                        f"The comment may be at most {MAX_COMMENT} characters.",
                        "comment",
                    )
                ],
            )
        now = self.now()
        case: RectificationCase | None = None
        if level.is_bad:
            deadline = self.clock.add_working_days(now, CASE_DEADLINE_WORKING_DAYS)
            case = RectificationCase(
                id=self.new_id(),
                application_id=application.id,
                item_code=application.item_code,
                review_level=level,
                review_comment=text,
                status=CaseStatus.OPEN,
                deadline=DeadlineInfo(
                    due=deadline.due,
                    working_days=deadline.working_days,
                    calendar_known=deadline.calendar_known,
                    note_zh=deadline.note_zh or "",
                    note_en=deadline.note_en or "",
                ),
                opened_at=now,
                updated_at=now,
            )
        review = Review(
            application_id=application.id,
            item_code=application.item_code,
            level=level,
            indicators=indicators,
            comment=text,
            by=principal.sub,
            created_at=now,
            case_id=case.id if case else None,
        )
        self.store.create_review(review, case)
        metrics.add_metric(name="ReviewSubmitted", unit="Count", value=1)
        if case is not None:
            metrics.add_metric(name="BadReviewCaseOpened", unit="Count", value=1)
            logger.info(
                "bad review: rectification case opened",
                extra={"case": case.id, "application": application.id},
            )
        return ReviewView(review, case)

    def get(self, principal: Principal, application_id: str) -> ReviewView:
        """The review of an application (its applicant or a reviewer), with its case."""
        principal.require_authenticated()
        application = self.applications.get(application_id)
        if application is None or not _may_read(principal, application):
            raise _application_not_found()
        review = self.store.get_review(application_id)
        if review is None:
            raise NotFound("review_not_found", "该申请尚未评价。", "This application has not been rated yet.")
        case = self.store.get_case(review.case_id) if review.case_id else None
        return ReviewView(review, case)

    # ----------------------------------------------------------------- reviewer side

    def list_cases(
        self,
        principal: Principal,
        status: CaseStatus | None = None,
        *,
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page[RectificationCase]:
        """Cases of one status by due time, or (no status) every unclosed case, most urgent first."""
        principal.require_reviewer()
        if status is not None:
            return self.store.list_cases(status.value, limit=limit, cursor=cursor)
        if cursor is not None:
            raise InvalidInput(
                "invalid_cursor",
                "未指定状态时不分页，请不要传入游标。",
                "Without a status every unclosed case is returned at once; there is no next page.",
                [Reason("invalid_cursor", "分页游标无效。", "Invalid page cursor.", "cursor")],
            )
        # The unclosed cases are the working set (a handful at a time), so they come in one list.
        cases = sorted(self.store.unclosed_cases(), key=lambda c: (c.deadline.due, c.id))
        return Page[RectificationCase](items=cases, next_cursor=None)

    def get_case(self, principal: Principal, case_id: str) -> RectificationCase:
        principal.require_reviewer()
        case = self.store.get_case(case_id)
        if case is None:
            raise _case_not_found()
        return case

    def record_step(
        self,
        principal: Principal,
        case_id: str,
        step: CaseStep,
        note: str,
        *,
        expected_version: int | None = None,
    ) -> RectificationCase:
        """Verify, rectify or answer, in that order, with a note; answering closes the case."""
        principal.require_reviewer()
        text = note.strip()
        if not text or len(text) > MAX_NOTE:
            raise InvalidInput(
                "invalid_case_step",
                "处理记录有误。",
                "The step is not valid.",
                [
                    Reason(
                        "note_required",
                        f"请填写处理说明（1 至 {MAX_NOTE} 个字符）。",
                        f"Write a note on what was done (1 to {MAX_NOTE} characters).",
                        "note",
                    )
                ],
            )
        case = self.store.get_case(case_id)
        if case is None:
            raise _case_not_found()
        if expected_version is not None and expected_version != case.version:
            conflict = case_conflict(case, step)
            raise Conflict(
                "case_changed",
                f"整改工单已被他人更新（当前版本 {case.version}，您看到的是 {expected_version}），"
                "请刷新后再处理。",
                f"The case changed since you read it (version {case.version}, you saw {expected_version}); "
                "reload it first.",
                extra=conflict.extra,
            )
        if case.status != step.source:
            raise case_conflict(case, step)
        now = self.now()
        after = case.model_copy(
            update={
                "status": step.target,
                "version": case.version + 1,
                "updated_at": now,
                "closed_at": now if step.target == CaseStatus.CLOSED else case.closed_at,
                "steps": [*case.steps, CaseStepRecord(step=step, note=text, by=principal.label, at=now)],
            }
        )
        self.store.update_case(case, after)
        metrics.add_metric(name=f"BadReviewCase_{step.value}", unit="Count", value=1)
        return after
