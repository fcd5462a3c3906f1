"""Every function and event source in template.yaml is wired in the local stack."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from infra.local import LocalStack, StackConfig
from infra.local.provision import (
    NOT_EMULATED,
    PROVISIONED_TYPES,
    WIRED_TYPES,
    UnknownResourceType,
    check_types,
)
from infra.local.template import function_sources, load_sam_template, translate

pytestmark = pytest.mark.xdist_group("stack")

# How each SAM event type shows up in the local stack.
EVENT_TYPES = {"HttpApi", "SQS", "EventBridgeRule", "ScheduleV2"}


@pytest.fixture(scope="module")
def stack():
    with LocalStack(StackConfig(moto_port=0, api_port=0)) as running:
        yield running


def test_every_resource_type_is_handled() -> None:
    cfn = translate(load_sam_template(), "us-east-1")
    check_types(cfn["Resources"])
    assert not (PROVISIONED_TYPES & WIRED_TYPES)
    assert not (set(NOT_EMULATED) & (PROVISIONED_TYPES | WIRED_TYPES))


def test_unknown_resource_type_stops_the_stack() -> None:
    with pytest.raises(UnknownResourceType, match="AWS::RDS::DBInstance"):
        check_types({"Db": {"Type": "AWS::RDS::DBInstance"}})


def test_every_function_is_importable_and_wired(stack: LocalStack) -> None:
    sam = load_sam_template()
    sources = function_sources(sam)
    assert set(stack.functions) == set(sources)
    for logical_id, source in sources.items():
        module = importlib.import_module(source.module)
        assert callable(getattr(module, source.handler)), logical_id
        assert stack.functions[logical_id].environment["TABLE_NAME"]


def test_only_functions_no_route_invokes_run_in_the_background(stack: LocalStack) -> None:
    """Background functions get a lower CPU priority locally (infra/local/runtime.py)."""
    routed = {route.function for route in stack.routes}
    assert {"ApiFunction", "VerifyFunction"} <= routed
    for logical_id, spec in stack.functions.items():
        assert spec.background == (logical_id not in routed), logical_id
    assert stack.functions["IngestFunction"].background


def test_every_event_source_is_wired(stack: LocalStack) -> None:
    sam = load_sam_template()
    routes = {(r.method, r.path, r.function) for r in stack.routes}
    pollers = {p.name for p in stack.pollers}
    for logical_id, resource in sam["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        for event_name, event in resource["Properties"].get("Events", {}).items():
            kind, props = event["Type"], event["Properties"]
            assert kind in EVENT_TYPES, f"{logical_id}.{event_name}: event type {kind} is not wired locally"
            if kind == "HttpApi":
                assert (props["Method"].upper(), props["Path"], logical_id) in routes
            elif kind == "SQS":
                assert f"sqs-{logical_id}{event_name}" in pollers
            elif kind == "EventBridgeRule":
                assert f"rule-{logical_id}{event_name}" in pollers
            elif kind == "ScheduleV2":
                assert f"{logical_id}{event_name}" in stack.schedules


def test_resources_come_from_the_template(stack: LocalStack) -> None:
    s3 = stack.client("s3")
    uploads = stack.outputs["UploadsBucketName"]
    licences = stack.outputs["LicencesBucketName"]
    assert s3.get_bucket_versioning(Bucket=licences)["Status"] == "Enabled"
    lock = s3.get_object_lock_configuration(Bucket=licences)["ObjectLockConfiguration"]
    assert lock["Rule"]["DefaultRetention"]["Mode"] == "GOVERNANCE"
    notification = s3.get_bucket_notification_configuration(Bucket=uploads)["QueueConfigurations"]
    assert notification[0]["QueueArn"].endswith(":onestop-uploads-dev")
    table = stack.client("dynamodb").describe_table(TableName=stack.outputs["MainTableName"])["Table"]
    assert {g["IndexName"] for g in table["GlobalSecondaryIndexes"]} >= {"ByStatusDeadline", "ByHolder"}
    key = stack.client("kms").describe_key(KeyId=stack.outputs["SealKeyAliasName"])["KeyMetadata"]
    assert key["KeySpec"] == "ECC_NIST_P256"


def test_data_is_encrypted_and_logged_with_the_templates_keys(stack: LocalStack) -> None:
    """Issue 19: the local stack applies the template's data key, its rotation, and the buckets' access
    logging, so a property moto would refuse (or the provisioner would drop) shows up here."""
    out = stack.outputs
    kms = stack.client("kms")
    data_key = kms.describe_key(KeyId=out["DataKeyArn"])["KeyMetadata"]
    seal_key = kms.describe_key(KeyId=out["SealKeyAliasName"])["KeyMetadata"]
    assert data_key["KeyId"] != seal_key["KeyId"]
    assert (data_key["KeySpec"], data_key["KeyUsage"]) == ("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT")
    assert kms.get_key_rotation_status(KeyId=data_key["KeyId"])["KeyRotationEnabled"] is True
    key_ids = {data_key["KeyId"], data_key["Arn"]}
    s3 = stack.client("s3")
    for bucket in ("UploadsBucketName", "MaterialsBucketName", "LicencesBucketName"):
        (rule,) = s3.get_bucket_encryption(Bucket=out[bucket])["ServerSideEncryptionConfiguration"]["Rules"]
        default = rule["ApplyServerSideEncryptionByDefault"]
        assert (default["SSEAlgorithm"], default["KMSMasterKeyID"] in key_ids, rule["BucketKeyEnabled"]) == (
            "aws:kms",
            True,
            True,
        ), bucket
    for bucket, prefix in (
        ("UploadsBucketName", "s3/uploads/"),
        ("MaterialsBucketName", "s3/materials/"),
        ("LicencesBucketName", "s3/licences/"),
        ("WebBucketName", "s3/web/"),
    ):
        logging = s3.get_bucket_logging(Bucket=out[bucket])["LoggingEnabled"]
        assert logging == {"TargetBucket": out["AccessLogsBucketName"], "TargetPrefix": prefix}
    # An object stored without asking for encryption gets the data key (the bucket's default).
    s3.put_object(Bucket=out["MaterialsBucketName"], Key="local-wiring/sse.txt", Body=b"x")
    head = s3.head_object(Bucket=out["MaterialsBucketName"], Key="local-wiring/sse.txt")
    assert (head["ServerSideEncryption"], head["SSEKMSKeyId"] in key_ids) == ("aws:kms", True)
    ddb = stack.client("dynamodb")
    for table in (out["MainTableName"], stack.functions["ApiFunction"].environment["IDEMPOTENCY_TABLE_NAME"]):
        sse = ddb.describe_table(TableName=table)["Table"]["SSEDescription"]
        assert (sse["Status"], sse["SSEType"]) == ("ENABLED", "KMS"), table
        assert sse["KMSMasterKeyArn"].rsplit("/", 1)[-1] == data_key["KeyId"], table
    backups = ddb.describe_continuous_backups(TableName=out["MainTableName"])["ContinuousBackupsDescription"]
    assert backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"
    sqs = stack.client("sqs")
    queues = [u for u in sqs.list_queues()["QueueUrls"] if "onestop-local-tap" not in u]
    assert {u.rsplit("/", 1)[-1] for u in queues} == {
        "onestop-uploads-dev",
        "onestop-uploads-dlq-dev",
        "onestop-issue-dlq-dev",
        "onestop-scheduler-dlq-dev",
        "onestop-notify-dlq-dev",
    }
    for url in queues:
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["KmsMasterKeyId"])["Attributes"]
        assert attributes.get("KmsMasterKeyId") in key_ids, url
    groups = stack.client("logs").describe_log_groups(logGroupNamePrefix="/onestop/")["logGroups"]
    assert {g["logGroupName"] for g in groups} == {
        f"/onestop/dev/{name}"
        for name in ("http-api", "api", "ingest", "issue", "verify", "scheduler", "notify")
    }
    for group in groups:
        assert (group["kmsKeyId"] in key_ids, group["retentionInDays"]) == (True, 365), group["logGroupName"]
    sns = stack.client("sns")
    (topic,) = sns.list_topics()["Topics"]
    assert sns.get_topic_attributes(TopicArn=topic["TopicArn"])["Attributes"]["KmsMasterKeyId"] in key_ids


def test_the_embedded_s3_checks_post_policies(stack: LocalStack) -> None:
    """The stack's moto server refuses browser POSTs as S3 does (infra/local/s3_post_policy.py)."""
    from collections.abc import Mapping

    import boto3
    import requests
    from botocore.config import Config
    from onestop.aws.s3 import S3BlobStore

    uploads = stack.outputs["UploadsBucketName"]
    key = "local-wiring/post-policy.pdf"  # outside uploads/: no ingest
    # Signed as the functions sign (onestop/aws/clients.py: SigV4, which cn-north-1 requires).
    s3 = boto3.client(
        "s3",
        endpoint_url=stack.moto_url,
        region_name=stack.config.region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
    )
    ticket = S3BlobStore(uploads, s3).presign_post(
        key, "application/pdf", max_bytes=16, expires_in=60, metadata={"upload-id": "u1"}
    )

    def post(fields: Mapping[str, str], body: bytes = b"%PDF-1.4\n") -> requests.Response:
        return requests.post(ticket.url, data=fields, files={"file": ("a.pdf", body)}, timeout=30)

    anonymous = post({"key": key})
    assert (anonymous.status_code, b"<Code>AccessDenied</Code>" in anonymous.content) == (403, True)
    too_large = post(ticket.fields, b"%PDF-1.4\n" + b"\0" * 16)
    assert (too_large.status_code, b"<Code>EntityTooLarge</Code>" in too_large.content) == (400, True), (
        too_large.text
    )
    other_type = post({**ticket.fields, "Content-Type": "text/html"})
    assert other_type.status_code == 403
    assert b"Policy Condition failed" in other_type.content
    honest = post(ticket.fields)
    assert honest.status_code == 204, honest.text
    head = stack.client("s3").head_object(Bucket=uploads, Key=key)
    assert (head["ContentType"], head["Metadata"]) == ("application/pdf", {"upload-id": "u1"})


def test_port_in_use_is_a_clear_error(stack: LocalStack) -> None:
    from infra.local import PortInUse

    with pytest.raises(PortInUse, match="in use"):
        LocalStack(StackConfig(moto_port=stack.config.moto_port, api_port=0)).start()


def test_state_dir_is_temporary_and_removed() -> None:
    local = LocalStack(StackConfig(moto_port=0, api_port=0))
    state: Path = local.state_dir
    assert state.is_dir()
    local.start()
    local.stop()
    assert not state.exists()
