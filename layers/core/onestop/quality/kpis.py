"""Service KPIs for a period, per item, per category and in total; as JSON, EMF metrics and a text table.

Definitions (a period is whole days in Asia/Shanghai, both ends included):
- received: applications (last) submitted in the period; accepted: accepted (受理) in the period;
- completed: decided (approved or rejected) in the period; withdrawn: withdrawn in the period;
- on time: completed no later than the decision deadline; on-time rate = on time / completed;
- overdue: applications that were past a running deadline at some moment of the period (up to now):
  waiting for acceptance past the notice period, waiting for a decision past the promised limit, or
  decided in the period after it. Time waiting for the applicant's correction (补正) never counts;
- returned for correction: applications sent back for correction (补正) in the period;
- licences issued: applications approved in the period whose e-licence has been issued;
- working days to decision: from acceptance to decision on the working-day clock (average, p90 by
  the nearest-rank method);
- reviews: 好差评 given in the period, by level; satisfaction rate = the three satisfied levels / all;
- open bad-review cases: rectification cases not yet closed, at the time of the report, whatever the
  period (a bad review counts against the KPIs until it is answered);
- clock pauses: pauses of the decision clock begun in the period, by procedure (补正 after
  acceptance, hearing, expert review, on-site inspection); extensions: extensions approved in the
  period. Deadlines are the effective ones (pauses given back, extension added), and the working
  days to decision leave out the days paused;
- online share: received applications of items that can be applied for online (online depth III or
  IV); fully-online share: depth IV (全程网办, zero visits) — the catalogue's promise, not a measurement;
- channels (`quality.channels`): received applications per channel as recorded on each application,
  and the measured online rate (online channels / recorded), unrecorded (older) ones apart.

Access pattern (see `onestop.aws.quality_repository`): one query per application status on the
`ByStatusDeadline` index — the waiting statuses in full (the current workload), the finished ones
filtered to applications changed since the day before the period — then the audit events of only
those applications whose version shows they may have been returned for correction, reviews from
their per-month index partitions, unclosed cases from theirs, and licences by batch reads.
"""

from __future__ import annotations

import math
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from pydantic import BaseModel, ConfigDict, Field

from onestop.applications.clock import SHANGHAI, WorkingDayClock
from onestop.applications.models import Application, ApplicationStatus
from onestop.applications.pauses import PAUSE_PROCEDURES, open_pause, paused_working_days
from onestop.applications.service import ONLINE_DEPTHS
from onestop.catalogue import Catalogue, Category
from onestop.catalogue.coverage import CatalogueCoverage
from onestop.errors import InvalidInput, NotFound, Reason
from onestop.observability import metrics

from .channels import ChannelFigures, channel_figures, channel_of_record, render_channels
from .corrections import MaterialCorrections
from .models import ReviewLevel
from .ports import KpiSource

MAX_PERIOD_DAYS = 366
# Finished applications are read only if changed since a day before the period: every event the
# report counts (submission, acceptance, correction, decision, withdrawal) moved `updated_at` to a
# time at or after itself. The day of margin absorbs time-zone and sub-second text comparisons.
UPDATED_MARGIN = timedelta(days=1)

WAITING = (ApplicationStatus.SUBMITTED, ApplicationStatus.ACCEPTED, ApplicationStatus.CORRECTION_REQUESTED)
FINISHED = (ApplicationStatus.APPROVED, ApplicationStatus.REJECTED, ApplicationStatus.WITHDRAWN)
SATISFIED_LEVELS = (ReviewLevel.VERY_SATISFIED, ReviewLevel.SATISFIED, ReviewLevel.BASICALLY_SATISFIED)
UNKNOWN_CATEGORY = "unknown"

# The version an application has on the shortest path to its status (every transition adds one).
# Being returned for correction adds at least two transitions (request_correction, then resubmit),
# so an application at or below this version was never returned and its audit trail need not be read.
# A withdrawn application may have been withdrawn while waiting for correction (version 4).
_SHORTEST_VERSION = {
    ApplicationStatus.DRAFT: 1,
    ApplicationStatus.SUBMITTED: 2,
    ApplicationStatus.ACCEPTED: 3,
    ApplicationStatus.APPROVED: 4,
    ApplicationStatus.REJECTED: 4,
    ApplicationStatus.WITHDRAWN: 3,
}


@dataclass(frozen=True)
class Period:
    """Whole days in Asia/Shanghai, `start` to `end` inclusive."""

    start: date
    end: date

    @classmethod
    def of(cls, start: date, end: date) -> Period:
        """A checked period: `end` not before `start`, at most `MAX_PERIOD_DAYS` long."""
        problems: list[Reason] = []
        if end < start:
            problems.append(
                Reason(
                    "period_reversed",
                    "结束日期不能早于开始日期。",
                    "The end date is before the start date.",
                    "to",
                )
            )
        elif (end - start).days + 1 > MAX_PERIOD_DAYS:
            problems.append(
                Reason(
                    "period_too_long",
                    f"统计期间最长 {MAX_PERIOD_DAYS} 天，请缩短。",
                    f"A period is at most {MAX_PERIOD_DAYS} days; choose a shorter one.",
                    "to",
                )
            )
        if problems:
            raise InvalidInput("invalid_period", "统计期间有误。", "The period is not valid.", problems)
        return cls(start, end)

    @property
    def start_at(self) -> datetime:
        return datetime.combine(self.start, time.min, tzinfo=SHANGHAI)

    @property
    def end_at(self) -> datetime:
        """The first moment after the period."""
        return datetime.combine(self.end + timedelta(days=1), time.min, tzinfo=SHANGHAI)

    def contains(self, moment: datetime | None) -> bool:
        return moment is not None and self.start_at <= moment < self.end_at


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True, defer_build=True)


class KpiFigures(_Out):
    """The figures of one item, one category or the total."""

    received: int = 0
    accepted: int = 0
    completed: int = 0
    approved: int = 0
    rejected: int = 0
    withdrawn: int = 0
    on_time: int = 0
    late: int = 0
    on_time_rate: float | None = None
    overdue: int = 0
    returned_for_correction: int = 0
    licences_issued: int = 0
    avg_working_days_to_decision: float | None = None
    p90_working_days_to_decision: int | None = None
    reviews: dict[str, int]
    reviews_total: int = 0
    bad_reviews: int = 0
    satisfaction_rate: float | None = None
    open_bad_review_cases: int = 0
    overdue_bad_review_cases: int = 0
    # The catalogue's promise (items of online depth III/IV; IV), not the measured rate (`channels`).
    online_share: float | None = Field(default=None, description="received whose item is III/IV online")
    fully_online_share: float | None = Field(default=None, description="received whose item is IV")
    clock_pauses: dict[str, int] = Field(default_factory=dict, description="pauses begun, by procedure")
    extensions: int = 0


class ItemKpis(_Out):
    code: str
    name_zh: str
    name_en: str
    category: str
    figures: KpiFigures


class CategoryKpis(_Out):
    category: str
    name_zh: str
    name_en: str
    figures: KpiFigures


class KpiReport(_Out):
    """KPIs of one period (optionally one item)."""

    from_date: date
    to_date: date
    item: str | None = None
    as_of: datetime
    totals: KpiFigures
    by_item: list[ItemKpis]
    by_category: list[CategoryKpis]
    # The "zero error" figure: reviewers' corrections of what was read, per material type (all items;
    # None in a one-item report: materials are indexed by month, not by item).
    materials: MaterialCorrections | None = None
    # Received applications per channel and the measured online rate (`quality.channels`).
    channels: ChannelFigures | None = None
    # The catalogue's coverage of the bureau's listed items per category (`catalogue.coverage`).
    coverage: CatalogueCoverage | None = None


def p90(values: Iterable[int]) -> int | None:
    """The 90th percentile by the nearest-rank method (the smallest value ≥ 90 % of the values)."""
    ordered = sorted(values)
    if not ordered:
        return None
    return ordered[math.ceil(0.9 * len(ordered)) - 1]


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


@dataclass
class _Tally:
    received: int = 0
    accepted: int = 0
    approved: int = 0
    rejected: int = 0
    withdrawn: int = 0
    on_time: int = 0
    late: int = 0
    overdue: int = 0
    returned_for_correction: int = 0
    licences_issued: int = 0
    online: int = 0
    fully_online: int = 0
    open_cases: int = 0
    overdue_cases: int = 0
    durations: list[int] = field(default_factory=list)
    reviews: Counter[ReviewLevel] = field(default_factory=Counter)
    pauses: Counter[str] = field(default_factory=Counter)
    extensions: int = 0

    def merge(self, other: _Tally) -> None:
        for name in self.__dataclass_fields__:
            mine = getattr(self, name)
            if isinstance(mine, int):
                setattr(self, name, mine + getattr(other, name))
        self.durations.extend(other.durations)
        self.reviews.update(other.reviews)
        self.pauses.update(other.pauses)

    @property
    def active(self) -> bool:
        counts = [getattr(self, n) for n in self.__dataclass_fields__ if isinstance(getattr(self, n), int)]
        return any(counts) or bool(self.reviews) or bool(self.pauses)

    def figures(self) -> KpiFigures:
        completed = self.approved + self.rejected
        total_reviews = sum(self.reviews.values())
        return KpiFigures(
            received=self.received,
            accepted=self.accepted,
            completed=completed,
            approved=self.approved,
            rejected=self.rejected,
            withdrawn=self.withdrawn,
            on_time=self.on_time,
            late=self.late,
            on_time_rate=_ratio(self.on_time, completed),
            overdue=self.overdue,
            returned_for_correction=self.returned_for_correction,
            licences_issued=self.licences_issued,
            avg_working_days_to_decision=(
                round(sum(self.durations) / len(self.durations), 2) if self.durations else None
            ),
            p90_working_days_to_decision=p90(self.durations),
            reviews={level.value: self.reviews[level] for level in ReviewLevel},
            reviews_total=total_reviews,
            bad_reviews=sum(n for level, n in self.reviews.items() if level.is_bad),
            satisfaction_rate=_ratio(sum(self.reviews[lv] for lv in SATISFIED_LEVELS), total_reviews),
            open_bad_review_cases=self.open_cases,
            overdue_bad_review_cases=self.overdue_cases,
            online_share=_ratio(self.online, self.received),
            fully_online_share=_ratio(self.fully_online, self.received),
            clock_pauses={p: self.pauses[p] for p in PAUSE_PROCEDURES},
            extensions=self.extensions,
        )


def may_have_been_returned(application: Application) -> bool:
    """False only when the version proves the application was never returned for correction."""
    status = ApplicationStatus(application.status)
    if status == ApplicationStatus.CORRECTION_REQUESTED:
        return True
    return application.version > _SHORTEST_VERSION[status]


def overdue_in(application: Application, period: Period, as_of: datetime) -> bool:
    """Whether a running deadline of the application had passed at some moment of the period up to `as_of`."""
    if as_of <= period.start_at:
        return False
    status = ApplicationStatus(application.status)
    if status == ApplicationStatus.SUBMITTED and application.acceptance_due is not None:
        return application.acceptance_due.due < as_of
    deadline = application.deadline
    if deadline is None:
        return False
    if status == ApplicationStatus.ACCEPTED:
        pause = open_pause(application)  # a paused clock was late only if late before it paused
        return deadline.due < (min(as_of, pause.started_at) if pause is not None else as_of)
    if status in (ApplicationStatus.APPROVED, ApplicationStatus.REJECTED) and application.decided_at:
        return deadline.due < as_of and application.decided_at > max(deadline.due, period.start_at)
    return False


class _Report:
    def __init__(self, source: KpiSource, catalogue: Catalogue, clock: WorkingDayClock) -> None:
        self.source = source
        self.catalogue = catalogue
        self.clock = clock
        self.tallies: dict[str, _Tally] = {}
        self.channels: Counter[str] = Counter()

    def tally(self, item_code: str) -> _Tally:
        return self.tallies.setdefault(item_code, _Tally())

    def depth(self, item_code: str) -> str | None:
        try:
            return self.catalogue.item(item_code).online_depth
        except NotFound:
            return None

    def application(self, app: Application, period: Period, as_of: datetime) -> bool:
        """Count one application; True when it was approved in the period."""
        t = self.tally(app.item_code)
        status = ApplicationStatus(app.status)
        if period.contains(app.submitted_at):
            t.received += 1
            self.channels[channel_of_record(app.channel)] += 1
            depth = self.depth(app.item_code)
            # A retired item is no longer in the catalogue; its application was made online all the same.
            t.online += depth is None or depth in ONLINE_DEPTHS
            t.fully_online += depth == "IV"
        if period.contains(app.accepted_at):
            t.accepted += 1
        approved = False
        decided = status in (ApplicationStatus.APPROVED, ApplicationStatus.REJECTED)
        if decided and app.decided_at is not None and period.contains(app.decided_at):
            approved = status == ApplicationStatus.APPROVED
            t.approved += approved
            t.rejected += not approved
            if app.deadline is not None and app.decided_at > app.deadline.due:
                t.late += 1
            else:
                t.on_time += 1
            started = app.accepted_at or app.submitted_at
            if started is not None:
                elapsed = self.clock.working_days_between(started, app.decided_at)
                t.durations.append(max(0, elapsed - paused_working_days(app)))  # paused days not counted
        for pause in app.clock_pauses:
            t.pauses[pause.procedure] += period.contains(pause.started_at)
        extension = app.extension
        if extension is not None and extension.status == "approved":
            t.extensions += period.contains(extension.decided_at)
        if status == ApplicationStatus.WITHDRAWN and period.contains(app.updated_at):
            t.withdrawn += 1
        t.overdue += overdue_in(app, period, as_of)
        if may_have_been_returned(app) and any(
            period.contains(at) for at in self.source.correction_times(app.id)
        ):
            t.returned_for_correction += 1
        return approved


def kpi_report(
    source: KpiSource,
    catalogue: Catalogue,
    clock: WorkingDayClock,
    period: Period,
    *,
    now: datetime,
    item_code: str | None = None,
) -> KpiReport:
    """The KPIs of `period` as of `now` (only `item_code` when given)."""
    # The last instant of the period (or now): a deadline due at the end of the period's last day
    # has not been missed within the period.
    as_of = min(now, period.end_at - timedelta(microseconds=1))
    report = _Report(source, catalogue, clock)
    since = period.start_at - UPDATED_MARGIN
    approved: list[Application] = []
    reads = [(s, None) for s in WAITING] + [(s, since) for s in FINISHED]
    for status, updated_since in reads:
        for app in source.applications(status, updated_since=updated_since):
            if item_code is not None and app.item_code != item_code:
                continue
            if report.application(app, period, as_of):
                approved.append(app)
    issued = source.issued_licences(approved) if approved else set()
    for app in approved:
        report.tally(app.item_code).licences_issued += app.id in issued
    for review in source.reviews_between(period.start_at, period.end_at):
        if (item_code is None or review.item_code == item_code) and period.contains(review.created_at):
            report.tally(review.item_code).reviews[ReviewLevel(review.level)] += 1
    for case in source.unclosed_cases():
        if item_code is None or case.item_code == item_code:
            t = report.tally(case.item_code)
            t.open_cases += 1
            t.overdue_cases += case.overdue(now)
    if item_code is not None:
        report.tally(item_code)  # the item asked for is shown even when it had nothing
    assembled = _assemble(report, catalogue, period, as_of, item_code)
    return assembled.model_copy(update={"channels": channel_figures(report.channels)})


def _assemble(
    report: _Report, catalogue: Catalogue, period: Period, as_of: datetime, item_code: str | None
) -> KpiReport:
    order = {item.code: i for i, item in enumerate(catalogue.items)}
    codes = sorted(report.tallies, key=lambda c: (order.get(c, len(order)), c))
    by_item: list[ItemKpis] = []
    categories: dict[str, _Tally] = {}
    total = _Tally()
    for code in codes:
        tally = report.tallies[code]
        if not tally.active and code != item_code:
            continue
        try:
            item = catalogue.item(code)
            names, category = (item.name_zh, item.name_en), item.category.value
        except NotFound:
            names, category = (code, code), UNKNOWN_CATEGORY
        by_item.append(
            ItemKpis(
                code=code, name_zh=names[0], name_en=names[1], category=category, figures=tally.figures()
            )
        )
        categories.setdefault(category, _Tally()).merge(tally)
        total.merge(tally)
    category_order = [c.value for c in Category] + [UNKNOWN_CATEGORY]
    by_category = []
    for category in sorted(categories, key=category_order.index):
        if category == UNKNOWN_CATEGORY:
            zh, en = "已撤销事项", "Retired items"
        else:
            zh, en = Category(category).name_zh, Category(category).name_en
        by_category.append(
            CategoryKpis(category=category, name_zh=zh, name_en=en, figures=categories[category].figures())
        )
    return KpiReport(
        from_date=period.start,
        to_date=period.end,
        item=item_code,
        as_of=as_of,
        totals=total.figures(),
        by_item=by_item,
        by_category=by_category,
    )


# ----------------------------------------------------------------------------- metrics

# Metric name → (figure, unit). Counts are of the reported period (the daily run reports yesterday).
# The current overdue / at-risk / open-case gauges come from the sweep (ApplicationsOverdue, …).
METRICS: dict[str, tuple[str, str]] = {
    "ApplicationsReceived": ("received", "Count"),
    "ApplicationsAccepted": ("accepted", "Count"),
    "ApplicationsCompleted": ("completed", "Count"),
    "ApplicationsApproved": ("approved", "Count"),
    "ApplicationsRejected": ("rejected", "Count"),
    "ApplicationsWithdrawn": ("withdrawn", "Count"),
    "ApplicationsCompletedOnTime": ("on_time", "Count"),
    "ApplicationsCompletedLate": ("late", "Count"),
    "OnTimeRate": ("on_time_rate", "Percent"),
    "ApplicationsOverdueInPeriod": ("overdue", "Count"),
    "ApplicationsReturnedForCorrection": ("returned_for_correction", "Count"),
    "LicencesIssued": ("licences_issued", "Count"),
    "DecisionWorkingDaysAverage": ("avg_working_days_to_decision", "None"),
    "DecisionWorkingDaysP90": ("p90_working_days_to_decision", "None"),
    "ReviewsReceived": ("reviews_total", "Count"),
    "BadReviews": ("bad_reviews", "Count"),
    "SatisfactionRate": ("satisfaction_rate", "Percent"),
    "OnlineShare": ("online_share", "Percent"),
    "FullyOnlineShare": ("fully_online_share", "Percent"),
    "DeadlineExtensions": ("extensions", "Count"),
}


def emit_metrics(report: KpiReport) -> dict[str, float]:
    """Add the report's totals as EMF metrics (rates as percentages); returns what was added."""
    added: dict[str, float] = {}
    figures = report.totals.model_dump()
    for name, (figure, unit) in METRICS.items():
        value = figures[figure]
        if value is None:
            continue  # nothing to measure (e.g. no decision): no data point rather than a false zero
        number = float(value) * (100 if unit == "Percent" else 1)
        metrics.add_metric(name=name, unit=unit, value=number)
        added[name] = number
    for procedure, n in report.totals.clock_pauses.items():  # ClockPausesHearing, …
        name = "ClockPauses" + "".join(part.title() for part in procedure.split("_"))
        metrics.add_metric(name=name, unit="Count", value=n)
        added[name] = float(n)
    for level in ReviewLevel:
        name = "Reviews" + "".join(part.title() for part in level.value.split("_"))
        metrics.add_metric(name=name, unit="Count", value=report.totals.reviews[level.value])
        added[name] = float(report.totals.reviews[level.value])
    if report.channels is not None and report.channels.online_rate is not None:
        rate = report.channels.online_rate * 100
        metrics.add_metric(name="OnlineRateMeasured", unit="Percent", value=rate)
        added["OnlineRateMeasured"] = rate
    return added


# ----------------------------------------------------------------------------- text table


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int, right: bool) -> str:
    gap = " " * max(0, width - _width(text))
    return gap + text if right else text + gap


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def _num(value: float | int | None) -> str:
    if value is None:
        return "-"
    return f"{value:g}" if isinstance(value, float) else str(value)


_COLUMNS: list[tuple[str, str]] = [
    ("收件", "recv"),
    ("受理", "accpt"),
    ("办结", "done"),
    ("按时率", "on-time"),
    ("超期", "overdue"),
    ("补正", "corr"),
    ("不予许可", "reject"),
    ("发证", "lic"),
    ("平均工作日", "avg wd"),
    ("P90工作日", "p90 wd"),
    ("评价5/4/3/2/1", "reviews"),
    ("未结差评", "bad open"),
    ("承诺网办率", "promised"),  # the catalogue's promise (online depth); measured: the channels line
]


def _cells(f: KpiFigures) -> list[str]:
    reviews = "/".join(str(f.reviews[level.value]) for level in ReviewLevel)
    return [
        str(f.received),
        str(f.accepted),
        str(f.completed),
        _pct(f.on_time_rate),
        str(f.overdue),
        str(f.returned_for_correction),
        str(f.rejected),
        str(f.licences_issued),
        _num(f.avg_working_days_to_decision),
        _num(f.p90_working_days_to_decision),
        reviews,
        str(f.open_bad_review_cases),
        _pct(f.online_share),
    ]


def render_table(report: KpiReport, *, lang: str = "zh") -> str:
    """The report as a plain-text table (rows: items, categories, total), for `make demo` and logs."""
    rows: list[tuple[str, list[str]]] = []
    for item in report.by_item:
        rows.append((item.name_zh if lang == "zh" else item.name_en, _cells(item.figures)))
    for category in report.by_category:
        label = f"[{category.name_zh if lang == 'zh' else category.name_en}]"
        rows.append((label, _cells(category.figures)))
    rows.append(("合计 Total", _cells(report.totals)))
    head_zh = ["事项 Item", *(zh for zh, _ in _COLUMNS)]
    head_en = ["", *(en for _, en in _COLUMNS)]
    widths = [max(_width(h) for h in (head_zh[0], *(label for label, _ in rows)))]
    for i in range(len(_COLUMNS)):
        widths.append(max(_width(head_zh[i + 1]), _width(head_en[i + 1]), *(_width(r[1][i]) for r in rows)))

    def line(cells: list[str]) -> str:
        return "  ".join(_pad(c, w, right=i > 0) for i, (c, w) in enumerate(zip(cells, widths, strict=True)))

    title = (
        f"服务质量统计 Service KPIs {report.from_date.isoformat()} – {report.to_date.isoformat()}"
        f"{' · ' + report.item if report.item else ''}"
        f" (as of {report.as_of.astimezone(SHANGHAI):%Y-%m-%d %H:%M} Asia/Shanghai)"
    )
    rule = "-" * sum(widths) + "-" * 2 * (len(widths) - 1)
    out = [title, rule, line(head_zh), line(head_en), rule]
    out += [line([label, *cells]) for label, cells in rows[:-1]]
    out += [rule, line([rows[-1][0], *rows[-1][1]])]
    if report.channels is not None:
        out.insert(1, render_channels(report.channels))  # under the title: the table's rows stay rows
    return "\n".join(out)
