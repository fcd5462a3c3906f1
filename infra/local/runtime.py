"""A local Lambda runtime: per function, a pool of warm workers (processes), like Lambda's containers.

Each worker gets exactly the environment the template gives that function (so settings and
Powertools see what they would see in AWS), imports the handler once (its cold start, logged with
its Init Duration as Lambda's REPORT line does) and runs one invocation at a time. A function scales
out on demand: an invocation that finds no idle worker starts a new one, up to the function's
concurrency limit; idle workers are reused last-in first-out, so that a quiet spell leaves the most
recently used warm, as Lambda's placement tends to. An invocation that outlives the function's
Timeout kills its worker only, as Lambda would.

The limit is, from the template: ReservedConcurrentExecutions when set, else an SQS event source's
ScalingConfig MaximumConcurrency, else the account's unreserved pool. Locally at most
`max_workers` processes per function run, fewer for functions whose memory buys them more than a
share of this machine's cores (a laptop is not a fleet): requests between that cap and
the function's limit wait for a worker, which stands in for the containers AWS would have started.
Beyond a reserved limit a synchronous invocation is throttled at once (TooManyRequestsException, as
the Invoke API answers); event-source and scheduler invocations wait instead, because Lambda's
pollers and EventBridge Scheduler retry throttled invocations rather than fail them.

In AWS every container has its own share of CPU; locally all functions share this machine's cores.
The workers of a background function (one no HTTP route invokes: queue consumers, rule targets,
schedules) therefore run at a lower CPU priority (`BACKGROUND_NICE`), and so do the processes and
threads they start: a burst of uploads being read and OCR'd takes only the CPU the API's requests
leave, as it would take none of theirs in AWS, instead of delaying every request behind it.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import multiprocessing as mp
import os
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from .template import REPO_ROOT

log = logging.getLogger("infra.local")

# Workers per function at most, whatever the cores: each worker is a Python process of 100-450 MB, and
# 4 per function keeps the stack's worst case (every function scaled out at once) within a laptop's
# memory.
DEFAULT_MAX_WORKERS = 4
# Lambda gives a function CPU in proportion to its memory: 1,769 MB is one vCPU. A function's local
# workers together get no more of those vCPUs than this machine has cores: on 2 cores the api function
# (1,024 MB, 0.58 vCPU a container) gets 3 workers, the ingest function (3,008 MB, 1.7 vCPU, OCR) 1.
# In the load run on 2 cores (others' load ~4): 2 ingest workers gave upload → processed p50 13 s
# and API p99 1.5 s; 1 worker 4 s and 0.9 s (CPU-bound work gains nothing from more workers than cores).
LAMBDA_MB_PER_VCPU = 1769
# How much lower a background function's workers run (os.nice). Linux gives a nice-10 process about a
# tenth of the CPU a nice-0 one gets when both want it, and all of it when the other is idle.
BACKGROUND_NICE = 10


def local_worker_cap(memory_mb: int, max_workers: int, cores: int | None = None) -> int:
    """How many workers of a function with `memory_mb` this machine runs at most."""
    vcpus = cores or os.cpu_count() or 1
    return max(1, min(max_workers, (vcpus * LAMBDA_MB_PER_VCPU) // max(1, memory_mb)))


@dataclass(frozen=True)
class FunctionSpec:
    """One function as the template declares it.

    `reserved_concurrency`: ReservedConcurrentExecutions; `event_source_max_concurrency`: the
    MaximumConcurrency of the SQS event source that drives it (the lowest, if several);
    `background`: no HTTP route invokes it (its workers run at a lower CPU priority, as above).
    """

    logical_id: str
    function_name: str
    module: str
    handler: str
    timeout_s: int
    memory_mb: int
    environment: Mapping[str, str]
    reserved_concurrency: int | None = None
    event_source_max_concurrency: int | None = None
    background: bool = False

    @property
    def concurrency_limit(self) -> int | None:
        """How many invocations AWS would run at once; None: the account's unreserved pool."""
        if self.reserved_concurrency is not None:
            return self.reserved_concurrency
        return self.event_source_max_concurrency


class InvocationError(RuntimeError):
    """The handler raised or timed out; `error_type` and `trace` say how."""

    def __init__(self, function: str, error_type: str, message: str, trace: str = "") -> None:
        super().__init__(f"{function}: {error_type}: {message}")
        self.function = function
        self.error_type = error_type
        self.trace = trace


class TooManyRequests(InvocationError):
    """Lambda's TooManyRequestsException: the function's reserved concurrency is all in use."""

    def __init__(self, function: str, limit: int) -> None:
        super().__init__(
            function,
            "TooManyRequestsException",
            f"Rate Exceeded. (ReservedFunctionConcurrentInvocationLimitExceeded: {limit})",
        )
        self.reason = "ReservedFunctionConcurrentInvocationLimitExceeded"


@dataclass
class _Context:
    """The subset of the Lambda context object that handlers and Powertools read."""

    function_name: str
    memory_limit_in_mb: int
    invoked_function_arn: str
    aws_request_id: str
    deadline: float
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = "local"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline - time.monotonic()) * 1000))


def _worker_main(
    conn: Connection,
    spec: FunctionSpec,
    base_env: Mapping[str, str],
    log_file: str | None = None,
    log_stream: str = "local",
    nice: int = 0,
) -> None:
    if log_file:
        # Like CloudWatch Logs: the function's stdout/stderr (Powertools JSON logs, EMF) go to its file.
        fd = os.open(log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.close(fd)
    os.environ.clear()
    os.environ.update(base_env)
    os.environ.update(spec.environment)
    os.environ["AWS_LAMBDA_FUNCTION_NAME"] = spec.function_name
    os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] = str(spec.memory_mb)
    os.environ["AWS_LAMBDA_LOG_STREAM_NAME"] = log_stream
    if nice:
        os.nice(nice)  # before the handler's import: its threads and children inherit it
    os.chdir(REPO_ROOT)
    import importlib
    import sys

    for path in (str(REPO_ROOT), str(REPO_ROOT / "layers" / "core")):
        if path not in sys.path:
            sys.path.insert(0, path)
    try:
        handler = getattr(importlib.import_module(spec.module), spec.handler)
    except BaseException as exc:  # report import failures to the caller, like an Init error
        conn.send(("init_error", type(exc).__name__, str(exc), traceback.format_exc()))
        return
    conn.send(("ready",))
    while True:
        try:
            message = conn.recv()
        except EOFError:
            return
        if message is None:
            return
        event, request_id = message
        context = _Context(
            function_name=spec.function_name,
            memory_limit_in_mb=spec.memory_mb,
            invoked_function_arn=f"arn:aws:lambda:local:000000000000:function:{spec.function_name}",
            aws_request_id=request_id,
            deadline=time.monotonic() + spec.timeout_s,
            log_stream_name=log_stream,
        )
        try:
            result = handler(event, context)
            conn.send(("ok", result))
        except BaseException as exc:
            conn.send(("error", type(exc).__name__, str(exc), traceback.format_exc()))


class FunctionWorker:
    """The parent side of one worker process: one warm container of a function."""

    def __init__(
        self,
        spec: FunctionSpec,
        base_env: Mapping[str, str],
        log_dir: Path | None = None,
        index: int = 0,
        nice: int = 0,
    ) -> None:
        self.spec = spec
        self.index = index
        self.nice = nice  # added to the stack's CPU niceness in the worker
        self.log_file = str(log_dir / f"{spec.logical_id}.log") if log_dir else None
        self._base_env = dict(base_env)
        self._lock = threading.Lock()
        self._process: Any = None
        self._conn: Connection | None = None
        self.invocations = 0
        self.cold_start_s: float | None = None  # the Init Duration of its (latest) process

    @property
    def alive(self) -> bool:
        return self._conn is not None

    @property
    def pid(self) -> int | None:
        return None if self._process is None else int(self._process.pid)

    def _start(self) -> Connection:
        ctx = mp.get_context("spawn")
        parent, child = ctx.Pipe()
        started = time.monotonic()
        stream = f"{time.strftime('%Y/%m/%d')}/[$LATEST]{uuid.uuid4().hex}"
        process = ctx.Process(
            target=_worker_main,
            args=(child, self.spec, self._base_env, self.log_file, stream, self.nice),
            name=f"lambda-{self.spec.logical_id}-{self.index}",
        )
        process.daemon = True
        process.start()
        child.close()
        # Init may load OCR models: allow the Lambda init limit (10 s) plus generous slack locally.
        if not parent.poll(120):
            process.kill()
            raise InvocationError(self.spec.logical_id, "InitTimeout", "handler did not initialise in 120 s")
        try:
            reply = parent.recv()
        except EOFError as exc:
            process.join(5)
            raise InvocationError(
                self.spec.logical_id,
                "Runtime.ExitError",
                f"worker exited during init (code {process.exitcode})",
            ) from exc
        if reply[0] == "init_error":
            process.join(5)
            raise InvocationError(self.spec.logical_id, reply[1], reply[2], reply[3])
        self.cold_start_s = time.monotonic() - started
        log.info(
            "%s: cold start of worker %d (pid %d), Init Duration: %.2f ms",
            self.spec.logical_id,
            self.index,
            process.pid,
            self.cold_start_s * 1000,
        )
        self._process, self._conn = process, parent
        return parent

    def warm(self) -> None:
        with self._lock:
            if self._conn is None:
                self._start()

    def invoke(self, event: Any) -> Any:
        with self._lock:
            conn = self._conn or self._start()
            request_id = str(uuid.uuid4())
            conn.send((event, request_id))
            if not conn.poll(self.spec.timeout_s):
                self._kill()
                raise InvocationError(
                    self.spec.logical_id, "Timeout", f"task timed out after {self.spec.timeout_s} s"
                )
            try:
                reply = conn.recv()
            except EOFError as exc:
                self._kill()
                raise InvocationError(self.spec.logical_id, "Runtime.ExitError", "worker exited") from exc
            self.invocations += 1
            if reply[0] == "ok":
                return reply[1]
            raise InvocationError(self.spec.logical_id, reply[1], reply[2], reply[3])

    def _kill(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.join(5)
        self._process, self._conn = None, None

    def stop(self) -> None:
        self.request_stop()
        self.wait_stopped(time.monotonic() + 5)

    def request_stop(self) -> None:
        """Ask the idle worker to exit (it returns from its loop, like a container being reclaimed)."""
        with self._lock:
            if self._conn is not None:
                with contextlib.suppress(BrokenPipeError, OSError):
                    self._conn.send(None)

    def wait_stopped(self, deadline: float) -> None:
        """Wait until `deadline` for the worker to exit, then kill it."""
        with self._lock:
            if self._process is not None:
                self._process.join(max(0.0, deadline - time.monotonic()))
            self._kill()

    def kill(self) -> None:
        """Stop at once, even mid-invocation (the stack is shutting down): the invocation fails."""
        self._kill()


class RuntimeStopped(RuntimeError):
    """The stack is shutting down; no more invocations."""


class FunctionPool:
    """One function's workers: scales out on demand up to its limit, reuses idle workers (LIFO)."""

    def __init__(
        self,
        spec: FunctionSpec,
        base_env: Mapping[str, str],
        log_dir: Path | None = None,
        max_workers: int = DEFAULT_MAX_WORKERS,
        background_nice: int = BACKGROUND_NICE,
    ) -> None:
        self.spec = spec
        self._base_env = dict(base_env)
        self._log_dir = log_dir
        self._nice = background_nice if spec.background else 0
        limit = spec.concurrency_limit
        cap = local_worker_cap(spec.memory_mb, max_workers)
        self.size = max(1, min(cap, limit) if limit is not None else cap)
        self._cond = threading.Condition()
        self._idle: list[FunctionWorker] = []  # a stack: the last one released is used first
        # Invocations waiting for a worker, first come first served: Lambda's containers do not make an
        # invocation wait, so the local queue standing in for them must at least not let a newcomer
        # overtake one that has waited (a notified waiter re-queues behind new arrivals otherwise, and
        # a few requests wait many turns: the tail of the latency).
        self._queue: collections.deque[object] = collections.deque()
        self._workers: list[FunctionWorker] = []
        self._starting = 0
        self._running = 0  # invocations holding a worker
        self._sync_waiting = 0  # synchronous invocations waiting for one (AWS would be running them)
        self._next_index = 0
        self._stopped = False
        self.throttles = 0
        self.peak_concurrency = 0
        self.init_durations_s: list[float] = []
        # How long recent invocations waited for a worker (all at the local cap busy): the queue in
        # front of the function, which AWS would have met with more containers. The last 10,000.
        self.queue_waits_s: collections.deque[float] = collections.deque(maxlen=10_000)
        self._retired_invocations = 0

    # What the demo and the stack read (as they did of the one worker a function used to have).
    @property
    def invocations(self) -> int:
        with self._cond:
            return self._retired_invocations + sum(w.invocations for w in self._workers)

    @property
    def cold_start_s(self) -> float | None:
        """The first worker's Init Duration (the one every function pays once)."""
        return self.init_durations_s[0] if self.init_durations_s else None

    @property
    def cold_starts(self) -> int:
        return len(self.init_durations_s)

    @property
    def workers(self) -> list[FunctionWorker]:
        with self._cond:
            return list(self._workers)

    def warm(self, workers: int = 1) -> None:
        """Have `workers` workers ready (at most the pool's size), started side by side: provisioned
        concurrency, for tests and benchmarks that measure warm invocations only."""
        wanted = min(workers, self.size)
        with self._cond:
            if len(self._workers) + self._starting >= wanted:
                return
        # As many leases as workers wanted, all held at once: the idle workers already there take
        # some of them (a lease per missing worker only would let one take an idle worker rather
        # than start one), and each of the others has to start a worker of its own.
        started: list[FunctionWorker] = []
        errors: list[BaseException] = []

        def start() -> None:
            try:
                worker = self._acquire(wait=True)
            except BaseException as exc:
                errors.append(exc)
            else:
                started.append(worker)

        threads = [threading.Thread(target=start) for _ in range(wanted)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        # Handed back only now, so that each of them had to take a worker of its own.
        for worker in started:
            self._release(worker)
        if errors:
            raise errors[0]

    def each_worker(self, run: Callable[[FunctionWorker], object]) -> None:
        """Call `run(worker)` for each of the pool's workers in turn, with that worker the only idle
        one, so that the invocations `run` causes meanwhile (requests through the gateway, say) land
        on it: a warm-up that has to reach every container, which the LIFO reuse of idle workers
        would not give (the least recently used would never see the warm-up's requests).

        Waits until every worker is idle first. Meant for a pool already warmed to its size: with
        room to scale out, an invocation that finds the one idle worker busy starts a new worker.
        """
        with self._cond:
            while len(self._idle) < len(self._workers) and not self._stopped:
                self._cond.wait()
            if self._stopped:
                raise RuntimeStopped(self.spec.logical_id)
            held = list(self._idle)
            self._idle.clear()
            self._running += len(held)
        try:
            for worker in list(held):
                with self._cond:
                    self._running -= 1
                    self._idle.append(worker)
                    self._cond.notify_all()
                try:
                    run(worker)
                finally:
                    with self._cond:
                        while worker not in self._idle and worker.alive and not self._stopped:
                            self._cond.wait()
                        if worker in self._idle:
                            self._idle.remove(worker)
                            self._running += 1
                        else:
                            held.remove(worker)  # gone (killed) or the pool stopped: not ours to return
        finally:
            with self._cond:
                for worker in held:
                    self._running -= 1
                    if worker.alive and not self._stopped:
                        self._idle.append(worker)
                self._cond.notify_all()

    def invoke(self, event: Any, *, wait: bool = False) -> Any:
        """Run `event` on a worker. `wait`: wait for capacity rather than be throttled (pollers)."""
        with self._lease(wait=wait) as worker:
            return worker.invoke(event)

    @contextlib.contextmanager
    def _lease(self, *, wait: bool) -> Iterator[FunctionWorker]:
        worker = self._acquire(wait)
        try:
            yield worker
        finally:
            self._release(worker)

    def _acquire(self, wait: bool) -> FunctionWorker:
        limit = self.spec.reserved_concurrency
        asked = time.monotonic()
        with self._cond:
            if self._stopped:
                raise RuntimeStopped(self.spec.logical_id)
            if not wait and limit is not None and self._running + self._sync_waiting >= limit:
                self.throttles += 1
                raise TooManyRequests(self.spec.logical_id, limit)
            if not wait:
                self._sync_waiting += 1
            ticket = object()
            self._queue.append(ticket)
            try:
                while True:
                    if self._stopped:
                        raise RuntimeStopped(self.spec.logical_id)
                    if self._queue[0] is ticket:  # only the longest waiting may take a worker
                        if self._idle:
                            worker = self._idle.pop()
                            self._running += 1
                            self.peak_concurrency = max(self.peak_concurrency, self._running)
                            self.queue_waits_s.append(time.monotonic() - asked)
                            return worker
                        if len(self._workers) + self._starting < self.size:
                            self._starting += 1
                            self._running += 1
                            self.peak_concurrency = max(self.peak_concurrency, self._running)
                            # The cold start that follows is not counted: it is no wait in the queue.
                            self.queue_waits_s.append(time.monotonic() - asked)
                            break
                    self._cond.wait()
            finally:
                self._queue.remove(ticket)
                if self._queue:
                    self._cond.notify_all()  # the next in line may find a worker (or room) too
                if not wait:
                    self._sync_waiting -= 1
            index = self._next_index
            self._next_index += 1
        # Scale out: a cold start, outside the lock so that warm workers keep serving meanwhile.
        worker = FunctionWorker(self.spec, self._base_env, self._log_dir, index, self._nice)
        try:
            worker.warm()
        except BaseException:
            with self._cond:
                self._starting -= 1
                self._running -= 1
                self._cond.notify_all()
            raise
        with self._cond:
            self._starting -= 1
            self._workers.append(worker)
            assert worker.cold_start_s is not None
            self.init_durations_s.append(worker.cold_start_s)
            if self._stopped:
                self._running -= 1
                worker.stop()
                raise RuntimeStopped(self.spec.logical_id)
        return worker

    def _release(self, worker: FunctionWorker) -> None:
        with self._cond:
            self._running -= 1
            if worker.alive and not self._stopped:
                self._idle.append(worker)
            elif worker in self._workers:
                # Killed (timeout, crash): gone like its container; the next scale-out replaces it.
                self._workers.remove(worker)
                self._retired_invocations += worker.invocations
            self._cond.notify_all()  # the head of the queue is one of the waiters, not any

    def stop(self) -> None:
        self.wait_stopped(self.request_stop(), time.monotonic() + 5)

    def request_stop(self) -> list[FunctionWorker]:
        """No more invocations; idle workers are asked to exit, busy ones killed (their invocations
        fail). Returns the idle ones, for `wait_stopped`."""
        with self._cond:
            self._stopped = True
            idle = list(self._idle)
            busy = [w for w in self._workers if w not in idle]
            self._idle.clear()
            self._cond.notify_all()
        for worker in busy:
            worker.kill()
        for worker in idle:
            worker.request_stop()
        return idle

    @staticmethod
    def wait_stopped(idle: list[FunctionWorker], deadline: float) -> None:
        for worker in idle:
            worker.wait_stopped(deadline)


class LocalRuntime:
    """All functions of the stack, by logical id."""

    def __init__(
        self,
        specs: Mapping[str, FunctionSpec],
        base_env: Mapping[str, str],
        log_dir: Path | None = None,
        max_workers: int = DEFAULT_MAX_WORKERS,
        background_nice: int = BACKGROUND_NICE,
    ) -> None:
        if log_dir is not None:
            log_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir = log_dir
        self.workers = {
            logical_id: FunctionPool(spec, base_env, log_dir, max_workers, background_nice)
            for logical_id, spec in specs.items()
        }

    def invoke(self, logical_id: str, event: Any, *, wait: bool = False) -> Any:
        """Invoke synchronously (throttled beyond a reserved limit), or with `wait` as a poller does."""
        return self.workers[logical_id].invoke(event, wait=wait)

    def stop(self) -> None:
        """Every worker of every function asked to exit at once, then given 5 s in all."""
        idle = [worker for pool in self.workers.values() for worker in pool.request_stop()]
        FunctionPool.wait_stopped(idle, time.monotonic() + 5)
