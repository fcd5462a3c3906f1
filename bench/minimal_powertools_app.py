"""The cold-start anchor: the least a Powertools HTTP function with our utilities imports.

bench/bench_coldstart.py imports this module in a fresh interpreter, side by side with each function's
handler module, in the same environment. It has what functions/api/app.py has, and nothing of
onestop: an `APIGatewayHttpResolver` with validation, one route that takes and returns a pydantic
model, a Logger, a Tracer and Metrics, and the handler decorated in the same order. Every utility is
constructed the way Powertools' documentation shows (`Tracer()` with its defaults: the X-Ray SDK is
imported at construction, and with tracing enabled every supported library is patched).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, Field

logger = Logger()
tracer = Tracer()
metrics = Metrics(namespace="Onestop")
app = APIGatewayHttpResolver(enable_validation=True)


class Greeting(BaseModel):
    """The request body."""

    name: str = Field(min_length=1, max_length=100)


class Reply(BaseModel):
    """The response body."""

    message: str


@app.post("/greetings")
@tracer.capture_method(capture_response=False)
def greet(greeting: Greeting) -> Reply:
    return Reply(message=f"hello, {greeting.name}")


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
