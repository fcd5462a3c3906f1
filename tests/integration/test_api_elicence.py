"""E-licence reuse (免提交) through the api Lambda handler against moto.

Licences are issued for real first (render, PAdES seal with a dev PKI published to the licences
bucket, DynamoDB registry), then attached by identifier to a `refined-oil-retail-change`
application's `current_licence` slot, or refused with a reason that says why.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from onestop.aws.events import EventBridgePublisher
from onestop.aws.licence_registry import DynamoLicenceRegistry
from onestop.aws.s3 import S3BlobStore
from onestop.catalogue import load_catalogue
from onestop.identifiers.licence_id import make_licence_id, parse_licence_id
from onestop.licences import lifecycle
from onestop.licences.issuance import issue_licence
from onestop.licences.models import Action, LicenceRecord, LicenceStatus
from onestop.licences.pki import DevPki, make_dev_pki
from onestop.licences.signers import LocalKeySigner

from infra.pki.bootstrap import publish
from tests.unit.test_licence_support import BUREAU, ISSUER, OIL_LICENCE, approval

from .api_helpers import (
    BUS,
    MATERIALS,
    REGION,
    UPLOADS,
    USCC_A,
    USCC_B,
    Aws,
    Client,
    moto_aws,
    new_application,
)

LICENCES = "onestop-test-licences"
CHANGE_ITEM = "refined-oil-retail-change"
SLOT = "current_licence"
NOW = datetime.now(UTC)

alice = Client("alice-sub")
bob = Client("bob-sub")


@pytest.fixture(scope="module")
def pki() -> DevPki:
    return make_dev_pki(BUREAU)


@dataclass
class Bureau:
    """The licence side of the same moto account: issue and change licences as the issue function would."""

    aws: Aws
    pki: DevPki
    store: S3BlobStore
    registry: DynamoLicenceRegistry
    publisher: EventBridgePublisher

    def issue(self, holder: str = USCC_A, application_id: str | None = None, **facts: Any) -> LicenceRecord:
        """A valid licence to `holder`, on `application_id` (by default a fresh approved application:
        the issue path gives each application one licence)."""
        facts.setdefault("approved_at", NOW)
        record = issue_licence(
            approval(application_id or uuid.uuid4().hex, holder_code=holder, **facts),
            licence_type=OIL_LICENCE,
            issuer=ISSUER,
            registry=self.registry,
            store=self.store,
            signer=LocalKeySigner.from_dev_pki(self.pki),
            publisher=self.publisher,
        )
        assert record.status is LicenceStatus.VALID
        assert record.pdf is not None
        return record

    def objects(self, bucket: str) -> list[str]:
        return [o["Key"] for o in self.aws.s3.list_objects_v2(Bucket=bucket).get("Contents", [])]


def published_licences(aws: Aws, pki: DevPki) -> S3BlobStore:
    """The licences bucket as template.yaml declares it (Object Lock, so versioned), the PKI published."""
    aws.s3.create_bucket(
        Bucket=LICENCES,
        CreateBucketConfiguration={"LocationConstraint": REGION},
        ObjectLockEnabledForBucket=True,
    )
    store = S3BlobStore(LICENCES)
    publish(
        store, "pki/", root_cert=pki.root_cert, seal_cert=pki.seal_cert, kms_key_id="dev", kms_key_arn=None
    )
    return store


def bureau_in(monkeypatch: pytest.MonkeyPatch, pki: DevPki) -> Iterator[Bureau]:
    """moto with the licences bucket and the published dev PKI (the body of every `bureau` fixture)."""
    monkeypatch.setenv("LICENCES_BUCKET", LICENCES)
    monkeypatch.setenv("PKI_PREFIX", "pki/")
    with moto_aws(monkeypatch) as aws:
        store = published_licences(aws, pki)
        yield Bureau(
            aws, pki, store, DynamoLicenceRegistry(aws.table.name), EventBridgePublisher(BUS, "onestop")
        )


@pytest.fixture
def bureau(monkeypatch: pytest.MonkeyPatch, pki: DevPki) -> Iterator[Bureau]:
    yield from bureau_in(monkeypatch, pki)


def change_application(client: Client = alice, uscc: str = USCC_A) -> str:
    return str(new_application(client, CHANGE_ITEM, uscc)["id"])


def attach(app_id: str, licence_id: str, slot: str = SLOT, client: Client = alice) -> Any:
    return client.post(f"/applications/{app_id}/materials/{slot}/elicence", body={"licence_id": licence_id})


def material_items(aws: Aws, app_id: str) -> list[dict[str, Any]]:
    reply = aws.table.query(
        KeyConditionExpression="PK = :pk AND begins_with(SK, :m)",
        ExpressionAttributeValues={":pk": f"APP#{app_id}", ":m": "MAT#"},
    )
    return list(reply["Items"])


def audit_actions(aws: Aws, app_id: str) -> list[str]:
    reply = aws.table.query(
        KeyConditionExpression="PK = :pk AND begins_with(SK, :e)",
        ExpressionAttributeValues={":pk": f"APP#{app_id}", ":e": "EVT#"},
    )
    return [str(i["action"]) for i in reply["Items"]]


def assert_refused(reply: Any, status: int, code: str) -> dict[str, Any]:
    assert reply.status == status, reply.body
    body: dict[str, Any] = reply.body
    assert body["code"] == code, body
    assert body["message"]["zh"]
    assert body["message"]["en"]
    for detail in body.get("details", []):
        assert detail["zh"]
        assert detail["en"]
    return body


def submit_fields(app_id: str) -> set[str]:
    reply = alice.post(f"/applications/{app_id}/submit")
    assert reply.status == 422, reply.body
    return {str(d.get("field")) for d in reply.body["details"]}


# ----------------------------------------------------------------------------- attached


def test_issued_licence_is_catalogued_in_the_slot(bureau: Bureau) -> None:
    record = bureau.issue()
    assert record.pdf is not None
    app_id = change_application()
    assert "materials.current_licence" in submit_fields(app_id)
    bureau.aws.bus_events()  # drop what issuing announced

    reply = attach(app_id, record.licence_id)

    assert reply.status == 201, reply.body
    body = reply.body
    assert body["status"] == "catalogued"
    assert body["source"] == "elicence"
    assert body["slot"] == SLOT
    assert body["slot_name"]["zh"] == "原成品油零售经营批准证书"
    assert body["classification"]["material_type"] == "qualification_certificate"
    assert body["classification"]["confidence"] == 1.0
    assert body["classification"]["reason"]["zh"].startswith("由本局签发的电子证照")
    assert "核验通过" in body["classification"]["reason"]["zh"]
    assert body["classification"]["reason"]["en"].startswith("e-licence issued by the bureau, verified")
    meta = record.metadata
    assert body["fields"] == {
        "enterprise_name": meta.holder_name,
        "uscc": USCC_A,
        "issuing_authority": "深圳市商务局",
        "valid_from": meta.valid_from.isoformat(),
        "valid_until": meta.valid_until.isoformat() if meta.valid_until else None,
        "licence_number": meta.number,
        "licence_id": record.licence_id,
    }
    assert body["problems"] == []
    assert "versionId=" in body["download_url"]

    # Stored: catalogued, pointing at the sealed PDF itself (that version), with its audit event.
    [item] = material_items(bureau.aws, app_id)
    assert item["status"] == "catalogued"
    assert item["source"] == "elicence"
    assert item["normalised"] == {
        "bucket": LICENCES,
        "key": record.pdf.key,
        "version_id": record.pdf.version_id,
        "sha256": record.pdf.sha256,
    }
    assert audit_actions(bureau.aws, app_id) == ["create", "attach_elicence"]
    # Nothing copied: no upload, no catalogue object, one version of the sealed PDF.
    assert bureau.objects(UPLOADS) == []
    assert bureau.objects(MATERIALS) == []
    versions = bureau.aws.s3.list_object_versions(Bucket=LICENCES, Prefix=record.pdf.key)["Versions"]
    assert len(versions) == 1
    [event] = [e for e in bureau.aws.bus_events() if e["detail-type"] == "MaterialCatalogued"]
    assert event["detail"]["source"] == "elicence"
    assert event["detail"]["licence_id"] == record.licence_id
    assert event["detail"]["upload_id"] == body["upload_id"]

    # It counts like any catalogued material: the one-time notice no longer names the slot.
    fields = submit_fields(app_id)
    assert "materials.current_licence" not in fields
    assert "materials.application" in fields
    detail = alice.get(f"/applications/{app_id}").body
    [shown] = [m for m in detail["materials"] if m["slot"] == SLOT]
    assert shown["status"] == "catalogued"
    assert shown["source"] == "elicence"
    assert shown["download_url"]
    assert SLOT not in json.dumps(detail["open_issues"])


def test_an_attachment_made_while_the_bus_is_down_is_announced_by_the_scheduler(
    bureau: Bureau, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The material is attached whatever the bus does; its MaterialCatalogued waits in the outbox
    (written with the material) and the scheduler's next run sends it."""
    from onestop.aws.composition import scheduled_runs

    record = bureau.issue()
    app_id = change_application()
    bureau.aws.bus_events()

    def bus_down(self: EventBridgePublisher, detail_type: str, detail: Any) -> None:
        raise RuntimeError("event bus down")

    with monkeypatch.context() as down:
        down.setattr(EventBridgePublisher, "publish", bus_down)
        reply = attach(app_id, record.licence_id)
    assert reply.status == 201, reply.body
    assert bureau.aws.bus_events() == []
    owed = bureau.aws.table.query(
        KeyConditionExpression="PK = :pk", ExpressionAttributeValues={":pk": "OUTBOX"}
    )["Items"]
    assert [(i["SK"], i["detail_type"]) for i in owed] == [
        (f"{app_id}#MaterialCatalogued#{SLOT}#{reply.body['upload_id']}", "MaterialCatalogued")
    ]

    counts = scheduled_runs().run("hourly", datetime.now(UTC))

    assert (counts["events_republished"], counts["events_still_owed"]) == (1, 0)
    [event] = [e for e in bureau.aws.bus_events() if e["detail-type"] == "MaterialCatalogued"]
    assert (event["detail"]["application_id"], event["detail"]["licence_id"]) == (app_id, record.licence_id)
    assert event["detail"]["source"] == "elicence"
    assert (
        bureau.aws.table.query(
            KeyConditionExpression="PK = :pk", ExpressionAttributeValues={":pk": "OUTBOX"}
        )["Items"]
        == []
    )


def test_the_same_licence_again_returns_the_material_already_there(bureau: Bureau) -> None:
    record = bureau.issue()
    app_id = change_application()
    first = attach(app_id, record.licence_id)
    assert first.status == 201, first.body
    again = attach(app_id, f"  {record.licence_id.lower()} ")  # blanks and case are forgiven
    assert again.status == 200, again.body
    assert again.body["upload_id"] == first.body["upload_id"]
    assert again.body["fields"] == first.body["fields"]
    assert len(material_items(bureau.aws, app_id)) == 1
    assert audit_actions(bureau.aws, app_id).count("attach_elicence") == 1


def test_the_attached_licence_can_be_removed_like_an_upload(bureau: Bureau) -> None:
    record = bureau.issue()
    assert record.pdf is not None
    app_id = change_application()
    upload_id = attach(app_id, record.licence_id).body["upload_id"]
    removed = alice.delete(f"/applications/{app_id}/materials/{SLOT}/uploads/{upload_id}")
    assert removed.status == 204
    assert material_items(bureau.aws, app_id) == []
    # Only the application's record went; the sealed licence stays as issued.
    assert bureau.store.get(record.pdf.key).version_id == record.pdf.version_id
    assert attach(app_id, record.licence_id).status == 201


# ----------------------------------------------------------------------------- refused


def test_someone_elses_licence_is_refused(bureau: Bureau) -> None:
    record = bureau.issue(USCC_B, holder_name="深圳市另一家能源有限公司")
    app_id = change_application()
    body = assert_refused(attach(app_id, record.licence_id), 422, "elicence_not_applicants")
    assert "另一家" not in json.dumps(body, ensure_ascii=False)  # the holder is not revealed
    assert USCC_B not in json.dumps(body)
    assert material_items(bureau.aws, app_id) == []


@pytest.mark.parametrize(
    ("action", "status"),
    [
        (Action.REVOKE, LicenceStatus.REVOKED),
        (Action.SUSPEND, LicenceStatus.SUSPENDED),
        (Action.CANCEL, LicenceStatus.CANCELLED),
        (Action.WITHDRAW, LicenceStatus.WITHDRAWN),
    ],
)
def test_a_licence_that_is_no_longer_valid_is_refused_saying_why(
    bureau: Bureau, action: Action, status: LicenceStatus
) -> None:
    record = bureau.issue()
    lifecycle.change_status(
        action,
        record.licence_id,
        registry=bureau.registry,
        publisher=bureau.publisher,
        actor="reviewer-li",
        reason="经营场所不再符合条件",
    )
    app_id = change_application()
    body = assert_refused(attach(app_id, record.licence_id), 409, "elicence_not_valid")
    assert f"“{status.zh}”" in body["message"]["zh"]
    assert f"is {status.en}," in body["message"]["en"]
    assert body["licence_status"] == status.value
    assert material_items(bureau.aws, app_id) == []


def test_an_expired_licence_is_refused_as_expired(bureau: Bureau) -> None:
    record = bureau.issue(approved_at=datetime(2019, 6, 3, 2, 0, tzinfo=UTC))  # five years: ended 2024
    body = assert_refused(attach(change_application(), record.licence_id), 409, "elicence_not_valid")
    assert "失效" in body["message"]["zh"]
    assert "expired" in body["message"]["en"]
    assert body["licence_status"] == LicenceStatus.EXPIRED.value


def test_a_superseded_version_is_refused_naming_the_new_one(bureau: Bureau) -> None:
    record = bureau.issue()
    newer = lifecycle.renew_licence(
        record.licence_id,
        validity_years=5,
        issuer=ISSUER,
        registry=bureau.registry,
        store=bureau.store,
        signer=LocalKeySigner.from_dev_pki(bureau.pki),
        publisher=bureau.publisher,
        actor="reviewer-li",
        reason="延续",
    )
    app_id = change_application()
    body = assert_refused(attach(app_id, record.licence_id), 409, "elicence_not_valid")
    assert newer.licence_id in body["message"]["zh"]
    assert newer.licence_id in body["message"]["en"]
    assert body["superseded_by"] == newer.licence_id
    assert attach(app_id, newer.licence_id).status == 201


def test_a_tampered_pdf_in_the_bucket_fails_verification(bureau: Bureau) -> None:
    record = bureau.issue()
    assert record.pdf is not None
    sealed = bytearray(bureau.store.get(record.pdf.key, record.pdf.version_id).body)
    middle = len(sealed) // 3
    sealed[middle] = (sealed[middle] + 1) % 256
    bureau.aws.s3.put_object(
        Bucket=LICENCES, Key=record.pdf.key, Body=bytes(sealed), ContentType="application/pdf"
    )  # a new version over the sealed one
    app_id = change_application()
    body = assert_refused(attach(app_id, record.licence_id), 422, "elicence_verification_failed")
    codes = {d["code"] for d in body["details"]}
    assert "not_issued_file" in codes  # not the registered fingerprint
    assert any(d["en"].startswith("Document integrity:") for d in body["details"])  # the seal broke
    assert {d["field"] for d in body["details"]} == {"licence_id"}
    assert material_items(bureau.aws, app_id) == []


def test_a_slot_that_takes_no_elicence_is_refused(bureau: Bureau) -> None:
    record = bureau.issue()
    app_id = change_application()
    assert_refused(attach(app_id, record.licence_id, slot="application"), 422, "elicence_not_accepted")
    # Replaceable, but by another authority's licence (the business licence): not from this registry.
    assert_refused(
        attach(app_id, record.licence_id, slot="business_licence"), 422, "elicence_not_in_registry"
    )
    assert_refused(attach(app_id, record.licence_id, slot="no_such_slot"), 422, "unknown_material_slot")
    assert material_items(bureau.aws, app_id) == []


def test_malformed_identifiers_are_refused(bureau: Bureau) -> None:
    record = bureau.issue()
    app_id = change_application()
    body = assert_refused(attach(app_id, "not-a-licence"), 422, "licence_id_malformed")
    assert body["details"][0]["field"] == "licence_id"
    parsed = parse_licence_id(record.licence_id)
    wrong_check = record.licence_id[:-1] + ("0" if parsed.check != "0" else "1")
    assert_refused(attach(app_id, wrong_check), 422, "licence_id_check_failed")
    empty = alice.post(f"/applications/{app_id}/materials/{SLOT}/elicence", body={"licence_id": ""})
    assert empty.status == 422
    assert material_items(bureau.aws, app_id) == []


def test_a_licence_of_another_type_is_refused(bureau: Bureau) -> None:
    bureau.issue()
    authority = load_catalogue().authority.uscc
    labour = make_licence_id(f"{authority}002", authority, "20260000001", 1)
    body = assert_refused(attach(change_application(), labour), 422, "elicence_wrong_type")
    assert "成品油零售经营批准证书" in body["message"]["zh"]


def test_an_unregistered_licence_is_not_found(bureau: Bureau) -> None:
    authority = load_catalogue().authority.uscc
    unknown = make_licence_id(f"{authority}001", authority, "20269999999", 1)
    body = assert_refused(attach(change_application(), unknown), 404, "licence_not_found")
    assert body["details"][0]["field"] == "licence_id"


def test_only_the_owner_may_attach_and_only_while_editable(bureau: Bureau) -> None:
    record = bureau.issue()
    app_id = change_application()
    assert_refused(attach(app_id, record.licence_id, client=bob), 404, "application_not_found")
    assert alice.post(f"/applications/{app_id}/withdraw").status == 200
    body = assert_refused(attach(app_id, record.licence_id), 409, "illegal_transition")
    assert body["current"]["status"] == "withdrawn"
    anonymous = Client(None).post(
        f"/applications/{app_id}/materials/{SLOT}/elicence", body={"licence_id": record.licence_id}
    )
    assert anonymous.status == 401
    assert material_items(bureau.aws, app_id) == []


def test_a_full_slot_is_refused_before_the_licence_is_read(bureau: Bureau) -> None:
    record = bureau.issue()
    app_id = change_application()
    ticket = alice.post(
        f"/applications/{app_id}/materials/{SLOT}/uploads",
        body={"filename": "证书.pdf", "content_type": "application/pdf", "size": 1000},
    )
    assert ticket.status == 201
    assert_refused(attach(app_id, record.licence_id), 409, "too_many_uploads")
