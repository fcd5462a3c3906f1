"""Issue 13, item 4: the local S3 refuses what AWS refuses of a browser POST upload.

Real upload tickets from the api function, posted over real HTTP (multipart, as a browser sends them)
to a moto server listening on a socket, with the POST policy check installed as in the local stack
(infra/local/s3_post_policy.py). Before the check, moto stored every one of these attacks; each test
now shows S3's status and error and that nothing was stored, and the honest upload still lands.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from xml.etree import ElementTree

import boto3
import pytest
import requests
from moto.server import ThreadedMotoServer
from onestop.aws import composition
from onestop.aws.clients import reset_clients
from onestop.settings import reset_settings

from tests.integration.api_helpers import (
    BUS,
    CHANNEL_CLIENTS,
    IDEMPOTENCY,
    LICENCES,
    MATERIALS,
    REGION,
    TABLE,
    UPLOADS,
    USCC_A,
    USCC_B,
    Client,
    create_table,
    new_application,
    upload_ticket,
)

pytestmark = [pytest.mark.timeout(120)]

alice = Client("alice-sub", uscc=(USCC_A,))
bob = Client("bob-sub", uscc=(USCC_B,))
SLOT = "business_licence"  # PDF or image, at most 10 MiB
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@dataclass
class Served:
    """The moto server the api function and the uploads talk to, over HTTP."""

    endpoint: str
    s3: Any

    def stored(self, key: str) -> bool:
        return "Contents" in self.s3.list_objects_v2(Bucket=UPLOADS, Prefix=key)


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    host, port = moto.get_host_and_port()
    yield f"http://{host}:{port}"
    moto.stop()


@pytest.fixture
def served(server: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Served]:
    requests.post(f"{server}/moto-api/reset", timeout=10).raise_for_status()
    for name, value in {
        "AWS_ENDPOINT_URL": server,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "TABLE_NAME": TABLE,
        "UPLOADS_BUCKET": UPLOADS,
        "MATERIALS_BUCKET": MATERIALS,
        "LICENCES_BUCKET": LICENCES,
        "IDEMPOTENCY_TABLE_NAME": IDEMPOTENCY,
        "EVENT_BUS_NAME": BUS,
        "POWERTOOLS_SERVICE_NAME": "onestop-api",
        "CHANNEL_CLIENTS": CHANNEL_CLIENTS,
    }.items():
        monkeypatch.setenv(name, value)
    reset_settings()
    reset_clients()
    composition.reset()
    create_table(boto3.resource("dynamodb", region_name=REGION))
    s3 = boto3.client("s3", region_name=REGION)
    for bucket in (UPLOADS, MATERIALS):
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "cn-north-1"})
    boto3.client("events", region_name=REGION).create_event_bus(Name=BUS)
    yield Served(endpoint=server, s3=s3)
    composition.reset()
    reset_clients()
    reset_settings()


def ticket(
    application_id: str, content_type: str = "application/pdf", size: int = len(PDF)
) -> dict[str, Any]:
    filename = "licence.pdf" if content_type == "application/pdf" else "licence.png"
    reply = upload_ticket(
        alice, application_id, SLOT, filename=filename, content_type=content_type, size=size
    )
    assert reply.status == 201, reply.body
    return dict(reply.body)


def post(
    ticket: dict[str, Any], body: bytes = PDF, fields: dict[str, str] | None = None, url: str | None = None
) -> requests.Response:
    """The browser's multipart POST: the ticket's fields (or `fields`), then the file, last."""
    form = ticket["fields"] if fields is None else fields
    return requests.post(
        url or ticket["url"],
        data=form,
        files={"file": ("licence.pdf", body, form.get("Content-Type", "application/pdf"))},
        timeout=30,
    )


def s3_error(response: requests.Response) -> tuple[int, str, str]:
    assert response.status_code >= 400, f"S3 accepted it ({response.status_code})"
    root = ElementTree.fromstring(response.content)
    return response.status_code, root.findtext("Code") or "", root.findtext("Message") or ""


def test_the_honest_upload_lands_with_its_ticket(served: Served) -> None:
    app = new_application(alice, uscc=USCC_A)
    issued = ticket(app["id"])
    assert issued["url"].startswith(served.endpoint)  # real HTTP to the served moto, not an in-process mock
    response = post(issued)
    assert response.status_code == 204, response.text
    head = served.s3.head_object(Bucket=UPLOADS, Key=issued["key"])
    assert head["ContentLength"] == len(PDF)
    assert head["ContentType"] == "application/pdf"
    assert head["Metadata"]["application-id"] == app["id"]
    assert head["Metadata"]["upload-id"] == issued["upload_id"]


def test_an_anonymous_post_without_a_ticket_is_denied(served: Served) -> None:
    app = new_application(alice, uscc=USCC_A)
    key = f"uploads/{app['id']}/{SLOT}/made-up/licence.pdf"
    response = requests.post(
        f"{served.endpoint}/{UPLOADS}",
        data={"key": key, "Content-Type": "application/pdf", "x-amz-meta-application-id": app["id"]},
        files={"file": ("licence.pdf", PDF, "application/pdf")},
        timeout=30,
    )
    assert s3_error(response) == (403, "AccessDenied", "Access Denied")
    assert not served.stored(key)


def test_a_ticket_rewritten_into_another_application_is_denied(served: Served) -> None:
    mine = new_application(alice, uscc=USCC_A)
    theirs = new_application(bob, uscc=USCC_B)
    issued = ticket(mine["id"])
    key = issued["key"].replace(mine["id"], theirs["id"])
    key_condition = f'["eq", "$key", "{issued["key"]}"]'
    meta_condition = f'["eq", "$x-amz-meta-application-id", "{mine["id"]}"]'
    # the key alone; then with the metadata naming their application too (that condition comes first
    # in the policy, and S3 names the first condition that fails)
    for changes, failed in (
        ({"key": key}, key_condition),
        ({"key": key, "x-amz-meta-application-id": theirs["id"]}, meta_condition),
    ):
        response = post(issued, fields={**issued["fields"], **changes})
        assert s3_error(response) == (
            403,
            "AccessDenied",
            f"Invalid according to Policy: Policy Condition failed: {failed}",
        )
    assert not served.stored(f"uploads/{theirs['id']}/")


def test_metadata_other_than_the_tickets_is_denied(served: Served) -> None:
    app = new_application(alice, uscc=USCC_A)
    issued = ticket(app["id"])
    forged = post(issued, fields={**issued["fields"], "x-amz-meta-upload-id": "another-upload"})
    assert s3_error(forged) == (
        403,
        "AccessDenied",
        f'Invalid according to Policy: Policy Condition failed: ["eq", "$x-amz-meta-upload-id", '
        f'"{issued["upload_id"]}"]',
    )
    extra = post(issued, fields={**issued["fields"], "x-amz-meta-material-type": "business_licence"})
    assert s3_error(extra) == (
        403,
        "AccessDenied",
        "Invalid according to Policy: Extra input fields: x-amz-meta-material-type",
    )
    assert not served.stored(issued["key"])


def test_a_file_over_the_slot_maximum_is_too_large(served: Served) -> None:
    app = new_application(alice, uscc=USCC_A)
    issued = ticket(app["id"])
    too_big = issued["max_bytes"] + 1
    response = post(issued, body=PDF + b"\0" * (too_big - len(PDF)))
    status, code, message = s3_error(response)
    assert (status, code, message) == (
        400,
        "EntityTooLarge",
        "Your proposed upload exceeds the maximum allowed size",
    )
    root = ElementTree.fromstring(response.content)
    assert root.findtext("ProposedSize") == str(too_big)
    assert root.findtext("MaxSizeAllowed") == str(issued["max_bytes"])
    assert not served.stored(issued["key"])


def test_an_empty_file_is_too_small(served: Served) -> None:
    app = new_application(alice, uscc=USCC_A)
    issued = ticket(app["id"])
    assert s3_error(post(issued, body=b""))[:2] == (400, "EntityTooSmall")
    assert not served.stored(issued["key"])


def test_a_content_type_other_than_the_tickets_is_denied(served: Served) -> None:
    app = new_application(alice, uscc=USCC_A)
    issued = ticket(app["id"], content_type="application/pdf")
    png = b"\x89PNG\r\n\x1a\n" + b"\0" * 64
    response = post(issued, body=png, fields={**issued["fields"], "Content-Type": "image/png"})
    assert s3_error(response) == (
        403,
        "AccessDenied",
        'Invalid according to Policy: Policy Condition failed: ["eq", "$Content-Type", "application/pdf"]',
    )
    assert not served.stored(issued["key"])


def test_a_forged_signature_is_refused(served: Served) -> None:
    app = new_application(alice, uscc=USCC_A)
    issued = ticket(app["id"])
    signature = issued["fields"]["x-amz-signature"]
    forged = ("0" if signature[0] != "0" else "1") + signature[1:]
    response = post(issued, fields={**issued["fields"], "x-amz-signature": forged})
    assert s3_error(response)[:2] == (403, "SignatureDoesNotMatch")
    assert not served.stored(issued["key"])


def test_a_ticket_posted_to_another_bucket_is_denied(served: Served) -> None:
    app = new_application(alice, uscc=USCC_A)
    issued = ticket(app["id"])
    response = post(issued, url=f"{served.endpoint}/{MATERIALS}")
    status, code, message = s3_error(response)
    assert (status, code) == (403, "AccessDenied")
    assert message == f'Invalid according to Policy: Policy Condition failed: ["eq", "$bucket", "{UPLOADS}"]'


def test_an_expired_ticket_is_denied(served: Served, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UPLOAD_URL_TTL_SECONDS", "1")
    reset_settings()
    composition.reset()
    app = new_application(alice, uscc=USCC_A)
    issued = ticket(app["id"])
    assert issued["expires_in"] == 1
    time.sleep(2.1)  # the policy's expiration has whole seconds
    response = post(issued)
    assert s3_error(response) == (403, "AccessDenied", "Invalid according to Policy: Policy expired.")
    assert not served.stored(issued["key"])


def test_the_ticket_pins_exactly_what_it_asked_for(served: Served) -> None:
    """Every condition is an exact match (no starts-with a forger could stretch), and nothing is missing."""
    app = new_application(alice, uscc=USCC_A)
    issued = ticket(app["id"])
    fields = issued["fields"]
    policy = json.loads(base64.b64decode(fields["policy"]))
    pinned = {
        "bucket": UPLOADS,
        "key": issued["key"],
        "Content-Type": "application/pdf",
        "x-amz-meta-application-id": app["id"],
        "x-amz-meta-slot": SLOT,
        "x-amz-meta-upload-id": issued["upload_id"],
        "x-amz-algorithm": "AWS4-HMAC-SHA256",
        "x-amz-credential": fields["x-amz-credential"],
        "x-amz-date": fields["x-amz-date"],
    }
    assert sorted(policy["conditions"], key=str) == sorted(
        [
            *({name: value} for name, value in pinned.items()),
            ["content-length-range", 1, issued["max_bytes"]],
        ],
        key=str,
    )
    # and the form carries each pinned field with the pinned value
    assert {name: fields.get(name, UPLOADS if name == "bucket" else None) for name in pinned} == pinned
