"""OCR per A4 page: the ingest path vs the raw engine call vs Tesseract chi_sim, time and accuracy.

    .venv/bin/python -m bench.bench_ocr_page [--repeat 2]

The same rendered pages as bench/bench_ocr.py (a business licence and an application form at 200 dpi
A4, an ID card face): the raw PP-OCR call (`RapidOcrEngine.recognise` on the decoded image, the tuned
settings), the whole ingest path on the page as an uploaded JPEG (`process_upload`: sniff, decode
under limits, OCR, classify, fields, normalised PDF with a text layer), and Tesseract 5 with chi_sim
(`OMP_THREAD_LIMIT=1`, its recommended setting for one page at a time) on the same pixels. Accuracy
is bench_ocr's: 1 - normalised edit distance of the text in reading order. Tesseract comes from
Debian (apt-get install tesseract-ocr tesseract-ocr-chi-sim); without it its row says so.
"""

from __future__ import annotations

import argparse
import functools
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.common import Figure, median_time, report

TESSERACT_INSTALL = "apt-get install tesseract-ocr tesseract-ocr-chi-sim"


def tesseract_available() -> str | None:
    """None when tesseract with chi_sim can run, else why not."""
    if shutil.which("tesseract") is None:
        return f"tesseract not installed ({TESSERACT_INSTALL})"
    langs = subprocess.run(["tesseract", "--list-langs"], capture_output=True, text=True, check=False)
    if "chi_sim" not in langs.stdout.split():
        return f"tesseract has no chi_sim ({TESSERACT_INSTALL})"
    return None


def tesseract(image_path: Path) -> str:
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
    out = subprocess.run(
        ["tesseract", str(image_path), "stdout", "-l", "chi_sim"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    return out.stdout


def run(repeat: int) -> list[Figure]:
    from onestop.materials.ocr import RapidOcrEngine, RapidOcrSettings
    from onestop.materials.pipeline import process_upload

    from bench.bench_ocr import accuracy, pages
    from tests.materials_specimens import jpeg_bytes

    engine = RapidOcrEngine(RapidOcrSettings())
    missing = tesseract_available()
    figures: list[Figure] = []
    workdir = Path(tempfile.mkdtemp(prefix="bench-ocr-"))
    try:
        for page in pages():
            rgb = np.asarray(page.image.convert("RGB"))
            jpeg = jpeg_bytes(page.image)
            png = workdir / f"{page.name}.png"
            page.image.convert("RGB").save(png)
            pixels = f"{page.image.width}x{page.image.height}"
            raw_text = "".join(line.text for line in engine.recognise(rgb))
            raw_s = median_time(functools.partial(engine.recognise, rgb), repeat)
            outcome = process_upload(jpeg, expected_material_type=page.kind, engine=engine)
            ingest_s = median_time(
                functools.partial(process_upload, jpeg, expected_material_type=page.kind, engine=engine),
                repeat,
            )
            raw_acc = accuracy(raw_text, page.truth)
            ingest_acc = accuracy(outcome.text.replace("\n", ""), page.truth)
            figures.append(
                Figure(
                    "OCR page",
                    f"{page.name} ({pixels}): ingest path (JPEG upload)",
                    ingest_s * 1000,
                    "ms",
                    "raw PP-OCR call",
                    raw_s * 1000,
                    f"accuracy ingest {ingest_acc:.3f}, raw {raw_acc:.3f}; status {outcome.status}",
                )
            )
            if missing:
                figures.append(
                    Figure(
                        "OCR page",
                        f"{page.name}: Tesseract chi_sim",
                        None,
                        "ms",
                        "raw PP-OCR call",
                        raw_s * 1000,
                        missing,
                    )
                )
                continue
            text = tesseract(png)
            times = []
            for _ in range(repeat):
                started = time.perf_counter()
                tesseract(png)
                times.append(time.perf_counter() - started)
            figures.append(
                Figure(
                    "OCR page",
                    f"{page.name} ({pixels}): Tesseract chi_sim, OMP_THREAD_LIMIT=1",
                    statistics.median(times) * 1000,
                    "ms",
                    "raw PP-OCR call",
                    raw_s * 1000,
                    f"accuracy Tesseract {accuracy(text, page.truth):.3f}, PP-OCR {raw_acc:.3f}",
                )
            )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return figures


def _line(f: Figure) -> str:
    value = f"{f.value:8.0f} ms" if f.value is not None else "     n/a"
    return f"{f.figure:<75} {value} vs {f.anchor_value:6.0f} ms  {f.note}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    figures = run(args.repeat)
    report(figures, args.json, _line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
