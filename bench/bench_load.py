"""A bounded load run on the local stack: N applicants create applications, upload, poll.

    .venv/bin/python -m bench.bench_load [--applicants 16] [--uploads 2] [--concurrency 8]

Each applicant (one thread, its own session and token) opens an application, gets a presigned POST
per material and uploads a born-digital PDF straight to storage, then polls its application until
every material is processed. Loopback only, bounded in count and in time. Reported: API requests/s,
p50/p99 latency per kind of request, errors, upload-to-processed latency, and a reconciliation that
every upload became a material in a final status. The applicants run in a process of their own.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
for _path in (str(ROOT), str(ROOT / "layers" / "core")):
    if _path not in sys.path:
        sys.path.insert(0, _path)

import requests  # noqa: E402

from infra import samples  # noqa: E402

ITEM = "technology-contract-registration"
FINAL = {"catalogued", "needs_attention", "rejected", "failed"}


class Portal:
    """One user of the API over HTTP, timing every request it makes."""

    def __init__(self, api_url: str, token: str | None, recorder: Recorder | None = None) -> None:
        self.base = api_url
        self.session = requests.Session()
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"
        self.recorder = recorder

    def request(self, kind: str, method: str, path: str, **kw: Any) -> requests.Response:
        started = time.perf_counter()
        try:
            response = self.session.request(method, self.base + path, timeout=60, **kw)
        except requests.RequestException as exc:
            if self.recorder:
                self.recorder.error(kind, type(exc).__name__)
            raise
        if self.recorder:
            self.recorder.record(kind, time.perf_counter() - started, response.status_code)
        return response

    def create(self, item: str = ITEM, enterprise: samples.SampleEnterprise | None = None) -> dict[str, Any]:
        e = enterprise or samples.SampleEnterprise()
        body = {"item_code": item, "applicant": {"kind": "enterprise", "uscc": e.uscc, "name": e.name}}
        response = self.request("create", "POST", "/applications", json=body)
        response.raise_for_status()
        created: dict[str, Any] = response.json()
        return created

    def upload(self, app_id: str, slot: str, filename: str, data: bytes, content_type: str) -> str:
        """Ticket from the API, then the presigned POST straight to storage; returns the upload id."""
        ticket = self.request(
            "upload_ticket",
            "POST",
            f"/applications/{app_id}/materials/{slot}/uploads",
            json={"filename": filename, "content_type": content_type, "size": len(data)},
        )
        ticket.raise_for_status()
        t = ticket.json()
        started = time.perf_counter()
        stored = requests.post(
            t["url"], data=t["fields"], files={"file": (filename, data, content_type)}, timeout=60
        )
        if self.recorder:
            self.recorder.record("storage_post", time.perf_counter() - started, stored.status_code)
        stored.raise_for_status()
        return str(t["upload_id"])

    def detail(self, app_id: str) -> dict[str, Any]:
        response = self.request("poll", "GET", f"/applications/{app_id}")
        response.raise_for_status()
        detail: dict[str, Any] = response.json()
        return detail

    def wait_processed(
        self, app_id: str, count: int, timeout_s: float, every_s: float = 0.5
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        detail = self.detail(app_id)
        while time.monotonic() < deadline:
            done = [m for m in detail["materials"] if m["status"] in FINAL]
            if len(detail["materials"]) >= count and len(done) == len(detail["materials"]):
                return detail
            time.sleep(every_s)
            detail = self.detail(app_id)
        return detail


@dataclass
class Recorder:
    """Latencies and status codes per kind of request, thread-safe."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: dict[str, dict[int, int]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(int)))
    errors: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, kind: str, seconds: float, status: int) -> None:
        with self._lock:
            self.latencies[kind].append(seconds)
            self.statuses[kind][status] += 1
            if status >= 500:
                self.errors.append(f"{kind}: HTTP {status}")

    def error(self, kind: str, what: str) -> None:
        with self._lock:
            self.errors.append(f"{kind}: {what}")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


@dataclass
class LoadResult:
    applicants: int
    uploads: int
    seconds: float
    api_requests: int
    api_per_second: float
    latency_ms: dict[str, dict[str, float]]
    errors: list[str]
    processed_s: dict[str, float]
    materials_final: int
    unreconciled: list[str]

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


def run_load(
    api_url: str,
    token_for: Any,
    *,
    applicants: int = 16,
    uploads_each: int = 2,
    concurrency: int = 8,
    time_limit_s: float = 240.0,
    item: str = ITEM,
) -> LoadResult:
    """Drive `applicants` portals (at most `concurrency` at once) and reconcile uploads with materials.

    `token_for(sub)` returns a bearer token for an applicant; the stack's `token` does.
    """
    recorder = Recorder()
    enterprise = samples.SampleEnterprise()
    documents = [
        ("application", "申请表.pdf", samples.application_form_pdf("技术进出口合同登记", enterprise)),
        ("contract", "合同.pdf", samples.contract_pdf(enterprise)),
        ("counterparty_status", "证明.pdf", samples.generic_certificate_pdf("资信证明", enterprise.name)),
    ][:uploads_each]
    started = time.monotonic()
    deadline = started + time_limit_s
    uploaded: list[tuple[str, str, float]] = []  # (application id, upload id, when stored)
    processed_at: dict[str, float] = {}
    lock = threading.Lock()

    def applicant(n: int) -> None:
        portal = Portal(api_url, token_for(applicant_sub(n)), recorder)
        try:
            app = portal.create(item, enterprise)
            for slot, name, data in documents:
                upload_id = portal.upload(app["id"], slot, name, data, "application/pdf")
                with lock:
                    uploaded.append((app["id"], upload_id, time.monotonic()))
            detail = portal.wait_processed(app["id"], len(documents), max(1.0, deadline - time.monotonic()))
            now = time.monotonic()
            with lock:
                for m in detail["materials"]:
                    if m["status"] in FINAL:
                        processed_at.setdefault(m["upload_id"], now)
        except Exception as exc:  # recorded, and the reconciliation will show what it cost
            recorder.error("applicant", f"{type(exc).__name__}: {str(exc)[:200]}")

    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(applicant, range(applicants)))
    seconds = time.monotonic() - started

    # Reconciliation, with a fresh reviewer-independent look at each application by its owner.
    unreconciled: list[str] = []
    final = 0
    by_app: dict[str, list[str]] = defaultdict(list)
    for app_id, upload_id, _ in uploaded:
        by_app[app_id].append(upload_id)
    owners = {}
    for n in range(applicants):
        owners[n] = Portal(api_url, token_for(applicant_sub(n)))
    index = {}
    for portal in owners.values():
        listing = portal.session.get(portal.base + "/applications?limit=100", timeout=60).json()
        for a in listing.get("items", []):
            index[a["id"]] = portal
    for app_id, upload_ids in by_app.items():
        owner = index.get(app_id)
        if owner is None:
            unreconciled.extend(f"{app_id}/{u}: application not listed" for u in upload_ids)
            continue
        materials = {m["upload_id"]: m for m in owner.detail(app_id)["materials"]}
        for upload_id in upload_ids:
            status = materials.get(upload_id, {}).get("status")
            if status in FINAL:
                final += 1
            else:
                unreconciled.append(f"{app_id}/{upload_id}: {status or 'no material'}")
    api_kinds = [k for k in recorder.latencies if k != "storage_post"]
    api_requests = sum(len(recorder.latencies[k]) for k in api_kinds)
    latency = {
        kind: {
            "n": len(values),
            "p50": round(1000 * percentile(values, 0.5), 1),
            "p99": round(1000 * percentile(values, 0.99), 1),
        }
        for kind, values in sorted(recorder.latencies.items())
    }
    all_api = [v for k in api_kinds for v in recorder.latencies[k]]
    latency["all_api"] = {
        "n": len(all_api),
        "p50": round(1000 * percentile(all_api, 0.5), 1),
        "p99": round(1000 * percentile(all_api, 0.99), 1),
    }
    to_processed = [processed_at[u] - t for _, u, t in uploaded if u in processed_at]
    return LoadResult(
        applicants=applicants,
        uploads=len(uploaded),
        seconds=round(seconds, 2),
        api_requests=api_requests,
        api_per_second=round(api_requests / seconds, 1) if seconds else 0.0,
        latency_ms=latency,
        errors=recorder.errors,
        processed_s={
            "p50": round(percentile(to_processed, 0.5), 2),
            "p99": round(percentile(to_processed, 0.99), 2),
        },
        materials_final=final,
        unreconciled=unreconciled,
    )


def applicant_sub(n: int) -> str:
    """The user applicant `n` of the load run signs in as."""
    return f"load-applicant-{n}"


def applicant_subs(applicants: int) -> list[str]:
    """The users the load run signs in as."""
    return [applicant_sub(n) for n in range(applicants)]


def _run_load_child(api_url: str, tokens: dict[str, str], options: dict[str, Any], out: Any) -> None:
    out.send(run_load(api_url, tokens.__getitem__, **options))
    out.close()


def run_load_apart(api_url: str, tokens: dict[str, str], **options: Any) -> LoadResult:
    """`run_load` in a process of its own, as the applicants' browsers are not in the stack's process:
    the clients do not share the gateway's interpreter (and its GIL). `tokens`: one per applicant sub."""
    import multiprocessing as mp

    ctx = mp.get_context("spawn")
    receive, send = ctx.Pipe(duplex=False)
    process = ctx.Process(target=_run_load_child, args=(api_url, tokens, options, send))
    process.start()
    send.close()
    result: LoadResult = receive.recv()
    process.join(30)
    return result


def warm_pools(stack: Any, functions: tuple[str, ...]) -> None:
    """Start every worker these functions may have (provisioned concurrency), then have one applicant
    (create, one upload, polls until processed, the listing) served by each api worker in turn, so
    that every worker has made each kind of request once: the handlers import what a route needs on
    its first call (create ~0.5 s, upload ticket ~0.2 s), a cost each new container pays once, which
    bench_coldstart measures. The load run then measures the stack warm.

    Each worker in turn, rather than a few applicants at once: idle workers are reused last-in
    first-out, so concurrent warm-up applicants gave no worker a guarantee of any route (after one
    such warm-up the three api workers had served 4, 57 and 12 requests)."""
    for function in functions:
        pool = stack.runtime.workers[function]
        pool.warm(pool.size)
    uscc = [samples.SampleEnterprise().uscc]

    def warm_up(worker: Any) -> None:
        # The warm-up's applicants are users of their own (their applications stay out of the run's).
        sub = f"warm-up-{worker.index}"
        token = stack.token(sub, ["applicant"], sub, uscc=uscc)
        run_load(
            stack.api_url,
            {applicant_sub(0): token}.__getitem__,
            applicants=1,
            uploads_each=1,
            concurrency=1,
            time_limit_s=60,
        )

    stack.runtime.workers["ApiFunction"].each_worker(warm_up)


def main(argv: list[str] | None = None) -> int:
    from infra.local import LocalStack, StackConfig

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--applicants", type=int, default=16)
    parser.add_argument("--uploads", type=int, default=2, choices=(1, 2, 3))
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--time-limit", type=float, default=240.0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    # No edge limits: this measures the emulator and the functions, not the template's rate limits
    # (which a benchmark from one address would trip; tests/security/test_edge.py tests them).
    with LocalStack(
        StackConfig(moto_port=0, api_port=0, warm=("ApiFunction", "IngestFunction"), edge_limits=False)
    ) as stack:
        warm_pools(stack, ("ApiFunction", "IngestFunction"))
        uscc = [samples.SampleEnterprise().uscc]
        result = run_load_apart(
            stack.api_url,
            {sub: stack.token(sub, ["applicant"], sub, uscc=uscc) for sub in applicant_subs(args.applicants)},
            applicants=args.applicants,
            uploads_each=args.uploads,
            concurrency=args.concurrency,
            time_limit_s=args.time_limit,
        )
    if args.json:
        print(json.dumps(result.as_dict(), indent=1, ensure_ascii=False))
    else:
        print(f"{result.applicants} applicants, {result.uploads} uploads in {result.seconds} s")
        print(f"API: {result.api_requests} requests, {result.api_per_second}/s")
        for kind, lat in result.latency_ms.items():
            print(f"  {kind:<14} n={lat['n']:<5} p50 {lat['p50']:7.1f} ms  p99 {lat['p99']:7.1f} ms")
        print(f"upload → processed: p50 {result.processed_s['p50']} s, p99 {result.processed_s['p99']} s")
        print(f"reconciliation: {result.materials_final}/{result.uploads} uploads became final materials")
        for line in result.unreconciled + result.errors:
            print(f"  ! {line}")
    return 0 if not result.unreconciled and not result.errors else 1


if __name__ == "__main__":
    raise SystemExit(main())
