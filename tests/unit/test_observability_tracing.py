"""Tracing still records once the X-Ray SDK is imported lazily (onestop.observability.LazyXRayProvider).

The api function runs in a fresh interpreter as Lambda runs it with `Tracing: Active` (LAMBDA_TASK_ROOT,
a trace header in _X_AMZN_TRACE_ID, the daemon's address), and the X-Ray SDK sends its subsegments to
a UDP socket of the test standing in for the daemon: what arrives there is what X-Ray would receive.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
TRACE_HEADER = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"

# Imports the handler, invokes it once with GET /openapi.json (no AWS needed), reports what it saw.
_RUN = """
import json, sys
import functions.api.app as api
sdk_at_import = "aws_xray_sdk.core" in sys.modules

class Context:
    function_name = "onestop-api"
    memory_limit_in_mb = 1024
    aws_request_id = "request-1"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:onestop-api"
    def get_remaining_time_in_millis(self):
        return 30000

http = {"method": "GET", "path": "/openapi.json", "protocol": "HTTP/1.1", "sourceIp": "192.0.2.1"}
event = {
    "version": "2.0", "routeKey": "$default", "rawPath": "/openapi.json", "rawQueryString": "",
    "headers": {"host": "api.example"}, "isBase64Encoded": False,
    "requestContext": {"http": http, "requestId": "request-1", "routeKey": "$default", "stage": "$default",
                       "accountId": "123456789012", "apiId": "api", "domainName": "api.example",
                       "domainPrefix": "api", "time": "", "timeEpoch": 0},
}
reply = api.lambda_handler(event, Context())
patched = []
if "aws_xray_sdk.core" in sys.modules:
    from aws_xray_sdk.core import patcher
    patched = sorted(patcher._PATCHED_MODULES)
print(json.dumps({"sdk_at_import": sdk_at_import, "sdk_after_call": "aws_xray_sdk.core" in sys.modules,
                  "status": reply["statusCode"], "patched": patched}))
"""


def run_api(env: dict[str, str]) -> dict[str, Any]:
    base = {
        **{k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR")},
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "layers" / "core")]),
        "PYTHONDONTWRITEBYTECODE": "1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_SERVICE_NAME": "api",
        "POWERTOOLS_METRICS_NAMESPACE": "OnestopTest",
        "POWERTOOLS_METRICS_DISABLED": "true",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
    }
    done = subprocess.run(
        [sys.executable, "-c", _RUN],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def received(daemon: socket.socket) -> list[dict[str, Any]]:
    """The documents the SDK sent: each datagram is a header line, then one segment or subsegment."""
    documents: list[dict[str, Any]] = []
    daemon.settimeout(0.5)
    while True:
        try:
            datagram = daemon.recv(65536)
        except TimeoutError:
            return documents
        header, _, body = datagram.decode("utf-8").partition("\n")
        assert json.loads(header) == {"format": "json", "version": 1}
        documents.append(json.loads(body))


def test_with_tracing_on_the_sdk_is_imported_on_the_first_call_and_records_it() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as daemon:
        daemon.bind(("127.0.0.1", 0))
        host, port = daemon.getsockname()
        result = run_api(
            {
                "POWERTOOLS_TRACE_DISABLED": "false",
                "LAMBDA_TASK_ROOT": str(ROOT),
                "AWS_LAMBDA_FUNCTION_NAME": "onestop-api",
                "_X_AMZN_TRACE_ID": TRACE_HEADER,
                "AWS_XRAY_DAEMON_ADDRESS": f"{host}:{port}",
            }
        )
        documents = received(daemon)
    assert result["status"] == 200
    assert result["sdk_at_import"] is False, "the X-Ray SDK was imported at start-up"
    assert result["sdk_after_call"] is True
    # Powertools' default (auto_patch): every supported library, applied before the call ran.
    assert "botocore" in result["patched"]
    handler = [d for d in documents if d.get("name") == "## lambda_handler"]
    assert len(handler) == 1, documents
    segment = handler[0]
    assert segment["trace_id"] == "1-5759e988-bd862e3fe1be46a994272793"
    assert segment["parent_id"] == "53995c3f42cd8ad8"
    assert segment["type"] == "subsegment"
    assert segment["annotations"] == {"ColdStart": True, "Service": "api"}
    # The response (personal data on most routes, here a large document) is not in the trace.
    assert "lambda_handler response" not in json.dumps(segment.get("metadata", {}))


def test_with_tracing_disabled_the_sdk_is_never_imported() -> None:
    result = run_api({"POWERTOOLS_TRACE_DISABLED": "true"})
    assert result["status"] == 200
    assert result["sdk_at_import"] is False
    assert result["sdk_after_call"] is False
    assert result["patched"] == []
