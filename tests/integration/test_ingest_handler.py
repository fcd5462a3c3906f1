"""The ingest function against moto: duplicates, poison messages, URL-encoded keys, DLQ and redrive."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from onestop.aws.material_repository import DynamoMaterialRepository
from onestop.settings import reset_settings

from functions.ingest import app
from infra.redrive import redrive
from tests.integration.ingest_stack import DLQ, MATERIALS, QUEUE, Context, Stack, open_stack
from tests.materials_specimens import LICENCE_USCC, SPECIMENS, jpeg_bytes, text_pdf_bytes

pytestmark = [pytest.mark.timeout(180)]


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    yield from open_stack(monkeypatch)


APP_ID = "A20240001"


def _licence_pdf() -> bytes:
    return text_pdf_bytes(list(SPECIMENS["business_licence"]().lines))


def _deliver(
    stack: Stack, body: dict[str, Any], receive_count: int = 1, message_id: str | None = None
) -> dict:
    reply: dict = app.lambda_handler(stack.sqs_event(body, receive_count, message_id), Context())
    return reply


def test_duplicate_event_does_the_work_once(stack: Stack) -> None:
    key = f"uploads/{APP_ID}/business_licence/U1/licence.pdf"
    body = _licence_pdf()
    put = stack.upload(key, body, "application/pdf")
    event = stack.s3_event(key, put["version_id"], put["etag"], put["size"])
    assert _deliver(stack, event) == {"batchItemFailures": []}
    assert _deliver(stack, event) == {"batchItemFailures": []}

    materials = stack.materials_of(APP_ID)
    assert len(materials) == 1
    item = materials[0]
    assert item["SK"] == "MAT#business_licence#U1"
    assert item["status"] == "catalogued"
    assert item["classification"]["material_type"] == "business_licence"
    assert item["fields"]["uscc"] == LICENCE_USCC
    assert item["original"]["version_id"] == put["version_id"]
    assert item["original"]["sniffed_type"] == "application/pdf"
    assert item["normalised"]["key"] == f"catalogue/{APP_ID}/business_licence/U1/material.pdf"
    assert item["manifest_key"] == f"catalogue/{APP_ID}/business_licence/U1/manifest.json"
    versions = stack.catalogue_versions(f"catalogue/{APP_ID}/business_licence/U1/")
    assert sorted(v["Key"].rsplit("/", 1)[1] for v in versions) == [
        "manifest.json",
        "material.pdf",
        "original",
        "page-001.jpg",  # the upright page for the reviewer's desk (the frame of the field boxes)
    ]
    [preview] = item["normalised"]["previews"]
    assert preview["key"] == f"catalogue/{APP_ID}/business_licence/U1/page-001.jpg"
    assert preview["page"] == 0
    jpeg = stack.s3.get_object(Bucket=MATERIALS, Key=preview["key"], VersionId=preview["version_id"])
    assert jpeg["ContentType"] == "image/jpeg"
    assert jpeg["Body"].read()[:3] == b"\xff\xd8\xff"
    # The uploaded bytes are kept with the catalogue (raw uploads expire), the version recorded.
    retained = item["original"]["retained"]
    assert retained["key"] == f"catalogue/{APP_ID}/business_licence/U1/original"
    kept = stack.s3.get_object(Bucket=MATERIALS, Key=retained["key"], VersionId=retained["version_id"])
    assert kept["Body"].read() == body
    assert item["normalised"]["version_id"] == next(
        v["VersionId"] for v in versions if v["Key"].endswith("material.pdf")
    )
    manifest = json.loads(stack.s3.get_object(Bucket=MATERIALS, Key=item["manifest_key"])["Body"].read())
    assert manifest["original"]["sha256"] == item["original"]["sha256"]
    assert manifest["normalised"]["sha256"] == item["normalised"]["sha256"]
    events = stack.events()
    assert [e["detail-type"] for e in events] == ["MaterialCatalogued"]
    assert events[0]["detail"]["upload_id"] == "U1"


def test_replay_after_idempotency_expiry_is_still_not_reprocessed(stack: Stack) -> None:
    key = f"uploads/{APP_ID}/business_licence/U2/licence.pdf"
    put = stack.upload(key, _licence_pdf(), "application/pdf")
    event = stack.s3_event(key, put["version_id"], put["etag"], put["size"])
    _deliver(stack, event)
    # The idempotency record is gone (TTL); the material's own conditional write still says "done".
    idem = stack.table.meta.client
    for item in idem.scan(TableName="onestop-idempotency-test")["Items"]:
        idem.delete_item(TableName="onestop-idempotency-test", Key={"id": item["id"]})
    _deliver(stack, event)
    # done once: the original, the PDF, its page preview and the manifest, one version each
    assert len(stack.catalogue_versions(f"catalogue/{APP_ID}/business_licence/U2/")) == 4
    assert [e["detail-type"] for e in stack.events()] == ["MaterialCatalogued"]


def test_url_encoded_cjk_and_space_key_is_decoded(stack: Stack) -> None:
    key = f"uploads/{APP_ID}/resident_id_card/U3/身份证 正面 (1).jpg"
    put = stack.upload(key, jpeg_bytes(SPECIMENS["resident_id_card"]().image), "image/jpeg")
    event = stack.s3_event(key, put["version_id"], put["etag"], put["size"])
    assert "+" in event["Records"][0]["s3"]["object"]["key"]  # spaces arrive as '+', CJK as %XX
    assert "%E8" in event["Records"][0]["s3"]["object"]["key"]
    assert _deliver(stack, event) == {"batchItemFailures": []}
    (item,) = stack.materials_of(APP_ID)
    assert item["original"]["key"] == key
    assert item["status"] == "catalogued"
    assert item["classification"]["material_type"] == "resident_id_card"
    assert item["fields"]["person_name"] == "李小梅"


def test_s3_test_event_is_acknowledged(stack: Stack) -> None:
    body = {"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": "onestop-uploads-test"}
    assert _deliver(stack, body) == {"batchItemFailures": []}
    assert stack.events() == []


def test_rejected_upload_is_recorded_with_reason_and_event(stack: Stack) -> None:
    key = f"uploads/{APP_ID}/business_licence/U4/scan.pdf"
    put = stack.upload(key, b"oops\n", "application/pdf")
    _deliver(stack, stack.s3_event(key, put["version_id"], put["etag"], put["size"]))
    (item,) = stack.materials_of(APP_ID)
    assert item["status"] == "rejected"
    assert item["reason"]["code"] == "unsupported_type"
    assert item["reason"]["zh"]
    assert item["reason"]["en"]
    assert "normalised" not in item
    events = stack.events()
    assert [e["detail-type"] for e in events] == ["MaterialRejected"]
    assert events[0]["detail"]["reason"]["code"] == "unsupported_type"


def test_oversized_object_rejected_from_head_without_download(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    from onestop.aws.s3 import S3BlobStore

    def no_get(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("an oversized object must not be downloaded")

    monkeypatch.setattr(S3BlobStore, "get", no_get)
    monkeypatch.setenv("UPLOAD_MAX_BYTES", "1000")
    reset_settings()
    key = f"uploads/{APP_ID}/business_licence/U5/big.pdf"
    put = stack.upload(key, b"%PDF-1.7\n" + b"0" * 5000, "application/pdf")
    _deliver(stack, stack.s3_event(key, put["version_id"], put["etag"], put["size"]))
    (item,) = stack.materials_of(APP_ID)
    assert (item["status"], item["reason"]["code"]) == ("rejected", "file_too_large")


def test_vanished_object_fails_then_marks_material_failed_on_last_receive(stack: Stack) -> None:
    key = f"uploads/{APP_ID}/business_licence/U6/gone.pdf"
    stack.ticket(key)  # the ticket was issued; its object is gone before ingest reads it
    event = stack.s3_event(key, None, "d41d8cd98f00b204e9800998ecf8427e", 10)
    first = _deliver(stack, event, receive_count=1, message_id="m-1")
    assert first == {"batchItemFailures": [{"itemIdentifier": "m-1"}]}
    (item,) = stack.materials_of(APP_ID)
    assert item["status"] == "awaiting_upload"  # not yet: SQS will retry
    last = _deliver(stack, event, receive_count=3, message_id="m-1")
    assert last == {"batchItemFailures": [{"itemIdentifier": "m-1"}]}
    (item,) = stack.materials_of(APP_ID)
    assert item["status"] == "failed"
    assert item["reason"]["code"] == "processing_failed"
    assert "m-1" in item["reason"]["en"]
    assert "m-1" in item["reason"]["zh"]


def test_repository_error_is_retried_and_poison_ends_failed(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(self: Any, ref: Any, result: Any) -> bool:
        raise RuntimeError("DynamoDB is having a bad day")

    monkeypatch.setattr(DynamoMaterialRepository, "complete", broken)
    key = f"uploads/{APP_ID}/business_licence/U7/licence.pdf"
    put = stack.upload(key, _licence_pdf(), "application/pdf")
    event = stack.s3_event(key, put["version_id"], put["etag"], put["size"])
    assert _deliver(stack, event, 1, "m-7")["batchItemFailures"] == [{"itemIdentifier": "m-7"}]
    (item,) = stack.materials_of(APP_ID)
    assert item["status"] == "processing"
    assert _deliver(stack, event, 2, "m-7")["batchItemFailures"] == [{"itemIdentifier": "m-7"}]
    assert _deliver(stack, event, 3, "m-7")["batchItemFailures"] == [{"itemIdentifier": "m-7"}]
    (item,) = stack.materials_of(APP_ID)
    assert item["status"] == "failed"
    assert "m-7" in item["reason"]["en"]
    assert stack.events() == []


def test_real_queue_poison_goes_to_dlq_and_redrive_replays_it(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = f"uploads/{APP_ID}/business_licence/U8/licence.pdf"
    put = stack.upload(key, _licence_pdf(), "application/pdf")
    stack.sqs.send_message(
        QueueUrl=stack.queue_url,
        MessageBody=json.dumps(stack.s3_event(key, put["version_id"], put["etag"], put["size"])),
    )

    def broken(self: Any, ref: Any, result: Any) -> bool:
        raise RuntimeError("transient")

    working = DynamoMaterialRepository.complete
    monkeypatch.setattr(DynamoMaterialRepository, "complete", broken)
    # Lambda's poller: receive, invoke, delete what succeeded; failures become visible again.
    for _ in range(5):
        messages = stack.sqs.receive_message(
            QueueUrl=stack.queue_url, AttributeNames=["All"], MaxNumberOfMessages=10
        ).get("Messages", [])
        if not messages:
            break
        reply = app.lambda_handler(stack.sqs_event_from(messages), Context())
        failed = {f["itemIdentifier"] for f in reply["batchItemFailures"]}
        for message in messages:
            if message["MessageId"] not in failed:
                stack.sqs.delete_message(QueueUrl=stack.queue_url, ReceiptHandle=message["ReceiptHandle"])
    dlq = stack.sqs.get_queue_attributes(
        QueueUrl=stack.dlq_url, AttributeNames=["ApproximateNumberOfMessages"]
    )
    assert dlq["Attributes"]["ApproximateNumberOfMessages"] == "1"
    (item,) = stack.materials_of(APP_ID)
    assert item["status"] == "failed"

    # The fault is fixed; ops redrive the DLQ and the material is processed.
    monkeypatch.setattr(DynamoMaterialRepository, "complete", working)
    result = redrive(QUEUE, sqs=stack.sqs)
    assert result.moved == 1
    assert result.dlq_url.endswith(DLQ)
    messages = stack.sqs.receive_message(QueueUrl=stack.queue_url, AttributeNames=["All"]).get("Messages", [])
    assert len(messages) == 1
    assert app.lambda_handler(stack.sqs_event_from(messages), Context()) == {"batchItemFailures": []}
    (item,) = stack.materials_of(APP_ID)
    assert item["status"] == "catalogued"
    assert "reason" not in item


def test_redrive_command_line(stack: Stack, capsys: pytest.CaptureFixture[str]) -> None:
    from infra.redrive import main

    for n in range(3):
        stack.sqs.send_message(QueueUrl=stack.dlq_url, MessageBody=json.dumps({"n": n}))
    assert main(["--queue", QUEUE, "--dry-run"]) == 0
    assert "would move 3 message(s)" in capsys.readouterr().out
    assert main(["--queue", QUEUE, "--dlq", DLQ, "--max", "2"]) == 0
    assert "moved 2 message(s)" in capsys.readouterr().out
    depth = stack.sqs.get_queue_attributes(
        QueueUrl=stack.dlq_url, AttributeNames=["ApproximateNumberOfMessages"]
    )
    assert depth["Attributes"]["ApproximateNumberOfMessages"] == "1"
    moved = stack.sqs.receive_message(QueueUrl=stack.queue_url, MaxNumberOfMessages=10)["Messages"]
    assert sorted(json.loads(m["Body"])["n"] for m in moved) in ([0, 1], [0, 2], [1, 2])
