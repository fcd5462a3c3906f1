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
ZIP_FUNCTIONS = ["ApiFunction", "IssueFunction", "VerifyFunction", "SchedulerFunction"]
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
    assert resources["CoreLayer"]["Metadata"]["BuildMethod"] == "python3.11"
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
