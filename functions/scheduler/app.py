"""Scheduler function: the working-day deadline sweep (hourly and daily); daily also yesterday's KPIs.

Invoked by the template's schedules with `{"sweep": "hourly"}` or `{"sweep": "daily"}`; returns the
counts. Wiring only: the work is in `onestop.quality.schedule`.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from onestop.applications.models import utcnow
from onestop.aws.composition import scheduled_runs
from onestop.observability import logger, metrics, tracer
from onestop.settings import get_settings


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # The dashboard and the "zero overdue" alarm select service=<this function's service name>.
    metrics.set_default_dimensions(service=get_settings().service_name or "scheduler")
    return scheduled_runs().run(str((event or {}).get("sweep", "")), utcnow())
