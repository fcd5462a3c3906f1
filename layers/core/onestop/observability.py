"""The one Logger, Tracer and Metrics used by every function and module.

The service name comes from POWERTOOLS_SERVICE_NAME, which template.yaml sets per function: passing
`service=` here would override it and put every metric under one `service` dimension, out of reach
of the dashboard and alarms that select by function.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger()
tracer = Tracer()
metrics = Metrics(namespace="Onestop")

# One X-Ray subsegment per adapter call (nothing is recorded while tracing is disabled, as in the
# tests and the local stack). Responses are left out: they hold applicants' personal data and can
# outgrow a trace segment; exceptions are recorded.
traced = tracer.capture_method(capture_response=False)

# The ids that tie log lines of one flow together (what an operator searches the logs by).
CORRELATION_KEYS = ("application_id", "licence_id", "case_id", "slot", "upload_id", "upload_key", "event_id")


@contextmanager
def correlated(**ids: str | None) -> Iterator[None]:
    """Every log line inside carries these ids (None values are left out); removed on the way out, so
    that the next record or request of a warm container does not inherit them."""
    keys = {k: v for k, v in ids.items() if v is not None}
    logger.append_keys(**keys)
    try:
        yield
    finally:
        logger.remove_keys(list(keys))
