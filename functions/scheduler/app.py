"""Scheduler function: the working-day deadline sweep (hourly and daily); daily also yesterday's KPIs.

Invoked by the template's schedules with `{"sweep": "hourly"}` or `{"sweep": "daily"}`; returns the
counts. Wiring only: the work is in `onestop.quality`.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from onestop.applications.clock import SHANGHAI, WorkingDayClock
from onestop.applications.models import utcnow
from onestop.applications.outbox import drain_outbox
from onestop.aws.application_repository import DynamoApplicationRepository
from onestop.aws.events import EventBridgePublisher
from onestop.aws.quality_repository import DynamoQualityRepository
from onestop.catalogue import load_catalogue
from onestop.observability import logger, metrics, tracer
from onestop.quality.kpis import Period, emit_metrics, kpi_report, render_table
from onestop.quality.sweep import DeadlineSweep
from onestop.settings import get_settings

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


def run(kind: str, now: datetime) -> dict[str, Any]:
    """One sweep as of `now`; the daily one also reports yesterday's KPIs (Asia/Shanghai)."""
    if kind not in SWEEPS:
        raise ValueError(f"unknown sweep {kind!r}: expected one of {', '.join(SWEEPS)}")
    settings = get_settings()
    repository = DynamoQualityRepository(settings.table_name)
    clock = WorkingDayClock()
    publisher = EventBridgePublisher(settings.event_bus_name, settings.event_source)
    owed = drain_outbox(DynamoApplicationRepository(settings.table_name), publisher)
    metrics.add_metric(name="EventsRepublished", unit="Count", value=owed.republished)
    metrics.add_metric(name="EventsStillOwed", unit="Count", value=owed.still_owed)
    result = DeadlineSweep(repository, publisher, clock, cases=repository).run(now)
    counts: dict[str, Any] = {
        "sweep": kind,
        "events_republished": owed.republished,
        "events_still_owed": owed.still_owed,
        **result.as_dict(),
    }
    if kind == "daily":
        yesterday = now.astimezone(SHANGHAI).date() - timedelta(days=1)
        report = kpi_report(repository, load_catalogue(), clock, Period.of(yesterday, yesterday), now=now)
        emit_metrics(report)
        totals = report.totals.model_dump()
        counts["kpi_date"] = yesterday.isoformat()
        counts.update({f"kpi_{name}": totals[name] for name in KPI_COUNTS})
        logger.info("daily KPIs", extra={"kpi_date": yesterday.isoformat(), "table": render_table(report)})
    return counts


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # The dashboard and the "zero overdue" alarm select service=<this function's service name>.
    metrics.set_default_dimensions(service=os.environ.get("POWERTOOLS_SERVICE_NAME") or "scheduler")
    return run(str((event or {}).get("sweep", "")), utcnow())
