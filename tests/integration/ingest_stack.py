"""A moto stack for the ingest function: the one table (with its GSIs), the idempotency table, buckets,
the uploads queue with its dead-letter queue, and the event bus with a tap queue to count events."""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote_plus

import boto3
import pytest
from moto import mock_aws
from onestop.aws import composition
from onestop.aws.clients import reset_clients
from onestop.materials.service import MaterialRef
from onestop.settings import reset_settings

TABLE = "onestop-test"
IDEMPOTENCY = "onestop-idempotency-test"
UPLOADS = "onestop-uploads-test"
MATERIALS = "onestop-materials-test"
LICENCES = "onestop-licences-test"  # named because Settings requires it; the ingest function never reads it
BUS = "onestop-test"
QUEUE = "onestop-uploads-test"
DLQ = "onestop-uploads-dlq-test"
MAX_RECEIVE = 3


@dataclass
class Stack:
    s3: Any
    sqs: Any
    table: Any
    queue_url: str
    dlq_url: str
    queue_arn: str
    tap_url: str

    def upload(
        self, key: str, body: bytes, content_type: str = "application/octet-stream", *, ticket: bool = True
    ) -> dict[str, Any]:
        """Put an object as the portal's POST would: with the upload ticket it was issued (the
        application and its material record awaiting the upload, the ticket's id in the object's
        metadata); `ticket=False` writes it without one."""
        metadata: dict[str, str] = {}
        ref = MaterialRef.from_key(key)
        if ticket and ref is not None:
            self.ticket(key)
            metadata = {"application-id": ref.application_id, "slot": ref.slot, "upload-id": ref.upload_id}
        reply = self.s3.put_object(
            Bucket=UPLOADS, Key=key, Body=body, ContentType=content_type, Metadata=metadata
        )
        return {"version_id": reply.get("VersionId"), "etag": reply["ETag"].strip('"'), "size": len(body)}

    def ticket(self, key: str, application_status: str = "draft", **material: Any) -> None:
        """What the api function writes when it issues the upload ticket for `key` (a draft application
        with no service item, unless one exists, and the material awaiting the upload)."""
        ref = MaterialRef.from_key(key)
        assert ref is not None, key
        pk = f"APP#{ref.application_id}"
        meta = {"PK": pk, "SK": "META", "id": ref.application_id, "status": application_status, "version": 1}
        record = {
            "PK": pk,
            "SK": f"MAT#{ref.slot}#{ref.upload_id}",
            "type": "material",
            "application_id": ref.application_id,
            "slot": ref.slot,
            "upload_id": ref.upload_id,
            "status": "awaiting_upload",
            "source": "upload",
            "key": key,
            **material,
        }
        for item in (meta, record):  # each once: a second upload under the key reuses the ticket
            with contextlib.suppress(self.table.meta.client.exceptions.ConditionalCheckFailedException):
                self.table.put_item(Item=item, ConditionExpression="attribute_not_exists(PK)")

    def s3_event(self, key: str, version_id: str | None, etag: str, size: int) -> dict[str, Any]:
        """The notification S3 sends: the key URL-encoded as S3 encodes it (spaces as '+')."""
        obj: dict[str, Any] = {
            "key": quote_plus(key, safe="/"),
            "size": size,
            "eTag": etag,
            "sequencer": "0A1B",
        }
        if version_id:
            obj["versionId"] = version_id
        return {
            "Records": [
                {
                    "eventVersion": "2.1",
                    "eventSource": "aws:s3",
                    "awsRegion": "us-east-1",
                    "eventName": "ObjectCreated:Post",
                    "s3": {"s3SchemaVersion": "1.0", "bucket": {"name": UPLOADS}, "object": obj},
                }
            ]
        }

    def sqs_event(
        self, body: dict[str, Any], receive_count: int = 1, message_id: str | None = None
    ) -> dict[str, Any]:
        return {
            "Records": [
                {
                    "messageId": message_id or str(uuid.uuid4()),
                    "receiptHandle": "handle",
                    "body": json.dumps(body),
                    "attributes": {
                        "ApproximateReceiveCount": str(receive_count),
                        "SentTimestamp": "1700000000000",
                        "SenderId": "s3",
                        "ApproximateFirstReceiveTimestamp": "1700000000000",
                    },
                    "messageAttributes": {},
                    "md5OfBody": "",
                    "eventSource": "aws:sqs",
                    "eventSourceARN": self.queue_arn,
                    "awsRegion": "us-east-1",
                }
            ]
        }

    def sqs_event_from(self, messages: list[dict[str, Any]]) -> dict[str, Any]:
        """Turn messages received from moto's queue into the event Lambda would deliver."""
        records = []
        for message in messages:
            records.append(
                {
                    "messageId": message["MessageId"],
                    "receiptHandle": message["ReceiptHandle"],
                    "body": message["Body"],
                    "attributes": message.get("Attributes", {}),
                    "messageAttributes": {},
                    "md5OfBody": message["MD5OfBody"],
                    "eventSource": "aws:sqs",
                    "eventSourceARN": self.queue_arn,
                    "awsRegion": "us-east-1",
                }
            )
        return {"Records": records}

    def materials_of(self, application_id: str) -> list[dict[str, Any]]:
        reply = self.table.query(
            KeyConditionExpression="PK = :pk AND begins_with(SK, :mat)",
            ExpressionAttributeValues={":pk": f"APP#{application_id}", ":mat": "MAT#"},
        )
        items: list[dict[str, Any]] = reply["Items"]
        return items

    def catalogue_versions(self, prefix: str) -> list[dict[str, Any]]:
        versions: list[dict[str, Any]] = self.s3.list_object_versions(Bucket=MATERIALS, Prefix=prefix).get(
            "Versions", []
        )
        return versions

    def events(self) -> list[dict[str, Any]]:
        out = []
        while True:
            reply = self.sqs.receive_message(QueueUrl=self.tap_url, MaxNumberOfMessages=10)
            messages = reply.get("Messages", [])
            if not messages:
                return out
            for message in messages:
                out.append(json.loads(message["Body"]))
                self.sqs.delete_message(QueueUrl=self.tap_url, ReceiptHandle=message["ReceiptHandle"])


class Context:
    """The bits of a Lambda context the handler and Powertools use."""

    function_name = "onestop-ingest-test"
    memory_limit_in_mb = 3008
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:onestop-ingest-test"
    aws_request_id = "req-1"

    def get_remaining_time_in_millis(self) -> int:
        return 300_000


def _gsi(name: str, n: int) -> dict[str, Any]:
    return {
        "IndexName": name,
        "KeySchema": [
            {"AttributeName": f"GSI{n}PK", "KeyType": "HASH"},
            {"AttributeName": f"GSI{n}SK", "KeyType": "RANGE"},
        ],
        "Projection": {"ProjectionType": "ALL"},
    }


def open_stack(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    """Generator behind the `stack` fixture of the ingest tests (one moto world per test)."""
    for name, value in {
        "TABLE_NAME": TABLE,
        "IDEMPOTENCY_TABLE_NAME": IDEMPOTENCY,
        "UPLOADS_BUCKET": UPLOADS,
        "MATERIALS_BUCKET": MATERIALS,
        "LICENCES_BUCKET": LICENCES,
        "EVENT_BUS_NAME": BUS,
        "INGEST_MAX_RECEIVE": str(MAX_RECEIVE),
        "AWS_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        reset_settings()
        reset_clients()
        composition.reset()
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        attributes = [{"AttributeName": n, "AttributeType": "S"} for n in ("PK", "SK")]
        attributes += [
            {"AttributeName": f"GSI{i}{p}", "AttributeType": "S"} for i in (1, 2, 3) for p in ("PK", "SK")
        ]
        dynamodb.create_table(
            TableName=TABLE,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=attributes,
            KeySchema=[
                {"AttributeName": "PK", "KeyType": "HASH"},
                {"AttributeName": "SK", "KeyType": "RANGE"},
            ],
            GlobalSecondaryIndexes=[_gsi("ByStatusDeadline", 1), _gsi("ByHolder", 2), _gsi("ByOwner", 3)],
        )
        dynamodb.create_table(
            TableName=IDEMPOTENCY,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        )
        s3 = boto3.client("s3", region_name="us-east-1")
        for bucket in (UPLOADS, MATERIALS):
            s3.create_bucket(Bucket=bucket)
            s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
        sqs = boto3.client("sqs", region_name="us-east-1")
        dlq_url = sqs.create_queue(QueueName=DLQ)["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        queue_url = sqs.create_queue(
            QueueName=QUEUE,
            Attributes={
                "VisibilityTimeout": "0",
                "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": MAX_RECEIVE}),
            },
        )["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        tap_url = sqs.create_queue(QueueName="events-tap")["QueueUrl"]
        tap_arn = sqs.get_queue_attributes(QueueUrl=tap_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        events = boto3.client("events", region_name="us-east-1")
        events.create_event_bus(Name=BUS)
        events.put_rule(
            Name="all-onestop", EventBusName=BUS, EventPattern=json.dumps({"source": ["onestop"]})
        )
        events.put_targets(Rule="all-onestop", EventBusName=BUS, Targets=[{"Id": "tap", "Arn": tap_arn}])
        table = boto3.resource("dynamodb", region_name="us-east-1").Table(TABLE)
        yield Stack(s3, sqs, table, queue_url, dlq_url, queue_arn, tap_url)
        composition.reset()
        reset_clients()
        reset_settings()
