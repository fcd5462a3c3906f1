"""schemathesis against /openapi.json of the local stack over HTTP: no input may cause a 5xx.

The schemathesis CLI drives the running stack like any client would. Only the server-error check
runs here: over HTTP the gateway answers some requests itself, as API Gateway does (a 401
`{"message": "Unauthorized"}` from the JWT authorizer, a 404 for an undeclared method), and those
bodies are API Gateway's, not the function's schema. The integration suite checks the function's
responses against the schema in process (tests/integration/test_api_schemathesis.py).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

import pytest

from infra.local import LocalStack

pytestmark = pytest.mark.xdist_group("stack")


@pytest.mark.timeout(900)
def test_no_server_errors_over_http(stack: LocalStack, tmp_path: Path) -> None:
    token = stack.token("fuzzer", ["applicant", "reviewer"])
    cli = Path(sys.executable).parent / "schemathesis"
    # A fuzzer is one client sending over a thousand requests a minute: the edge would answer most of
    # them 429 (tests/security/test_edge.py), and this test is about the API's own answers.
    with stack.edge_limits_lifted():
        result = subprocess.run(
            [
                str(cli),
                "run",
                f"{stack.api_url}/openapi.json",
                "--checks",
                "not_a_server_error",
                "--header",
                f"Authorization: Bearer {token}",
                "--max-examples",
                "15",
                # One worker: with several, hypothesis' lambda-source reflection (ast.parse) is not thread
                # safe on Python 3.11 and schemathesis reported "AST constructor recursion depth mismatch".
                "--workers",
                "1",
                "--report",
                "junit",
                "--report-dir",
                str(tmp_path),
                "--no-color",
            ],
            capture_output=True,
            text=True,
            timeout=850,
            cwd=tmp_path,
        )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    report = ElementTree.parse(next(tmp_path.rglob("*.xml"))).getroot()
    cases = report.findall(".//testcase")
    assert len(cases) >= 15, output[-3000:]  # every operation of the API was exercised
    assert not report.findall(".//failure"), output[-6000:]
