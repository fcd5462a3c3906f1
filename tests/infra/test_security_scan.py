"""The infrastructure scan (issue 19): checkov finds nothing in template.yaml that is not argued, and
the exceptions argued in the template are the ones docs/operations.md lists.

checkov lives in its own venv (.venv/checkov, made by the Makefile: its pins clash with aws-sam-cli's).
`make test` builds it first; run alone, this module asks make for it (a no-op once it exists).
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHECKOV = ROOT / ".venv" / "checkov" / "bin" / "checkov"
# The Makefile's CHECKOV_ARGS, without --quiet (which drops the skipped checks from the JSON report).
ARGS = ["--framework", "cloudformation", "--compact", "--skip-download", "--output", "json"]
# A reason is a sentence or two, not a word.
MIN_REASON_WORDS = 15

pytestmark = pytest.mark.xdist_group("sam")


@pytest.fixture(scope="module")
def checkov() -> Path:
    result = subprocess.run(
        ["make", "--no-print-directory", "-s", "checkov-venv"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, (
        "make checkov-venv failed:\n" + result.stdout[-3000:] + result.stderr[-3000:]
    )
    assert CHECKOV.is_file(), f"make checkov-venv left no {CHECKOV}"
    return CHECKOV


def _scan(checkov: Path, template: Path) -> tuple[int, dict[str, Any]]:
    result = subprocess.run(
        [str(checkov), "-f", str(template), *ARGS],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    return result.returncode, json.loads(result.stdout)


def _documented_exceptions() -> set[tuple[str, str]]:
    """(check id, logical id) pairs of the table in docs/operations.md."""
    pairs = set()
    for line in (ROOT / "docs" / "operations.md").read_text().splitlines():
        match = re.match(r"\| `(CKV_AWS_\d+)`[^|]*\| ([^|]+) \|", line)
        if not match:
            continue
        pairs |= {(match.group(1), name) for name in re.findall(r"`(\w+)`", match.group(2))}
    return pairs


def test_the_template_has_no_finding_and_every_exception_is_argued(checkov: Path) -> None:
    code, report = _scan(checkov, ROOT / "template.yaml")
    results = report["results"]
    failed = [f"{c['check_id']} {c['resource']}: {c['check_name']}" for c in results["failed_checks"]]
    assert (code, failed) == (0, []), "new findings: argue them in the resource's Metadata or fix them"
    assert results["parsing_errors"] == []
    assert report["summary"]["passed"] >= 80
    skipped = {}
    for check in results["skipped_checks"]:
        reason = check["check_result"].get("suppress_comment", "")
        assert len(reason.split()) >= MIN_REASON_WORDS, f"{check['check_id']} {check['resource']}: {reason!r}"
        skipped[(check["check_id"], check["resource"].split(".", 1)[1])] = reason
    assert set(skipped) == _documented_exceptions(), (
        "docs/operations.md lists other exceptions than the template"
    )


def test_a_new_unargued_finding_fails_the_scan(checkov: Path, tmp_path: Path) -> None:
    """The gate itself: a bucket without access logs and a function whose exceptions were dropped make
    checkov exit non-zero (what `make lint` and `make validate` rely on) and are named."""
    template = (ROOT / "template.yaml").read_text()
    scheduler_skips = re.search(
        r"(?m)^  SchedulerFunction:\n(?:    .*\n|\n)*?    Metadata:\n      checkov:\n", template
    )
    assert scheduler_skips, "SchedulerFunction's checkov skips moved: adjust this test"
    template = template.replace(
        scheduler_skips.group(0), scheduler_skips.group(0).replace("checkov:", "unused:")
    )
    template = template.replace(
        "\nOutputs:\n",
        "\n  StrayBucket:\n    Type: AWS::S3::Bucket\n    Properties:\n      VersioningConfiguration:\n"
        "        Status: Enabled\n\nOutputs:\n",
    )
    changed = tmp_path / "template.yaml"
    changed.write_text(template)
    code, report = _scan(checkov, changed)
    failed = {(c["check_id"], c["resource"]) for c in report["results"]["failed_checks"]}
    assert code != 0
    assert ("CKV_AWS_18", "AWS::S3::Bucket.StrayBucket") in failed
    assert {
        ("CKV_AWS_117", "AWS::Serverless::Function.SchedulerFunction"),
        ("CKV_AWS_173", "AWS::Serverless::Function.SchedulerFunction"),
    } <= failed
