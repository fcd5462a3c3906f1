"""Issue 13, items 2 and 3: ingest catalogues only what an upload ticket asked for, and the evidence a
decision and a licence were taken on is frozen at submission.

Everything runs through the real handlers against moto: the api function (tickets, submit, decisions,
the detail page), a real multipart POST to the presigned URL (moto in-process), the ingest function
fed the S3 notification of the object version the POST created, and the issue function fed the
`ApplicationApproved` event taken off the bus (sealed with a dev PKI instead of KMS: the seal is not
what is under test here).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote_plus

import boto3
import pytest
import requests
from onestop.aws.application_links import DynamoApplicationLinker
from onestop.aws.events import EventBridgePublisher
from onestop.aws.licence_registry import DynamoLicenceRegistry
from onestop.catalogue import load_catalogue
from onestop.licences.issuance import IssuerProfile
from onestop.licences.issuer import LicenceOffice
from onestop.licences.pki import DevPki
from onestop.licences.signers import LocalKeySigner
from onestop.settings import get_settings

from functions.ingest import app as ingest_app
from functions.issue import app as issue_app
from tests.integration.api_helpers import (
    BUS,
    IDEMPOTENCY,
    REGION,
    UPLOADS,
    Aws,
    Client,
    enterprise_body,
    moto_aws,
    upload_ticket,
)
from tests.integration.ingest_stack import Context
from tests.integration.test_api_elicence import LICENCES, published_licences
from tests.materials_specimens import COMPANY, LICENCE_USCC, SPECIMENS, png_bytes, text_pdf_bytes

pytestmark = [pytest.mark.timeout(300)]

ITEM = "outbound-investment-filing"  # issues a licence; required: application, business_licence
PDF_ONLY_ITEM = "technology-contract-registration"  # its `contract` slot takes PDF only

# Both act for the enterprise the specimens name (its business licence carries that USCC).
alice = Client("alice-sub", uscc=(LICENCE_USCC,))
bob = Client("bob-sub", uscc=(LICENCE_USCC,))
reviewer = Client("reviewer-1", ("reviewer",))


@dataclass
class World:
    aws: Aws
    office: LicenceOffice

    # ------------------------------------------------------------------ uploads

    def post(
        self, ticket: dict[str, Any], body: bytes, content_type: str = "application/pdf"
    ) -> dict[str, Any]:
        """The portal's multipart POST with the ticket's fields; the object version it created."""
        reply = requests.post(
            ticket["url"], data=ticket["fields"], files={"file": ("f", body, content_type)}, timeout=30
        )
        assert reply.status_code in (200, 201, 204), reply.text
        return self.latest(ticket["fields"]["key"])

    def put(self, key: str, body: bytes, metadata: dict[str, str] | None = None) -> dict[str, Any]:
        """An object written without a ticket (what S3 does not stop once a policy is bypassed)."""
        self.aws.s3.put_object(
            Bucket=UPLOADS, Key=key, Body=body, ContentType="application/pdf", Metadata=metadata or {}
        )
        return self.latest(key)

    def latest(self, key: str) -> dict[str, Any]:
        versions = self.aws.s3.list_object_versions(Bucket=UPLOADS, Prefix=key)["Versions"]
        newest = next(v for v in versions if v["Key"] == key and v["IsLatest"])
        return {
            "key": key,
            "version_id": newest["VersionId"],
            "etag": newest["ETag"].strip('"'),
            "size": newest["Size"],
        }

    def ingest(self, obj: dict[str, Any]) -> dict[str, Any]:
        """The ingest function, fed the notification S3 sends for the object version."""
        record = {
            "eventVersion": "2.1",
            "eventSource": "aws:s3",
            "awsRegion": REGION,
            "eventName": "ObjectCreated:Post",
            "s3": {
                "s3SchemaVersion": "1.0",
                "bucket": {"name": UPLOADS},
                "object": {
                    "key": quote_plus(obj["key"], safe="/"),
                    "size": obj["size"],
                    "eTag": obj["etag"],
                    "versionId": obj["version_id"],
                    "sequencer": "0A1B",
                },
            },
        }
        event = {
            "Records": [
                {
                    "messageId": str(uuid.uuid4()),
                    "receiptHandle": "handle",
                    "body": json.dumps({"Records": [record]}),
                    "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1700000000000"},
                    "messageAttributes": {},
                    "md5OfBody": "",
                    "eventSource": "aws:sqs",
                    "eventSourceARN": f"arn:aws:sqs:{REGION}:123456789012:uploads",
                    "awsRegion": REGION,
                }
            ]
        }
        reply: dict[str, Any] = ingest_app.lambda_handler(event, Context())
        assert reply == {"batchItemFailures": []}, reply
        return reply

    # ------------------------------------------------------------------ reading back

    def item(self, pk: str, sk: str) -> dict[str, Any] | None:
        found: dict[str, Any] | None = self.aws.table.get_item(Key={"PK": pk, "SK": sk}).get("Item")
        return found

    def material(self, app_id: str, slot: str, upload_id: str) -> dict[str, Any] | None:
        return self.item(f"APP#{app_id}", f"MAT#{slot}#{upload_id}")

    def partition(self, app_id: str) -> list[dict[str, Any]]:
        reply = self.aws.table.query(
            KeyConditionExpression="PK = :pk", ExpressionAttributeValues={":pk": f"APP#{app_id}"}
        )
        return list(reply["Items"])

    def audit(self, app_id: str) -> list[dict[str, Any]]:
        return [i for i in self.partition(app_id) if str(i["SK"]).startswith("EVT#")]

    def keys(self, prefix: str) -> list[str]:
        versions = self.aws.s3.list_object_versions(Bucket=UPLOADS, Prefix=prefix).get("Versions", [])
        return sorted(f"{v['Key']}@{v['VersionId']}" for v in versions)


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch, pki: DevPki) -> Iterator[World]:
    monkeypatch.setenv("LICENCES_BUCKET", LICENCES)
    monkeypatch.setenv("POWERTOOLS_IDEMPOTENCY_DISABLED", "false")
    with moto_aws(monkeypatch) as aws:
        # As template.yaml declares them: versioned uploads, the ingest function's idempotency table,
        # an Object-Lock licences bucket with the published PKI.
        aws.s3.put_bucket_versioning(Bucket=UPLOADS, VersioningConfiguration={"Status": "Enabled"})
        boto3.client("dynamodb", region_name=REGION).create_table(
            TableName=IDEMPOTENCY,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        )
        store = published_licences(aws, pki)
        office = LicenceOffice(
            catalogue=load_catalogue(),
            issuer=IssuerProfile.from_settings(get_settings()),
            registry=DynamoLicenceRegistry(aws.table.name),
            store=store,
            publisher=EventBridgePublisher(BUS, "onestop"),
            applications=DynamoApplicationLinker(aws.table.name),
            signer=lambda: LocalKeySigner.from_dev_pki(pki),
        )
        monkeypatch.setattr(issue_app, "licence_office", lambda: office)
        yield World(aws, office)


def licence_pdf() -> bytes:
    return text_pdf_bytes(list(SPECIMENS["business_licence"]().lines))


def form_pdf() -> bytes:
    return text_pdf_bytes(list(SPECIMENS["application_form"]().lines))


def new_app(client: Client = alice, item: str = ITEM) -> str:
    reply = client.post("/applications", body=enterprise_body(item, LICENCE_USCC, COMPANY))
    assert reply.status == 201, reply.body
    return str(reply.body["id"])


def ticket(app_id: str, slot: str, client: Client = alice, size: int = 1000) -> dict[str, Any]:
    reply = upload_ticket(client, app_id, slot, size=size)
    assert reply.status == 201, reply.body
    return dict(reply.body)


def uploaded(world: World, app_id: str, slot: str, body: bytes) -> tuple[dict[str, Any], dict[str, Any]]:
    """Ticket, POST, ingest: the ticket and the object version."""
    t = ticket(app_id, slot)
    obj = world.post(t, body)
    world.ingest(obj)
    return t, obj


def issue_from_bus(world: World) -> dict[str, Any]:
    approved = [e for e in world.aws.bus_events() if e["detail-type"] == "ApplicationApproved"]
    assert len(approved) == 1
    event = {**approved[0], "id": str(uuid.uuid4()), "source": "onestop", "account": "123456789012"}
    event.setdefault("time", "2026-01-01T00:00:00Z")
    event.setdefault("region", REGION)
    event.setdefault("resources", [])
    result: dict[str, Any] = issue_app.lambda_handler(event, Context())
    return result


def emitted_metrics(out: str) -> list[str]:
    names: list[str] = []
    for line in out.splitlines():
        if '"_aws"' not in line:
            continue
        blob = json.loads(line)
        for directive in blob["_aws"]["CloudWatchMetrics"]:
            names.extend(m["Name"] for m in directive["Metrics"])
    return names


# ----------------------------------------------------------------------------- item 3: the swap


def test_evidence_cannot_be_swapped_after_approval_and_the_licence_names_what_it_was_issued_on(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    app_id = new_app()
    form_ticket, form_obj = uploaded(world, app_id, "application", form_pdf())
    licence_bytes = licence_pdf()
    lic_ticket, lic_obj = uploaded(world, app_id, "business_licence", licence_bytes)
    upload_id = lic_ticket["upload_id"]
    before = world.material(app_id, "business_licence", upload_id)
    assert before is not None
    assert before["status"] == "catalogued", before
    assert before["original"]["sha256"] == hashlib.sha256(licence_bytes).hexdigest()

    submitted = alice.post(f"/applications/{app_id}/submit")
    assert submitted.status == 200, submitted.body
    assert reviewer.post(f"/applications/{app_id}/decision", body={"action": "accept"}).status == 200
    approved = reviewer.post(f"/applications/{app_id}/decision", body={"action": "approve"})
    assert approved.status == 200, approved.body
    issued = issue_from_bus(world)
    assert issued["issued"] is True
    capsys.readouterr()

    # The attack: the same presigned ticket, POSTed again with another document.
    swapped = world.post(lic_ticket, form_pdf())
    assert swapped["version_id"] != lic_obj["version_id"]
    world.ingest(swapped)

    after = world.material(app_id, "business_licence", upload_id)
    assert after == before  # not re-catalogued: same type, same fields, same original
    # The swapped bytes are out of the uploads prefix (quarantined); the evidence version is intact.
    assert world.keys(lic_ticket["key"]) == [f"{lic_ticket['key']}@{lic_obj['version_id']}"]
    assert any(k.startswith(f"quarantine/{lic_ticket['key']}@") for k in world.keys("quarantine/"))
    held = world.aws.s3.get_object(Bucket=UPLOADS, Key=lic_ticket["key"], VersionId=lic_obj["version_id"])
    assert hashlib.sha256(held["Body"].read()).hexdigest() == before["original"]["sha256"]
    # Audited on the application, counted.
    refused = [e for e in world.audit(app_id) if e["action"] == "late_upload_refused"]
    assert len(refused) == 1
    assert refused[0]["reason"][0]["code"] == "late_upload_refused"
    assert refused[0]["reason"][0]["zh"]
    assert refused[0]["reason"][0]["en"]
    assert swapped["version_id"] in refused[0]["comment"]
    assert "UploadRefused" in emitted_metrics(capsys.readouterr().out)

    # The pinned set: frozen at submit, recorded by the decision, listed by the licence.
    application = world.item(f"APP#{app_id}", "META")
    assert application is not None
    pinned = {e["upload_id"]: e for e in application["evidence"]}
    assert set(pinned) == {form_ticket["upload_id"], upload_id}
    assert pinned[upload_id]["sha256"] == hashlib.sha256(licence_bytes).hexdigest()
    assert pinned[upload_id]["version_id"] == lic_obj["version_id"]
    assert pinned[form_ticket["upload_id"]]["version_id"] == form_obj["version_id"]
    assert application["decision_evidence"] == application["evidence"]
    licence = world.office.get(issued["licence_id"])
    assert {(e.upload_id, e.sha256, e.version_id) for e in licence.evidence} == {
        (e["upload_id"], e["sha256"], e["version_id"]) for e in application["evidence"]
    }

    # A reviewer sees the pinned hash and version per material.
    detail = reviewer.get(f"/applications/{app_id}")
    assert detail.status == 200
    shown = {m["upload_id"]: m["pinned"] for m in detail.body["materials"]}
    assert shown[upload_id]["sha256"] == pinned[upload_id]["sha256"]
    assert shown[upload_id]["version_id"] == lic_obj["version_id"]
    view = alice.get(f"/licences/{issued['licence_id']}")
    assert view.status == 200, view.body
    assert {e["sha256"] for e in view.body["evidence"]} == {e["sha256"] for e in application["evidence"]}


def test_a_second_post_before_submit_does_not_replace_the_catalogued_file(world: World) -> None:
    app_id = new_app()
    t, first = uploaded(world, app_id, "business_licence", licence_pdf())
    before = world.material(app_id, "business_licence", t["upload_id"])
    second = world.post(t, form_pdf())
    world.ingest(second)
    assert world.material(app_id, "business_licence", t["upload_id"]) == before
    actions = [(e["action"], e["reason"][0]["code"]) for e in world.audit(app_id) if e["action"] != "create"]
    assert actions == [("upload_refused", "upload_ticket_used")]
    assert world.keys(t["key"]) == [f"{t['key']}@{first['version_id']}"]


# ----------------------------------------------------------------------------- item 2: not asked for


def test_an_object_without_any_ticket_is_not_catalogued(world: World) -> None:
    app_id = new_app()
    key = f"uploads/{app_id}/business_licence/{'f' * 32}/licence.pdf"
    obj = world.put(key, licence_pdf())
    world.ingest(obj)
    assert [i for i in world.partition(app_id) if str(i["SK"]).startswith("MAT#")] == []
    (refused,) = [e for e in world.audit(app_id) if e["action"] == "upload_refused"]
    assert refused["reason"][0]["code"] == "upload_not_requested"
    assert world.keys(key) == []
    assert world.keys(f"quarantine/{key}") != []
    # The same notification again once the idempotency record expired: the object is gone, nothing
    # is owed, nothing fails or is recorded twice.
    ddb = boto3.client("dynamodb", region_name=REGION)
    for record in ddb.scan(TableName=IDEMPOTENCY)["Items"]:
        ddb.delete_item(TableName=IDEMPOTENCY, Key={"id": record["id"]})
    world.ingest(obj)
    assert [e["action"] for e in world.audit(app_id)] == ["create", "upload_refused"]
    assert len(world.keys("quarantine/")) == 1


def test_an_object_for_an_application_that_does_not_exist_leaves_nothing_in_the_table(world: World) -> None:
    key = f"uploads/{'a' * 32}/business_licence/{'b' * 32}/licence.pdf"
    world.ingest(world.put(key, licence_pdf()))
    assert world.partition("a" * 32) == []
    assert world.keys(key) == []


def test_a_ticket_key_moved_into_another_application_is_not_catalogued(world: World) -> None:
    alices = new_app(alice)
    bobs = new_app(bob)
    t = ticket(alices, "business_licence")
    moved = t["key"].replace(alices, bobs)
    meta = {"application-id": alices, "slot": "business_licence", "upload-id": t["upload_id"]}
    world.ingest(world.put(moved, licence_pdf(), meta))
    assert [i for i in world.partition(bobs) if str(i["SK"]).startswith("MAT#")] == []
    assert world.material(alices, "business_licence", t["upload_id"])["status"] == "awaiting_upload"  # type: ignore[index]
    assert [e["reason"][0]["code"] for e in world.audit(bobs) if e["action"] == "upload_refused"] == [
        "upload_not_requested"
    ]


def test_an_object_under_the_ticket_key_without_the_ticket_id_is_not_catalogued(world: World) -> None:
    app_id = new_app()
    t = ticket(app_id, "business_licence")
    world.ingest(world.put(t["key"], licence_pdf(), {"upload-id": "someone-else"}))
    material = world.material(app_id, "business_licence", t["upload_id"])
    assert material is not None
    assert material["status"] == "awaiting_upload"  # not the owner's doing: their record stays
    assert [e["reason"][0]["code"] for e in world.audit(app_id) if e["action"] == "upload_refused"] == [
        "upload_ticket_mismatch"
    ]
    assert world.keys(t["key"]) == []


def test_a_file_over_the_slots_own_maximum_is_refused_and_the_applicant_sees_why(world: World) -> None:
    app_id = new_app()
    t = ticket(app_id, "business_licence")
    assert t["max_bytes"] == 10 * 1024 * 1024  # the slot's maximum, under the global 20 MiB
    body = licence_pdf()
    big = body + b"%" + b"0" * (t["max_bytes"] + 1 - len(body) - 1)
    # The POST policy would refuse this in AWS; the object is written past it here.
    obj = world.put(t["key"], big, {"upload-id": t["upload_id"]})
    world.ingest(obj)
    material = world.material(app_id, "business_licence", t["upload_id"])
    assert material is not None
    assert material["status"] == "rejected"
    assert material["reason"]["code"] == "file_too_large"
    assert "10485760" in material["reason"]["en"]
    assert "10485760" in material["reason"]["zh"]
    assert "classification" not in material
    assert world.keys(t["key"]) == []
    shown = alice.get(f"/applications/{app_id}").body["materials"][0]
    assert (shown["status"], shown["reason"]["code"]) == ("rejected", "file_too_large")


def test_png_bytes_declared_as_pdf_in_a_pdf_only_slot_are_refused(world: World) -> None:
    app_id = new_app(item=PDF_ONLY_ITEM)
    t = ticket(app_id, "contract")
    image = png_bytes(SPECIMENS["business_licence"]().image)
    world.ingest(world.post(t, image, "application/pdf"))
    material = world.material(app_id, "contract", t["upload_id"])
    assert material is not None
    assert (material["status"], material["reason"]["code"]) == ("rejected", "format_not_accepted")
    assert "actually PNG" in material["reason"]["en"]
    assert "accepts only PDF" in material["reason"]["en"]
    assert world.keys(t["key"]) == []


def test_an_upload_into_an_application_that_is_no_longer_editable_is_refused(world: World) -> None:
    app_id = new_app()
    uploaded(world, app_id, "application", form_pdf())
    uploaded(world, app_id, "business_licence", licence_pdf())
    late = ticket(app_id, "investment_decision")  # optional: submit does not wait for it
    assert alice.post(f"/applications/{app_id}/submit").status == 200
    world.ingest(world.post(late, form_pdf()))
    material = world.material(app_id, "investment_decision", late["upload_id"])
    assert material is not None
    assert (material["status"], material["reason"]["code"]) == ("rejected", "late_upload_refused")
    assert [e["action"] for e in world.audit(app_id)].count("late_upload_refused") == 1
    assert world.keys(late["key"]) == []


def test_a_redelivered_notification_does_no_work_twice(world: World) -> None:
    app_id = new_app()
    t = ticket(app_id, "business_licence")
    obj = world.post(t, licence_pdf())
    world.ingest(obj)
    first = world.material(app_id, "business_licence", t["upload_id"])
    world.ingest(obj)
    assert world.material(app_id, "business_licence", t["upload_id"]) == first
    assert [e["action"] for e in world.audit(app_id)] == ["create"]
    assert [e["detail-type"] for e in world.aws.bus_events()] == ["MaterialCatalogued"]


# ----------------------------------------------------------------------------- the template


def test_the_template_keeps_evidence_versions_and_expires_only_quarantine_and_raw_uploads() -> None:
    from infra.local.template import load_sam_template

    resources = load_sam_template()["Resources"]
    bucket = resources["UploadsBucket"]["Properties"]
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    rules = {r["Prefix"]: r for r in bucket["LifecycleConfiguration"]["Rules"]}
    assert set(rules) == {"uploads/", "quarantine/"}
    assert rules["quarantine/"]["Status"] == "Enabled"
    assert "ExpirationInDays" in rules["quarantine/"]
    # Only uploads/ is ingested: a quarantined copy is never offered to the gate again.
    (notification,) = bucket["NotificationConfiguration"]["QueueConfigurations"]
    assert notification["Filter"]["S3Key"]["Rules"] == [{"Name": "prefix", "Value": "uploads/"}]
    # The catalogued original is kept where nothing expires it.
    assert "LifecycleConfiguration" not in resources["MaterialsBucket"]["Properties"]
    assert resources["MaterialsBucket"]["Properties"]["VersioningConfiguration"] == {"Status": "Enabled"}
    # The ingest function may move a refused object: write under quarantine/, delete its version.
    statements = [
        s
        for p in resources["IngestFunction"]["Properties"]["Policies"]
        if isinstance(p, dict) and "Statement" in p
        for s in p["Statement"]
    ]
    grants = {(a, str(s["Resource"])) for s in statements for a in s["Action"]}
    assert ("s3:DeleteObjectVersion", "{'Fn::Sub': '${UploadsBucket.Arn}/uploads/*'}") in grants
    assert ("s3:PutObject", "{'Fn::Sub': '${UploadsBucket.Arn}/quarantine/*'}") in grants
