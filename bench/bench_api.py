"""API throughput on the local stack, and the bounded load run (bench/bench_load.py) on the same stack.

    .venv/bin/python -m bench.bench_api [--requests 300] [--concurrency 4] [--applicants 16]

Throughput: `--requests` requests from `--concurrency` threads (keep-alive sessions, loopback only) to
a public route (GET /items/{code}: gateway → api function) and a signed-in route (GET
/applications/{id}: JWT check → api function → DynamoDB). Anchor: the same requests answered by the
gateway alone - a signed-in route called without a token is refused (401) before any function runs,
so it measures HTTP, routing and the emulator, the ceiling any route can reach here. The local
runtime runs one invocation per function at a time, like one Lambda container, so these are
per-container figures.
"""

from __future__ import annotations

import argparse
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import requests

from bench.bench_load import Portal, percentile, run_load
from bench.common import Figure, report

ITEM = "technology-contract-registration"


def throughput(make: Callable[[], requests.Session], url: str, n: int, concurrency: int, expect: int) -> dict:
    """Requests per second and latency percentiles for `n` GETs of `url`."""
    latencies: list[float] = []
    bad: list[int] = []
    lock = threading.Lock()
    counter = iter(range(n))

    def worker() -> None:
        session = make()
        while True:
            with lock:
                if next(counter, None) is None:
                    return
            started = time.perf_counter()
            response = session.get(url, timeout=60)
            elapsed = time.perf_counter() - started
            with lock:
                latencies.append(elapsed)
                if response.status_code != expect:
                    bad.append(response.status_code)

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        for _ in range(concurrency):
            pool.submit(worker)
    seconds = time.perf_counter() - started
    return {
        "rps": n / seconds,
        "p50_ms": percentile(latencies, 0.5) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
        "errors": len(bad),
    }


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

        def signed_in() -> requests.Session:
            session = requests.Session()
            session.headers["Authorization"] = f"Bearer {token}"
            return session

        base = stack.api_url
        gateway = throughput(requests.Session, f"{base}/applications/{app_id}", n, concurrency, 401)
        public = throughput(requests.Session, f"{base}/items/{ITEM}", n, concurrency, 200)
        private = throughput(signed_in, f"{base}/applications/{app_id}", n, concurrency, 200)
        for name, result in (
            ("GET /items/{code} (public)", public),
            ("GET /applications/{id} (JWT, DynamoDB)", private),
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
                    f"errors {result['errors']}; gateway p50 {gateway['p50_ms']:.1f} ms",
                )
            )
        load = run_load(
            stack.api_url,
            lambda sub: stack.token(sub, ["applicant"], sub, uscc=[samples.SampleEnterprise().uscc]),
            applicants=applicants,
            uploads_each=2,
            concurrency=min(8, applicants),
            time_limit_s=240,
        )
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
                f"upload → processed p50 {load.processed_s['p50']} s, p99 {load.processed_s['p99']} s",
            )
        )
        details.append(f"load run: {load.applicants} applicants, {load.uploads} uploads in {load.seconds} s")
        for kind, lat in load.latency_ms.items():
            details.append(f"  {kind:<14} n={lat['n']:<5} p50 {lat['p50']:7.1f} ms  p99 {lat['p99']:7.1f} ms")
        details.append(
            f"reconciliation: {load.materials_final}/{load.uploads} uploads became final materials"
        )
        details.extend(f"  ! {line}" for line in load.unreconciled + load.errors)
    return figures, "\n".join(details)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=4)
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
