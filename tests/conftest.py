"""Shared fixtures: corpus location, AWS isolation for every test, the functions' log lines."""

from __future__ import annotations

import io
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORPUS = (ROOT.parent / "shared" / "corpus").resolve()


def pytest_configure(config: pytest.Config) -> None:
    """In-process moto isolates DynamoDB transactions as AWS does (see infra/local/moto_fidelity.py) and
    checks browser POST uploads against their policy as S3 does (infra/local/s3_post_policy.py)."""
    from infra.local.moto_fidelity import serialise_dynamodb_items
    from infra.local.s3_post_policy import install_post_policy_check

    serialise_dynamodb_items()
    install_post_policy_check()


@pytest.fixture(scope="session")
def corpus() -> Path:
    """../shared/corpus (see its MANIFEST.md for the source and licence of every file)."""
    if not CORPUS.is_dir():
        pytest.fail(f"the shared test corpus is missing at {CORPUS}")
    return CORPUS


@pytest.fixture(autouse=True)
def _no_real_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test may reach real AWS: dummy credentials and a region, whatever the machine has."""
    for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", os.environ.get("ONESTOP_TEST_REGION", "us-east-1"))
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "OnestopTest")


Logs = Callable[[], list[dict[str, Any]]]


@pytest.fixture
def logs() -> Iterator[Logs]:
    """Reads (and forgets) what the functions' logger wrote since the last read."""
    from onestop.observability import logger

    buffer = io.StringIO()
    handler = logger.registered_handler
    # Swapped, not setStream(): that flushes the old stream, which a capturing runner may have closed.
    previous = handler.stream  # type: ignore[attr-defined]
    handler.stream = buffer  # type: ignore[attr-defined]

    def read() -> list[dict[str, Any]]:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return _log_lines(text)

    yield read
    handler.stream = previous  # type: ignore[attr-defined]


def _log_lines(text: str) -> list[dict[str, Any]]:
    lines = []
    for line in text.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and "level" in record and "message" in record:
            lines.append(record)
    return lines
