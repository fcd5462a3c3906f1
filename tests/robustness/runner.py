"""The parent side of tests/robustness/hostile_worker.py: start it capped, send cases, enforce time."""

from __future__ import annotations

import json
import os
import resource
import select
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from infra.local.template import load_sam_template

ROOT = Path(__file__).resolve().parents[2]
MiB = 1024 * 1024


@dataclass(frozen=True)
class FunctionLimits:
    """What template.yaml gives the function: its timeout and memory."""

    timeout_s: int
    memory_mb: int

    @classmethod
    def of(cls, logical_id: str) -> FunctionLimits:
        template = load_sam_template()
        defaults = template.get("Globals", {}).get("Function", {})
        props = {**defaults, **template["Resources"][logical_id]["Properties"]}
        return cls(int(props.get("Timeout", 3)), int(props.get("MemorySize", 128)))


class HostileWorker:
    """One worker process for `target` ("ingest" or "verify"), restarted after a hang or a crash."""

    def __init__(self, target: str, limits: FunctionLimits, log_path: Path) -> None:
        self.target = target
        self.limits = limits
        self.log_path = log_path
        # Address space, not RSS: the OCR runtime maps far more than it touches; twice the memory size
        # (at least 2 GiB) is a ceiling a runaway allocation hits long before the machine suffers.
        self.address_space = max(2 * limits.memory_mb * MiB, 2048 * MiB)
        self.process: subprocess.Popen[str] | None = None
        self._log: IO[str] | None = None
        self.restarts = -1

    def _limit(self) -> None:
        resource.setrlimit(resource.RLIMIT_AS, (self.address_space, self.address_space))

    def start(self) -> None:
        self.stop()
        self.restarts += 1
        self._log = open(self.log_path, "a")  # noqa: SIM115 - closed in stop()
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "layers" / "core")]),
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_METRICS_NAMESPACE": "OnestopTest",
        }
        env.pop("AWS_ENDPOINT_URL", None)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.robustness.hostile_worker", self.target],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
            preexec_fn=self._limit,
        )
        ready = self._read(180)
        if not ready or not ready.get("ready"):
            raise RuntimeError(f"the {self.target} worker did not start: {ready}; see {self.log_path}")

    def _read(self, timeout_s: float) -> dict[str, Any] | None:
        assert self.process is not None
        assert self.process.stdout is not None
        readable, _, _ = select.select([self.process.stdout], [], [], timeout_s)
        if not readable:
            return None
        line = self.process.stdout.readline()
        return json.loads(line) if line else None

    def run(self, request: dict[str, Any]) -> dict[str, Any]:
        """The worker's answer, or {"error": "timeout" | "crashed", ...} (the worker is then restarted)."""
        if self.process is None or self.process.poll() is not None:
            self.start()
        assert self.process is not None
        assert self.process.stdin is not None
        started = time.monotonic()
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        # The function's own timeout plus slack for the worker's bookkeeping; the test asserts the
        # handler's time against the timeout itself.
        reply = self._read(self.limits.timeout_s + 30)
        if reply is None:
            crashed = self.process.poll() is not None
            code = self.process.returncode
            self.start()
            return {
                "error": "crashed" if crashed else "timeout",
                "returncode": code,
                "wall_s": time.monotonic() - started,
            }
        return reply

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self) -> None:
        if self.process is not None:
            if self.process.poll() is None:
                assert self.process.stdin is not None
                self.process.stdin.close()
                try:
                    self.process.wait(10)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait(5)
            self.process = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""
