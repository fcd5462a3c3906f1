"""Worst-case cost of verifying hostile files: CPU and peak memory of the worker, per attack class.

    .venv/bin/python -m bench.bench_verify_attacks [--json]

Every file of the attack suite (tests/unit/test_verification_forgeries.py: visible forgeries, junk and
forged timestamps, 21,000 timestamp fields, a 4.8 MB /Contents, hybrid xrefs, 10,000-deep nesting, …)
plus hostile PDFs of the robustness suite (zlib bombs, xref loops) goes through the full path
(`analyse_pdf`, what the sandboxed worker runs) in a freshly forked process, so that each file's CPU
time and peak RSS are its own. Target (issue 12): for any input ≤ 5 MB, worker CPU ≤ 2 s and RSS ≤
256 MB; a file either fails fast on a structural limit or completes. Anchor: the genuine licence on
the same path.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import resource
import sys
import time
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from typing import Any

from bench.common import Figure

MB = 1024 * 1024


def _resident() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _job(conn: Connection, data: bytes, der: tuple[Any, Any, Any], now: datetime) -> None:
    from onestop.verification.checks import analyse_pdf

    start_rss = _resident()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    facts = analyse_pdf(data, *der, now)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime - usage.ru_utime) + (after.ru_stime - usage.ru_stime)
    peak = after.ru_maxrss * 1024  # KiB on Linux
    conn.send(
        {
            "verdict": f"{facts.integrity.verdict.value} {facts.integrity.code}",
            "cpu_s": cpu,
            "wall_s": wall,
            "peak_rss_mb": peak / MB,
            "growth_mb": max(peak - start_rss, 0) / MB,
        }
    )
    conn.close()


def measure_one(
    data: bytes, der: tuple[Any, Any, Any], now: datetime, timeout_s: float = 60
) -> dict[str, Any]:
    ctx = mp.get_context("fork")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_job, args=(child, data, der, now))
    proc.start()
    child.close()
    if not parent.poll(timeout_s):
        proc.kill()
        proc.join()
        return {
            "verdict": "timeout",
            "cpu_s": timeout_s,
            "wall_s": timeout_s,
            "peak_rss_mb": None,
            "growth_mb": None,
        }
    out: dict[str, Any] = parent.recv()
    proc.join()
    return out


def cases() -> dict[str, tuple[bytes, Any]]:
    """Attack files with the trust anchors each is checked against."""
    from tests.robustness import hostile_files as H
    from tests.unit import test_verification_forgeries as T

    suite = T.Suite()
    full = T.anchors(suite.pki, suite.tsa)
    out: dict[str, tuple[bytes, Any]] = {"genuine": (suite.licence.sealed, full)}
    for name, case in suite.cases.items():
        trust = T.anchors(suite.pki, roots_only=True) if case.trust == "roots_only" else full
        out[name] = (case.data, trust)
    out["robustness: zlib bomb 1 GiB"] = (H.pdf_zlib_bomb(1024), full)
    out["robustness: page tree 5,000 deep"] = (H.pdf_deep_page_tree(5000), full)
    out["robustness: 20,000 shared pages"] = (H.pdf_shared_pages(20_000), full)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--cpu", type=int, default=0, help="the one core to pin to (-1: do not pin)")
    args = parser.parse_args(argv)
    if args.cpu >= 0 and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {args.cpu})
    from onestop.verification.checks import quiet_pyhanko

    quiet_pyhanko()
    now = datetime.now(UTC)
    rows = []
    for name, (data, anchors) in cases().items():
        if len(data) > 5 * MB:
            continue  # refused by size before any parsing (verify_pdf's first check)
        result = measure_one(data, anchors.der(), now)
        rows.append({"case": name, "bytes": len(data), **result})
    genuine = next((r for r in rows if r["case"] == "genuine"), rows[0])
    hostile = [r for r in rows if r is not genuine]
    worst_cpu = max(hostile, key=lambda r: r["cpu_s"])
    worst_rss = max(hostile, key=lambda r: r["peak_rss_mb"] or 0)
    worst_growth = max(hostile, key=lambda r: r["growth_mb"] or 0)
    area = "verification attacks"
    figures = [
        Figure(area, f"worst worker CPU ({worst_cpu['case']})", round(worst_cpu["cpu_s"] * 1000, 1),
               "ms", "genuine licence, full path", round(genuine["cpu_s"] * 1000, 1),
               f"target ≤ 2000 ms for any input ≤ 5 MB; {len(hostile)} hostile files"),
        Figure(area, f"worst worker peak RSS ({worst_rss['case']})", round(worst_rss["peak_rss_mb"], 1),
               "MB", "genuine licence, full path", round(genuine["peak_rss_mb"], 1),
               "target ≤ 256 MB; peak RSS of a freshly forked worker, inherited pages included"),
        Figure("verification attacks", f"worst RSS growth in the job ({worst_growth['case']})",
               round(worst_growth["growth_mb"], 1), "MB", "genuine licence, full path",
               round(genuine["growth_mb"], 1), "peak RSS minus RSS at the start of the job"),
    ]  # fmt: skip
    table = [
        "| case | bytes | integrity verdict | CPU ms | peak RSS MB | growth MB |",
        "|---|---|---|---|---|---|",
    ]
    for r in sorted(rows, key=lambda r: -r["cpu_s"]):
        table.append(
            f"| {r['case']} | {r['bytes']} | {r['verdict']} | {r['cpu_s'] * 1000:.0f} | "
            f"{(r['peak_rss_mb'] or 0):.0f} | {(r['growth_mb'] or 0):.1f} |"
        )
    details = "\n".join(table)
    if args.json:
        print(json.dumps({"figures": [f.as_dict() for f in figures], "details": details}))
    else:
        for f in figures:
            print(f"{f.figure}: {f.value} {f.unit} (anchor {f.anchor}: {f.anchor_value} {f.unit}) {f.note}")
        print(details)
    return 0


if __name__ == "__main__":
    sys.exit(main())
