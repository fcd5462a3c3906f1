"""An SQS event source mapping delivers up to its lanes' worth of batches at once, each message once."""

from __future__ import annotations

import threading
import time
from typing import Any

import boto3
import pytest
from moto import mock_aws

from infra.local.pollers import SqsMapping, SqsPoller


@pytest.mark.parametrize("lanes", [1, 3])
def test_batches_are_delivered_in_parallel_up_to_the_lanes(lanes: int) -> None:
    with mock_aws():
        sqs = boto3.client("sqs", region_name="us-east-1")
        url = sqs.create_queue(QueueName="q")["QueueUrl"]
        for n in range(6):
            sqs.send_message(QueueUrl=url, MessageBody=str(n))
        lock = threading.Lock()
        running = 0
        peak = 0
        seen: list[str] = []

        def invoke(function: str, event: dict[str, Any]) -> None:
            nonlocal running, peak
            with lock:
                running += 1
                peak = max(peak, running)
                seen.extend(r["body"] for r in event["Records"])
            time.sleep(0.4)
            with lock:
                running -= 1

        stop = threading.Event()
        mapping = SqsMapping("m", "F", url, "arn:aws:sqs:us-east-1:123456789012:q", 1, 0, False)
        poller = SqsPoller(mapping, sqs, invoke, stop, 1, "us-east-1", lanes=lanes)
        poller.start()
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and (len(seen) < 6 or poller.busy):
            time.sleep(0.05)
        stop.set()
        poller.join(10)
        left = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
    assert sorted(seen) == [str(n) for n in range(6)]  # each message once
    assert poller.invocations == 6
    assert peak == lanes
    assert left["Attributes"]["ApproximateNumberOfMessages"] == "0"
