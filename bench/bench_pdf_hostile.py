"""Hostile PDFs: the PDF worker's peak resident memory and the time to each file's outcome (issue 14).

    .venv/bin/python -m bench.bench_pdf_hostile [--json]

Each file goes through the ingest pipeline (`process_upload`) in a process of its own, after one small
born-digital PDF has started the worker; the figure is the worker's peak resident set as the kernel
counts it (VmHWM in /proc/<pid>/status, read after the job and sampled every 5 ms during it, so a
worker that dies at its cap still has a figure). Not `getrusage(RUSAGE_CHILDREN).ru_maxrss`: the
worker is started by posix_spawn (vfork), and exec records the parent's peak as the child's. The
anchor is the worker's cap
(`Limits.pdf_worker_memory_bytes`, its whole address space): the target is a peak at or under it on
every file. Beside the hostile files: normal scanned PDFs (a 150 dpi page and a 600 dpi A4 scan of
35 MP, the heaviest honest page the limits admit) and a born-digital form, read normally.

Hostile files: the memory bombs of tests/robustness/hostile_pdfs.py (doubly deflated content and image
streams, an image declaring 100,000 x 100,000 pixels, 5,000 pages, 20 pages of 256 MiB each), those of
tests/robustness/hostile_files.py (16 x 64 MiB of content, 10,000 kids, a 5,000-level tree) and every
file of ../shared/corpus/02_pdfs/malformed (sources and licences in its MANIFEST.md: pdfminer.six (MIT),
py-pdf/pypdf (BSD-3), qpdf (Apache-2.0)).
"""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from bench.common import ROOT, Figure, report

MiB = 1024 * 1024
CORPUS = ROOT.parent / "shared" / "corpus" / "02_pdfs" / "malformed"


def _scan(dpi: int) -> bytes:
    from PIL import Image

    from tests.materials_specimens import business_licence

    image = business_licence().image  # A4 at 150 dpi
    if dpi != 150:
        image = image.resize((image.width * dpi // 150, image.height * dpi // 150), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    image.save(out, format="PDF", resolution=dpi, quality=85)  # RGB pages are stored as JPEG
    return out.getvalue()


def files() -> dict[str, tuple[str, Callable[[], bytes]]]:
    """name -> (kind, builder); kind is "normal" or "hostile"."""
    from infra import samples
    from tests.robustness import hostile_files as F
    from tests.robustness import hostile_pdfs as H

    out: dict[str, tuple[str, Callable[[], bytes]]] = {
        "scanned A4 licence, 150 dpi (1 page)": ("normal", lambda: _scan(150)),
        "scanned A4 licence, 600 dpi (1 page, 35 MP)": ("normal", lambda: _scan(600)),
        "born-digital application form (1 page)": (
            "normal",
            lambda: samples.application_form_pdf("技术进出口合同登记"),
        ),
    }
    out.update({name: ("hostile", make) for name, make in H.BOMBS.items()})
    out["content 16 x 64 MiB (hostile_files)"] = ("hostile", lambda: F.pdf_zlib_bomb(1024))
    out["10,000 kids, one page (hostile_files)"] = ("hostile", lambda: F.pdf_shared_pages(10_000))
    out["page tree 5,000 deep (hostile_files)"] = ("hostile", lambda: F.pdf_deep_page_tree(5000))
    for path in sorted(CORPUS.glob("*.pdf")):
        out[f"corpus malformed/{path.name}"] = ("hostile", path.read_bytes)
    return out


def _high_water_kib(pid: int) -> int:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:  # the worker is gone
        return 0
    return next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM")), 0)


def measure_one(path: Path, warm_ocr: bool) -> dict[str, object]:
    """In this process: warm the worker (and the OCR session for a scan, so that its time is the
    page's, not the model load's), run the file through the pipeline, read the worker's peak."""
    from onestop.materials import pdftext
    from onestop.materials.limits import DEFAULT_LIMITS
    from onestop.materials.pipeline import process_upload
    from onestop.sandbox import close_shared

    from tests.materials_specimens import text_pdf_bytes

    declared = {"filename": "upload.pdf", "content_type": "application/pdf"}
    warm = process_upload(text_pdf_bytes(["营业执照", "统一社会信用代码"]), declared=declared)
    assert warm.status != "rejected", warm.reason
    if warm_ocr:
        from tests.materials_specimens import jpeg_bytes, resident_id_card

        image = {"filename": "id.jpg", "content_type": "image/jpeg"}
        process_upload(jpeg_bytes(resident_id_card().image), declared=image)
    sandbox = pdftext._sandbox(DEFAULT_LIMITS.pdf_worker_memory_bytes)
    pid = sandbox.pid
    assert pid is not None
    data = path.read_bytes()
    peak = [_high_water_kib(pid)]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.005):
            peak.append(_high_water_kib(pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    outcome = process_upload(data, declared=declared)
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    peak.append(_high_water_kib(pid))
    survived = sandbox.pid == pid
    close_shared(pdftext.SANDBOX)
    return {
        "status": outcome.status,
        "reason": outcome.reason.code if outcome.reason is not None else None,
        "seconds": seconds,
        "peak_mib": max(peak) / 1024,
        "worker": "survived" if survived else "ended",
        "cap_mib": DEFAULT_LIMITS.pdf_worker_memory_bytes / MiB,
        "bytes": len(data),
    }


def run() -> tuple[list[Figure], str]:
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-pdf-hostile-") as tmp:
        for name, (kind, make) in files().items():
            path = Path(tmp) / "file.pdf"
            path.write_bytes(make())
            done = subprocess.run(
                [sys.executable, "-m", "bench.bench_pdf_hostile", "--one", str(path)]
                + (["--warm-ocr"] if kind == "normal" else []),
                cwd=ROOT,
                capture_output=True,
                text=True,
                timeout=240,
                check=False,
            )
            lines = [line for line in done.stdout.splitlines() if line.startswith('{"status"')]
            if done.returncode != 0 or not lines:
                raise RuntimeError(f"{name}: exit {done.returncode}: {done.stderr.strip()[-400:]}")
            rows.append((name, kind, json.loads(lines[-1])))
    figures = []
    for name, kind, r in rows:
        outcome = f"{r['status']} ({r['reason']})" if r["reason"] else str(r["status"])
        figures.append(
            Figure(
                "PDF worker memory",
                f"{name}: worker peak resident",
                float(r["peak_mib"]),
                "MiB",
                "the worker's cap (whole address space)",
                float(r["cap_mib"]),
                f"{kind}; {r['bytes']:,} bytes; {outcome} in {r['seconds']:.2f} s; worker {r['worker']}",
            )
        )
    table = [
        "| file | kind | bytes | outcome | time to outcome | worker peak RSS | worker |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, kind, r in rows:
        outcome = f"{r['status']} `{r['reason']}`" if r["reason"] else str(r["status"])
        table.append(
            f"| {name} | {kind} | {r['bytes']:,} | {outcome} | {r['seconds']:.2f} s | "
            f"{r['peak_mib']:.0f} MiB | {r['worker']} |"
        )
    worst = max(float(r["peak_mib"]) for _, kind, r in rows if kind == "hostile")
    cap = rows[0][2]["cap_mib"]
    table += ["", f"highest worker peak on a hostile file: {worst:.0f} MiB (cap {cap:.0f} MiB)"]
    return figures, "\n".join(table)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--one", type=Path, help=argparse.SUPPRESS)  # internal: one file, one process
    parser.add_argument("--warm-ocr", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one is not None:
        print(json.dumps(measure_one(args.one, args.warm_ocr)))
        return 0
    figures, details = run()
    report(
        figures,
        args.json,
        lambda f: f"{f.figure:<75} {f.value:7.0f} MiB of {f.anchor_value:.0f}  {f.note}",
        details,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
