"""A long-lived worker that feeds hostile files to one function's handler, one at a time.

    python -m tests.robustness.hostile_worker ingest|verify

Started by tests/robustness/test_hostile_input.py under RLIMIT_AS, it builds an in-process moto
world for its function (the ingest function: uploads bucket, table, idempotency table, bus; the
verify function: table, Object-Lock licences bucket, KMS seal key, the bureau PKI and one genuine
licence), then reads one JSON request per line on stdin and answers one JSON line per request:
what the handler did, how long it took and the peak RSS it reached (reset between requests). The
parent enforces the time limit by killing the worker, so a hang or a crash costs one request.

The protocol uses the original stdout; everything else (Powertools logs) goes to stderr.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def _peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _reset_peak_rss() -> None:
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")  # Linux: reset VmHWM to the current RSS


def _children_peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


class _Env:
    """A MonkeyPatch stand-in that sets variables for good (this process exists for one world)."""

    def setenv(self, name: str, value: str) -> None:
        os.environ[name] = value

    def delenv(self, name: str, raising: bool = True) -> None:
        os.environ.pop(name, None)


_KEEP: list[Any] = []  # worlds that must live as long as the process


def ingest_world() -> Any:
    from functions.ingest import app
    from tests.integration.ingest_stack import MATERIALS, Context, open_stack

    world = open_stack(_Env())  # type: ignore[arg-type]
    stack = next(world)  # moto stays on while the generator is suspended: keep it referenced
    _KEEP.append(world)

    def handle(request: dict[str, Any]) -> dict[str, Any]:
        data = Path(request["path"]).read_bytes()
        upload_id = request["upload_id"]
        key = f"uploads/HOSTILE/other_slot/{upload_id}/{request['filename']}"
        put = stack.upload(key, data, request["content_type"])
        body = stack.s3_event(key, put["version_id"], put["etag"], put["size"])
        downloads: list[str] = []  # GetObject calls on the upload, counted on the function's S3 client

        def count(params: dict[str, Any], **_: Any) -> None:
            if params.get("Key") == key:
                downloads.append(key)

        from onestop.aws.clients import client

        events = client("s3").meta.events
        events.register("provide-client-params.s3.GetObject", count)
        started = time.monotonic()
        try:
            reply = app.lambda_handler(stack.sqs_event(body, message_id=f"m-{upload_id}"), Context())
        finally:
            events.unregister("provide-client-params.s3.GetObject", count)
        seconds = time.monotonic() - started
        items = [i for i in stack.materials_of("HOSTILE") if i["upload_id"] == upload_id]
        bus_events = [e for e in stack.events() if e["detail"].get("upload_id") == upload_id]
        out: dict[str, Any] = {
            "seconds": seconds,
            "batch": reply,
            "events": [e["detail-type"] for e in bus_events],
            "downloads": len(downloads),
        }
        if items:
            item = items[0]
            out["status"] = item["status"]
            out["reason"] = item.get("reason")
            if item.get("manifest_key"):
                manifest = json.loads(
                    stack.s3.get_object(Bucket=MATERIALS, Key=item["manifest_key"])["Body"].read()
                )
                out["notes"] = [n["code"] for n in manifest.get("notes", [])]
                out["sniffed"] = manifest.get("original", {}).get("sniffed_type")
            if item.get("normalised"):
                pdf = stack.s3.get_object(Bucket=MATERIALS, Key=item["normalised"]["key"])["Body"].read()
                out["normalised_is_pdf"] = pdf.startswith(b"%PDF-")
        return out

    return handle


def verify_world() -> Any:
    import boto3
    from moto import mock_aws
    from onestop.aws.clients import reset_clients
    from onestop.aws.events import EventBridgePublisher
    from onestop.aws.kms_signer import KmsSigner
    from onestop.aws.licence_registry import DynamoLicenceRegistry
    from onestop.aws.s3 import S3BlobStore
    from onestop.licences.issuance import issue_licence
    from onestop.licences.trust import load_trust
    from onestop.settings import reset_settings

    from infra.pki.bootstrap import bootstrap
    from tests.integration.api_helpers import TABLE, create_table
    from tests.unit.test_licence_support import BUREAU, ISSUER, OIL_LICENCE, approval

    bucket, region = "onestop-hostile-licences", "us-east-1"
    for name, value in {
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "TABLE_NAME": TABLE,
        "LICENCES_BUCKET": bucket,
        "PKI_PREFIX": "pki/",
        "POWERTOOLS_SERVICE_NAME": "verify",
        # Required by Settings (template.yaml's Globals give every function all of them); unused here.
        "IDEMPOTENCY_TABLE_NAME": "onestop-hostile-idempotency",
        "UPLOADS_BUCKET": "onestop-hostile-uploads",
        "MATERIALS_BUCKET": "onestop-hostile-materials",
        "EVENT_BUS_NAME": "hostile",
    }.items():
        os.environ[name] = value
    os.environ.pop("AWS_ENDPOINT_URL", None)
    reset_settings()
    reset_clients()
    mock = mock_aws()
    mock.start()
    create_table(boto3.resource("dynamodb"))
    boto3.client("s3").create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True)
    boto3.client("events").create_event_bus(Name="hostile")
    kms = boto3.client("kms")
    key_id = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName="alias/hostile-seal", TargetKeyId=key_id)
    store = S3BlobStore(bucket)
    root = Path(tempfile.mkdtemp(prefix="hostile-pki-"))
    bootstrap(kms=kms, store=store, key_id="alias/hostile-seal", prefix="pki/", root_dir=root, bureau=BUREAU)
    record = issue_licence(
        approval("hostile-genuine"),
        licence_type=OIL_LICENCE,
        issuer=ISSUER,
        registry=DynamoLicenceRegistry(TABLE),
        store=store,
        signer=KmsSigner.for_seal(load_trust(store, "pki/").current_seal()),
        publisher=EventBridgePublisher("hostile", "onestop"),
    )
    assert record.pdf is not None
    genuine = store.get(record.pdf.key, version_id=record.pdf.version_id).body
    (root / "genuine.pdf").write_bytes(genuine)

    from functions.verify.app import lambda_handler
    from tests.unit.test_verification_api import Context, event

    def handle(request: dict[str, Any]) -> dict[str, Any]:
        path = Path(request["path"]) if request["path"] != "GENUINE" else root / "genuine.pdf"
        data = path.read_bytes()
        started = time.monotonic()
        reply = lambda_handler(
            event("POST", "/verify", data, {"content-type": request["content_type"]}), Context()
        )
        seconds = time.monotonic() - started
        raw = reply.get("body") or "null"
        if reply.get("isBase64Encoded"):
            raw = base64.b64decode(raw).decode("utf-8", "replace")
        body = json.loads(raw)
        return {"seconds": seconds, "status_code": reply["statusCode"], "body": body}

    return handle


def main(target: str) -> int:
    protocol = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # handler logs and prints go to stderr, never into the protocol
    sys.stdout = sys.stderr
    handle = ingest_world() if target == "ingest" else verify_world()
    protocol.write(json.dumps({"ready": True, "pid": os.getpid()}) + "\n")
    for line in sys.stdin:
        request = json.loads(line)
        _reset_peak_rss()
        try:
            reply = handle(request)
        except BaseException as exc:  # report it: the test decides; the worker lives on
            reply = {"exception": f"{type(exc).__name__}: {str(exc)[:500]}"}
        reply["peak_rss_mb"] = _peak_rss_mb()
        reply["children_peak_rss_mb"] = _children_peak_rss_mb()
        protocol.write(json.dumps(reply, default=str, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1]))
