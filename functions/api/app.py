"""HTTP API function: catalogue, applications and review (routes in onestop.http)."""

from __future__ import annotations

import gc

# Cold start: the import makes the resolver, its middlewares and error mappings, which live as long as the
# container (the route modules follow on the first request for their paths: onestop.http.route_table);
# the cyclic collector, paused meanwhile, would traverse them again and again. Then frozen: the requests'
# collections skip them too (docs/decisions.md, "What a cold start imports").
_collecting = gc.isenabled()
gc.disable()

from typing import Any  # noqa: E402

from aws_lambda_powertools.logging import correlation_paths  # noqa: E402
from aws_lambda_powertools.utilities.typing import LambdaContext  # noqa: E402
from onestop.http.resolver import build_api  # noqa: E402
from onestop.observability import logger, metrics, tracer  # noqa: E402

app = build_api()

gc.freeze()
if _collecting:
    gc.enable()


# Each request's log lines carry its request id; nothing a previous request appended survives.
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
# The response stays out of the trace: it holds personal data and can outgrow a segment (64 KB).
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
