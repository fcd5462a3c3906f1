"""End to end against moto: KMS seal key (ECC_NIST_P256), PKI bootstrap over its public key, issue
through DynamoDB + an Object-Lock bucket + EventBridge, validate with pyHanko and pdfsig; idempotency,
a KMS outage mid-issue, key rotation, and the local-stack hook."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_der_public_key
from moto import mock_aws
from onestop.aws.clients import reset_clients
from onestop.aws.events import EventBridgePublisher
from onestop.aws.kms_signer import KmsSigner
from onestop.aws.licence_registry import DynamoLicenceRegistry
from onestop.aws.s3 import S3BlobStore
from onestop.errors import NotFound, Unavailable
from onestop.licences.issuance import issue_licence
from onestop.licences.lifecycle import get_licence
from onestop.licences.models import LicenceRecord, LicenceStatus
from onestop.licences.pki import make_dev_pki, to_asn1
from onestop.licences.trust import PkiTrust, load_trust
from onestop.settings import reset_settings
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature

from infra.pki.bootstrap import bootstrap
from infra.pki.cli import main as pki_main
from infra.pki.local import bootstrap_local_stack
from tests.integration.api_helpers import TABLE, create_table
from tests.unit.test_licence_support import (
    APPROVED_AT,
    BUREAU,
    ISSUER,
    OIL_LICENCE,
    approval,
    assert_pdfsig_trusted,
    assert_pyhanko_trusted,
    pdfsig,
)

BUCKET = "onestop-test-licences"
BUS = "onestop-test-bus"
ALIAS = "alias/onestop-seal-test"


@dataclass
class Cloud:
    kms: Any
    s3: Any
    store: S3BlobStore
    registry: DynamoLicenceRegistry
    publisher: EventBridgePublisher
    key_id: str
    root_dir: Path

    def bootstrap(self) -> PkiTrust:
        assert (
            pki_main(["bootstrap", "--key-id", ALIAS, "--bucket", BUCKET, "--root-dir", str(self.root_dir)])
            == 0
        )
        return load_trust(self.store, "pki/")

    def signer(self, trust: PkiTrust) -> KmsSigner:
        signer = KmsSigner.for_seal(trust.current_seal())
        signer.check_public_key()
        return signer

    def issue(self, trust: PkiTrust, app_id: str = "app-0001", signer: Any = None) -> LicenceRecord:
        return issue_licence(
            approval(app_id),
            licence_type=OIL_LICENCE,
            issuer=ISSUER,
            registry=self.registry,
            store=self.store,
            signer=signer or self.signer(trust),
            publisher=self.publisher,
            now=APPROVED_AT,
        )

    def versions(self, key: str) -> list[dict[str, Any]]:
        return self.s3.list_object_versions(Bucket=BUCKET, Prefix=key).get("Versions", [])

    def root_pems(self, trust: PkiTrust) -> list[bytes]:
        return [self.store.get(r.key).body for r in trust.index.roots]


@pytest.fixture
def cloud(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Cloud]:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("BUREAU_NAME_ZH", BUREAU.name_zh)
    monkeypatch.setenv("BUREAU_USCC", BUREAU.uscc)
    reset_settings()
    reset_clients()
    with mock_aws():
        create_table(boto3.resource("dynamodb"))
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket=BUCKET, ObjectLockEnabledForBucket=True)
        s3.put_object_lock_configuration(
            Bucket=BUCKET,
            ObjectLockConfiguration={
                "ObjectLockEnabled": "Enabled",
                "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 1}},
            },
        )
        boto3.client("events").create_event_bus(Name=BUS)
        kms = boto3.client("kms")
        key_id = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
        kms.create_alias(AliasName=ALIAS, TargetKeyId=key_id)
        yield Cloud(
            kms=kms,
            s3=s3,
            store=S3BlobStore(BUCKET),
            registry=DynamoLicenceRegistry(TABLE),
            publisher=EventBridgePublisher(BUS, "onestop"),
            key_id=key_id,
            root_dir=tmp_path / "root",
        )
    reset_clients()
    reset_settings()


def test_kms_signer_signs_the_raw_message_once(cloud: Cloud) -> None:
    trust = cloud.bootstrap()
    signer = cloud.signer(trust)
    message = b"DER of signed attributes" * 10
    signature = signer._sign(message)
    public = load_der_public_key(cloud.kms.get_public_key(KeyId=cloud.key_id)["PublicKey"])
    assert isinstance(public, ec.EllipticCurvePublicKey)
    public.verify(signature, message, ec.ECDSA(hashes.SHA256()))  # hashed exactly once
    digest = hashes.Hash(hashes.SHA256())
    digest.update(message)
    prehashed = digest.finalize()
    with pytest.raises(InvalidSignature):  # so it is not a signature over sha256(sha256(m))
        public.verify(signature, prehashed, ec.ECDSA(hashes.SHA256()))


def test_certificate_for_another_key_is_refused(cloud: Cloud) -> None:
    other = make_dev_pki(BUREAU)
    signer = KmsSigner(cloud.key_id, to_asn1(other.seal_cert), [to_asn1(other.root_cert)])
    with pytest.raises(ValueError, match="does not match"):
        signer.check_public_key()


def test_issued_licence_validates_with_pyhanko_and_pdfsig(cloud: Cloud) -> None:
    trust = cloud.bootstrap()
    record = cloud.issue(trust)
    assert record.status is LicenceStatus.VALID
    assert record.seal_cert_sha256 == trust.current_seal().sha256
    assert record.pdf is not None
    stored = cloud.store.get(record.pdf.key, record.pdf.version_id)
    sig = PdfFileReader(io.BytesIO(stored.body)).embedded_signatures[0]
    assert_pyhanko_trusted(validate_pdf_signature(sig, trust.validation_context()))
    assert_pdfsig_trusted(stored.body, cloud.root_pems(trust))
    assert "Signer Certificate Common Name: 深圳市商务局" in pdfsig(stored.body, cloud.root_pems(trust))
    # the registry item, the claim and the holder index
    assert get_licence(cloud.registry, record.licence_id) == record
    assert cloud.registry.licence_for_application("app-0001") == record.licence_id
    assert [r.licence_id for r in cloud.registry.by_holder(record.holder_code)] == [record.licence_id]
    head = cloud.s3.head_object(Bucket=BUCKET, Key=record.pdf.key)
    assert head["ObjectLockMode"] == "GOVERNANCE"  # the bucket's default retention applies


def test_event_twice_one_licence(cloud: Cloud) -> None:
    trust = cloud.bootstrap()
    first = cloud.issue(trust)
    second = cloud.issue(trust)
    assert second.licence_id == first.licence_id
    assert second.pdf == first.pdf
    assert first.pdf is not None
    assert len(cloud.versions(first.pdf.key)) == 1
    audit = [i["action"] for i in cloud.registry.audit_trail(first.licence_id)]
    assert audit == ["reserve", "issue"]


class KmsOutage:
    """The real (moto) client, except that Sign fails the way KMS does when throttled or down
    (moto does not refuse Sign on a disabled key)."""

    def __init__(self, real: Any) -> None:
        self.real = real

    def sign(self, **kwargs: Any) -> Any:
        raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, "Sign")

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


def test_kms_outage_leaves_nothing_visible_then_retry_completes(cloud: Cloud) -> None:
    trust = cloud.bootstrap()
    broken = KmsSigner.for_seal(trust.current_seal(), kms=KmsOutage(cloud.kms))
    with pytest.raises(Unavailable) as err:
        cloud.issue(trust, signer=broken)
    assert err.value.code == "seal_key_unavailable"
    licence_id = cloud.registry.licence_for_application("app-0001")
    assert licence_id is not None
    with pytest.raises(NotFound):
        get_licence(cloud.registry, licence_id)
    assert cloud.registry.by_holder(approval().holder_code) == []
    assert cloud.versions("licences/") == []
    assert err.value.extra["kms_error"] == "ThrottlingException"
    done = cloud.issue(trust)
    assert done.licence_id == licence_id
    assert done.status is LicenceStatus.VALID


def test_rotation_to_a_new_kms_key_keeps_old_licences_valid(cloud: Cloud) -> None:
    trust1 = cloud.bootstrap()
    old = cloud.issue(trust1, "app-old")
    again = cloud.bootstrap()  # idempotent: nothing new
    assert again.index.seals == trust1.index.seals

    new_key = cloud.kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
    cloud.kms.update_alias(AliasName=ALIAS, TargetKeyId=new_key)
    trust2 = cloud.bootstrap()
    assert len(trust2.seals) == 2
    assert len(trust2.roots) == 1
    assert trust2.current_seal().sha256 != trust1.current_seal().sha256
    assert trust2.current_seal().signing_key_id.endswith(new_key)  # the ARN, not the moving alias
    new = cloud.issue(trust2, "app-new")
    assert new.seal_cert_sha256 == trust2.current_seal().sha256
    for record in (old, new):
        assert record.pdf is not None
        body = cloud.store.get(record.pdf.key).body
        assert_pdfsig_trusted(body, cloud.root_pems(trust2))
        sig = PdfFileReader(io.BytesIO(body)).embedded_signatures[0]
        assert_pyhanko_trusted(validate_pdf_signature(sig, trust2.validation_context()))


def test_bootstrap_refuses_a_key_that_is_not_a_p256_signing_key(cloud: Cloud) -> None:
    rsa_key = cloud.kms.create_key(KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
    with pytest.raises(ValueError, match="ECC_NIST_P256"):
        bootstrap(
            kms=cloud.kms,
            store=cloud.store,
            key_id=rsa_key,
            prefix="pki/",
            root_dir=cloud.root_dir,
            bureau=BUREAU,
        )


def test_local_stack_hook(cloud: Cloud, tmp_path: Path) -> None:
    class FakeStack:
        def __init__(self) -> None:
            self.outputs: dict[str, Any] = {"LicencesBucketName": BUCKET, "SealKeyAliasName": ALIAS}
            self.state_dir = tmp_path / "state"

        def client(self, service: str) -> Any:
            factory: Any = boto3.client
            return factory(service)

        def environment_for_clients(self) -> dict[str, str]:
            return {"PKI_PREFIX": "pki/", "BUREAU_NAME_ZH": BUREAU.name_zh, "BUREAU_USCC": BUREAU.uscc}

    result = bootstrap_local_stack(FakeStack())
    assert result.issued_new_seal
    assert (tmp_path / "state" / "pki-root" / "root.key.pem").exists()
    index = json.loads(cloud.store.get("pki/index.json").body)
    assert index["current_seal"] == result.seal_sha256
    assert bootstrap_local_stack(FakeStack()).issued_new_seal is False


def test_a_trusted_tsa_joins_the_bundle_and_its_document_timestamp_verifies(
    cloud: Cloud, tmp_path: Path
) -> None:
    """Ops trust a TSA with `python -m infra.pki trust-tsa`; the bundle the verify service publishes then
    carries it, a document timestamp from it after the KMS seal verifies and is listed, and republishing
    a seal keeps it."""
    from onestop.licences.pki import cert_pem
    from onestop.verification import Check, TrustAnchors, verify_pdf

    from tests.unit import verification_forgeries as F
    from tests.unit.test_verification_support import make_pki

    trust = cloud.bootstrap()
    record = cloud.issue(trust)
    sealed = cloud.store.get(record.pdf.key).body if record.pdf else b""
    tsa = F.bureau_tsa(make_pki())  # a TSA under its own (foreign) root: trusted only once published
    stamped = F.add_timestamp(sealed, tsa)
    before = verify_pdf(stamped, trust=TrustAnchors.from_pki(trust), registry_lookup=None)
    assert before.result(Check.INTEGRITY).code == "timestamp_untrusted"

    pem = tmp_path / "tsa-root.pem"
    pem.write_bytes(cert_pem(tsa.root))
    assert pki_main(["trust-tsa", "--bucket", BUCKET, "--cert", str(pem)]) == 0
    assert cloud.bootstrap().tsa  # a second bootstrap (republish) keeps the TSA anchor
    bundle = TrustAnchors.from_pki(load_trust(cloud.store, "pki/"))
    assert [t["sha256"] for t in bundle.document()["tsa"]]
    after = verify_pdf(stamped, trust=bundle, registry_lookup=None)
    integrity = after.result(Check.INTEGRITY)
    assert (integrity.verdict.value, integrity.code) == ("pass", "intact_with_validation_data")
    assert integrity.details["timestamps"][0]["tsa"]
    assert after.result(Check.ISSUER).passed
