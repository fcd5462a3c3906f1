"""API throughput on the local stack, and the bounded load run (bench/bench_load.py) on the same stack.

    .venv/bin/python -m bench.bench_api [--requests 1200] [--concurrency 8] [--applicants 16]

Throughput: `--requests` requests from `--concurrency` clients (each its own kept-alive HTTP/1.1
connection, loopback only) to a public route (GET /items/{code}: gateway → api function) and a
signed-in route (GET /applications/{id}: JWT check → api function → DynamoDB). The clients run in a
process of their own, as real clients do, so that the stack's gateway does not share its interpreter
(and GIL) with them; they use http.client, whose cost per request is a fraction of `requests`'. Anchor:
the same requests answered by the gateway alone - a signed-in route called without a token is refused
(401) before any function runs, so it measures HTTP, routing and the emulator, the ceiling any route
can reach here. The local runtime runs a pool of workers per function (infra/local/runtime.py), so
concurrent requests run on several warm workers as on several Lambda containers.
"""

from __future__ import annotations

import argparse
import http.client
import multiprocessing as mp
import os
import threading
import time
from typing import Any
from urllib.parse import urlsplit

from bench.bench_load import Portal, applicant_subs, percentile, run_load_apart, warm_pools
from bench.common import Figure, report

ITEM = "technology-contract-registration"
# The figures before the local runtime had a pool of workers per function (issue 16, one worker a
# function; werkzeug's development server without keep-alive in front of the gateway and moto).
BEFORE_PUBLIC = "before (one worker a function, 4 clients): 396 req/s, p99 18 ms"
BEFORE_PRIVATE = "before (one worker a function, 4 clients): 87.5 req/s, p99 151 ms"
BEFORE_LOAD = "after a warm-up round; before (one worker a function): all API p99 413 ms, 18.7 API req/s"


def _client(url: str, n: int, concurrency: int, headers: dict[str, str], out: Any) -> None:
    """In its own process: `n` GETs of `url` over `concurrency` kept-alive connections; sends back
    (latencies in seconds, statuses, wall seconds, CPU seconds of this process)."""
    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    latencies: list[float] = []
    statuses: list[int] = []
    lock = threading.Lock()
    counter = iter(range(n))

    def worker() -> None:
        conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=60)
        while True:
            with lock:
                if next(counter, None) is None:
                    break
            started = time.perf_counter()
            try:
                conn.request("GET", path, headers=headers)
                response = conn.getresponse()
                response.read()
                status = response.status
            except (OSError, http.client.HTTPException):
                conn.close()
                status = 0
            elapsed = time.perf_counter() - started
            with lock:
                latencies.append(elapsed)
                statuses.append(status)
        conn.close()

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    started, cpu = time.perf_counter(), time.process_time()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    out.send((latencies, statuses, time.perf_counter() - started, time.process_time() - cpu))
    out.close()


def throughput(
    url: str, n: int, concurrency: int, expect: int, headers: dict[str, str] | None = None
) -> dict[str, float]:
    """Requests per second and latency percentiles for `n` GETs of `url` from a client process."""
    ctx = mp.get_context("spawn")
    receive, send = ctx.Pipe(duplex=False)
    process = ctx.Process(target=_client, args=(url, n, concurrency, dict(headers or {}), send))
    process.start()
    send.close()
    latencies, statuses, seconds, client_cpu = receive.recv()
    process.join(30)
    return {
        "rps": n / seconds,
        "p50_ms": percentile(latencies, 0.5) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
        "errors": sum(1 for status in statuses if status != expect),
        "n": n,
        "client_cpu_ms": client_cpu * 1000 / n,
    }


def _cpu_s(pid: int | None) -> float:
    """CPU seconds (user + system) process `pid` has used, from /proc; 0 where there is none."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _stack_processes(stack: Any) -> dict[str, list[int | None]]:
    """The stack's processes by part: the gateway (this process, with the event source pollers),
    the embedded AWS (moto's server) and each function's workers."""
    parts: dict[str, list[int | None]] = {"gateway": [os.getpid()], "moto": [stack._moto.pid]}
    for logical_id, pool in stack.runtime.workers.items():
        parts[logical_id] = [worker.pid for worker in pool.workers]
    return parts


def cpu_snapshot(stack: Any) -> dict[str, dict[int | None, float]]:
    """CPU seconds used so far by each process of each part of the stack."""
    return {part: {pid: _cpu_s(pid) for pid in pids} for part, pids in _stack_processes(stack).items()}


def cpu_since(stack: Any, before: dict[str, dict[int | None, float]]) -> dict[str, float]:
    """CPU seconds each part of the stack used since `before` (workers started since count whole)."""
    used: dict[str, float] = {}
    for part, now in cpu_snapshot(stack).items():
        old = before.get(part, {})
        seconds = sum(cpu - old.get(pid, 0.0) for pid, cpu in now.items())
        if seconds > 0:
            used[part] = seconds
    return used


def cpu_per_request(stack: Any, run: Any) -> tuple[dict[str, float], dict[str, float]]:
    """`run()`'s result, and the CPU milliseconds each part of the stack spent per request on it
    (its n requests), the client's included: on a shared machine the rate follows the others' load,
    the CPU a request costs much less so."""
    before = cpu_snapshot(stack)
    result = run()
    n = result["n"]
    spent = {part: seconds * 1000 / n for part, seconds in cpu_since(stack, before).items()}
    spent["client"] = result["client_cpu_ms"]
    return result, spent


def _queue_note(pool: Any) -> str:
    """How long the api function's invocations waited for a free worker (the local cap all busy)."""
    waits = list(pool.queue_waits_s)
    if not waits:
        return "api queue: no invocation"
    return (
        f"wait for a free api worker p50 {percentile(waits, 0.5) * 1000:.1f} ms, "
        f"p99 {percentile(waits, 0.99) * 1000:.1f} ms ({pool.size} workers)"
    )


def _cpu_note(spent: dict[str, float]) -> str:
    names = {"ApiFunction": "api workers", "moto": "DynamoDB (moto)", "gateway": "gateway"}
    parts = sorted(((v, names.get(k, k)) for k, v in spent.items() if v >= 0.05), reverse=True)
    total = sum(spent.values())
    return f"CPU a request {total:.1f} ms: " + ", ".join(f"{name} {v:.1f}" for v, name in parts)


def run(n: int, concurrency: int, applicants: int) -> tuple[list[Figure], str]:
    from infra import samples
    from infra.local import LocalStack, StackConfig

    figures = []
    details = []
    # No edge limits: this measures the emulator and the functions, not the template's rate limits
    # (which a benchmark from one address would trip; tests/security/test_edge.py tests them).
    with LocalStack(
        StackConfig(moto_port=0, api_port=0, warm=("ApiFunction", "IngestFunction"), edge_limits=False)
    ) as stack:
        token = stack.token("bench-applicant", ["applicant"], "bench", uscc=[samples.SampleEnterprise().uscc])
        portal = Portal(stack.api_url, token)
        app_id = portal.create(ITEM)["id"]

        base = stack.api_url
        auth = {"Authorization": f"Bearer {token}"}
        # Every worker of the api and ingest functions started first (provisioned concurrency): cold
        # starts are measured by bench_coldstart, not here; then one warm-up round.
        warm_pools(stack, ("ApiFunction", "IngestFunction"))
        throughput(f"{base}/applications/{app_id}", 4 * concurrency, concurrency, 200, auth)
        load_before = os.getloadavg()[0]
        gateway = throughput(f"{base}/applications/{app_id}", n, concurrency, 401)
        public = throughput(f"{base}/items/{ITEM}", n, concurrency, 200)
        assert stack.runtime is not None
        api_pool = stack.runtime.workers["ApiFunction"]
        api_pool.queue_waits_s.clear()
        private, spent = cpu_per_request(
            stack, lambda: throughput(f"{base}/applications/{app_id}", n, concurrency, 200, auth)
        )
        private_queue = _queue_note(api_pool)
        # The others' load on the machine: the 1-minute load average before the runs, less our own.
        load_note = f"machine load average {load_before:.1f} before the run"
        api = stack.runtime.workers["ApiFunction"] if stack.runtime else None
        workers = (
            f"; api function: {api.cold_starts} workers started (cold), peak {api.peak_concurrency} at once"
            if api
            else ""
        )
        for name, result, before in (
            ("GET /items/{code} (public)", public, f"{load_note}; {BEFORE_PUBLIC}"),
            (
                "GET /applications/{id} (JWT, DynamoDB)",
                private,
                f"{_cpu_note(spent)}; {private_queue}; {load_note}; {BEFORE_PRIVATE}{workers}",
            ),
        ):
            figures.append(
                Figure(
                    "API throughput",
                    f"{name}, {concurrency} clients",
                    result["rps"],
                    "req/s",
                    "gateway alone (401 before any function)",
                    gateway["rps"],
                    f"p50 {result['p50_ms']:.0f} ms, p99 {result['p99_ms']:.0f} ms, "
                    f"errors {result['errors']}; gateway p50 {gateway['p50_ms']:.1f} ms, "
                    f"p99 {gateway['p99_ms']:.1f} ms; {before}",
                )
            )
        uscc = [samples.SampleEnterprise().uscc]
        load_at_run = os.getloadavg()[0]
        before_load = cpu_snapshot(stack)
        api_pool.queue_waits_s.clear()
        load = run_load_apart(
            stack.api_url,
            {sub: stack.token(sub, ["applicant"], sub, uscc=uscc) for sub in applicant_subs(applicants)},
            applicants=applicants,
            uploads_each=2,
            concurrency=min(8, applicants),
            time_limit_s=240,
        )
        # How busy each part was during the run, in cores (CPU seconds a second): one near 1.0 is a
        # Python process at the limit of its GIL, the queue every request behind it waits in.
        busy = {part: s / load.seconds for part, s in cpu_since(stack, before_load).items()}
        load_queue = _queue_note(api_pool)
        all_api, poll = load.latency_ms["all_api"], load.latency_ms.get("poll", {})
        figures.append(
            Figure(
                "load run",
                f"{applicants} applicants x 2 uploads: GET /applications/{{id}} p50 latency under load",
                poll.get("p50"),
                "ms",
                "the same route's p50 without the load (above)",
                private["p50_ms"],
                f"{load.api_per_second} API req/s; all API p50 {all_api['p50']} ms, p99 {all_api['p99']} ms; "
                f"errors {len(load.errors)}; {load.materials_final}/{load.uploads} uploads became materials; "
                f"upload → processed p50 {load.processed_s['p50']} s, p99 {load.processed_s['p99']} s; "
                f"machine load average {load_at_run:.1f} at the start; {BEFORE_LOAD}",
            )
        )
        details.append(
            "GET /applications/{id}, CPU milliseconds a request by process: "
            + ", ".join(f"{part} {ms:.2f}" for part, ms in sorted(spent.items(), key=lambda kv: -kv[1]))
        )
        details.append(f"load run: {load.applicants} applicants, {load.uploads} uploads in {load.seconds} s")
        details.append(
            "  cores busy during the run (CPU seconds a second, the processes' own): "
            + ", ".join(f"{part} {cores:.2f}" for part, cores in sorted(busy.items(), key=lambda kv: -kv[1]))
        )
        details.append(f"  {load_queue}")
        for kind, lat in load.latency_ms.items():
            details.append(f"  {kind:<14} n={lat['n']:<5} p50 {lat['p50']:7.1f} ms  p99 {lat['p99']:7.1f} ms")
        details.append(
            f"reconciliation: {load.materials_final}/{load.uploads} uploads became final materials"
        )
        details.extend(f"  ! {line}" for line in load.unreconciled + load.errors)
    return figures, "\n".join(details)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1200)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--applicants", type=int, default=16)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    figures, details = run(args.requests, args.concurrency, args.applicants)
    report(
        figures,
        args.json,
        lambda f: f"{f.figure:<70} {f.value:8.1f} {f.unit} vs {f.anchor_value:8.1f} ({f.note})",
        details,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
