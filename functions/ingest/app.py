"""Ingest function: SQS batches of S3 "object created" notifications -> catalogued materials.

Wiring only. Partial batch failure: a failing record is retried by SQS on its own; on its last receive
(INGEST_MAX_RECEIVE, the queue's maxReceiveCount) the material is marked failed with the message id
as reference before the message moves to the dead-letter queue. Powertools idempotency on
bucket + key + version (or ETag) makes duplicated and replayed notifications do no work twice.

Environment: TABLE_NAME, IDEMPOTENCY_TABLE_NAME, UPLOADS_BUCKET, MATERIALS_BUCKET, EVENT_BUS_NAME
UPLOAD_MAX_BYTES (via onestop.settings), INGEST_MAX_RECEIVE (default 3),
INGEST_IDEMPOTENCY_TTL_SECONDS (default 7 days).
"""

from __future__ import annotations

import json
import os
from functools import cache
from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyAlreadyInProgressError
from onestop.aws.events import EventBridgePublisher
from onestop.aws.material_repository import DynamoMaterialRepository
from onestop.aws.s3 import S3BlobStore
from onestop.materials.limits import Limits
from onestop.materials.service import MaterialRef, failed_reason, ingest_object
from onestop.observability import logger, metrics
from onestop.settings import get_settings

# Report failures per record even when every record failed (Powertools would otherwise raise, and the
# whole batch would be retried without per-record receive counts mattering to us any differently);
# failures still show in the logs, and the dead-letter queue's depth alarm catches poison messages.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def _max_receive() -> int:
    return int(os.environ.get("INGEST_MAX_RECEIVE", "3"))


@cache
def _idempotency_config() -> IdempotencyConfig:
    ttl = int(os.environ.get("INGEST_IDEMPOTENCY_TTL_SECONDS", str(7 * 24 * 3600)))
    return IdempotencyConfig(event_key_jmespath="[bucket, key, version]", expires_after_seconds=ttl)


# Time left in the current invocation (set per invocation): a record may only use what remains.
_remaining_ms: list[Any] = [None]
# Left after a file's budget runs out, to store the manifest, the record and the event.
ROOM_TO_RECORD_S = 15.0


def _limits(max_bytes: int) -> Limits:
    budget = Limits().time_budget_s
    get_remaining = _remaining_ms[0]
    if get_remaining is not None:
        left = get_remaining() / 1000 - ROOM_TO_RECORD_S
        if left <= 1:
            # No time for this record in this invocation: SQS delivers it again (partial batch failure).
            raise TimeoutError("no time left in this invocation for another file; it will be retried")
        budget = min(budget, left)
    return Limits(max_bytes=max_bytes, time_budget_s=budget)


def _ingest(upload: dict[str, Any]) -> dict[str, Any]:
    settings = get_settings()
    result = ingest_object(
        upload["bucket"],
        upload["key"],
        upload.get("version_id"),
        uploads=S3BlobStore(upload["bucket"]),
        materials=S3BlobStore(settings.materials_bucket),
        repository=DynamoMaterialRepository(settings.table_name),
        publisher=EventBridgePublisher(settings.event_bus_name, settings.event_source),
        limits=_limits(settings.upload_max_bytes),
    )
    return result.as_dict()


@cache
def _idempotent_ingest() -> Any:
    # Built on first use: the table name comes from the environment, which is never read at import.
    persistence = DynamoDBPersistenceLayer(table_name=get_settings().idempotency_table_name)
    return idempotent_function(
        _ingest, data_keyword_argument="upload", persistence_store=persistence, config=_idempotency_config()
    )


def reset() -> None:
    """Forget cached wiring (tests change the environment)."""
    _idempotent_ingest.cache_clear()
    _idempotency_config.cache_clear()


def uploads_in(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The created objects an S3 notification names (keys decoded); a test event names none."""
    if body.get("Event") == "s3:TestEvent":
        return []
    out = []
    for entry in body.get("Records", []):
        if not str(entry.get("eventName", "")).startswith("ObjectCreated"):
            continue
        s3 = entry["s3"]
        obj = s3["object"]
        version = obj.get("versionId")
        etag = obj.get("eTag")
        out.append(
            {
                "bucket": s3["bucket"]["name"],
                "key": unquote_plus(obj["key"]),
                "version_id": version,
                "version": version or etag or obj.get("sequencer") or "",
            }
        )
    return out


def _mark_failed(upload: dict[str, Any], reference: str) -> None:
    ref = MaterialRef.from_key(upload["key"])
    if ref is None:
        return
    repository = DynamoMaterialRepository(get_settings().table_name)
    repository.mark_failed(ref, failed_reason(reference), reference)
    logger.error("material marked failed", extra={"key": upload["key"], "reference": reference})


def record_handler(record: SQSRecord) -> list[dict[str, Any]]:
    body = json.loads(record.body)
    results = []
    for upload in uploads_in(body):
        try:
            result = _idempotent_ingest()(upload=upload)
            results.append(result)
            metrics.add_metric(name=f"Material_{result.get('status', 'unknown')}", unit="Count", value=1)
        except IdempotencyAlreadyInProgressError:
            raise  # another invocation is on it; the retry will find its result
        except Exception:
            receives = int(record.attributes.approximate_receive_count or 1)
            metrics.add_metric(name="IngestRecordFailed", unit="Count", value=1)
            if receives >= _max_receive():
                _mark_failed(upload, record.message_id)
            logger.exception("ingest failed", extra={"key": upload["key"], "receive_count": receives})
            raise
    return results


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: Any) -> Any:
    _remaining_ms[0] = getattr(context, "get_remaining_time_in_millis", None)
    if _remaining_ms[0] is not None:
        _idempotency_config().register_lambda_context(context)
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
