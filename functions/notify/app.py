"""notify: applicant notifications (SMS, e-mail, inbox) and escalations to admins, from bus events."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent, event_source
from aws_lambda_powertools.utilities.typing import LambdaContext
from onestop.aws.composition import notifier
from onestop.notifications.service import event_of
from onestop.observability import correlated, logger, metrics, tracer


@logger.inject_lambda_context(clear_state=True)
# The response stays out of the trace: it names what was sent to whom.
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
@event_source(data_class=EventBridgeEvent)
def lambda_handler(event: EventBridgeEvent, context: LambdaContext) -> dict[str, Any]:
    # Asynchronous, off every request path. Each send is claimed per event id, so a redelivery sends
    # nothing twice; a failure worth retrying raises (EventBridge retries, then the DLQ), a refused
    # address is recorded as failed and not retried (onestop.notifications.service).
    detail = event.detail
    with correlated(event_id=event.get_id, application_id=detail.get("application_id")):
        envelope = event_of(event.get_id, event.detail_type, event.time, detail)
        return notifier().handle(envelope).as_dict()
