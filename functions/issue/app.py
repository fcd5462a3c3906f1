"""issue: ApplicationApproved → sealed e-licence; LicenceVersionRequested → renewed/changed version."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent, event_source
from aws_lambda_powertools.utilities.typing import LambdaContext
from onestop.aws.composition import licence_office
from onestop.observability import correlated, logger, metrics, tracer


@logger.inject_lambda_context(clear_state=True)
# The response stays out of the trace: it holds personal data and can outgrow a segment (64 KB).
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
@event_source(data_class=EventBridgeEvent)
def lambda_handler(event: EventBridgeEvent, context: LambdaContext) -> dict[str, Any]:
    # Routed by detail type (onestop.licences.issuer.EVENT_ROUTES). Errors propagate, an unrouted
    # detail type's too: EventBridge retries (RetryPolicy) and then dead-letters the event; the issue
    # itself is idempotent, so a retry completes a half-done issue or returns the same licence.
    detail = event.detail
    ids = {"application_id": detail.get("application_id"), "licence_id": detail.get("licence_id")}
    with correlated(event_id=event.get_id, **ids):
        return licence_office().handle(event.detail_type, detail)
