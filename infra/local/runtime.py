"""A local Lambda runtime: one worker process per function, like one warm container.

Each worker gets exactly the environment the template gives that function (so settings and
Powertools see what they would see in AWS), imports the handler once, and runs one invocation at a
time. An invocation that outlives the function's Timeout kills the worker, as Lambda would.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import threading
import time
import traceback
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from .template import REPO_ROOT


@dataclass(frozen=True)
class FunctionSpec:
    """One function as the template declares it."""

    logical_id: str
    function_name: str
    module: str
    handler: str
    timeout_s: int
    memory_mb: int
    environment: Mapping[str, str]


class InvocationError(RuntimeError):
    """The handler raised or timed out; `error_type` and `trace` say how."""

    def __init__(self, function: str, error_type: str, message: str, trace: str = "") -> None:
        super().__init__(f"{function}: {error_type}: {message}")
        self.function = function
        self.error_type = error_type
        self.trace = trace


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
    conn: Connection, spec: FunctionSpec, base_env: Mapping[str, str], log_file: str | None = None
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
        )
        try:
            result = handler(event, context)
            conn.send(("ok", result))
        except BaseException as exc:
            conn.send(("error", type(exc).__name__, str(exc), traceback.format_exc()))


class FunctionWorker:
    """The parent side of one function's worker process."""

    def __init__(self, spec: FunctionSpec, base_env: Mapping[str, str], log_dir: Path | None = None) -> None:
        self.spec = spec
        self.log_file = str(log_dir / f"{spec.logical_id}.log") if log_dir else None
        self._base_env = dict(base_env)
        self._lock = threading.Lock()
        self._process: Any = None
        self._conn: Connection | None = None
        self.invocations = 0
        self.cold_start_s: float | None = None

    def _start(self) -> Connection:
        ctx = mp.get_context("spawn")
        parent, child = ctx.Pipe()
        started = time.monotonic()
        process = ctx.Process(
            target=_worker_main,
            args=(child, self.spec, self._base_env, self.log_file),
            name=f"lambda-{self.spec.logical_id}",
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
        with self._lock:
            if self._conn is not None:
                with contextlib.suppress(BrokenPipeError, OSError):
                    self._conn.send(None)
                if self._process is not None:
                    self._process.join(5)
            self._kill()


class LocalRuntime:
    """All functions of the stack, by logical id."""

    def __init__(
        self, specs: Mapping[str, FunctionSpec], base_env: Mapping[str, str], log_dir: Path | None = None
    ) -> None:
        if log_dir is not None:
            log_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir = log_dir
        self.workers = {
            logical_id: FunctionWorker(spec, base_env, log_dir) for logical_id, spec in specs.items()
        }

    def invoke(self, logical_id: str, event: Any) -> Any:
        return self.workers[logical_id].invoke(event)

    def stop(self) -> None:
        for worker in self.workers.values():
            worker.stop()
