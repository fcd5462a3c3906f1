"""好差评 reviews and rectification cases: the rules, with in-memory storage."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from onestop.applications.clock import SHANGHAI, WorkingDayClock
from onestop.applications.identity import Principal, Role
from onestop.applications.models import Applicant, Application, ApplicationStatus, Page
from onestop.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthorized
from onestop.quality.models import (
    CASE_DEADLINE_WORKING_DAYS,
    CaseStatus,
    CaseStep,
    Indicators,
    RectificationCase,
    Review,
    ReviewLevel,
)
from onestop.quality.reviews import ReviewService, case_conflict

# Friday before the 2025 National Day holiday (Oct 1-8 off; Sun Sep 28 and Sat Oct 11 are working days).
NOW = datetime(2025, 9, 26, 10, 0, tzinfo=SHANGHAI)
ALICE = Principal(sub="alice", roles=frozenset({Role.APPLICANT}))
BOB = Principal(sub="bob", roles=frozenset({Role.APPLICANT}))
REVIEWER = Principal(sub="rev-1", roles=frozenset({Role.REVIEWER}))
GOOD = Indicators(
    overall_satisfaction=5, efficiency=5, guidance_accuracy=4, convenience=5, platform_usability=4
)
POOR = Indicators(
    overall_satisfaction=1, efficiency=2, guidance_accuracy=2, convenience=1, platform_usability=3
)


class Reader:
    def __init__(self, *apps: Application) -> None:
        self.apps = {a.id: a for a in apps}

    def get(self, application_id: str) -> Application | None:
        return self.apps.get(application_id)


class Store:
    """The ReviewStore rules (once per application, conditional case updates) in memory."""

    def __init__(self) -> None:
        self.reviews: dict[str, Review] = {}
        self.cases: dict[str, RectificationCase] = {}

    def get_review(self, application_id: str) -> Review | None:
        return self.reviews.get(application_id)

    def create_review(self, review: Review, case: RectificationCase | None) -> None:
        if review.application_id in self.reviews:
            raise Conflict("already_reviewed", "已评价", "already rated")
        self.reviews[review.application_id] = review
        if case is not None:
            self.cases[case.id] = case

    def get_case(self, case_id: str) -> RectificationCase | None:
        return self.cases.get(case_id)

    def list_cases(self, status: str, *, limit: int, cursor: str | None) -> Page[RectificationCase]:
        items = sorted((c for c in self.cases.values() if c.status == status), key=lambda c: c.deadline.due)
        return Page[RectificationCase](items=items[:limit])

    def unclosed_cases(self) -> list[RectificationCase]:
        return [c for c in self.cases.values() if c.status != CaseStatus.CLOSED]

    def update_case(self, before: RectificationCase, after: RectificationCase) -> None:
        stored = self.cases[before.id]
        if (stored.status, stored.version) != (before.status, before.version):
            raise case_conflict(stored, after.steps[-1].step)
        self.cases[after.id] = after


def application(app_id: str, status: ApplicationStatus, owner: str = "alice") -> Application:
    return Application(
        id=app_id,
        item_code="outbound-investment-filing",
        item_name_zh="境外投资备案",
        item_name_en="Outbound investment filing",
        owner_sub=owner,
        applicant=Applicant(kind="enterprise", code="91440300MA5F00010X", name="示例公司"),
        status=status,
        version=4,
        created_at=NOW - timedelta(days=10),
        updated_at=NOW - timedelta(days=1),
    )


def service(*apps: Application, store: Store | None = None, now: datetime = NOW) -> ReviewService:
    ids = iter(f"{n:032x}" for n in range(1, 100))
    return ReviewService(
        Reader(*apps), store or Store(), WorkingDayClock(), now=lambda: now, new_id=lambda: next(ids)
    )


def test_levels_scores_and_bad_levels() -> None:
    assert [level.score for level in ReviewLevel] == [5, 4, 3, 2, 1]
    assert [level.zh for level in ReviewLevel] == ["非常满意", "满意", "基本满意", "不满意", "非常不满意"]
    assert {level for level in ReviewLevel if level.is_bad} == {
        ReviewLevel.DISSATISFIED,
        ReviewLevel.VERY_DISSATISFIED,
    }


@pytest.mark.parametrize(
    "status", [ApplicationStatus.APPROVED, ApplicationStatus.REJECTED, ApplicationStatus.WITHDRAWN]
)
def test_the_applicant_rates_a_finished_application_once(status: ApplicationStatus) -> None:
    svc = service(application("a1", status))
    view = svc.submit(ALICE, "a1", ReviewLevel.SATISFIED, GOOD, "  办得很快  ")
    assert view.case is None
    assert view.review.comment == "办得很快"
    assert view.review.by == "alice"
    assert view.review.created_at == NOW
    with pytest.raises(Conflict) as second:
        svc.submit(ALICE, "a1", ReviewLevel.VERY_SATISFIED, GOOD)
    assert second.value.code == "already_reviewed"
    assert svc.get(ALICE, "a1").review.level == ReviewLevel.SATISFIED  # the first one stands


@pytest.mark.parametrize(
    "status",
    [
        ApplicationStatus.DRAFT,
        ApplicationStatus.SUBMITTED,
        ApplicationStatus.ACCEPTED,
        ApplicationStatus.CORRECTION_REQUESTED,
    ],
)
def test_no_review_before_completion(status: ApplicationStatus) -> None:
    with pytest.raises(Conflict) as refused:
        service(application("a1", status)).submit(ALICE, "a1", ReviewLevel.SATISFIED, GOOD)
    assert refused.value.code == "review_not_yet_possible"
    assert refused.value.extra["current"]["status"] == status.value
    assert refused.value.zh
    assert refused.value.en


def test_only_the_applicant_may_rate() -> None:
    svc = service(application("a1", ApplicationStatus.APPROVED))
    with pytest.raises(NotFound):  # someone else's application does not exist for bob
        svc.submit(BOB, "a1", ReviewLevel.SATISFIED, GOOD)
    with pytest.raises(Forbidden) as reviewer:
        svc.submit(REVIEWER, "a1", ReviewLevel.SATISFIED, GOOD)
    assert reviewer.value.code == "applicant_only"
    with pytest.raises(Unauthorized):
        svc.submit(Principal.anonymous(), "a1", ReviewLevel.SATISFIED, GOOD)
    with pytest.raises(NotFound):
        svc.submit(ALICE, "nope", ReviewLevel.SATISFIED, GOOD)


def test_reading_a_review() -> None:
    svc = service(
        application("a1", ApplicationStatus.APPROVED), application("a2", ApplicationStatus.APPROVED)
    )
    svc.submit(ALICE, "a1", ReviewLevel.VERY_SATISFIED, GOOD)
    assert svc.get(REVIEWER, "a1").review.level == ReviewLevel.VERY_SATISFIED
    with pytest.raises(NotFound):
        svc.get(BOB, "a1")
    with pytest.raises(NotFound) as none:
        svc.get(ALICE, "a2")
    assert none.value.code == "review_not_found"


def test_comment_too_long_is_refused() -> None:
    with pytest.raises(InvalidInput) as refused:
        service(application("a1", ApplicationStatus.APPROVED)).submit(
            ALICE, "a1", ReviewLevel.SATISFIED, GOOD, "长" * 1001
        )
    assert refused.value.details[0].field == "comment"


@pytest.mark.parametrize("level", [ReviewLevel.DISSATISFIED, ReviewLevel.VERY_DISSATISFIED])
def test_a_bad_review_opens_a_case_due_in_ten_working_days(level: ReviewLevel) -> None:
    store = Store()
    view = service(application("a1", ApplicationStatus.REJECTED), store=store).submit(
        ALICE, "a1", level, POOR, "材料要求前后不一致"
    )
    case = view.case
    assert case is not None
    assert view.review.case_id == case.id
    assert store.cases[case.id] == case
    assert case.status == CaseStatus.OPEN
    assert case.next_step == CaseStep.VERIFY
    assert case.review_level == level
    assert case.review_comment == "材料要求前后不一致"
    assert case.deadline.working_days == CASE_DEADLINE_WORKING_DAYS == 10
    # Sep 28 (make-up Sunday), 29, 30, Oct 9, 10, 11 (make-up Saturday), 13, 14, 15, 16: the
    # National Day week does not count, its make-up weekend days do.
    assert case.deadline.due == datetime(2025, 10, 16, 23, 59, 59, 999999, tzinfo=SHANGHAI)
    assert case.deadline.calendar_known


@pytest.mark.parametrize(
    "level", [ReviewLevel.VERY_SATISFIED, ReviewLevel.SATISFIED, ReviewLevel.BASICALLY_SATISFIED]
)
def test_other_levels_open_no_case(level: ReviewLevel) -> None:
    store = Store()
    view = service(application("a1", ApplicationStatus.APPROVED), store=store).submit(
        ALICE, "a1", level, GOOD
    )
    assert view.case is None
    assert view.review.case_id is None
    assert store.cases == {}


def opened_case() -> tuple[ReviewService, Store, str]:
    store = Store()
    svc = service(application("a1", ApplicationStatus.APPROVED), store=store)
    view = svc.submit(ALICE, "a1", ReviewLevel.VERY_DISSATISFIED, POOR)
    assert view.case is not None
    return svc, store, view.case.id


def test_case_steps_in_order_close_the_case() -> None:
    svc, _, case_id = opened_case()
    verified = svc.record_step(REVIEWER, case_id, CaseStep.VERIFY, "已电话联系申请人，情况属实")
    assert (verified.status, verified.version, verified.next_step) == (
        CaseStatus.VERIFIED,
        2,
        CaseStep.RECTIFY,
    )
    rectified = svc.record_step(REVIEWER, case_id, CaseStep.RECTIFY, "已统一办事指南中的材料说明")
    assert rectified.status == CaseStatus.RECTIFIED
    svc.now = lambda: NOW + timedelta(days=3)
    closed = svc.record_step(REVIEWER, case_id, CaseStep.RESPOND, "已向申请人反馈整改结果")
    assert closed.status == CaseStatus.CLOSED
    assert closed.closed_at == NOW + timedelta(days=3)
    assert closed.closed_on_time is True
    assert closed.response == "已向申请人反馈整改结果"
    assert [(s.step, s.by) for s in closed.steps] == [
        (CaseStep.VERIFY, "rev-1"),
        (CaseStep.RECTIFY, "rev-1"),
        (CaseStep.RESPOND, "rev-1"),
    ]
    assert not closed.overdue(NOW + timedelta(days=365))
    # The applicant sees the answer with the review.
    view = svc.get(ALICE, "a1")
    assert view.case is not None
    assert view.case.response == "已向申请人反馈整改结果"


def test_steps_out_of_order_are_conflicts() -> None:
    svc, store, case_id = opened_case()
    for step in (CaseStep.RECTIFY, CaseStep.RESPOND):
        with pytest.raises(Conflict) as early:
            svc.record_step(REVIEWER, case_id, step, "跳过核实")
        assert early.value.code == "illegal_case_step"
        assert early.value.extra["current"] == {"status": "open", "version": 1, "next_step": "verify"}
    svc.record_step(REVIEWER, case_id, CaseStep.VERIFY, "核实")
    with pytest.raises(Conflict):
        svc.record_step(REVIEWER, case_id, CaseStep.VERIFY, "再次核实")
    svc.record_step(REVIEWER, case_id, CaseStep.RECTIFY, "整改")
    svc.record_step(REVIEWER, case_id, CaseStep.RESPOND, "反馈")
    with pytest.raises(Conflict) as closed:
        svc.record_step(REVIEWER, case_id, CaseStep.RESPOND, "再次反馈")
    assert closed.value.extra["current"]["next_step"] is None
    assert store.cases[case_id].version == 4  # nothing written by the refused steps


def test_stale_version_is_a_conflict_and_steps_need_a_reviewer_and_a_note() -> None:
    svc, _, case_id = opened_case()
    with pytest.raises(Conflict) as stale:
        svc.record_step(REVIEWER, case_id, CaseStep.VERIFY, "核实", expected_version=2)
    assert stale.value.code == "case_changed"
    with pytest.raises(Forbidden):
        svc.record_step(ALICE, case_id, CaseStep.VERIFY, "我自己核实")
    with pytest.raises(InvalidInput) as empty:
        svc.record_step(REVIEWER, case_id, CaseStep.VERIFY, "   ")
    assert empty.value.details[0].field == "note"
    with pytest.raises(NotFound):
        svc.record_step(REVIEWER, "0" * 32, CaseStep.VERIFY, "核实")


def test_overdue_case_and_listing_by_deadline() -> None:
    store = Store()
    svc = service(
        application("a1", ApplicationStatus.APPROVED),
        application("a2", ApplicationStatus.APPROVED),
        store=store,
    )
    later = svc.submit(ALICE, "a1", ReviewLevel.DISSATISFIED, POOR).case
    svc.now = lambda: NOW - timedelta(days=7)
    earlier = svc.submit(ALICE, "a2", ReviewLevel.DISSATISFIED, POOR).case
    assert later is not None
    assert earlier is not None
    listed = svc.list_cases(REVIEWER)
    assert [c.id for c in listed.items] == [earlier.id, later.id]
    assert listed.next_cursor is None
    assert not later.overdue(later.deadline.due)
    assert later.overdue(later.deadline.due + timedelta(microseconds=1))
    with pytest.raises(Forbidden):
        svc.list_cases(ALICE)
    with pytest.raises(InvalidInput):
        svc.list_cases(REVIEWER, cursor="abc")
    assert [c.id for c in svc.list_cases(REVIEWER, CaseStatus.OPEN).items] == [earlier.id, later.id]
    assert svc.list_cases(REVIEWER, CaseStatus.CLOSED).items == []
    assert svc.get_case(REVIEWER, later.id) == later
    with pytest.raises(Forbidden):
        svc.get_case(ALICE, later.id)


def test_deadline_dates_are_utc_safe() -> None:
    # A review given late in the evening UTC is already the next day in Shanghai.
    evening_utc = datetime(2025, 9, 25, 17, 0, tzinfo=UTC)  # Sep 26 01:00 in Shanghai
    view = service(application("a1", ApplicationStatus.APPROVED), now=evening_utc).submit(
        ALICE, "a1", ReviewLevel.DISSATISFIED, POOR
    )
    assert view.case is not None
    assert view.case.deadline.due.astimezone(SHANGHAI).date().isoformat() == "2025-10-16"


def test_http_vocabularies_match_the_domain() -> None:
    from typing import get_args

    from onestop.http.routes_quality import CaseStatusCode, LevelCode, StepCode

    assert get_args(LevelCode) == tuple(level.value for level in ReviewLevel)
    assert get_args(StepCode) == tuple(step.value for step in CaseStep)
    assert get_args(CaseStatusCode) == tuple(status.value for status in CaseStatus)
