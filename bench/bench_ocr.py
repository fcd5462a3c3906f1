"""OCR time per page and character accuracy: raw engine call vs the whole ingest pipeline.

    .venv/bin/python bench/bench_ocr.py                 # tuned settings only
    .venv/bin/python bench/bench_ocr.py --sweep         # RapidOCR defaults vs candidate settings

Pages are rendered here (tests/materials_specimens.py, CJK font from fonts-wqy-zenhei): a business
licence and an application form as A4 at 200 dpi (1654 x 2339 px, what the pipeline renders a scanned
PDF page at) and an ID card face at 300 dpi. Times are medians of --repeat runs after one warm-up;
accuracy is 1 - normalised edit distance (difflib ratio) of the text in reading order.
"""

from __future__ import annotations

import argparse
import difflib
import functools
import os
import re
import statistics
import sys
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "layers" / "core")]

import numpy as np  # noqa: E402
from onestop.materials.ocr import RapidOcrEngine, RapidOcrSettings  # noqa: E402
from onestop.materials.pipeline import process_upload  # noqa: E402
from PIL import Image  # noqa: E402

from tests.materials_specimens import SPECIMENS, jpeg_bytes, scanned_pdf_bytes  # noqa: E402


def norm(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def accuracy(got: str, want: str) -> float:
    return difflib.SequenceMatcher(None, norm(got), norm(want), autojunk=False).ratio()


@dataclass(frozen=True)
class Page:
    name: str
    image: Image.Image
    truth: str
    kind: str


def pages() -> list[Page]:
    out = []
    for kind, make in SPECIMENS.items():
        specimen = make()
        image = specimen.image
        if kind != "resident_id_card":  # A4 at 150 dpi -> 200 dpi, the pipeline's render resolution
            image = image.resize((1654, 2339), Image.Resampling.LANCZOS)
        out.append(Page(kind, image, "".join(specimen.lines), kind))
    return out


def median_time(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Median wall-clock and median process CPU seconds (CPU time is what a busy machine cannot inflate)."""
    fn()  # warm-up (sessions, caches)
    walls, cpus = [], []
    for _ in range(repeat):
        start, cpu_start = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - start)
        cpus.append(time.process_time() - cpu_start)
    return statistics.median(walls), statistics.median(cpus)


CONFIGS = {
    # RapidOCR 3.10 defaults: detector input short side >= 736, long side <= 2000, ORT picks threads.
    "rapidocr-default": RapidOcrSettings(
        det_limit_side_len=736, det_limit_type="min", max_side_len=2000, upscale_below=0, intra_op_threads=0
    ),
    "max960": RapidOcrSettings(det_limit_side_len=960, det_limit_type="max"),
    "max1280 (tuned)": RapidOcrSettings(),
    "max1600": RapidOcrSettings(det_limit_side_len=1600, det_limit_type="max"),
    "max1280 1thread": RapidOcrSettings(intra_op_threads=1),
}


def _whole(data: bytes, kind: str, engine: RapidOcrEngine) -> None:
    process_upload(data, expected_material_type=kind, engine=engine)


def run(config: str, settings: RapidOcrSettings, repeat: int, with_pipeline: bool) -> list[dict[str, object]]:
    engine = RapidOcrEngine(settings)
    rows: list[dict[str, object]] = []
    for page in pages():
        rgb = np.asarray(page.image.convert("RGB"))
        lines = engine.recognise(rgb)
        raw, raw_cpu = median_time(functools.partial(engine.recognise, rgb), repeat)
        row: dict[str, object] = {
            "config": config,
            "page": page.name,
            "pixels": f"{page.image.width}x{page.image.height}",
            "raw_s": raw,
            "raw_cpu_s": raw_cpu,
            "acc": accuracy("".join(ln.text for ln in lines), page.truth),
        }
        if with_pipeline:
            jpeg = jpeg_bytes(page.image)
            pdf = scanned_pdf_bytes(page.image)

            wall, cpu = median_time(functools.partial(_whole, jpeg, page.kind, engine), repeat)
            row["jpeg_pipeline_s"], row["jpeg_pipeline_cpu_s"] = wall, cpu
            # The PDF worker's CPU is in a child process: only wall time counts it.
            row["pdf_pipeline_s"], _ = median_time(functools.partial(_whole, pdf, page.kind, engine), repeat)
            outcome = process_upload(jpeg, expected_material_type=page.kind, engine=engine)
            row["status"] = outcome.status
            row["pipeline_acc"] = accuracy(outcome.text.replace("\n", ""), page.truth)
        rows.append(row)
    return rows


def table(rows: list[dict[str, object]]) -> str:
    columns = list(dict.fromkeys(k for row in rows for k in row))
    cells = [[_fmt(row.get(c, "")) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    line = "| " + " | ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)) + " |"
    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    body = ["| " + " | ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) + " |" for r in cells]
    return "\n".join([line, rule, *body])


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per measurement (median)")
    parser.add_argument("--sweep", action="store_true", help="compare RapidOCR defaults and candidates")
    args = parser.parse_args(argv)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"cpus={os.cpu_count()} affinity={len(os.sched_getaffinity(0))} repeat={args.repeat} load={load}")
    rows: list[dict[str, object]] = []
    if args.sweep:
        for name, settings in CONFIGS.items():
            rows.extend(run(name, settings, args.repeat, with_pipeline=False))
        print(table(rows))
        print()
    tuned = replace(RapidOcrSettings())
    print(table(run("tuned", tuned, args.repeat, with_pipeline=True)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
