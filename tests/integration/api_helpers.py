"""Helpers for driving the api function the way API Gateway (HTTP API, payload 2.0) calls it, against moto."""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import boto3
import pytest
from moto import mock_aws
from onestop.aws import composition
from onestop.aws.clients import reset_clients
from onestop.identifiers.resident_id import id_check_char
from onestop.identifiers.uscc import compose_uscc
from onestop.settings import reset_settings

REGION = "cn-north-1"
TABLE = "onestop-test"
UPLOADS = "onestop-test-uploads"
MATERIALS = "onestop-test-materials"
BUS = "onestop-test-bus"
LICENCES = "onestop-test-licences"
IDEMPOTENCY = "onestop-test-idempotency"

# Well-formed identifiers (both USCC checks and the ID check digit pass).
USCC_A = compose_uscc("91440300", "MA5F0001")
USCC_B = compose_uscc("91440300", "MA5F0002")
ID_PERSON = "44030419900101123" + id_check_char("44030419900101123")

# Items of the shipped catalogue used in these tests.
SMALL_ITEM = "outbound-investment-filing"  # IV; required: application, business_licence
BIG_ITEM = "foreign-labour-cooperation-qualification"  # IV; eight required materials
PERSON_ITEM = "franchise-filing-enquiry"  # accepts persons


class LambdaContext:
    """The attributes Powertools' logger reads from the Lambda context."""

    function_name = "onestop-api"
    memory_limit_in_mb = 512
    invoked_function_arn = f"arn:aws:lambda:{REGION}:123456789012:function:onestop-api"
    aws_request_id = "test-request"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


# Each channel's app client (template.yaml gives the api CHANNEL_CLIENTS from the real client ids).
CLIENTS = {
    "web_portal": "portal-client",
    "city_app": "city-app-client",
    "mini_program": "mini-program-client",
    "service_window": "window-client",
}
CHANNEL_CLIENTS = ",".join(f"{client}={channel}" for channel, client in CLIENTS.items())

# The parties the test world's identity federation vouches for, for every applicant-group account
# unless a test names others (tests/security gives accounts no parties or other ones).
DEFAULT_PARTIES = "default"


def claims(
    sub: str,
    groups: tuple[str, ...] = ("applicant",),
    name: str | None = None,
    *,
    uscc: tuple[str, ...] | str = DEFAULT_PARTIES,
    id_number: str | None = DEFAULT_PARTIES,
    client: str = "web_portal",
) -> dict[str, str]:
    """Claims exactly as the HttpApi JWT authorizer hands them over: every value a string, arrays
    flattened to "[a b]", the bound enterprises as Cognito keeps the custom attribute ("A,B").
    Applicant-group accounts are bound to USCC_A, USCC_B and ID_PERSON unless told otherwise. `client`:
    the channel whose app client the ID token was issued to (or any other client id)."""
    applicant = "applicant" in groups
    usccs = ((USCC_A, USCC_B) if applicant else ()) if uscc == DEFAULT_PARTIES else tuple(uscc)
    person = (ID_PERSON if applicant else None) if id_number == DEFAULT_PARTIES else id_number
    now = int(time.time())
    out = {
        "sub": sub,
        "cognito:username": sub,
        "name": name or sub,
        "email": f"{sub}@example.test",
        "email_verified": "true",
        "iss": f"https://cognito-idp.{REGION}.amazonaws.com/{REGION}_test",
        "aud": CLIENTS.get(client, client),
        "token_use": "id",
        "auth_time": str(now),
        "iat": str(now),
        "exp": str(now + 3600),
    }
    if groups:
        out["cognito:groups"] = "[" + " ".join(groups) + "]"
    if usccs:
        out["custom:uscc"] = ",".join(usccs)
    if person:
        out["custom:id_number"] = person
    return out


def http_event(
    method: str,
    path: str,
    *,
    body: Any = None,
    raw_body: str | None = None,
    query: Mapping[str, str] | None = None,
    claims: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """An API Gateway HTTP API (payload format 2.0) event for `method path`."""
    now = datetime.now(UTC)
    text = raw_body
    if text is None and body is not None:
        text = json.dumps(body, ensure_ascii=False)
    all_headers = {"host": "api.example.test", "user-agent": "pytest"}
    if text is not None:
        all_headers["content-type"] = "application/json"
    all_headers.update({k.lower(): v for k, v in (headers or {}).items()})
    query_string = "&".join(f"{k}={v}" for k, v in (query or {}).items())
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query_string,
        "headers": all_headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "testapi",
            "domainName": "api.example.test",
            "domainPrefix": "api",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "192.0.2.1",
                "userAgent": "pytest",
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": "$default",
            "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now.timestamp() * 1000),
        },
        "isBase64Encoded": False,
    }
    if query:
        event["queryStringParameters"] = dict(query)
    if text is not None:
        event["body"] = text
    if claims is not None:
        event["requestContext"]["authorizer"] = {"jwt": {"claims": dict(claims), "scopes": None}}
    return event


@dataclass
class Reply:
    """A decoded handler result."""

    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
    raw: str = ""


def call(event: dict[str, Any]) -> Reply:
    """Invoke the real Lambda entry point with `event`."""
    from functions.api.app import lambda_handler

    result = lambda_handler(event, LambdaContext())
    raw = result.get("body") or ""
    try:
        body = json.loads(raw) if raw else None
    except ValueError:
        body = raw
    headers = {k.lower(): v for k, v in (result.get("headers") or {}).items()}
    return Reply(result["statusCode"], body, headers, raw)


class Client:
    """Calls the handler as one user (or anonymously)."""

    def __init__(
        self,
        sub: str | None,
        groups: tuple[str, ...] = ("applicant",),
        *,
        uscc: tuple[str, ...] | str = DEFAULT_PARTIES,
        id_number: str | None = DEFAULT_PARTIES,
        client: str = "web_portal",
    ) -> None:
        self.claims = (
            claims(sub, groups, uscc=uscc, id_number=id_number, client=client) if sub is not None else None
        )

    def request(self, method: str, path: str, **kw: Any) -> Reply:
        return call(http_event(method, path, claims=self.claims, **kw))

    def get(self, path: str, **kw: Any) -> Reply:
        return self.request("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> Reply:
        return self.request("POST", path, **kw)

    def delete(self, path: str, **kw: Any) -> Reply:
        return self.request("DELETE", path, **kw)


def create_table(ddb: Any) -> Any:
    """The one onestop table with its three GSIs (as template.yaml declares it)."""
    attrs = ["PK", "SK", "GSI1PK", "GSI1SK", "GSI2PK", "GSI2SK", "GSI3PK", "GSI3SK"]

    def gsi(name: str, n: int) -> dict[str, Any]:
        return {
            "IndexName": name,
            "KeySchema": [
                {"AttributeName": f"GSI{n}PK", "KeyType": "HASH"},
                {"AttributeName": f"GSI{n}SK", "KeyType": "RANGE"},
            ],
            "Projection": {"ProjectionType": "ALL"},
        }

    return ddb.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"} for a in attrs],
        GlobalSecondaryIndexes=[gsi("ByStatusDeadline", 1), gsi("ByHolder", 2), gsi("ByOwner", 3)],
        BillingMode="PAY_PER_REQUEST",
    )


@dataclass
class Aws:
    """The moto resources a test can inspect."""

    table: Any
    s3: Any
    sqs: Any
    events_queue_url: str

    def bus_events(self) -> list[dict[str, Any]]:
        """Every event put on the bus so far (drained from the capturing queue)."""
        out: list[dict[str, Any]] = []
        while True:
            reply = self.sqs.receive_message(QueueUrl=self.events_queue_url, MaxNumberOfMessages=10)
            messages = reply.get("Messages", [])
            if not messages:
                return out
            for message in messages:
                out.append(json.loads(message["Body"]))
                self.sqs.delete_message(
                    QueueUrl=self.events_queue_url, ReceiptHandle=message["ReceiptHandle"]
                )

    def set_material(self, application_id: str, slot: str, upload_id: str, **attributes: Any) -> None:
        """Stand in for the ingest function: update a material item's attributes."""
        names = {f"#a{i}": k for i, k in enumerate(attributes)}
        values = {f":v{i}": v for i, v in enumerate(attributes.values())}
        self.table.update_item(
            Key={"PK": f"APP#{application_id}", "SK": f"MAT#{slot}#{upload_id}"},
            UpdateExpression="SET " + ", ".join(f"#a{i} = :v{i}" for i in range(len(attributes))),
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
            ConditionExpression="attribute_exists(PK)",
        )


@contextmanager
def moto_aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    """moto with the table, both buckets and the bus (its events captured in an SQS queue).

    Each test module wraps this in its own `aws` fixture."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setenv("TABLE_NAME", TABLE)
    monkeypatch.setenv("UPLOADS_BUCKET", UPLOADS)
    monkeypatch.setenv("MATERIALS_BUCKET", MATERIALS)
    monkeypatch.setenv("EVENT_BUS_NAME", BUS)
    # Required by Settings; a test that uses them names its own (before calling this) and creates them.
    for name, default in (("LICENCES_BUCKET", LICENCES), ("IDEMPOTENCY_TABLE_NAME", IDEMPOTENCY)):
        monkeypatch.setenv(name, os.environ.get(name) or default)
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "onestop-api")
    monkeypatch.setenv("CHANNEL_CLIENTS", CHANNEL_CLIENTS)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    reset_settings()
    reset_clients()
    composition.reset()
    with mock_aws():
        ddb = boto3.resource("dynamodb", region_name=REGION)
        table = create_table(ddb)
        s3 = boto3.client("s3", region_name=REGION)
        for bucket in (UPLOADS, MATERIALS):
            s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "cn-north-1"})
        sqs = boto3.client("sqs", region_name=REGION)
        queue_url = sqs.create_queue(QueueName="bus-capture")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        events = boto3.client("events", region_name=REGION)
        events.create_event_bus(Name=BUS)
        events.put_rule(Name="all", EventBusName=BUS, EventPattern=json.dumps({"source": ["onestop"]}))
        events.put_targets(Rule="all", EventBusName=BUS, Targets=[{"Id": "capture", "Arn": queue_arn}])
        yield Aws(table=table, s3=s3, sqs=sqs, events_queue_url=queue_url)
    composition.reset()
    reset_clients()
    reset_settings()


def enterprise_body(
    item_code: str = SMALL_ITEM, uscc: str = USCC_A, name: str = "深圳市示例贸易有限公司"
) -> dict[str, Any]:
    return {"item_code": item_code, "applicant": {"kind": "enterprise", "uscc": uscc, "name": name}}


def new_application(client: Client, item_code: str = SMALL_ITEM, uscc: str = USCC_A) -> dict[str, Any]:
    reply = client.post("/applications", body=enterprise_body(item_code, uscc))
    assert reply.status == 201, reply.body
    return dict(reply.body)


def upload_ticket(
    client: Client,
    application_id: str,
    slot: str,
    filename: str = "document.pdf",
    content_type: str = "application/pdf",
    size: int = 1000,
) -> Reply:
    return client.post(
        f"/applications/{application_id}/materials/{slot}/uploads",
        body={"filename": filename, "content_type": content_type, "size": size},
    )


def catalogued(
    aws: Aws,
    client: Client,
    application_id: str,
    slot: str,
    material_type: str,
    fields: Mapping[str, str] | None = None,
) -> str:
    """Upload ticket + the ingest function's verdict "catalogued"; returns the upload id."""
    reply = upload_ticket(client, application_id, slot)
    assert reply.status == 201, reply.body
    upload_id = str(reply.body["upload_id"])
    aws.set_material(
        application_id,
        slot,
        upload_id,
        status="catalogued",
        classification={"material_type": material_type, "confidence": Decimal("0.97")},
        fields=dict(fields or {}),
    )
    return upload_id
