"""Limits enforced through the AWS adapters, against moto, at exactly `max` and at `max + 1`.

- the ingest function's global size limit (UPLOAD_MAX_BYTES): an object over it is refused from its
  size alone, never downloaded (counted on the real S3 client with a botocore event hook);
- S3BlobStore.get's `max_bytes`;
- the upload ticket: per-slot size (the catalogue's max_bytes), global size (UPLOAD_MAX_BYTES), the
  presigned POST policy's content-length-range, files per slot (max_count) and attempts per slot.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from onestop.applications.service import MAX_UPLOAD_ATTEMPTS_PER_SLOT
from onestop.aws.clients import client, reset_clients
from onestop.aws.s3 import S3BlobStore
from onestop.catalogue import load_catalogue
from onestop.errors import PayloadTooLarge

from functions.ingest import app
from infra import samples
from tests.integration.api_helpers import BIG_ITEM, Aws, Client, moto_aws, new_application, upload_ticket
from tests.integration.ingest_stack import UPLOADS, Context, Stack, open_stack

MiB = 1024 * 1024
alice = Client("alice-limits")


def _policy_range(fields: dict[str, str]) -> list[Any]:
    policy = json.loads(base64.b64decode(fields["policy"]))
    return next(c for c in policy["conditions"] if isinstance(c, list) and c[0] == "content-length-range")


# ------------------------------------------------------------------------- ingest: global size


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    yield from open_stack(monkeypatch)


@pytest.fixture(scope="module")
def certificate_pdf() -> bytes:
    return samples.site_certificate_pdf("深圳市前海星河技术有限公司")


def _get_object_calls() -> list[str]:
    """Keys of every GetObject the functions' shared S3 client makes from now on."""
    keys: list[str] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        keys.append(params["Key"])

    client("s3").meta.events.register("provide-client-params.s3.GetObject", record)
    return keys


@pytest.mark.parametrize("over", [0, 1], ids=["UPLOAD_MAX_BYTES-at-max", "UPLOAD_MAX_BYTES-at-max+1"])
def test_ingest_global_size_limit(
    stack: Stack, monkeypatch: pytest.MonkeyPatch, certificate_pdf: bytes, over: int
) -> None:
    from onestop.settings import reset_settings

    monkeypatch.setenv("UPLOAD_MAX_BYTES", str(len(certificate_pdf) - over))
    reset_settings()
    key = "uploads/A20250001/other/0123456789abcdef0123456789abcdef/site.pdf"
    put = stack.upload(key, certificate_pdf, "application/pdf")
    gets = _get_object_calls()
    reply = app.lambda_handler(
        stack.sqs_event(stack.s3_event(key, put["version_id"], put["etag"], put["size"])), Context()
    )
    assert reply == {"batchItemFailures": []}
    [item] = stack.materials_of("A20250001")
    if over:
        assert item["status"] == "rejected"
        assert item["reason"]["code"] == "file_too_large"
        assert gets == []  # refused from the object's size: never downloaded
        size = len(certificate_pdf)
        # What is recorded: the size S3 reported, no digest or type (nothing was read).
        assert item["original"] == {
            "bucket": UPLOADS,
            "key": key,
            "version_id": put["version_id"],
            "size": size,
        }
        # Refused by the ingest gate before any processing: nothing catalogued, the object quarantined.
        assert "manifest_key" not in item
        assert f"{size} bytes" in item["reason"]["en"]
        assert f"{size - over} bytes" in item["reason"]["en"]
        assert stack.s3.list_object_versions(Bucket=UPLOADS, Prefix=key).get("Versions", []) == []
    else:
        assert item["status"] in ("catalogued", "needs_attention"), item.get("reason")
        assert gets == [key]


# ------------------------------------------------------------------------- S3BlobStore.get


@pytest.fixture
def bucket() -> Iterator[S3BlobStore]:
    reset_clients()
    with mock_aws():
        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="limits-test")
        yield S3BlobStore("limits-test")
    reset_clients()


@pytest.mark.parametrize("over", [0, 1], ids=["get-max_bytes-at-max", "get-max_bytes-at-max+1"])
def test_s3_get_max_bytes(bucket: S3BlobStore, over: int) -> None:
    body = b"%PDF-1.7\n" + b"x" * 4087  # 4096 bytes
    bucket.put("k", body, "application/pdf")
    if not over:
        assert bucket.get("k", max_bytes=4096).body == body
    else:
        with pytest.raises(PayloadTooLarge) as refused:
            bucket.get("k", max_bytes=4096 - over)
        assert refused.value.code == "file_too_large"
        assert "4096" in refused.value.en
    assert bucket.get("k").body == body  # no limit: the whole object


def test_s3_presigned_post_policy_caps_the_size(bucket: S3BlobStore) -> None:
    post = bucket.presign_post("uploads/k", "application/pdf", max_bytes=4096, expires_in=60)
    assert _policy_range(post.fields) == ["content-length-range", 1, 4096]


# ------------------------------------------------------------------------- upload tickets


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    with moto_aws(monkeypatch) as world:
        yield world


@pytest.fixture
def aws_global_4096(monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    monkeypatch.setenv("UPLOAD_MAX_BYTES", "4096")
    with moto_aws(monkeypatch) as world:
        yield world


def _slot(slot: str) -> Any:
    return load_catalogue().item(BIG_ITEM).material(slot)


@pytest.mark.parametrize(
    ("slot", "size", "status"),
    [
        ("manager_experience", 10 * MiB, 201),
        ("manager_experience", 10 * MiB + 1, 413),
        ("premises", 20 * MiB, 201),
        ("premises", 20 * MiB + 1, 413),
    ],
    ids=[
        "slot-max_bytes-10MiB-at-max",
        "slot-max_bytes-10MiB-at-max+1",
        "slot-max_bytes-20MiB-at-max",
        "slot-max_bytes-20MiB-at-max+1",
    ],
)
def test_upload_ticket_per_slot_size(aws: Aws, slot: str, size: int, status: int) -> None:
    limit = _slot(slot).max_bytes
    assert limit == (10 * MiB if slot == "manager_experience" else 20 * MiB)
    app_id = new_application(alice, item_code=BIG_ITEM)["id"]
    reply = upload_ticket(alice, app_id, slot, size=size)
    assert reply.status == status, reply.body
    if status == 201:
        assert reply.body["max_bytes"] == limit
        assert _policy_range(reply.body["fields"]) == ["content-length-range", 1, limit]
    else:
        assert reply.body["code"] == "file_too_large"
        assert reply.body["max_bytes"] == limit


@pytest.mark.parametrize(
    ("size", "status"),
    [(4096, 201), (4097, 413)],
    ids=["UPLOAD_MAX_BYTES-ticket-at-max", "UPLOAD_MAX_BYTES-ticket-at-max+1"],
)
def test_upload_ticket_global_size(aws_global_4096: Aws, size: int, status: int) -> None:
    # The global limit (4096 here) is below the slot's 10 MiB: the smaller one applies.
    app_id = new_application(alice, item_code=BIG_ITEM)["id"]
    reply = upload_ticket(alice, app_id, "manager_experience", size=size)
    assert reply.status == status, reply.body
    if status == 201:
        assert reply.body["max_bytes"] == 4096
        assert _policy_range(reply.body["fields"]) == ["content-length-range", 1, 4096]
    else:
        assert reply.body["code"] == "file_too_large"
        assert reply.body["max_bytes"] == 4096


def test_upload_ticket_files_per_slot(aws: Aws) -> None:
    assert _slot("premises").max_count == 3
    app_id = new_application(alice, item_code=BIG_ITEM)["id"]
    for _ in range(3):  # max_count files: accepted
        assert upload_ticket(alice, app_id, "premises").status == 201
    fourth = upload_ticket(alice, app_id, "premises")  # max_count + 1: refused
    assert fourth.status == 409
    assert fourth.body["code"] == "too_many_uploads"
    assert [(d["code"], d["field"]) for d in fourth.body["details"]] == [("too_many_uploads", "slot")]
    assert "3" in fourth.body["message"]["en"]


def test_upload_ticket_attempts_per_slot(aws: Aws) -> None:
    # Rejected files free their place but still count as attempts: the 20th attempt is accepted, the
    # 21st refused.
    assert MAX_UPLOAD_ATTEMPTS_PER_SLOT == 20
    app_id = new_application(alice, item_code=BIG_ITEM)["id"]
    for attempt in range(1, 21):
        reply = upload_ticket(alice, app_id, "premises")
        assert reply.status == 201, (attempt, reply.body)
        aws.set_material(app_id, "premises", reply.body["upload_id"], status="rejected")
    refused = upload_ticket(alice, app_id, "premises")
    assert refused.status == 409
    assert refused.body["code"] == "too_many_upload_attempts"
    assert [(d["code"], d["field"]) for d in refused.body["details"]] == [
        ("too_many_upload_attempts", "slot")
    ]


# ------------------------------------------------------------------------- HTTP request bodies


def _padded(body: dict[str, Any], size: int) -> str:
    """`body` as JSON followed by blanks up to exactly `size` bytes (blanks are valid JSON)."""
    text = json.dumps(body, ensure_ascii=False)
    return text + " " * (size - len(text.encode()))


@pytest.mark.parametrize(
    ("over", "status"), [(0, 201), (1, 413)], ids=["MAX_BODY_BYTES-at-max", "MAX_BODY_BYTES-at-max+1"]
)
def test_api_request_body_size(aws: Aws, over: int, status: int) -> None:
    from onestop.http.bodies import MAX_BODY_BYTES

    from tests.integration.api_helpers import enterprise_body

    reply = alice.post("/applications", raw_body=_padded(enterprise_body(), MAX_BODY_BYTES + over))
    assert reply.status == status, reply.body
    if over:
        assert reply.body["code"] == "body_too_large"
        assert reply.body["max_bytes"] == MAX_BODY_BYTES
        assert "64 KiB" in reply.body["message"]["zh"]
        assert "64 KiB" in reply.body["message"]["en"]
        assert aws.table.scan()["Count"] == 0  # refused before anything is written


@pytest.mark.parametrize(
    ("depth", "status", "code"),
    [(32, 422, "validation_failed"), (33, 400, "malformed_json"), (20_000, 400, "malformed_json")],
    ids=["MAX_JSON_DEPTH-at-max", "MAX_JSON_DEPTH-at-max+1", "20000-deep"],
)
def test_api_request_body_depth(aws: Aws, depth: int, status: int, code: str) -> None:
    # At the limit the body is parsed and then refused by the schema, field by field; over it the
    # body is refused before parsing (20,000 levels, within the size limit, used to end in a
    # RecursionError and a 500).
    from tests.integration.api_helpers import enterprise_body

    body = json.dumps({**enterprise_body(), "x": 0}).replace(
        "0}", "[" * (depth - 1) + "]" * (depth - 1) + "}"
    )
    reply = alice.post("/applications", raw_body=body)
    assert (reply.status, reply.body["code"]) == (status, code), reply.body
    if code == "validation_failed":
        assert [d["field"] for d in reply.body["details"]] == ["x"]
