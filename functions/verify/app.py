"""Public verify function: POST /verify (a licence PDF, or a photo of the printed licence),
GET /verify/{licence_id}, GET /trust, GET /status-lists/{type}."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from onestop.http.verify_api import build_verify_api
from onestop.observability import logger, metrics, tracer

app = build_verify_api()


# Each request's log lines carry its request id; nothing a previous request appended survives.
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
# The response stays out of the trace: it holds personal data and can outgrow a segment (64 KB).
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
