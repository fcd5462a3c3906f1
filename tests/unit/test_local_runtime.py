"""The local Lambda runtime's concurrency: a pool of warm workers per function, as Lambda runs them.

The handlers below run in the workers (each imports this module once, its cold start); they report
their process and when they ran, so that the tests see what ran where and when.
"""

from __future__ import annotations

import itertools
import os
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from werkzeug.test import Client

from infra.local.gateway import HttpApiGateway, Route
from infra.local.identity import LocalIdentityProvider
from infra.local.runtime import (
    FunctionPool,
    FunctionSpec,
    InvocationError,
    LocalRuntime,
    RuntimeStopped,
    TooManyRequests,
    local_worker_cap,
)
from infra.local.template import REPO_ROOT

MODULE = __name__
_invocations_here = 0  # in a worker: how many invocations this process has run


def sleeper(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Sleeps `event["sleep"]` seconds; says which process ran it, when, and whether it came cold."""
    global _invocations_here
    _invocations_here += 1
    started = time.time()
    time.sleep(float(event.get("sleep", 0)))
    return {
        "pid": os.getpid(),
        "started": started,
        "ended": time.time(),
        "cold": _invocations_here == 1,
        "request_id": context.aws_request_id,
    }


def http(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """An HTTP API v2 handler that sleeps as asked in the query string."""
    time.sleep(float((event.get("queryStringParameters") or {}).get("sleep", 0)))
    return {"statusCode": 200, "body": str(os.getpid())}


def _spec(handler: str = "sleeper", *, timeout_s: int = 30, reserved: int | None = None) -> FunctionSpec:
    return FunctionSpec(
        logical_id=f"Test{handler.title()}",
        function_name=f"test-{handler}",
        module=MODULE,
        handler=handler,
        timeout_s=timeout_s,
        memory_mb=128,
        environment={},
        reserved_concurrency=reserved,
    )


BASE_ENV = {
    "PATH": os.environ.get("PATH", ""),
    "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), str(REPO_ROOT / "layers" / "core")]),
}


@pytest.fixture
def pools() -> Iterator[list[FunctionPool]]:
    made: list[FunctionPool] = []
    yield made
    for pool in made:
        pool.stop()


def _pool(pools: list[FunctionPool], spec: FunctionSpec, max_workers: int = 4) -> FunctionPool:
    pool = FunctionPool(spec, BASE_ENV, None, max_workers)
    pools.append(pool)
    return pool


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A killed child that was reaped is gone; one not yet reaped is a zombie: not running either.
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().rsplit(")", 1)[1].split()[0] != "Z"


def test_two_slow_invocations_of_one_function_run_on_two_workers_at_once(pools: list[FunctionPool]) -> None:
    pool = _pool(pools, _spec())
    pool.warm()
    with ThreadPoolExecutor(2) as run:
        # The second of two invocations finds the warm worker busy: the pool scales out to two.
        list(run.map(lambda _: pool.invoke({"sleep": 1.0}), range(2)))
        assert pool.cold_starts == 2
        started = time.monotonic()
        a, b = run.map(lambda _: pool.invoke({"sleep": 1.0}), range(2))
        wall = time.monotonic() - started
    assert a["pid"] != b["pid"]
    # Their run times overlap: each started before the other ended.
    assert a["started"] < b["ended"]
    assert b["started"] < a["ended"]
    assert pool.peak_concurrency == 2
    # One after the other they would take 2 s.
    assert wall < 1.9


def test_reserved_concurrency_of_one_never_runs_two_at_once(pools: list[FunctionPool]) -> None:
    pool = _pool(pools, _spec(reserved=1))
    assert pool.size == 1
    pool.warm()
    with ThreadPoolExecutor(1) as run:
        first = run.submit(pool.invoke, {"sleep": 0.8})
        time.sleep(0.2)
        # A synchronous invocation while the one allowed is running: throttled at once, like Lambda.
        refused_at = time.monotonic()
        with pytest.raises(TooManyRequests) as refused:
            pool.invoke({"sleep": 0})
        assert time.monotonic() - refused_at < 0.1
        assert refused.value.error_type == "TooManyRequestsException"
        first.result()
    assert pool.throttles == 1
    # Invocations that wait (an event source's, the scheduler's) run one after the other.
    with ThreadPoolExecutor(3) as run:
        results = list(run.map(lambda _: pool.invoke({"sleep": 0.3}, wait=True), range(3)))
    spans = sorted((r["started"], r["ended"]) for r in results)
    for (_, ended), (next_started, _) in itertools.pairwise(spans):
        assert next_started >= ended
    assert len({r["pid"] for r in results}) == 1
    assert pool.peak_concurrency == 1


def test_the_gateway_answers_a_throttled_invocation_with_500(pools: list[FunctionPool]) -> None:
    runtime = LocalRuntime({}, BASE_ENV)
    runtime.workers["Slow"] = _pool(pools, _spec("http", reserved=1))
    gateway = HttpApiGateway(
        [Route("GET", "/slow", "Slow", authorized=False)],
        runtime.invoke,
        LocalIdentityProvider(issuer="http://local/idp", audience="portal"),
        None,
    )
    runtime.workers["Slow"].warm()
    with ThreadPoolExecutor(1) as run:
        first = run.submit(lambda: Client(gateway).get("/slow?sleep=0.8"))
        time.sleep(0.2)
        second = Client(gateway).get("/slow")
        assert first.result().status_code == 200
    assert second.status_code == 500
    assert second.get_json() == {"message": "Internal Server Error"}
    assert Client(gateway).get("/slow").status_code == 200  # the slot is free again


def test_scale_out_is_a_cold_start_and_an_idle_worker_is_reused_warm(pools: list[FunctionPool]) -> None:
    pool = _pool(pools, _spec())
    first = pool.invoke({})
    assert first["cold"]
    assert pool.cold_starts == 1
    assert pool.cold_start_s is not None
    assert pool.cold_start_s > 0
    second = pool.invoke({})
    assert second["pid"] == first["pid"]
    assert not second["cold"]
    assert pool.cold_starts == 1
    # Two at once: the second needs a new worker, a cold start; the first worker is reused warm.
    with ThreadPoolExecutor(2) as run:
        a = run.submit(pool.invoke, {"sleep": 0.3})
        time.sleep(0.1)
        b = run.submit(pool.invoke, {"sleep": 1.0})
        short, long = a.result(), b.result()
    assert short["pid"] == first["pid"]
    assert not short["cold"]
    assert long["pid"] != first["pid"]
    assert long["cold"]
    assert pool.cold_starts == 2
    assert len(pool.init_durations_s) == 2
    # Last in, first out: the worker released last (the long one) takes the next invocation.
    assert pool.invoke({})["pid"] == long["pid"]
    assert pool.invocations == 5


def test_beyond_the_local_cap_requests_wait_for_a_worker(pools: list[FunctionPool]) -> None:
    pool = _pool(pools, _spec(), max_workers=2)
    with ThreadPoolExecutor(4) as run:
        results = list(run.map(lambda _: pool.invoke({"sleep": 0.4}), range(4)))
    assert len({r["pid"] for r in results}) == 2
    assert pool.peak_concurrency == 2
    assert pool.cold_starts == 2
    assert pool.throttles == 0


def test_a_waiting_invocation_is_not_overtaken_by_a_newcomer(pools: list[FunctionPool]) -> None:
    """First come, first served: the worker freed goes to the invocation that waited, even when a
    newcomer reaches the pool before the waiter has woken up (which made a few requests wait turn
    after turn: the p99 of bench_api)."""
    pool = _pool(pools, _spec(), max_workers=1)
    held = pool._acquire(wait=True)  # the only worker, busy
    order: list[str] = []

    def waiter() -> None:
        worker = pool._acquire(wait=True)
        order.append("waited")
        pool._release(worker)

    thread = threading.Thread(target=waiter)
    thread.start()
    deadline = time.monotonic() + 10
    while len(pool._queue) < 1 and time.monotonic() < deadline:
        time.sleep(0.005)
    assert len(pool._queue) == 1
    with pool._cond:  # the waiter cannot wake before the newcomer has asked
        pool._release(held)
        newcomer = pool._acquire(wait=True)
        order.append("newcomer")
    pool._release(newcomer)
    thread.join(10)
    assert order == ["waited", "newcomer"]


def test_a_timeout_kills_only_that_worker(pools: list[FunctionPool]) -> None:
    pool = _pool(pools, _spec(timeout_s=1))
    pool.warm()
    survivor_pid = pool.invoke({})["pid"]
    with ThreadPoolExecutor(2) as run:
        doomed = run.submit(pool.invoke, {"sleep": 5})  # takes the warm worker
        time.sleep(0.2)
        fine = run.submit(pool.invoke, {"sleep": 0.2})  # scales out meanwhile
        with pytest.raises(InvocationError) as timed_out:
            doomed.result()
        other = fine.result()
    assert timed_out.value.error_type == "Timeout"
    assert not _alive(survivor_pid)  # the timed-out invocation ran on the warm worker: killed
    assert _alive(other["pid"])
    assert [w.pid for w in pool.workers] == [other["pid"]]
    after = pool.invoke({})
    assert after["pid"] == other["pid"]
    assert not after["cold"]


def test_stop_shuts_every_worker_down(pools: list[FunctionPool]) -> None:
    pool = _pool(pools, _spec())
    with ThreadPoolExecutor(2) as run:
        pids = {r["pid"] for r in run.map(lambda _: pool.invoke({"sleep": 0.3}), range(2))}
    assert len(pids) == 2
    outcome: list[BaseException] = []

    def invoke_long() -> None:
        try:
            pool.invoke({"sleep": 20})
        except InvocationError as exc:
            outcome.append(exc)

    busy = threading.Thread(target=invoke_long)
    busy.start()
    time.sleep(0.3)
    started = time.monotonic()
    pool.stop()
    busy.join(10)
    assert time.monotonic() - started < 8  # a busy worker does not hold the stack's shutdown
    assert len(outcome) == 1  # its invocation failed (the worker was killed), it did not hang
    assert not any(_alive(pid) for pid in pids)
    with pytest.raises(RuntimeStopped):
        pool.invoke({})


@pytest.mark.parametrize(
    ("reserved", "event_source", "cap", "size"),
    [(None, None, 4, 4), (1, None, 4, 1), (20, None, 4, 4), (None, 2, 4, 2), (3, 10, 4, 3), (None, 10, 4, 4)],
)
def test_pool_size_follows_the_template_limit_under_the_local_cap(
    reserved: int | None, event_source: int | None, cap: int, size: int
) -> None:
    spec = FunctionSpec(
        "F",
        "f",
        MODULE,
        "sleeper",
        3,
        128,
        {},
        reserved_concurrency=reserved,
        event_source_max_concurrency=event_source,
    )
    assert FunctionPool(spec, BASE_ENV, None, cap).size == min(size, local_worker_cap(128, cap))
    assert spec.concurrency_limit == (reserved if reserved is not None else event_source)


@pytest.mark.parametrize(
    ("memory_mb", "cores", "cap"),
    [(1024, 2, 3), (3008, 2, 1), (10240, 2, 1), (3008, 8, 4), (128, 1, 4), (1769, 1, 1), (1769, 2, 2)],
)
def test_a_function_gets_no_more_workers_than_its_share_of_the_cores(
    memory_mb: int, cores: int, cap: int
) -> None:
    assert local_worker_cap(memory_mb, 4, cores) == cap


def test_warming_starts_workers_side_by_side_up_to_the_pool_size(pools: list[FunctionPool]) -> None:
    pool = _pool(pools, _spec(), max_workers=3)
    pool.warm(5)
    assert pool.cold_starts == 3
    assert len({w.pid for w in pool.workers}) == 3
    warmed = {w.pid for w in pool.workers}
    pool.warm(3)  # already there: nothing more
    assert pool.cold_starts == 3
    with ThreadPoolExecutor(3) as run:
        results = list(run.map(lambda _: pool.invoke({"sleep": 0.5}), range(3)))
    # Three at once ran on the three warmed workers: no init during the invocations.
    assert {r["pid"] for r in results} == warmed
    assert pool.cold_starts == 3
