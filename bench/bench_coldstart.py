"""Cold start per function: importing its handler module in a fresh interpreter.

    .venv/bin/python -m bench.bench_coldstart [--repeat 3]

What a new Lambda container pays before the first event (the Init phase), measured as the import of
`functions.<name>.app` in a new `python` process, median of `--repeat`. Anchor: a fresh interpreter
importing boto3 only, the floor of any Python function that talks to AWS. For the ingest function the
first OCR engine session (model load), which its first event pays, is measured too.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

from bench.common import ROOT, Figure, report

_PROBE = """
import json, sys, time
started = time.perf_counter()
import {module}
imported = time.perf_counter() - started
extra = None
if {engine}:
    from onestop.materials.ocr import get_rapid_engine
    import numpy as np
    t = time.perf_counter()
    get_rapid_engine().recognise(np.full((64, 256, 3), 255, dtype=np.uint8))
    extra = time.perf_counter() - t
print(json.dumps({{"import_s": imported, "engine_s": extra}}))
"""


def functions() -> dict[str, str]:
    """Logical id → handler module, from template.yaml (the same source the local stack uses)."""
    from infra.local.template import function_sources, load_sam_template

    return {logical_id: source.module for logical_id, source in function_sources(load_sam_template()).items()}


def probe(module: str, engine: bool = False) -> dict[str, float]:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "layers" / "core")]),
        "PYTHONDONTWRITEBYTECODE": "1",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    code = _PROBE.format(module=module, engine=engine)
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def run(repeat: int) -> list[Figure]:
    anchor = statistics.median(probe("boto3")["import_s"] for _ in range(repeat))
    figures = []
    for logical_id, module in sorted(functions().items()):
        samples = [probe(module, engine=logical_id == "IngestFunction") for _ in range(repeat)]
        imported = statistics.median(s["import_s"] for s in samples)
        figures.append(
            Figure(
                "cold start",
                f"{logical_id}: import {module}",
                imported * 1000,
                "ms",
                "import boto3",
                anchor * 1000,
            )
        )
        engines = [s["engine_s"] for s in samples if s.get("engine_s") is not None]
        if engines:
            figures.append(
                Figure(
                    "cold start",
                    "IngestFunction: first OCR session (model load + first call)",
                    statistics.median(engines) * 1000,
                    "ms",
                    "import boto3",
                    anchor * 1000,
                    "paid by the first upload a new container handles",
                )
            )
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    figures = run(args.repeat)
    report(figures, args.json, lambda f: f"{f.figure:<70} {f.value:8.0f} ms  ({f.ratio:.1f}x {f.anchor})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
