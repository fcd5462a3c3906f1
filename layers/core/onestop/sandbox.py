"""A worker process that parses untrusted files under a deadline and a memory cap.

pyHanko and pypdf parse every file in the test corpus in milliseconds, but a PDF crafted to make a
parser loop, recurse or inflate a compressed stream must cost one worker, never the function. The
worker is started once and reused (forking per file costs ~20 ms, a fresh interpreter ~150 ms); a job
that overruns its deadline gets the worker killed, and the next job starts a fresh one. Verification and
ingest each keep their own.

Two ways to start a worker. Forked (verification): cheap, and RLIMIT_AS caps the address space above
what it inherited. A fresh interpreter (ingest, `fresh_interpreter=True`): a fork of the ingest function
would carry the OCR models (~300 MB resident, shared copy-on-write but counted in its resident set, and
a replacement forked after a kill would carry whatever the function holds then); a fresh interpreter
starts at ~40 MB, and RLIMIT_AS caps its whole address space, so its resident memory can never pass the
cap (issue 14: a deflate bomb took the forked worker to 1.6-1.85 GB resident).

Pipes only (no semaphores or shared memory), so it runs inside AWS Lambda, which has no /dev/shm.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import multiprocessing as mp
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any, TypeVar

T = TypeVar("T")


class SandboxError(RuntimeError):
    """The job did not produce a result."""


class SandboxTimeout(SandboxError):
    """The job overran its deadline; the worker was killed."""


class SandboxCrashed(SandboxError):
    """The worker died (memory cap, signal) or the job raised; `error_type` says which."""

    def __init__(self, error_type: str, message: str = "") -> None:
        super().__init__(f"{error_type}: {message}" if message else error_type)
        self.error_type = error_type


def _address_space_now() -> int:
    """Bytes of virtual memory this process maps (what RLIMIT_AS counts)."""
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[0])
        return pages * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):  # pragma: no cover - not Linux
        return 0


def _limit_memory(extra_bytes: int | None, *, absolute: bool = False) -> None:
    """Cap the address space at `extra_bytes` above what is mapped now, or at `extra_bytes` in all."""
    if not extra_bytes:
        return
    try:
        import resource

        limit = extra_bytes if absolute else _address_space_now() + extra_bytes
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (ImportError, ValueError, OSError):  # pragma: no cover - not Linux
        pass


def _limit_cpu(timeout_s: float) -> None:
    """Let this job use at most its deadline (and a margin) of CPU on top of what the worker used so far.

    The parent kills a job that overruns, but if the parent itself dies (a function killed at its
    timeout), nothing would stop a parser caught in a loop: SIGXCPU does.
    """
    try:
        import resource

        used = resource.getrusage(resource.RUSAGE_SELF)
        spent = used.ru_utime + used.ru_stime
        _, hard = resource.getrlimit(resource.RLIMIT_CPU)
        soft = int(spent + timeout_s) + 5
        if hard != resource.RLIM_INFINITY:
            soft = min(soft, hard)
        resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))
    except (ImportError, ValueError, OSError):  # pragma: no cover - not Linux
        pass


def _serve(conn: Connection, memory_bytes: int | None, on_start: Callable[[], None] | None) -> None:
    _limit_memory(memory_bytes)
    if on_start is not None:
        on_start()
    _serve_jobs(conn)


# What a fresh worker interpreter runs: argv[1] is its end of the pipe, argv[2] the parent's sys.path.
_BOOT = (
    "import json, sys; sys.path[:0] = json.loads(sys.argv[2]); "
    "from onestop.sandbox import serve_fresh; serve_fresh(int(sys.argv[1]))"
)


# What a fresh worker keeps of the environment: nothing of the function's (AWS credentials, table
# names); a parser exploited by a crafted file finds no keys to use.
_WORKER_ENV = frozenset({"PATH", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR", "TZ", "LD_LIBRARY_PATH"})


def serve_fresh(fd: int) -> None:
    """The main loop of a fresh-interpreter worker: cap the whole address space before anything else
    is loaded, import what the jobs need, then serve."""
    conn = Connection(fd)
    memory_bytes, preload, on_start = conn.recv()
    _limit_memory(memory_bytes, absolute=True)
    for module in preload:
        importlib.import_module(module)
    if on_start is not None:
        on_start()
    _serve_jobs(conn)


def _serve_jobs(conn: Connection) -> None:
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        if job is None:
            return
        fn, args, timeout_s = job
        _limit_cpu(timeout_s)
        try:
            reply: tuple[Any, ...] = ("ok", fn(*args))
        except MemoryError:
            # The heap may be fragmented beyond use: report, then leave for a fresh worker.
            conn.send(("error", "MemoryError", "the worker ran out of memory"))
            return
        except BaseException as exc:
            reply = ("error", type(exc).__name__, str(exc)[:500])
        try:
            conn.send(reply)
        except Exception as exc:  # e.g. an unpicklable result: a programming error, say so
            conn.send(("error", type(exc).__name__, str(exc)[:500]))


class Sandbox:
    """Run module-level functions in a reusable worker (forked, or a fresh interpreter) with a deadline
    per job.

    A forked worker is a plain `os.fork` child, a fresh one a `posix_spawn` child, both talking over a
    `multiprocessing` pipe: `multiprocessing.Process` refuses to start children from a daemonic
    process (which is what a local-stack function worker is).
    """

    def __init__(
        self,
        *,
        memory_bytes: int | None = 768 * 1024 * 1024,
        on_start: Callable[[], None] | None = None,
        fresh_interpreter: bool = False,
        preload: tuple[str, ...] = (),
    ) -> None:
        """`memory_bytes`: address space a forked worker may add to what it inherited, or a fresh
        interpreter's whole address space. `preload`: modules a fresh interpreter imports at start."""
        self.memory_bytes = memory_bytes
        self._on_start = on_start
        self.fresh_interpreter = fresh_interpreter
        self._preload = preload
        self._lock = threading.Lock()
        self._pid: int | None = None
        self._conn: Connection | None = None
        self.started = 0  # workers started so far (tests and metrics read it)

    @property
    def pid(self) -> int | None:
        """The running worker's process id (tests and benchmarks read its /proc entry)."""
        return self._pid if self._alive() else None

    def _alive(self) -> bool:
        if self._pid is None:
            return False
        try:
            pid, _ = os.waitpid(self._pid, os.WNOHANG)
        except ChildProcessError:
            return False
        return pid == 0

    def _ensure(self) -> Connection:
        if self._conn is not None and self._alive():
            return self._conn
        self._stop()
        parent, child = mp.Pipe(duplex=True)
        if self.fresh_interpreter:
            return self._spawn(parent, child)
        pid = os.fork()
        if pid == 0:  # the worker: never return into the caller's code
            code = 0
            try:
                parent.close()
                _serve(child, self.memory_bytes, self._on_start)
            except BaseException:
                code = 1
            finally:
                os._exit(code)
        child.close()
        self._pid, self._conn = pid, parent
        self.started += 1
        return parent

    def _spawn(self, parent: Connection, child: Connection) -> Connection:
        """Start a fresh interpreter on `child` (dup'ed to a known descriptor; nothing else inherited)."""
        fd = 3 if child.fileno() != 3 else 4
        paths = json.dumps([os.path.abspath(p) for p in sys.path if p])
        try:
            pid = os.posix_spawn(
                sys.executable,
                [sys.executable, "-I", "-c", _BOOT, str(fd), paths],
                {k: v for k, v in os.environ.items() if k in _WORKER_ENV},
                file_actions=[(os.POSIX_SPAWN_DUP2, child.fileno(), fd)],
            )
        finally:
            child.close()
        self._pid, self._conn = pid, parent
        self.started += 1
        parent.send((self.memory_bytes, self._preload, self._on_start))
        return parent

    def _exit_code(self) -> int | None:
        if self._pid is None:
            return None
        try:
            pid, status = os.waitpid(self._pid, os.WNOHANG)
        except ChildProcessError:
            return None
        return os.waitstatus_to_exitcode(status) if pid else None

    def _stop(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self._pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self._pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(self._pid, 0)
            self._pid = None

    def run(self, fn: Callable[..., T], args: tuple[Any, ...], timeout_s: float) -> T:
        """`fn(*args)` in the worker; raises SandboxTimeout or SandboxCrashed instead of hanging."""
        with self._lock:
            for attempt in range(2):
                conn = self._ensure()
                try:
                    conn.send((fn, args, timeout_s))
                    break
                except (BrokenPipeError, ConnectionResetError, EOFError):
                    self._stop()  # the idle worker died since the last job: fork a new one once
                    if attempt:
                        raise SandboxCrashed("WorkerUnavailable") from None
            if not conn.poll(timeout_s):
                self._stop()
                raise SandboxTimeout(f"no result within {timeout_s:g} s")
            try:
                reply = conn.recv()
            except (EOFError, OSError):
                time.sleep(0.01)  # let the exit status land before asking for it
                code = self._exit_code()
                self._stop()
                raise SandboxCrashed("WorkerDied", f"exit code {code}") from None
            if reply[0] == "ok":
                result: T = reply[1]
                return result
            if reply[1] == "MemoryError":
                self._stop()
            raise SandboxCrashed(reply[1], reply[2])

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                with contextlib.suppress(OSError):
                    self._conn.send(None)
            self._stop()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_SHARED: dict[tuple[str, int], Sandbox] = {}
_SHARED_LOCK = threading.Lock()


def shared_sandbox(
    purpose: str,
    memory_bytes: int,
    on_start: Callable[[], None] | None = None,
    *,
    fresh_interpreter: bool = False,
    preload: tuple[str, ...] = (),
) -> Sandbox:
    """One worker per purpose and memory cap, reused for the life of the process (a warm Lambda
    container). Forked workers: import what the jobs need before the first call (workers forked later
    inherit it); fresh interpreters import `preload`."""
    with _SHARED_LOCK:
        sandbox = _SHARED.get((purpose, memory_bytes))
        if sandbox is None:
            sandbox = _SHARED[(purpose, memory_bytes)] = Sandbox(
                memory_bytes=memory_bytes,
                on_start=on_start,
                fresh_interpreter=fresh_interpreter,
                preload=preload,
            )
        return sandbox


def close_shared(purpose: str) -> None:
    """Stop the shared workers of `purpose` (tests; a Lambda container simply freezes with its workers)."""
    with _SHARED_LOCK:
        for key in [k for k in _SHARED if k[0] == purpose]:
            _SHARED.pop(key).close()
