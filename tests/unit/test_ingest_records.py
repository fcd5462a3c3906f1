"""The ingest function's record logic without AWS: notifications → uploads, the time budget, and the
dead-letter policy (mark failed on the last receive only)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_lambda_powertools.utilities.data_classes import S3Event
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from onestop.errors import Reason
from onestop.materials.ingest_records import (
    ROOM_TO_RECORD_S,
    IngestRecords,
    Upload,
    limits_for,
    uploads_in,
)
from onestop.materials.limits import Limits
from onestop.materials.service import MaterialRef

KEY = "uploads/APP1/business_licence/UP1/营业执照 副本.pdf"


def notification(*entries: dict[str, Any]) -> dict[str, Any]:
    return {"Records": list(entries)}


def created(key: str, **obj: Any) -> dict[str, Any]:
    return {
        "eventName": "ObjectCreated:Post",
        "s3": {"bucket": {"name": "uploads"}, "object": {"key": key, **obj}},
    }


def test_keys_are_decoded_and_the_version_falls_back_to_etag_then_sequencer() -> None:
    encoded = "uploads/APP1/business_licence/UP1/%E8%90%A5%E4%B8%9A%E6%89%A7%E7%85%A7+%E5%89%AF%E6%9C%AC.pdf"
    event = S3Event(
        notification(
            created(encoded, versionId="v1", eTag="e1", sequencer="s1"),
            created(encoded, eTag="e2", sequencer="s2"),
            created(encoded, sequencer="s3"),
            created(encoded),
        )
    )
    assert uploads_in(event) == [
        Upload("uploads", KEY, "v1", "v1"),
        Upload("uploads", KEY, None, "e2"),
        Upload("uploads", KEY, None, "s3"),
        Upload("uploads", KEY, None, ""),
    ]


def test_a_test_event_and_other_event_names_name_no_upload() -> None:
    assert uploads_in(S3Event({"Service": "Amazon S3", "Event": "s3:TestEvent"})) == []
    assert uploads_in(S3Event({})) == []
    removed = {**created(KEY), "eventName": "ObjectRemoved:Delete"}
    assert uploads_in(S3Event(notification(removed, {"s3": {}}))) == []


class Invocation:
    def __init__(self, ms: int) -> None:
        self.ms = ms

    def get_remaining_time_in_millis(self) -> int:
        return self.ms


def test_the_time_budget_is_what_the_invocation_has_left_less_room_to_record() -> None:
    assert limits_for(1000, None) == Limits(max_bytes=1000)
    assert limits_for(1000, Invocation(900_000)).time_budget_s == Limits().time_budget_s
    assert limits_for(1000, Invocation(100_000)).time_budget_s == pytest.approx(100 - ROOM_TO_RECORD_S)
    with pytest.raises(TimeoutError):
        limits_for(1000, Invocation(int((ROOM_TO_RECORD_S + 1) * 1000)))


class Repository:
    def __init__(self) -> None:
        self.failed: list[tuple[MaterialRef, Reason, str]] = []

    def mark_failed(self, ref: MaterialRef, reason: Reason, reference: str) -> bool:
        self.failed.append((ref, reason, reference))
        return True


def record(body: dict[str, Any], receives: int) -> SQSRecord:
    return SQSRecord(
        {
            "messageId": "m-1",
            "body": json.dumps(body),
            "attributes": {"ApproximateReceiveCount": str(receives)},
        }
    )


def test_a_failure_marks_the_material_failed_on_the_last_receive_only() -> None:
    def broken(upload: Upload, invocation: object) -> dict[str, Any]:
        raise RuntimeError("boom")

    repository = Repository()
    records = IngestRecords(ingest=broken, repository=repository, max_receive=3)  # type: ignore[arg-type]
    body = notification(created("uploads/APP1/business_licence/UP1/a.pdf", versionId="v"))
    for receives in (1, 2):
        with pytest.raises(RuntimeError):
            records.handle(record(body, receives))
    assert repository.failed == []
    with pytest.raises(RuntimeError):
        records.handle(record(body, 3))
    [(ref, reason, reference)] = repository.failed
    assert (ref.application_id, ref.upload_id, reference) == ("APP1", "UP1", "m-1")
    assert reason.code == "processing_failed"


def test_every_upload_is_ingested_with_the_invocation() -> None:
    seen: list[tuple[Upload, object]] = []

    def ingest(upload: Upload, invocation: object) -> dict[str, Any]:
        seen.append((upload, invocation))
        return {"status": "catalogued"}

    context = Invocation(60_000)
    records = IngestRecords(ingest=ingest, repository=Repository(), max_receive=3)  # type: ignore[arg-type]
    body = notification(created("a", versionId="1"), created("b", versionId="2"))
    assert records.handle(record(body, 1), context) == [{"status": "catalogued"}] * 2
    assert [(u.key, i) for u, i in seen] == [("a", context), ("b", context)]
    assert records.handle(record(body, 1), None) == [{"status": "catalogued"}] * 2
    assert seen[-1][1] is None
