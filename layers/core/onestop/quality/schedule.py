"""The scheduler function's runs: hourly and daily, the owed events re-published and the working-day
deadline sweep; daily also yesterday's KPI report (Asia/Shanghai), emitted as metrics."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from onestop.applications.assignment import AssignmentStore
from onestop.applications.clock import SHANGHAI, WorkingDayClock
from onestop.catalogue import Catalogue
from onestop.observability import logger, metrics
from onestop.outbox import Outbox, drain
from onestop.ports import EventPublisher

from .kpis import Period, emit_metrics, kpi_report, render_table
from .ports import KpiSource, SweepStore
from .sweep import CaseReader, DeadlineSweep

SWEEPS = ("hourly", "daily")
# Totals of yesterday's KPI report returned by the daily run (all of them go out as metrics).
KPI_COUNTS = (
    "received",
    "accepted",
    "completed",
    "on_time",
    "late",
    "overdue",
    "returned_for_correction",
    "rejected",
    "licences_issued",
    "reviews_total",
    "bad_reviews",
    "open_bad_review_cases",
)


class QualityStore(SweepStore, KpiSource, CaseReader, Protocol):
    """What the runs read and flag (`DynamoQualityRepository` is all three)."""


@dataclass(frozen=True)
class ScheduledRuns:
    """The scheduled work, over its stores; `run(kind, now)` returns the counts."""

    quality: QualityStore
    outbox: Outbox
    publisher: EventPublisher
    # The current catalogue version, read at each daily report (an admin's edit shows the next day
    # without a new container).
    catalogue: Callable[[], Catalogue]
    clock: WorkingDayClock = field(default_factory=WorkingDayClock)
    escalations: AssignmentStore | None = None  # escalates at-risk applications to the admins

    def run(self, kind: str, now: datetime) -> dict[str, Any]:
        """One sweep as of `now`; the daily one also reports yesterday's KPIs (Asia/Shanghai)."""
        if kind not in SWEEPS:
            raise ValueError(f"unknown sweep {kind!r}: expected one of {', '.join(SWEEPS)}")
        owed = drain(self.outbox, self.publisher)
        metrics.add_metric(name="EventsRepublished", unit="Count", value=owed.republished)
        metrics.add_metric(name="EventsStillOwed", unit="Count", value=owed.still_owed)
        result = DeadlineSweep(
            self.quality, self.publisher, self.clock, cases=self.quality, escalations=self.escalations
        ).run(now)
        counts: dict[str, Any] = {
            "sweep": kind,
            "events_republished": owed.republished,
            "events_still_owed": owed.still_owed,
            **result.as_dict(),
        }
        if kind == "daily":
            counts.update(self._yesterdays_kpis(now))
        return counts

    def _yesterdays_kpis(self, now: datetime) -> dict[str, Any]:
        yesterday = now.astimezone(SHANGHAI).date() - timedelta(days=1)
        report = kpi_report(
            self.quality, self.catalogue(), self.clock, Period.of(yesterday, yesterday), now=now
        )
        emit_metrics(report)
        totals = report.totals.model_dump()
        logger.info("daily KPIs", extra={"kpi_date": yesterday.isoformat(), "table": render_table(report)})
        return {"kpi_date": yesterday.isoformat(), **{f"kpi_{name}": totals[name] for name in KPI_COUNTS}}
