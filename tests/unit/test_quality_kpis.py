"""KPI figures on a seeded June 2025 (exact), the period rules, metrics and the text table."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from onestop.applications.clock import SHANGHAI, WorkingDayClock
from onestop.applications.models import Applicant, Application, ApplicationStatus, DeadlineInfo
from onestop.catalogue import load_catalogue
from onestop.errors import InvalidInput
from onestop.quality.kpis import (
    KpiFigures,
    KpiReport,
    Period,
    emit_metrics,
    kpi_report,
    may_have_been_returned,
    p90,
    render_table,
)
from onestop.quality.models import CaseStatus, Indicators, RectificationCase, Review, ReviewLevel

# Items of the shipped catalogue: category, online depth.
A = "outbound-investment-filing"  # other_power, IV
B = "technology-contract-registration"  # administrative_confirmation, IV
C = "refined-oil-retail-qualification"  # administrative_licensing, III
D = "auction-enterprise-establishment"  # administrative_licensing, IV
JUNE = Period.of(date(2025, 6, 1), date(2025, 6, 30))  # Jun 2 is the Dragon Boat holiday
NOW = datetime(2025, 7, 5, 10, 0, tzinfo=SHANGHAI)
S = ApplicationStatus


def t(month: int, day: int, hour: int = 9, minute: int = 0) -> datetime:
    return datetime(2025, month, day, hour, minute, tzinfo=SHANGHAI)


def due(month: int, day: int) -> DeadlineInfo:
    end = datetime(2025, month, day, 23, 59, 59, 999999, tzinfo=SHANGHAI)
    return DeadlineInfo(due=end, working_days=2, calendar_known=True)


def app(
    app_id: str,
    item: str,
    status: ApplicationStatus,
    version: int,
    *,
    submitted: datetime | None = None,
    accepted: datetime | None = None,
    decided: datetime | None = None,
    deadline: DeadlineInfo | None = None,
    acceptance_due: DeadlineInfo | None = None,
    updated: datetime | None = None,
    licence_id: str | None = None,
) -> Application:
    last = updated or decided or accepted or submitted or t(5, 1)
    return Application(
        id=app_id,
        item_code=item,
        item_name_zh=item,
        item_name_en=item,
        owner_sub="owner-" + app_id,
        applicant=Applicant(kind="enterprise", code="91440300MA5F00010X", name="示例公司"),
        status=status,
        version=version,
        created_at=(submitted or t(5, 1)) - timedelta(hours=1),
        updated_at=last,
        submitted_at=submitted,
        accepted_at=accepted,
        decided_at=decided,
        deadline=deadline,
        acceptance_due=acceptance_due,
        licence_id=licence_id,
    )


@dataclass
class Dataset:
    """June 2025 at the bureau, small enough to count by hand (expected figures in the tests)."""

    applications: list[Application]
    corrections: dict[str, list[datetime]]
    reviews: list[Review]
    cases: list[RectificationCase]
    licences: dict[str, str]  # application id → licence id claimed for it
    issued: set[str]  # licence ids issued (sealed and registered)


def june() -> Dataset:
    apps = [
        # A: approved on time (2 working days: Jun 4, 5), licence issued.
        app(
            "a1",
            A,
            S.APPROVED,
            4,
            submitted=t(6, 3),
            accepted=t(6, 3, 10),
            decided=t(6, 5, 15),
            deadline=due(6, 5),
        ),
        # A: submitted in May, accepted Jun 3, decided late on Jun 9 (4 working days); licence still issuing.
        app(
            "a2",
            A,
            S.APPROVED,
            4,
            submitted=t(5, 30),
            accepted=t(6, 3),
            decided=t(6, 9, 10),
            deadline=due(6, 5),
        ),
        # A: returned for correction Jun 9, resubmitted Jun 10, rejected on time (2 working days).
        app(
            "a3",
            A,
            S.REJECTED,
            6,
            submitted=t(6, 10),
            accepted=t(6, 10, 11),
            decided=t(6, 12, 16),
            deadline=due(6, 12),
        ),
        # A: waiting for a decision since Jun 20, due Jun 24: overdue.
        app("a4", A, S.ACCEPTED, 3, submitted=t(6, 20), accepted=t(6, 20, 10), deadline=due(6, 24)),
        # B: approved on time in 1 working day; no licence claimed yet.
        app(
            "b1",
            B,
            S.APPROVED,
            4,
            submitted=t(6, 16),
            accepted=t(6, 16, 10),
            decided=t(6, 17, 11),
            deadline=due(6, 17),
        ),
        # B: withdrawn the day it was submitted.
        app("b2", B, S.WITHDRAWN, 3, submitted=t(6, 18), updated=t(6, 18, 15)),
        # B: waiting for the applicant's correction since Jun 26 (clock paused: never overdue).
        app(
            "b3",
            B,
            S.CORRECTION_REQUESTED,
            3,
            submitted=t(6, 25),
            acceptance_due=due(6, 26),
            updated=t(6, 26),
        ),
        # C: everything in May: not part of June at all.
        app(
            "c1",
            C,
            S.APPROVED,
            4,
            submitted=t(5, 20),
            accepted=t(5, 21),
            decided=t(5, 30),
            deadline=due(5, 30),
        ),
        # C: approved on the last of 10 working days, licence issued (already on the application).
        app(
            "c2",
            C,
            S.APPROVED,
            4,
            submitted=t(6, 3),
            accepted=t(6, 4),
            decided=t(6, 18, 17),
            deadline=due(6, 18),
            licence_id="LIC-C2",
        ),
        # C: submitted Jun 27, acceptance due Jul 4: not overdue within June.
        app("c3", C, S.SUBMITTED, 2, submitted=t(6, 27), acceptance_due=due(7, 4)),
        # C: submitted Jun 16, acceptance due Jun 23, still not accepted: overdue.
        app("c4", C, S.SUBMITTED, 2, submitted=t(6, 16), acceptance_due=due(6, 23)),
        # D: accepted in May, due Jun 9, decided only on Jul 2: overdue during June, completed in July.
        app(
            "d1", D, S.APPROVED, 6, submitted=t(5, 23), accepted=t(5, 26), decided=t(7, 2), deadline=due(6, 9)
        ),
    ]
    corrections = {"a3": [t(6, 9, 14)], "b3": [t(6, 26)], "d1": [t(5, 22)]}
    indicators = Indicators(
        overall_satisfaction=4, efficiency=4, guidance_accuracy=4, convenience=4, platform_usability=4
    )

    def review(
        app_id: str, item: str, level: ReviewLevel, at: datetime, case_id: str | None = None
    ) -> Review:
        return Review(
            application_id=app_id,
            item_code=item,
            level=level,
            indicators=indicators,
            by="x",
            created_at=at,
            case_id=case_id,
        )

    reviews = [
        review("a1", A, ReviewLevel.VERY_SATISFIED, t(6, 6)),
        review("a3", A, ReviewLevel.DISSATISFIED, t(6, 13), "case-a3"),
        review("b1", B, ReviewLevel.SATISFIED, t(6, 18)),
        review("c1", C, ReviewLevel.BASICALLY_SATISFIED, t(6, 2)),
        review("old", A, ReviewLevel.VERY_DISSATISFIED, t(5, 31, 23, 59), "case-old"),  # May in Shanghai
    ]

    def case(
        case_id: str, app_id: str, item: str, status: CaseStatus, deadline: DeadlineInfo
    ) -> RectificationCase:
        return RectificationCase(
            id=case_id,
            application_id=app_id,
            item_code=item,
            review_level=ReviewLevel.DISSATISFIED,
            status=status,
            deadline=deadline,
            opened_at=t(6, 13),
            updated_at=t(6, 13),
        )

    cases = [
        case("case-a3", "a3", A, CaseStatus.OPEN, due(6, 27)),  # overdue now (Jul 5)
        case("case-old", "old", B, CaseStatus.VERIFIED, due(7, 10)),
    ]
    licences = {"a1": "LIC-A1", "a2": "LIC-A2", "c2": "LIC-C2"}
    return Dataset(apps, corrections, reviews, cases, licences, {"LIC-A1", "LIC-C2"})


@dataclass
class Source:
    """KpiSource over a Dataset, recording what was read."""

    data: Dataset
    correction_reads: list[str] = field(default_factory=list)
    licence_reads: list[str] = field(default_factory=list)
    filters: dict[str, Any] = field(default_factory=dict)

    def applications(
        self, status: ApplicationStatus, *, updated_since: datetime | None
    ) -> Iterable[Application]:
        self.filters[status.value] = updated_since
        return [
            a
            for a in self.data.applications
            if a.status == status and (updated_since is None or a.updated_at >= updated_since)
        ]

    def correction_times(self, application_id: str) -> list[datetime]:
        self.correction_reads.append(application_id)
        return self.data.corrections.get(application_id, [])

    def reviews_between(self, start: datetime, end: datetime) -> Iterable[Review]:
        return self.data.reviews  # the report must keep only the period's own

    def unclosed_cases(self) -> list[RectificationCase]:
        return [c for c in self.data.cases if c.status != CaseStatus.CLOSED]

    def issued_licences(self, applications: Sequence[Application]) -> set[str]:
        self.licence_reads.extend(a.id for a in applications)
        return {a.id for a in applications if self.data.licences.get(a.id) in self.data.issued}


def report(item: str | None = None, source: Source | None = None) -> KpiReport:
    return kpi_report(
        source or Source(june()), load_catalogue(), WorkingDayClock(), JUNE, now=NOW, item_code=item
    )


def reviews(five: int, four: int, three: int, two: int, one: int) -> dict[str, int]:
    return dict(zip([level.value for level in ReviewLevel], [five, four, three, two, one], strict=True))


def test_totals_of_june() -> None:
    totals = report().totals
    assert totals == KpiFigures(
        received=9,  # a1 a3 a4 b1 b2 b3 c2 c3 c4
        accepted=6,  # a1 a2 a3 a4 b1 c2
        completed=5,  # a1 a2 a3 b1 c2
        approved=4,
        rejected=1,
        withdrawn=1,
        on_time=4,
        late=1,  # a2
        on_time_rate=0.8,
        overdue=4,  # a2 (decided late), a4 and c4 (still waiting), d1 (late all June)
        returned_for_correction=2,  # a3, b3 (d1's was in May)
        licences_issued=2,  # a1, c2 (a2's is still being issued, b1 has none)
        avg_working_days_to_decision=3.8,  # (2 + 4 + 2 + 1 + 10) / 5
        p90_working_days_to_decision=10,  # nearest rank: the 5th of 5
        reviews=reviews(1, 1, 1, 1, 0),
        reviews_total=4,
        bad_reviews=1,
        satisfaction_rate=0.75,
        open_bad_review_cases=2,
        overdue_bad_review_cases=1,
        online_share=1.0,
        fully_online_share=0.6667,  # c2 c3 c4 are depth III
        clock_pauses={"correction": 0, "hearing": 0, "expert_review": 0, "onsite_inspection": 0},
        extensions=0,
    )


def test_per_item_and_per_category() -> None:
    result = report()
    items = {i.code: i for i in result.by_item}
    assert [i.code for i in result.by_item] == [C, D, B, A]  # catalogue order
    a, b, c, d = items[A].figures, items[B].figures, items[C].figures, items[D].figures
    assert (a.received, a.accepted, a.completed, a.on_time, a.late, a.overdue) == (3, 4, 3, 2, 1, 2)
    assert a.on_time_rate == 0.6667
    assert (a.avg_working_days_to_decision, a.p90_working_days_to_decision) == (2.67, 4)
    assert (a.returned_for_correction, a.licences_issued, a.rejected) == (1, 1, 1)
    assert a.reviews == reviews(1, 0, 0, 1, 0)
    assert (a.open_bad_review_cases, a.overdue_bad_review_cases) == (1, 1)
    assert (b.received, b.completed, b.withdrawn, b.returned_for_correction, b.overdue) == (3, 1, 1, 1, 0)
    assert (b.p90_working_days_to_decision, b.open_bad_review_cases, b.overdue_bad_review_cases) == (1, 1, 0)
    assert (c.received, c.accepted, c.completed, c.overdue, c.licences_issued) == (3, 1, 1, 1, 1)
    assert (c.online_share, c.fully_online_share) == (1.0, 0.0)
    assert c.reviews == reviews(0, 0, 1, 0, 0)  # c1's review came in June although c1 finished in May
    assert (d.received, d.completed, d.overdue, d.on_time_rate) == (0, 0, 1, None)
    assert items[C].category == "administrative_licensing"

    categories = {c.category: c for c in result.by_category}
    assert [c.category for c in result.by_category] == [
        "administrative_licensing",
        "administrative_confirmation",
        "other_power",
    ]
    lic = categories["administrative_licensing"].figures
    assert (lic.received, lic.completed, lic.overdue, lic.p90_working_days_to_decision) == (3, 1, 2, 10)
    assert categories["administrative_licensing"].name_zh == "行政许可"
    assert categories["other_power"].figures == a
    assert categories["administrative_confirmation"].figures == b


def test_only_possible_corrections_and_period_approvals_are_looked_up() -> None:
    source = Source(june())
    report(source=source)
    # a3 (version 6), b3 (waiting for correction), d1 (version 6): the others' versions prove they
    # were never returned. c1 was not even read (finished before the period).
    assert sorted(source.correction_reads) == ["a3", "b3", "d1"]
    assert sorted(source.licence_reads) == ["a1", "a2", "b1", "c2"]
    since = JUNE.start_at - timedelta(days=1)
    assert source.filters == {
        "submitted": None,
        "accepted": None,
        "correction_requested": None,
        "approved": since,
        "rejected": since,
        "withdrawn": since,
    }


def test_one_item() -> None:
    only_a = report(A)
    assert [i.code for i in only_a.by_item] == [A]
    assert only_a.totals == only_a.by_item[0].figures
    assert only_a.totals.received == 3
    assert only_a.item == A
    quiet = report("franchise-filing-enquiry")  # nothing happened: still listed, all zero
    assert [i.code for i in quiet.by_item] == ["franchise-filing-enquiry"]
    assert quiet.totals.received == 0
    assert quiet.totals.on_time_rate is None


def test_a_case_counts_until_closed() -> None:
    data = june()
    data.cases[0] = data.cases[0].model_copy(update={"status": CaseStatus.CLOSED, "closed_at": t(7, 1)})
    assert report(source=Source(data)).totals.open_bad_review_cases == 1


def test_a_period_that_has_not_ended_counts_up_to_now() -> None:
    mid_june = datetime(2025, 6, 10, 12, tzinfo=SHANGHAI)
    early = kpi_report(Source(june()), load_catalogue(), WorkingDayClock(), JUNE, now=mid_june)
    assert early.as_of == mid_june
    # As of Jun 10 noon: a2 (decided late on Jun 9) and d1 (due Jun 9) were overdue; a4, c4 not yet due.
    assert early.totals.overdue == 2


def test_may_have_been_returned() -> None:
    data = {a.id: a for a in june().applications}
    assert [k for k, a in sorted(data.items()) if may_have_been_returned(a)] == ["a3", "b3", "d1"]
    withdrawn_after_correction = data["b2"].model_copy(update={"version": 4})
    assert may_have_been_returned(withdrawn_after_correction)


def test_p90_nearest_rank() -> None:
    assert p90([]) is None
    assert p90([7]) == 7
    assert p90([1, 2]) == 2
    assert p90(range(1, 11)) == 9
    assert p90(range(1, 12)) == 10
    assert p90([5, 1, 4, 2, 3]) == 5


def test_period_rules() -> None:
    assert JUNE.start_at == datetime(2025, 6, 1, tzinfo=SHANGHAI)
    assert JUNE.end_at == datetime(2025, 7, 1, tzinfo=SHANGHAI)
    assert JUNE.contains(datetime(2025, 6, 30, 23, 59, tzinfo=SHANGHAI))
    assert not JUNE.contains(datetime(2025, 6, 30, 16, 0, tzinfo=SHANGHAI) + timedelta(hours=8))
    with pytest.raises(InvalidInput) as reversed_period:
        Period.of(date(2025, 6, 2), date(2025, 6, 1))
    assert reversed_period.value.details[0].code == "period_reversed"
    with pytest.raises(InvalidInput) as long_period:
        Period.of(date(2024, 1, 1), date(2025, 1, 1))
    assert long_period.value.details[0].code == "period_too_long"
    assert Period.of(date(2024, 1, 1), date(2024, 12, 31)).end == date(2024, 12, 31)  # 366 days


def test_metrics_carry_the_totals() -> None:
    added = emit_metrics(report())
    assert added["ApplicationsReceived"] == 9
    assert added["OnTimeRate"] == 80.0
    assert added["DecisionWorkingDaysP90"] == 10
    assert added["ApplicationsOverdueInPeriod"] == 4
    assert added["LicencesIssued"] == 2
    assert added["ReviewsDissatisfied"] == 1
    assert added["ReviewsVeryDissatisfied"] == 0
    assert added["DeadlineExtensions"] == 0
    assert added["ClockPausesOnsiteInspection"] == 0
    empty = kpi_report(
        Source(Dataset([], {}, [], [], {}, set())), load_catalogue(), WorkingDayClock(), JUNE, now=NOW
    )
    assert "OnTimeRate" not in emit_metrics(empty)  # no decision: no data point, not a false 0 %


def test_text_table() -> None:
    text = render_table(report())
    lines = text.splitlines()
    assert lines[0].startswith("服务质量统计 Service KPIs 2025-06-01 – 2025-06-30")
    body = lines[2:]
    widths = {sum(2 if ord(ch) > 0x2E7F else 1 for ch in line) for line in body if not line.startswith("-")}
    assert len(widths) == 1  # every row lines up, Chinese names included
    total = lines[-1]
    assert total.startswith("合计 Total")
    assert total.split()[2:] == [
        "9",
        "6",
        "5",
        "80.0%",
        "4",
        "2",
        "1",
        "2",
        "3.8",
        "10",
        "1/1/1/1/0",
        "2",
        "100.0%",
    ]
    assert any(line.startswith("[行政许可]") for line in lines)
    english = render_table(report(), lang="en")
    assert "Outbound investment filing" not in text  # zh table uses the Chinese names
    assert any(line.startswith("[Administrative licensing]") for line in english.splitlines())


def test_a_report_read_back_from_json_renders_the_same() -> None:
    # `make demo` fetches GET /stats and prints the table from the JSON reply.
    original = report()
    back = KpiReport.model_validate_json(original.model_dump_json())
    assert back == original
    assert render_table(back) == render_table(original)
