"""The local runtime shares this machine's cores the way separate Lambda containers would not.

Background functions (no HTTP route invokes them) run at a lower CPU priority, with whatever they
start; `FunctionPool.each_worker` lets a warm-up reach every worker of a pool rather than only the
one LIFO reuse keeps handing out. The handlers below run in the workers.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from infra.local.runtime import BACKGROUND_NICE, FunctionPool, FunctionSpec, FunctionWorker
from infra.local.template import REPO_ROOT

MODULE = __name__
BASE_ENV = {
    "PATH": os.environ.get("PATH", ""),
    "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), str(REPO_ROOT / "layers" / "core")]),
}


def priorities(event: dict[str, Any], context: Any) -> dict[str, int]:
    """The niceness of this worker, of a thread it starts and of a process it starts."""
    seen: dict[str, int] = {"pid": os.getpid(), "worker": os.nice(0)}

    def in_thread() -> None:
        seen["thread"] = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    thread = threading.Thread(target=in_thread)
    thread.start()
    thread.join()
    child = subprocess.run(
        [sys.executable, "-c", "import os; print(os.nice(0))"], capture_output=True, text=True, check=True
    )
    seen["child"] = int(child.stdout)
    return seen


def whoami(event: dict[str, Any], context: Any) -> int:
    return os.getpid()


def _spec(handler: str, *, background: bool = False) -> FunctionSpec:
    return FunctionSpec(
        logical_id=f"Test{handler.title()}",
        function_name=f"test-{handler}",
        module=MODULE,
        handler=handler,
        timeout_s=30,
        memory_mb=128,
        environment={},
        background=background,
    )


@pytest.fixture
def pools() -> Iterator[list[FunctionPool]]:
    made: list[FunctionPool] = []
    yield made
    for pool in made:
        pool.stop()


def _pool(pools: list[FunctionPool], spec: FunctionSpec, nice: int = BACKGROUND_NICE) -> FunctionPool:
    pool = FunctionPool(spec, BASE_ENV, None, 3, nice)
    pools.append(pool)
    return pool


def test_a_background_function_and_what_it_starts_run_at_a_lower_priority(pools: list[FunctionPool]) -> None:
    seen = _pool(pools, _spec("priorities", background=True)).invoke({})
    expected = min(19, os.nice(0) + BACKGROUND_NICE)
    assert seen["worker"] == expected
    # OCR threads and the capped PDF worker process inherit it.
    assert seen["thread"] == expected
    assert seen["child"] == expected


def test_a_function_behind_the_api_keeps_the_stacks_priority(pools: list[FunctionPool]) -> None:
    seen = _pool(pools, _spec("priorities")).invoke({})
    assert seen["worker"] == seen["thread"] == seen["child"] == os.nice(0)


def test_the_stack_can_run_background_functions_at_its_own_priority(pools: list[FunctionPool]) -> None:
    seen = _pool(pools, _spec("priorities", background=True), nice=0).invoke({})
    assert seen["worker"] == os.nice(0)


def test_warming_a_pool_with_a_worker_already_idle_starts_the_missing_ones(pools: list[FunctionPool]) -> None:
    pool = _pool(pools, _spec("whoami"))
    pool.warm()  # as the stack warms a function at start
    pool.warm(3)
    assert pool.cold_starts == 3
    assert len({w.pid for w in pool.workers}) == 3


def sleeper(event: dict[str, Any], context: Any) -> int:
    time.sleep(float(event["sleep"]))
    return os.getpid()


def test_the_time_invocations_wait_for_a_busy_pool_is_recorded(pools: list[FunctionPool]) -> None:
    pool = _pool(pools, _spec("sleeper"))
    pool.warm(pool.size)
    pool.queue_waits_s.clear()
    pool.invoke({"sleep": 0})
    assert len(pool.queue_waits_s) == 1
    assert pool.queue_waits_s[0] < 0.2  # an idle worker was there
    with ThreadPoolExecutor(4) as run:
        # Four at once on three workers: one of them waits for the first to finish (0.6 s).
        list(run.map(lambda _: pool.invoke({"sleep": 0.6}), range(4)))
    waits = sorted(pool.queue_waits_s)[1:]
    assert len(waits) == 4
    assert waits[-1] >= 0.5
    assert all(w < 0.2 for w in waits[:-1])


def test_each_worker_gets_the_warm_up_in_turn(pools: list[FunctionPool]) -> None:
    pool = _pool(pools, _spec("whoami"))
    pool.warm(pool.size)
    workers = {w.pid for w in pool.workers}
    assert len(workers) == 3
    # Without it, invocations one after another all land on the most recently used worker.
    assert len({pool.invoke({}) for _ in range(6)}) == 1

    reached: list[tuple[int | None, set[int]]] = []

    def warm_up(worker: FunctionWorker) -> None:
        reached.append((worker.pid, {pool.invoke({}) for _ in range(3)}))

    pool.each_worker(warm_up)
    assert [pids for _, pids in reached] == [{pid} for pid, _ in reached]
    assert {pid for pid, _ in reached} == workers
    # No worker was started for it, and every one is idle and handed out again afterwards.
    assert pool.cold_starts == 3
    assert pool.peak_concurrency <= 3
    with pool._cond:
        assert len(pool._idle) == 3
        assert pool._running == 0
