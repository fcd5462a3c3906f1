"""issue: ApplicationApproved → sealed e-licence; LicenceVersionRequested → renewed/changed version."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent, event_source
from aws_lambda_powertools.utilities.typing import LambdaContext
from onestop.aws.composition import licence_issuer
from onestop.observability import logger, metrics, tracer


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_source(data_class=EventBridgeEvent)
def lambda_handler(event: EventBridgeEvent, context: LambdaContext) -> dict[str, Any]:
    # Errors propagate: EventBridge retries (RetryPolicy) and then dead-letters the event; the
    # issue itself is idempotent, so a retry completes a half-done issue or returns the same licence.
    if event.detail_type == "LicenceVersionRequested":
        renewed = licence_issuer().new_version(dict(event.detail))
        metrics.add_metric(name="LicenceVersionIssued", unit="Count", value=1)
        return {"issued": True, "licence_id": renewed.licence_id, "supersedes": renewed.supersedes}
    record = licence_issuer().issue(dict(event.detail))
    if record is None:
        logger.info("item issues no licence", extra={"application": event.detail.get("application_id")})
        return {"issued": False}
    metrics.add_metric(name="LicenceIssued", unit="Count", value=1)
    logger.info("licence issued", extra={"licence_id": record.licence_id})
    return {"issued": True, "licence_id": record.licence_id, "status": record.status.value}
