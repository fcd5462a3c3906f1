"""The verify function end to end against moto: a licence issued through the real issue path (KMS seal
key, PKI bootstrap, Object-Lock bucket, DynamoDB registry), then verified through the Lambda handler;
revoked and renewed licences verify as intact-but-revoked / superseded, with dates."""

from __future__ import annotations

import base64
import importlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote

import boto3
import pytest
from moto import mock_aws
from onestop.aws import composition
from onestop.aws.clients import reset_clients
from onestop.aws.events import EventBridgePublisher
from onestop.aws.kms_signer import KmsSigner
from onestop.aws.licence_registry import DynamoLicenceRegistry
from onestop.aws.s3 import S3BlobStore
from onestop.licences.issuance import issue_licence
from onestop.licences.lifecycle import change_status, renew_licence
from onestop.licences.models import Action, LicenceRecord
from onestop.licences.trust import load_trust
from onestop.settings import reset_settings

from infra.pki.bootstrap import bootstrap
from tests.integration.api_helpers import TABLE, create_table
from tests.unit.test_licence_support import APPROVED_AT, BUREAU, ISSUER, OIL_LICENCE, approval
from tests.unit.test_verification_api import Context, event
from tests.unit.test_verification_support import overlay_content

BUCKET = "onestop-test-licences"
BUS = "onestop-test-bus"
ALIAS = "alias/onestop-seal-test"
REGION = "us-east-1"


@dataclass
class Cloud:
    store: S3BlobStore
    registry: DynamoLicenceRegistry
    publisher: EventBridgePublisher
    signer: KmsSigner
    handler: Any

    def issue(self, app_id: str = "app-0001") -> tuple[LicenceRecord, bytes]:
        record = issue_licence(
            approval(app_id),
            licence_type=OIL_LICENCE,
            issuer=ISSUER,
            registry=self.registry,
            store=self.store,
            signer=self.signer,
            publisher=self.publisher,
            now=APPROVED_AT,
        )
        assert record.pdf is not None
        return record, self.store.get(record.pdf.key, version_id=record.pdf.version_id).body

    def call(self, ev: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        reply = self.handler(ev, Context())
        return reply["statusCode"], json.loads(reply["body"])

    def post(self, pdf: bytes) -> tuple[int, dict[str, Any]]:
        return self.call(event("POST", "/verify", pdf, {"content-type": "application/pdf"}))

    def get(self, path: str) -> tuple[int, dict[str, Any]]:
        path, _, query = path.partition("?")
        ev = event("GET", path, headers={"accept": "application/json"})
        if query:
            ev["rawQueryString"] = query
            ev["queryStringParameters"] = {k: v for k, v in parse_qsl(query)}
        return self.call(ev)


@pytest.fixture
def cloud(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Cloud]:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setenv("TABLE_NAME", TABLE)
    monkeypatch.setenv("LICENCES_BUCKET", BUCKET)
    # Required by Settings (template.yaml's Globals give every function all of them); not used here.
    for name in ("IDEMPOTENCY_TABLE_NAME", "UPLOADS_BUCKET", "MATERIALS_BUCKET"):
        monkeypatch.setenv(name, f"unused-{name.lower()}")
    monkeypatch.setenv("EVENT_BUS_NAME", BUS)
    monkeypatch.setenv("PKI_PREFIX", "pki/")
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "verify")
    reset_settings()
    reset_clients()
    composition.reset()  # the PKI is bootstrapped anew below: no trust cached from an earlier test
    with mock_aws():
        create_table(boto3.resource("dynamodb"))
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket=BUCKET, ObjectLockEnabledForBucket=True)
        boto3.client("events").create_event_bus(Name=BUS)
        kms = boto3.client("kms")
        key_id = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
        kms.create_alias(AliasName=ALIAS, TargetKeyId=key_id)
        store = S3BlobStore(BUCKET)
        bootstrap(
            kms=kms, store=store, key_id=ALIAS, prefix="pki/", root_dir=tmp_path / "root", bureau=BUREAU
        )
        signer = KmsSigner.for_seal(load_trust(store, "pki/").current_seal())
        # A fresh handler module per test: its dependencies are built on first use from the settings.
        import functions.verify.app as verify_app

        verify_app = importlib.reload(verify_app)
        yield Cloud(
            store=store,
            registry=DynamoLicenceRegistry(TABLE),
            publisher=EventBridgePublisher(BUS, "onestop"),
            signer=signer,
            handler=verify_app.lambda_handler,
        )
    composition.reset()
    reset_clients()
    reset_settings()


def verdicts(body: dict[str, Any]) -> dict[str, tuple[str, str]]:
    return {c["check"]: (c["verdict"], c["code"]) for c in body["checks"]}


def test_issued_licence_verifies_through_the_handler(cloud: Cloud) -> None:
    record, pdf = cloud.issue()
    status, body = cloud.post(pdf)
    assert status == 200
    assert body["valid"] is True, verdicts(body)
    assert body["licence"]["holder_name"] == record.metadata.holder_name
    assert body["licence"]["licence_id"] == record.licence_id
    assert body["file"]["sha256"] == record.pdf.sha256  # type: ignore[union-attr]


def test_tampered_licence_fails_integrity_through_the_handler(cloud: Cloud) -> None:
    _, pdf = cloud.issue()
    status, body = cloud.post(overlay_content(pdf))
    assert status == 200
    assert verdicts(body)["integrity"] == ("fail", "page_changed_after_sealing")
    assert body["valid"] is False


def test_revoked_licence_is_intact_but_revoked_with_the_date(cloud: Cloud) -> None:
    record, pdf = cloud.issue()
    at = datetime(2025, 9, 1, 6, 0, tzinfo=UTC)
    change_status(
        Action.REVOKE,
        record.licence_id,
        registry=cloud.registry,
        publisher=cloud.publisher,
        actor="reviewer-1",
        reason="以欺骗手段取得许可",
        now=at,
    )
    _, body = cloud.post(pdf)
    v = verdicts(body)
    assert v["integrity"] == ("pass", "intact")
    assert v["issuer"] == ("pass", "bureau_seal")
    assert v["status"] == ("fail", "status_revoked")
    status = next(c for c in body["checks"] if c["check"] == "status")
    assert "2025年9月1日" in status["reason_zh"]
    assert "2025-09-01" in status["reason_en"]

    code, by_number = cloud.get(f"/verify/{record.licence_id}")
    assert code == 200
    assert by_number["registry"]["status"] == "03"
    assert by_number["registry"]["status_since"].startswith("2025-09-01T06:00")


def test_renewed_licence_old_version_says_superseded(cloud: Cloud) -> None:
    old, old_pdf = cloud.issue()
    new = renew_licence(
        old.licence_id,
        validity_years=5,
        issuer=ISSUER,
        registry=cloud.registry,
        store=cloud.store,
        signer=cloud.signer,
        publisher=cloud.publisher,
        actor="reviewer-1",
        reason="到期延续",
        now=datetime(2026, 3, 1, 2, 0, tzinfo=UTC),
    )
    _, body = cloud.post(old_pdf)
    assert verdicts(body)["status"] == ("fail", "superseded")
    assert new.licence_id in next(c for c in body["checks"] if c["check"] == "status")["reason_en"]
    assert new.pdf is not None
    new_pdf = cloud.store.get(new.pdf.key, version_id=new.pdf.version_id).body
    _, body = cloud.post(new_pdf)
    assert body["valid"] is True, verdicts(body)


def test_trust_document_publishes_the_bootstrapped_pki(cloud: Cloud) -> None:
    trust = load_trust(cloud.store, "pki/")
    code, body = cloud.get("/trust")
    assert code == 200
    assert [r["sha256"] for r in body["roots"]] == [r.sha256 for r in trust.index.roots]
    assert body["current_seal"] == trust.index.current_seal
    assert [s["current"] for s in body["seals"]] == [True]


def test_malformed_number_is_422_through_the_handler(cloud: Cloud) -> None:
    code, body = cloud.get("/verify/1.2.156.3005.2.nope")
    assert code == 422
    assert body["message"]["zh"]
    assert body["message"]["en"]


def test_non_pdf_upload_is_refused_through_the_handler(cloud: Cloud) -> None:
    ev = event(
        "POST",
        "/verify",
        base64.b64decode(base64.b64encode(b"PK\x03\x04 zip")),
        {"content-type": "application/pdf"},
    )
    code, body = cloud.call(ev)
    assert code == 422
    assert body["code"] == "not_a_pdf"


def test_number_lookup_names_no_holder_unless_the_asker_does(cloud: Cloud) -> None:
    """Issue 13: sequential numbers let anyone list enterprise holders through `GET /verify/{id}`."""
    record, _ = cloud.issue()
    name, code = record.metadata.holder_name, record.metadata.holder_code
    status, anonymous = cloud.get(f"/verify/{record.licence_id}")
    assert status == 200
    assert anonymous["licence"]["masked"] is True
    assert name not in json.dumps(anonymous, ensure_ascii=False)
    assert code not in json.dumps(anonymous)
    status, named = cloud.get(f"/verify/{record.licence_id}?holder={quote(name)}")
    assert status == 200
    assert named["valid"] is True
    assert verdicts(named)["holder"] == ("pass", "holder_matches")
    assert named["licence"]["holder_code"] == code
    _, guessed = cloud.get(f"/verify/{record.licence_id}?holder={quote('深圳市别的有限公司')}")
    assert guessed["valid"] is False
    assert verdicts(guessed)["holder"] == ("fail", "holder_mismatch")
    assert name not in json.dumps(guessed, ensure_ascii=False)
    status, too_long = cloud.get(f"/verify/{record.licence_id}?holder={'x' * 201}")
    assert (status, too_long["code"]) == (422, "holder_too_long")
