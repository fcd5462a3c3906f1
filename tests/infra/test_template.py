"""template.yaml is valid SAM and CloudFormation, and its zip functions build (sam build, offline)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from infra.local.template import load_sam_template, translate

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
ZIP_FUNCTIONS = ["ApiFunction", "IssueFunction", "VerifyFunction", "SchedulerFunction", "NotifyFunction"]
LAMBDA_UNZIPPED_LIMIT = 250 * 1024 * 1024

pytestmark = pytest.mark.xdist_group("sam")


def _env() -> dict[str, str]:
    return {**os.environ, "SAM_CLI_TELEMETRY": "0", "AWS_DEFAULT_REGION": "us-east-1"}


def _tree_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())


def test_cfn_lint_passes() -> None:
    result = subprocess.run(
        [str(BIN / "cfn-lint"), "template.yaml"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=_env(),
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_sam_validate_lint_passes() -> None:
    result = subprocess.run(
        [str(BIN / "sam"), "validate", "--lint", "--region", "us-east-1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=_env(),
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "is a valid SAM Template" in result.stdout + result.stderr


def test_template_declares_the_mission() -> None:
    sam = load_sam_template()
    resources = sam["Resources"]
    functions = {k: v for k, v in resources.items() if v["Type"] == "AWS::Serverless::Function"}
    assert set(functions) == {*ZIP_FUNCTIONS, "IngestFunction"}
    assert functions["IngestFunction"]["Properties"]["PackageType"] == "Image"
    for name in ZIP_FUNCTIONS:
        props = functions[name]["Properties"]
        assert props["Runtime"] == "python3.11"
        assert props["Layers"] == [{"Ref": "CoreLayer"}]
        assert props.get("Policies"), f"{name} has no least-privilege policies"
    # layers/core/Makefile builds the layer with its bytecode (tests/unit/test_layer_build.py).
    assert resources["CoreLayer"]["Metadata"]["BuildMethod"] == "makefile"
    assert resources["CoreLayer"]["Properties"]["CompatibleRuntimes"] == ["python3.11"]
    licences = resources["LicencesBucket"]["Properties"]
    assert licences["ObjectLockEnabled"] is True
    assert licences["VersioningConfiguration"]["Status"] == "Enabled"
    queue = resources["UploadsQueue"]["Properties"]
    assert queue["RedrivePolicy"]["maxReceiveCount"] >= 2
    ingest_events = functions["IngestFunction"]["Properties"]["Events"]["Uploads"]["Properties"]
    assert ingest_events["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert resources["SealKey"]["Properties"]["KeySpec"] == "ECC_NIST_P256"
    assert resources["SealKey"]["Properties"]["KeyUsage"] == "SIGN_VERIFY"
    table = resources["MainTable"]["Properties"]
    assert {g["IndexName"] for g in table["GlobalSecondaryIndexes"]} >= {"ByStatusDeadline", "ByHolder"}
    assert table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    for bucket in ("UploadsBucket", "MaterialsBucket", "LicencesBucket"):
        block = resources[bucket]["Properties"]["PublicAccessBlockConfiguration"]
        assert all(block.values()), bucket
        policy = resources[f"{bucket}Policy"]["Properties"]["PolicyDocument"]["Statement"]
        assert any(s["Condition"]["Bool"]["aws:SecureTransport"] == "false" for s in policy), bucket


def test_every_alarm_on_our_own_metrics_reads_a_metric_the_code_emits() -> None:
    """An alarm on a metric nothing emits never fires: each Onestop metric an alarm reads is one that
    layers/core/onestop adds (by its literal name)."""
    sources = "\n".join(p.read_text() for p in (ROOT / "layers/core/onestop").rglob("*.py"))
    alarms = {
        name: r["Properties"]
        for name, r in load_sam_template()["Resources"].items()
        if r["Type"] == "AWS::CloudWatch::Alarm" and r["Properties"].get("Namespace") == "Onestop"
    }
    assert {"IngestErrorsAlarm", "UploadsRefusedAlarm"} <= set(alarms)
    for name, props in alarms.items():
        metric = props["MetricName"]
        assert f'name="{metric}"' in sources, f"{name} reads {metric}, which nothing emits"


def test_translates_with_samtranslator() -> None:
    cfn = translate(load_sam_template(), "us-east-1")
    types = {r["Type"] for r in cfn["Resources"].values()}
    assert {"AWS::Lambda::Function", "AWS::ApiGatewayV2::Api", "AWS::Lambda::EventSourceMapping"} <= types


@pytest.mark.timeout(1500)
def test_sam_build_zip_functions(tmp_path: Path, record_property: pytest.RecordProperty) -> None:
    """`sam build` each zip function by name (the ingest image needs Docker, absent here)."""
    if shutil.which("pip", path=str(BIN)) is None:
        pytest.fail("pip missing from the virtualenv")
    build_dir = tmp_path / "build"
    cache_dir = tmp_path / "cache"
    sizes = {}
    for name in ZIP_FUNCTIONS:
        result = subprocess.run(
            [
                str(BIN / "sam"),
                "build",
                name,
                "--build-dir",
                str(build_dir),
                "--cached",
                "--cache-dir",
                str(cache_dir),
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            env={**_env(), "PATH": f"{BIN}:{os.environ['PATH']}"},
            timeout=900,
        )
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        function_size = _tree_size(build_dir / name)
        layer_size = _tree_size(build_dir / "CoreLayer")
        assert (build_dir / name / "app.py").is_file()
        assert (build_dir / "CoreLayer" / "python" / "onestop" / "__init__.py").is_file()
        # The layer ships its bytecode (layers/core/Makefile): /opt is read-only in Lambda.
        for package in ("onestop", "pydantic", "aws_lambda_powertools"):
            pyc = build_dir / "CoreLayer" / "python" / package / "__pycache__" / "__init__.cpython-311.pyc"
            assert pyc.is_file(), f"{package} has no bytecode in the layer"
        sizes[name] = function_size + layer_size
        assert sizes[name] < LAMBDA_UNZIPPED_LIMIT, f"{name}: {sizes[name]} bytes unzipped with its layer"
    for name, size in sizes.items():
        record_property(f"{name}_unzipped_bytes", size)
        print(f"{name}: {size / 1e6:.1f} MB unzipped with the core layer")


def test_the_edge_rate_limits_per_client_and_answers_429_with_retry_after() -> None:
    """Issue 13 item 6: a CloudFront-scoped web ACL on the distribution that serves pages and API."""
    resources = load_sam_template()["Resources"]
    acl = resources["EdgeWebAcl"]
    assert acl["Condition"] == "EdgeWebAclHere"  # CloudFront-scoped web ACLs exist only in us-east-1
    props = acl["Properties"]
    assert props["Scope"] == "CLOUDFRONT"
    assert props["DefaultAction"] == {"Allow": {}}
    body = json.loads(props["CustomResponseBodies"]["rate-limited"]["Content"])
    assert body["code"] == "rate_limited"
    assert body["message"]["zh"]
    assert body["message"]["en"]
    assert body["details"] == []
    rules = {r["Name"]: r for r in props["Rules"]}
    assert set(rules) == {"verify-per-ip", "api-per-ip"}
    for rule in rules.values():
        rate = rule["Statement"]["RateBasedStatement"]
        assert rate["AggregateKeyType"] == "IP"
        response = rule["Action"]["Block"]["CustomResponse"]
        assert response["ResponseCode"] == 429
        assert response["CustomResponseBodyKey"] == "rate-limited"
        retry_after = {h["Name"]: h["Value"] for h in response["ResponseHeaders"]}["Retry-After"]
        assert int(retry_after) == rate["EvaluationWindowSec"]
    verify = rules["verify-per-ip"]["Statement"]["RateBasedStatement"]
    api = rules["api-per-ip"]["Statement"]["RateBasedStatement"]
    assert verify["ScopeDownStatement"]["ByteMatchStatement"]["SearchString"] == "/verify"
    assert verify["Limit"] / verify["EvaluationWindowSec"] < api["Limit"] / api["EvaluationWindowSec"]
    config = resources["WebDistribution"]["Properties"]["DistributionConfig"]
    assert config["WebACLId"]["Fn::If"][0] == "HasWebAclArn"
    assert {o["Id"] for o in config["Origins"]} == {"web", "api"}
    assert config["DefaultCacheBehavior"]["TargetOriginId"] == "api", "the API is behind the web ACL too"
    assert config["DefaultCacheBehavior"]["ViewerProtocolPolicy"] == "https-only"
    assert "Rules" in load_sam_template(), "outside us-east-1 a web ACL ARN is required"


def test_route_throttles_hold_the_verify_routes_tighter() -> None:
    api = load_sam_template()["Resources"]["HttpApi"]["Properties"]
    default = api["DefaultRouteSettings"]
    for route in ("POST /verify", "GET /verify/{licence_id}", "GET /trust"):
        settings = api["RouteSettings"][route]
        assert settings["ThrottlingRateLimit"] < default["ThrottlingRateLimit"], route
        assert settings["ThrottlingBurstLimit"] <= 20, route  # the verify function's reserved concurrency
    # Route keys name routes that exist.
    events = load_sam_template()["Resources"]["VerifyFunction"]["Properties"]["Events"]
    keys = {f"{e['Properties']['Method']} {e['Properties']['Path']}" for e in events.values()}
    assert set(api["RouteSettings"]) <= keys


def test_the_pages_get_a_strict_response_headers_policy() -> None:
    resources = load_sam_template()["Resources"]
    config = resources["WebSecurityHeaders"]["Properties"]["ResponseHeadersPolicyConfig"]
    security = config["SecurityHeadersConfig"]
    csp = security["ContentSecurityPolicy"]["ContentSecurityPolicy"]["Fn::Sub"][0]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["default-src"] == "'none'"
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe" not in csp
    assert security["FrameOptions"]["FrameOption"] == "DENY"
    assert security["ReferrerPolicy"]["ReferrerPolicy"] == "no-referrer"
    assert security["StrictTransportSecurity"]["AccessControlMaxAgeSec"] >= 31_536_000
    assert all(v["Override"] for v in security.values())
    pages = resources["WebDistribution"]["Properties"]["DistributionConfig"]["CacheBehaviors"]
    web = next(b for b in pages if b["PathPattern"] == "/web/*")
    assert web["ResponseHeadersPolicyId"] == {"Ref": "WebSecurityHeaders"}


# ------------------------------------------------------------------------ issue 19: what an auditor asks
def _is_data_key(value: object) -> bool:
    return value in ({"Ref": "DataKey"}, {"Fn::GetAtt": ["DataKey", "Arn"]})


def _statements(function: dict) -> list[dict]:
    return [s for p in function["Properties"].get("Policies", []) if "Statement" in p for s in p["Statement"]]


def test_data_at_rest_is_under_the_customer_managed_key_and_not_the_seal() -> None:
    resources = load_sam_template()["Resources"]

    def of_type(kind: str) -> dict[str, dict]:
        return {k: v["Properties"] for k, v in resources.items() if v["Type"] == kind}

    for name, table in of_type("AWS::DynamoDB::Table").items():
        sse = table["SSESpecification"]
        assert (sse["SSEEnabled"], sse["SSEType"], _is_data_key(sse["KMSMasterKeyId"])) == (
            True,
            "KMS",
            True,
        ), name
    for name, queue in of_type("AWS::SQS::Queue").items():
        assert _is_data_key(queue.get("KmsMasterKeyId")), name
    for name, group in of_type("AWS::Logs::LogGroup").items():
        assert _is_data_key(group.get("KmsKeyId")), name
    assert _is_data_key(resources["AlarmTopic"]["Properties"]["KmsMasterKeyId"])  # not aws/sns
    # Every bucket but the public pages and the access logs (S3 delivers those only to SSE-S3 buckets).
    for name, bucket in of_type("AWS::S3::Bucket").items():
        (rule,) = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        default = rule["ServerSideEncryptionByDefault"]
        if name in ("WebBucket", "AccessLogsBucket"):
            assert default == {"SSEAlgorithm": "AES256"}, name
            continue
        assert (
            default["SSEAlgorithm"],
            _is_data_key(default["KMSMasterKeyID"]),
            rule["BucketKeyEnabled"],
        ) == (
            "aws:kms",
            True,
            True,
        ), name
    data_key = resources["DataKey"]
    assert (data_key["DeletionPolicy"], data_key["UpdateReplacePolicy"]) == ("Retain", "Retain")
    key = data_key["Properties"]
    assert (key["KeySpec"], key["KeyUsage"], key["EnableKeyRotation"]) == (
        "SYMMETRIC_DEFAULT",
        "ENCRYPT_DECRYPT",
        True,
    )
    seal = resources["SealKey"]["Properties"]
    assert (seal["KeySpec"], seal["KeyUsage"]) == ("ECC_NIST_P256", "SIGN_VERIFY")


def test_the_data_key_policy_is_least_privilege() -> None:
    statements = load_sam_template()["Resources"]["DataKey"]["Properties"]["KeyPolicy"]["Statement"]
    by_sid = {s["Sid"]: s for s in statements}
    use = {
        "kms:Encrypt",
        "kms:Decrypt",
        "kms:GenerateDataKey",
        "kms:ReEncrypt*",
        "kms:GenerateDataKey*",
        "kms:*",
    }
    for statement in statements:
        assert statement["Effect"] == "Allow"
        principal = statement["Principal"]
        assert principal != "*", statement["Sid"]
        assert principal.get("AWS") != "*", statement["Sid"]
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        assert "kms:*" not in actions, statement["Sid"]
        # The account's principals use it only through the data services; a service principal without
        # a condition may only write into a queue (its queue policy holds the source).
        if use & set(actions) and "AWS" in principal:
            assert "kms:ViaService" in statement["Condition"]["StringEquals"], statement["Sid"]
        elif use & set(actions) and not statement.get("Condition"):
            assert set(actions) <= {"kms:GenerateDataKey", "kms:Decrypt"}, statement["Sid"]
            assert set(principal["Service"]) <= {"s3.amazonaws.com", "events.amazonaws.com"}, statement["Sid"]
    assert not use & set(by_sid["AccountAdministers"]["Action"]), "administrators do not get to decrypt"
    via = by_sid["AccountUsesThroughDataServices"]["Condition"]["StringEquals"]["kms:ViaService"]
    assert {v["Fn::Sub"].split(".")[0] for v in via} == {"dynamodb", "s3", "sqs", "sns"}


def test_every_function_that_reads_or_writes_encrypted_data_may_use_the_data_key() -> None:
    """Otherwise S3 and SQS refuse it in AWS, while moto (which does not check KMS) lets it pass."""
    resources = load_sam_template()["Resources"]
    encrypted = {"MainTable", "IdempotencyTable", "UploadsBucket", "MaterialsBucket", "LicencesBucket"}
    for name, function in resources.items():
        if function["Type"] != "AWS::Serverless::Function":
            continue
        policies = json.dumps(function["Properties"].get("Policies", []))
        touches = {r for r in encrypted if f'"{r}"' in policies}
        if not touches and "DeadLetterQueue" not in function["Properties"]:
            continue
        grants = [s for s in _statements(function) if _is_data_key(s["Resource"])]
        assert grants, f"{name} uses {sorted(touches)} but its role cannot use DataKey"
        assert {"kms:Decrypt"} <= {a for s in grants for a in s["Action"]}, name


def test_every_asynchronous_invocation_has_a_dead_letter_queue_with_an_alarm() -> None:
    resources = load_sam_template()["Resources"]
    asynchronous = {"EventBridgeRule", "ScheduleV2", "Schedule", "SNS", "S3", "CloudWatchEvent"}
    watched = {
        a["Properties"]["Dimensions"][0]["Value"]["Fn::GetAtt"][0]
        for a in resources.values()
        if a["Type"] == "AWS::CloudWatch::Alarm" and a["Properties"].get("Namespace") == "AWS/SQS"
    }
    for name, function in resources.items():
        if function["Type"] != "AWS::Serverless::Function":
            continue
        events = {e["Type"] for e in function["Properties"].get("Events", {}).values()}
        if not events & asynchronous:
            continue
        dlq = function["Properties"].get("DeadLetterQueue")
        assert dlq, f"{name} is invoked asynchronously without a DLQ"
        assert dlq["Type"] == "SQS", name
        queue = dlq["TargetArn"]["Fn::GetAtt"][0]
        assert queue in watched, f"{name}'s DLQ {queue} has no alarm"
        assert function["Properties"].get("ReservedConcurrentExecutions"), name
    for name, function in resources.items():
        if function["Type"] == "AWS::Serverless::Function":
            assert function["Properties"].get("ReservedConcurrentExecutions"), (
                f"{name} has no reserved concurrency"
            )
            # Its logs in a group of the template (under the data key, with a retention), not /aws/lambda/.
            group = function["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
            assert resources[group]["Type"] == "AWS::Logs::LogGroup", name


def test_buckets_and_the_distribution_log_into_a_retained_log_bucket() -> None:
    sam = load_sam_template()
    resources = sam["Resources"]
    for name, bucket in resources.items():
        if bucket["Type"] != "AWS::S3::Bucket" or name == "AccessLogsBucket":
            continue
        logging = bucket["Properties"]["LoggingConfiguration"]
        assert logging["DestinationBucketName"] == {"Ref": "AccessLogsBucket"}, name
        assert logging["LogFilePrefix"].startswith("s3/"), name
    (rule,) = resources["AccessLogsBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
    assert rule["ExpirationInDays"] == {"Ref": "AccessLogRetentionDays"}
    assert sam["Parameters"]["AccessLogRetentionDays"]["MinValue"] >= 180  # six months (网络安全法 art. 21)
    config = resources["WebDistribution"]["Properties"]["DistributionConfig"]
    assert config["Logging"]["Bucket"] == {"Fn::GetAtt": ["AccessLogsBucket", "DomainName"]}


def test_the_portal_is_served_on_its_own_domain_with_tls_1_2_or_later() -> None:
    sam = load_sam_template()
    config = sam["Resources"]["WebDistribution"]["Properties"]["DistributionConfig"]
    certificate = config["ViewerCertificate"]
    assert certificate == {
        "AcmCertificateArn": {"Ref": "PortalCertificateArn"},
        "SslSupportMethod": "sni-only",
        "MinimumProtocolVersion": "TLSv1.2_2021",
    }
    assert config["Aliases"] == [{"Fn::Select": [2, {"Fn::Split": ["/", {"Ref": "PortalOrigin"}]}]}]
    # An empty certificate parameter (the local stack's default) cannot be deployed.
    certificate_given, origin_given = sam["Rules"]["PortalCertificateRequired"]["Assertions"]
    assert certificate_given["Assert"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "PortalCertificateArn"}, ""]}]}
    default_origin = sam["Parameters"]["PortalOrigin"]["Default"]
    assert origin_given["Assert"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "PortalOrigin"}, default_origin]}]}
    assert "RuleCondition" not in sam["Rules"]["PortalCertificateRequired"]
