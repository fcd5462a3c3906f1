"""The ingest function's work on one SQS record: the S3 notification it carries → the uploads it names,
each ingested (once per object version: the composition root adds Powertools idempotency), and the
dead-letter policy.

Partial batch failure: a failing record is retried by SQS on its own; on its last receive (the queue's
maxReceiveCount, `Settings.ingest_max_receive`) the material is marked failed with the message id as
reference before SQS moves the message to the dead-letter queue.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import unquote_plus

from aws_lambda_powertools.utilities.data_classes import S3Event
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyAlreadyInProgressError

from onestop.catalogue import Catalogue
from onestop.observability import correlated, logger, metrics
from onestop.ports import BlobStore, EventPublisher

from .gate import Quarantine
from .limits import Limits
from .service import MaterialRef, MaterialRepository, failed_reason, ingest_object

# Left after a file's budget runs out, to store the manifest, the record and the event.
ROOM_TO_RECORD_S = 15.0


class Invocation(Protocol):
    """The part of the Lambda context a record uses: the time left in this invocation."""

    def get_remaining_time_in_millis(self) -> int: ...


@dataclass(frozen=True)
class Upload:
    """One created object an S3 notification names; `version` (the version id, else the ETag, else the
    sequencer) is what the idempotency key is made of, with the bucket and the key."""

    bucket: str
    key: str  # decoded: S3 URL-encodes keys in notifications (spaces as '+')
    version_id: str | None
    version: str


def uploads_in(notification: S3Event) -> list[Upload]:
    """The created objects an S3 notification names (keys decoded); a test event names none."""
    if notification.get("Event") == "s3:TestEvent" or "Records" not in notification:
        return []
    out = []
    for entry in notification.records:
        if not str(entry.get("eventName", "")).startswith("ObjectCreated"):
            continue
        obj = entry.s3.get_object
        out.append(
            Upload(
                bucket=entry.s3.bucket.name,
                key=unquote_plus(obj.key),
                version_id=obj.version_id,
                version=obj.version_id or obj.etag or obj.get("sequencer") or "",
            )
        )
    return out


def limits_for(max_bytes: int, invocation: Invocation | None) -> Limits:
    """The per-file limits, the time budget cut to what this invocation has left (less room to record)."""
    budget = Limits().time_budget_s
    if invocation is not None:
        left = invocation.get_remaining_time_in_millis() / 1000 - ROOM_TO_RECORD_S
        if left <= 1:
            # No time for this record in this invocation: SQS delivers it again (partial batch failure).
            raise TimeoutError("no time left in this invocation for another file; it will be retried")
        budget = min(budget, left)
    return Limits(max_bytes=max_bytes, time_budget_s=budget)


def invocation_of(lambda_context: object) -> Invocation | None:
    """The context when it can tell the time left (a test may pass none)."""
    return lambda_context if hasattr(lambda_context, "get_remaining_time_in_millis") else None


def ingest_upload(
    upload: Upload,
    invocation: Invocation | None,
    *,
    uploads: BlobStore,
    materials: BlobStore,
    repository: MaterialRepository,
    publisher: EventPublisher,
    max_bytes: int,
    quarantine: Quarantine | None = None,
    catalogues: Callable[[int | None], Catalogue] | None = None,
) -> dict[str, Any]:
    """Ingest one upload within the time this invocation has left; the summary is JSON (it is cached)."""
    result = ingest_object(
        upload.bucket,
        upload.key,
        upload.version_id,
        uploads=uploads,
        materials=materials,
        repository=repository,
        publisher=publisher,
        quarantine=quarantine,
        limits=limits_for(max_bytes, invocation),
        catalogues=catalogues,
    )
    return result.as_dict()


IngestOnce = Callable[[Upload, Invocation | None], dict[str, Any]]


@dataclass(frozen=True)
class IngestRecords:
    """The record handler: every upload of the record ingested, or the record failed (and retried)."""

    ingest: IngestOnce
    repository: MaterialRepository
    max_receive: int

    def handle(self, record: SQSRecord, lambda_context: object = None) -> list[dict[str, Any]]:
        invocation = invocation_of(lambda_context)
        results = []
        for upload in uploads_in(record.decoded_nested_s3_event):
            ref = MaterialRef.from_key(upload.key)
            with correlated(
                upload_key=upload.key,
                application_id=ref.application_id if ref else None,
                upload_id=ref.upload_id if ref else None,
            ):
                results.append(self._ingest_one(record, upload, invocation))
        return results

    def _ingest_one(self, record: SQSRecord, upload: Upload, invocation: Invocation | None) -> dict[str, Any]:
        try:
            result = self.ingest(upload, invocation)
        except IdempotencyAlreadyInProgressError:
            raise  # another invocation is on it; the retry will find its result
        except Exception:
            receives = int(record.attributes.approximate_receive_count or 1)
            metrics.add_metric(name="IngestRecordFailed", unit="Count", value=1)
            if receives >= self.max_receive:
                self.mark_failed(upload, record.message_id)
            logger.exception("ingest failed", extra={"key": upload.key, "receive_count": receives})
            raise
        metrics.add_metric(name=f"Material_{result.get('status', 'unknown')}", unit="Count", value=1)
        return result

    def mark_failed(self, upload: Upload, reference: str) -> None:
        """The last receive failed too: the applicant sees `failed` with a reference to quote."""
        ref = MaterialRef.from_key(upload.key)
        if ref is None:
            return
        self.repository.mark_failed(ref, failed_reason(reference), reference)
        logger.error("material marked failed", extra={"key": upload.key, "reference": reference})
