"""Every log line of a flow carries the ids an operator searches by, and the next flow does not inherit them.

Powertools' Logger writes one JSON object per line; the `logs` fixture (tests/conftest.py) reads them back."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from functions.ingest import app as ingest_app
from tests.conftest import Logs
from tests.integration.api_helpers import Aws, Client, moto_aws, new_application
from tests.integration.ingest_stack import Context, Stack, open_stack


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    yield from open_stack(monkeypatch)


def test_ingest_log_lines_carry_the_upload_and_application(stack: Stack, logs: Logs) -> None:
    key = "uploads/A20240077/business_licence/U9/gone.pdf"
    stack.ticket(key)  # a ticket was issued for the key
    event = stack.s3_event(key, None, "d41d8cd98f00b204e9800998ecf8427e", 10)  # no such object: fails
    logs()
    reply = ingest_app.lambda_handler(stack.sqs_event(event, 3, "m-9"), Context())
    assert reply == {"batchItemFailures": [{"itemIdentifier": "m-9"}]}
    lines = logs()
    flow = [line for line in lines if line["message"] in ("ingest failed", "material marked failed")]
    assert [line["message"] for line in flow] == ["material marked failed", "ingest failed"]
    for line in flow:
        assert line["upload_key"] == key
        assert line["application_id"] == "A20240077"
        assert line["upload_id"] == "U9"

    # The next invocation (a test event, which logs nothing of an upload) starts without them.
    from onestop.observability import logger

    ingest_app.lambda_handler(stack.sqs_event({"Event": "s3:TestEvent"}, 1, "m-10"), Context())
    logs()
    logger.info("after")
    (after,) = [line for line in logs() if line["message"] == "after"]
    assert "upload_key" not in after
    assert "application_id" not in after


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    with moto_aws(monkeypatch) as resources:
        yield resources


def test_api_log_lines_carry_the_request_id_and_the_application(
    aws: Aws, monkeypatch: pytest.MonkeyPatch, logs: Logs
) -> None:
    from onestop.aws.composition import application_service

    alice = Client("alice-logs")
    application = new_application(alice)

    def broken(*_: Any, **__: Any) -> Any:
        raise RuntimeError("the table is on fire")

    monkeypatch.setattr(application_service(), "get", broken)
    logs()
    reply = alice.get(f"/applications/{application['id']}")
    assert reply.status == 500
    (line,) = [x for x in logs() if x["message"] == "unhandled error"]
    assert line["application_id"] == application["id"]
    assert line["correlation_id"]  # API Gateway's request id
    assert line["reference"] == reply.body["reference"]

    # The next request names no application: its lines carry none.
    monkeypatch.undo()
    logs()
    assert alice.get("/applications/A29990001/no-such-route").status == 404
    from onestop.observability import logger

    logger.info("after")
    (after,) = [x for x in logs() if x["message"] == "after"]
    assert "application_id" not in after
