"""A small bounded load run on the local stack (the benchmark's code, bench/bench_load.py, at a size a
CI run affords): every upload becomes a material in a final status, no request fails, nothing is
dead-lettered."""

from __future__ import annotations

import pytest

from bench.bench_load import run_load
from infra import samples
from infra.local import LocalStack

pytestmark = [pytest.mark.xdist_group("stack"), pytest.mark.slow, pytest.mark.timeout(300)]


def test_small_load_run_reconciles(robust_stack: LocalStack) -> None:
    stack = robust_stack
    result = run_load(
        stack.api_url,
        lambda sub: stack.token(sub, ["applicant"], sub, uscc=[samples.SampleEnterprise().uscc]),
        applicants=4,
        uploads_each=2,
        concurrency=4,
        time_limit_s=150,
    )
    assert result.errors == []
    assert result.uploads == 8
    assert result.unreconciled == []
    assert result.materials_final == 8
    assert result.latency_ms["all_api"]["n"] >= 4 * 3  # create + two tickets each, plus polls
    assert stack.wait_idle(60)
    sqs = stack.client("sqs")
    depth = sqs.get_queue_attributes(
        QueueUrl=stack.outputs["UploadsDeadLetterQueueUrl"], AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]["ApproximateNumberOfMessages"]
    assert depth == "0"
