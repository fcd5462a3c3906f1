"""Ingest function: SQS batches of S3 "object created" notifications -> catalogued materials.

Wiring only; the work is in `onestop.materials.ingest_records` (notifications, the time budget, the
dead-letter policy) and `onestop.aws.composition.ingest_records()` (adapters and idempotency).
Powertools passes each record handler the Lambda context: a record may only use the time left.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from onestop.aws.composition import ingest_records
from onestop.observability import logger, metrics

# Report failures per record even when every record failed (Powertools would otherwise raise, and the
# whole batch would be retried without per-record receive counts mattering to us any differently);
# failures still show in the logs, and the dead-letter queue's depth alarm catches poison messages.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def record_handler(record: SQSRecord, lambda_context: LambdaContext | None = None) -> list[dict[str, Any]]:
    return ingest_records().handle(record, lambda_context)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> Any:
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
