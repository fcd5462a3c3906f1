"""One moto world with everything the api, ingest and issue functions touch, driven in process.

The api function (tests.integration.api_helpers), the ingest function (the uploads queue with its
dead-letter queue, as template.yaml wires it: maxReceiveCount 3) and the issue function (KMS seal key,
PKI bootstrapped over it, an Object-Lock licences bucket) share one table, one bus and one set of
buckets, so a test can follow an upload or an approval through every function and fault any step.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import boto3
import pytest
from onestop.aws import composition
from onestop.aws.clients import reset_clients
from onestop.aws.licence_registry import DynamoLicenceRegistry
from onestop.aws.s3 import S3BlobStore
from onestop.catalogue import load_catalogue
from onestop.licences.models import LicenceRecord
from onestop.licences.pki import BureauIdentity
from onestop.settings import reset_settings

from infra.pki.bootstrap import bootstrap
from tests.integration.api_helpers import (
    MATERIALS,
    REGION,
    SMALL_ITEM,
    TABLE,
    UPLOADS,
    USCC_A,
    Aws,
    Client,
    catalogued,
    moto_aws,
    new_application,
)

LICENCES = "onestop-test-licences"
IDEMPOTENCY = "onestop-test-idempotency"
QUEUE = "onestop-test-uploads"
DLQ = "onestop-test-uploads-dlq"
SEAL_ALIAS = "alias/onestop-seal-test"
MAX_RECEIVE = 3  # template.yaml: UploadsQueue RedrivePolicy maxReceiveCount
ISSUE_ATTEMPTS = 11  # template.yaml: IssueFunction rule RetryPolicy MaximumRetryAttempts 10, plus the first

applicant = Client("applicant-a")
reviewer = Client("reviewer-1", ("reviewer",))


class Context:
    """The parts of a Lambda context the handlers and Powertools read."""

    function_name = "onestop-robustness"
    memory_limit_in_mb = 1024
    invoked_function_arn = f"arn:aws:lambda:{REGION}:123456789012:function:onestop-robustness"
    aws_request_id = "robustness"

    def get_remaining_time_in_millis(self) -> int:
        return 120_000


@dataclass
class World:
    aws: Aws
    queue_url: str
    dlq_url: str
    queue_arn: str
    registry: DynamoLicenceRegistry
    licences: S3BlobStore
    _events: list[dict[str, Any]] = field(default_factory=list)

    def events(self) -> list[dict[str, Any]]:
        """Every event put on the bus since the world began (drains the capture queue into a log)."""
        self._events.extend(self.aws.bus_events())
        return list(self._events)

    # ------------------------------------------------------------------ uploads → ingest
    def put_upload(
        self, application_id: str, slot: str, upload_id: str, body: bytes, name: str = "doc.pdf"
    ) -> dict:
        key = f"uploads/{application_id}/{slot}/{upload_id}/{name}"
        self.upload_ticket(application_id, slot, upload_id, key)
        reply = self.aws.s3.put_object(
            Bucket=UPLOADS,
            Key=key,
            Body=body,
            ContentType="application/pdf",
            # What the ticket's POST carries: ingest catalogues only objects with their ticket's id.
            Metadata={"application-id": application_id, "slot": slot, "upload-id": upload_id},
        )
        return {
            "key": key,
            "version_id": reply.get("VersionId"),
            "etag": reply["ETag"].strip('"'),
            "size": len(body),
        }

    def upload_ticket(self, application_id: str, slot: str, upload_id: str, key: str) -> None:
        """What the api function writes when it issues the ticket: a draft application (unless there
        is one) and the material awaiting its upload (unless a ticket was issued for it already)."""
        pk = f"APP#{application_id}"
        meta = {"PK": pk, "SK": "META", "id": application_id, "status": "draft", "version": 1}
        material = {
            "PK": pk,
            "SK": f"MAT#{slot}#{upload_id}",
            "type": "material",
            "application_id": application_id,
            "slot": slot,
            "upload_id": upload_id,
            "status": "awaiting_upload",
            "source": "upload",
            "key": key,
        }
        for item in (meta, material):
            with suppress(self.aws.table.meta.client.exceptions.ConditionalCheckFailedException):
                self.aws.table.put_item(Item=item, ConditionExpression="attribute_not_exists(PK)")

    @staticmethod
    def s3_notification(put: dict, sequencer: str = "0A") -> dict[str, Any]:
        obj: dict[str, Any] = {
            "key": quote_plus(put["key"], safe="/"),
            "size": put["size"],
            "eTag": put["etag"],
            "sequencer": sequencer,
        }
        if put.get("version_id"):
            obj["versionId"] = put["version_id"]
        return {
            "Records": [
                {
                    "eventVersion": "2.1",
                    "eventSource": "aws:s3",
                    "awsRegion": REGION,
                    "eventName": "ObjectCreated:Post",
                    "s3": {"s3SchemaVersion": "1.0", "bucket": {"name": UPLOADS}, "object": obj},
                }
            ]
        }

    def notify(self, put: dict, sequencer: str = "0A") -> None:
        """S3 → SQS: the bucket notification lands on the uploads queue."""
        self.aws.sqs.send_message(
            QueueUrl=self.queue_url, MessageBody=json.dumps(self.s3_notification(put, sequencer))
        )

    def drain_uploads(self, max_rounds: int = 20) -> int:
        """Lambda's SQS poller: receive, invoke, delete what succeeded; a failure becomes visible again
        (visibility timeout 0 here) until SQS moves it to the DLQ after MAX_RECEIVE receives."""
        from functions.ingest import app

        for invocations in range(max_rounds):
            messages = self.aws.sqs.receive_message(
                QueueUrl=self.queue_url, AttributeNames=["All"], MaxNumberOfMessages=5
            ).get("Messages", [])
            if not messages:
                return invocations
            event = {
                "Records": [
                    {
                        "messageId": m["MessageId"],
                        "receiptHandle": m["ReceiptHandle"],
                        "body": m["Body"],
                        "attributes": m.get("Attributes", {}),
                        "messageAttributes": {},
                        "md5OfBody": m["MD5OfBody"],
                        "eventSource": "aws:sqs",
                        "eventSourceARN": self.queue_arn,
                        "awsRegion": REGION,
                    }
                    for m in messages
                ]
            }
            try:
                reply = app.lambda_handler(event, Context())
                failed = {f["itemIdentifier"] for f in reply.get("batchItemFailures", [])}
            except Exception:  # the whole invocation failed: every message comes back
                failed = {m["MessageId"] for m in messages}
            for m in messages:
                if m["MessageId"] not in failed:
                    self.aws.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=m["ReceiptHandle"])
        raise AssertionError(f"the uploads queue did not drain in {max_rounds} rounds")

    def dlq_depth(self) -> int:
        attrs = self.aws.sqs.get_queue_attributes(
            QueueUrl=self.dlq_url, AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]
        return int(attrs["ApproximateNumberOfMessages"])

    def redrive(self) -> int:
        from infra.redrive import redrive

        return redrive(QUEUE, sqs=self.aws.sqs).moved

    def materials(self, application_id: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = self.aws.table.query(
            KeyConditionExpression="PK = :pk AND begins_with(SK, :mat)",
            ExpressionAttributeValues={":pk": f"APP#{application_id}", ":mat": "MAT#"},
            ConsistentRead=True,
        )["Items"]
        return items

    def catalogue_versions(self, prefix: str) -> list[dict[str, Any]]:
        versions: list[dict[str, Any]] = self.aws.s3.list_object_versions(
            Bucket=MATERIALS, Prefix=prefix
        ).get("Versions", [])
        return versions

    # ------------------------------------------------------------------ approval → issue
    def approved_application(self) -> tuple[str, dict[str, Any]]:
        """An application of SMALL_ITEM taken through submit, accept and approve by the api function;
        returns its id and the ApplicationApproved event as EventBridge delivers it."""
        app = new_application(applicant, SMALL_ITEM, USCC_A)
        for slot, kind in (("application", "application_form"), ("business_licence", "business_licence")):
            catalogued(
                self.aws,
                applicant,
                app["id"],
                slot,
                kind,
                {"uscc": USCC_A} if kind == "business_licence" else {},
            )
        assert applicant.post(f"/applications/{app['id']}/submit").status == 200
        assert reviewer.post(f"/applications/{app['id']}/decision", body={"action": "accept"}).status == 200
        decided = reviewer.post(f"/applications/{app['id']}/decision", body={"action": "approve"})
        assert decided.status == 200, decided.body
        approvals = [
            e
            for e in self.events()
            if e["detail-type"] == "ApplicationApproved" and e["detail"]["application_id"] == app["id"]
        ]
        assert len(approvals) == 1, approvals
        return app["id"], approvals[0]

    def another_approval(self, template: tuple[str, dict[str, Any]]) -> tuple[str, dict[str, Any]]:
        """A copy of an approved application under a new id, with its approval event: the issue path
        sees exactly what the api function produced, without driving the api function again."""
        app_id, event = template
        item = self.application(app_id)
        new = new_id()
        self.aws.table.put_item(
            Item={k: v for k, v in item.items() if not k.startswith("GSI") and k != "licence_id"}
            | {"PK": f"APP#{new}"}
        )
        copied = json.loads(json.dumps(event))
        copied["id"] = str(uuid.uuid4())
        copied["detail"]["application_id"] = new
        return new, copied

    @staticmethod
    def issue(event: dict[str, Any]) -> dict[str, Any]:
        from functions.issue.app import lambda_handler

        reply: dict[str, Any] = lambda_handler(event, Context())
        return reply

    def deliver_approval(self, event: dict[str, Any], attempts: int = ISSUE_ATTEMPTS) -> tuple[int, bool]:
        """EventBridge → issue function with the rule's retry policy: (attempts made, delivered?)."""
        for attempt in range(1, attempts + 1):
            try:
                self.issue(event)
                return attempt, True
            except Exception:
                continue
        return attempts, False

    def licence_of(self, application_id: str) -> LicenceRecord | None:
        licence_id = self.registry.licence_for_application(application_id)
        return self.registry.get(licence_id) if licence_id else None

    def licence_records(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = self.aws.table.scan(
            FilterExpression="begins_with(PK, :lic) AND SK = :meta",
            ExpressionAttributeValues={":lic": "LIC#", ":meta": "META"},
            ConsistentRead=True,
        )["Items"]
        return items

    def licence_pdf_versions(self) -> list[dict[str, Any]]:
        versions: list[dict[str, Any]] = self.aws.s3.list_object_versions(
            Bucket=LICENCES, Prefix="licences/"
        ).get("Versions", [])
        return versions

    def application(self, application_id: str) -> dict[str, Any]:
        item: dict[str, Any] = self.aws.table.get_item(
            Key={"PK": f"APP#{application_id}", "SK": "META"}, ConsistentRead=True
        )["Item"]
        return item


@contextmanager
def moto_world(monkeypatch: pytest.MonkeyPatch, root_dir: Path) -> Iterator[World]:
    """The world, inside moto; environment as template.yaml gives the functions."""
    monkeypatch.setenv("LICENCES_BUCKET", LICENCES)
    monkeypatch.setenv("IDEMPOTENCY_TABLE_NAME", IDEMPOTENCY)
    monkeypatch.setenv("PKI_PREFIX", "pki/")
    monkeypatch.setenv("SEAL_KEY_ID", SEAL_ALIAS)
    monkeypatch.setenv("INGEST_MAX_RECEIVE", str(MAX_RECEIVE))
    with moto_aws(monkeypatch) as aws:
        composition.reset()
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        dynamodb.create_table(
            TableName=IDEMPOTENCY,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        )
        s3 = aws.s3
        for bucket in (UPLOADS, MATERIALS):
            s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
        s3.create_bucket(
            Bucket=LICENCES,
            CreateBucketConfiguration={"LocationConstraint": REGION},
            ObjectLockEnabledForBucket=True,
        )
        sqs = aws.sqs
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
        kms = boto3.client("kms", region_name=REGION)
        key_id = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
        kms.create_alias(AliasName=SEAL_ALIAS, TargetKeyId=key_id)
        authority = load_catalogue().authority
        store = S3BlobStore(LICENCES)
        bootstrap(
            kms=kms,
            store=store,
            key_id=SEAL_ALIAS,
            prefix="pki/",
            root_dir=root_dir,
            bureau=BureauIdentity(authority.name_zh, authority.name_en, authority.uscc),
        )
        reset_settings()
        reset_clients()
        try:
            yield World(aws, queue_url, dlq_url, queue_arn, DynamoLicenceRegistry(TABLE), store)
        finally:
            composition.reset()


def new_id() -> str:
    return uuid.uuid4().hex
