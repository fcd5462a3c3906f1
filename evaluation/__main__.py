"""`make eval`: run the labelled set through the pipeline and write docs/accuracy.md.

    .venv/bin/python -m evaluation [--quick] [--out docs/accuracy.md] [--json results.json]
        [--documents NAME ...] [--conditions NAME ...] [--others NAME ...] [--corpus FILE ...]
        [--save results.pkl] [--render results.pkl] [--baseline docs/accuracy-before.md]

Full set: every document of tests/document_specimens.py under the 11 conditions, the non-documents,
unrelated documents and the collage under 3, and the 15 labelled corpus images (143 uploads; about
7 minutes on 2 cores shared with other work). --quick: 6 documents under 6 conditions, the others
clean only (57 uploads, about 3.5 minutes). Deterministic: the specimens and their damage are seeded,
the OCR engine is deterministic. The report compares itself with --baseline (the before state).
--save keeps the results so that --render can judge and write them again (e.g. after a change to the
scoring) without running the pipeline; run --render with the same onestop on the path.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import os
import pickle
import shlex
import subprocess
import sys
import time
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for _path in (str(ROOT), str(ROOT / "layers" / "core")):
    if _path not in sys.path:
        sys.path.append(_path)

from evaluation.cases import (  # noqa: E402
    CONDITIONS,
    OTHER_CONDITIONS,
    QUICK_CONDITIONS,
    QUICK_DOCUMENTS,
    corpus_cases,
    specimen_cases,
)
from evaluation.report import headline, read_headline, render  # noqa: E402
from evaluation.run import CaseResult, judge_result, run_cases  # noqa: E402


def _commit() -> str:
    """The commit the onestop package under test comes from (or its path when not this checkout)."""
    import onestop

    package = Path(onestop.__file__).resolve().parent
    if package != ROOT / "layers" / "core" / "onestop":
        return f"the onestop package at {package}"
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "--", "layers"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return sha + (" with uncommitted changes under layers/" if dirty else "")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evaluation", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "accuracy.md")
    parser.add_argument("--json", type=Path, default=None, help="also write the per-case results as JSON")
    parser.add_argument("--quick", action="store_true", help="a smaller set (57 uploads, about 3 minutes)")
    parser.add_argument("--documents", nargs="*", default=None, help="specimen documents (default: all)")
    parser.add_argument("--conditions", nargs="*", default=None, help=f"damage conditions of {CONDITIONS}")
    parser.add_argument("--others", nargs="*", default=None, help="non-documents etc. (default: all)")
    parser.add_argument("--corpus", nargs="*", default=None, help="corpus files (default: all labelled)")
    parser.add_argument("--label", default="", help="a note for the report's header (e.g. 'before')")
    parser.add_argument("--save", type=Path, default=None, help="keep the results (pickle) for --render")
    parser.add_argument(
        "--render", type=Path, default=None, help="no run: judge and write the results saved by --save again"
    )
    parser.add_argument(
        "--baseline",
        type=Path,
        default=ROOT / "docs" / "accuracy-before.md",
        help="an earlier report to compare with (default: docs/accuracy-before.md, when it is not --out)",
    )
    args = parser.parse_args(argv)
    baseline = _baseline(args.baseline, args.out)
    if args.render is not None:
        return _rerender(args.render, args.out, baseline)

    documents = args.documents if args.documents is not None else (QUICK_DOCUMENTS if args.quick else None)
    conditions = tuple(args.conditions or (QUICK_CONDITIONS if args.quick else CONDITIONS))
    other_conditions = ("clean",) if args.quick else OTHER_CONDITIONS
    started = time.perf_counter()
    # Lazily: each specimen is rendered and damaged just before its uploads run.
    cases = itertools.chain(
        corpus_cases(args.corpus), specimen_cases(documents, conditions, args.others, other_conditions)
    )

    def progress(r: CaseResult) -> None:
        exact = sum(v.ok for v in r.verdicts)
        print(
            f"{r.case.name:48s} {r.status or 'ERROR':16s} {r.material_type or '-':24s} "
            f"fields {exact}/{len(r.verdicts)}  {r.seconds:5.1f}s",
            flush=True,
        )

    results = run_cases(cases, progress=progress)
    elapsed = time.perf_counter() - started
    given = argv if argv is not None else sys.argv[1:]
    command = os.environ.get("EVAL_COMMAND", "").strip() or (  # the Makefile says how it was called
        "python -m evaluation " + " ".join(shlex.quote(a) for a in given) if given else "make eval"
    )
    if os.environ.get("PYTHONPATH"):  # another onestop under test (e.g. the code before a change)
        command = f"PYTHONPATH={os.environ['PYTHONPATH']} {command}"
    header = [
        "# Accuracy of the materials pipeline",
        "",
        f"Command: `{command}`  ",
        f"Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; code: {_commit()}"
        + (f"; {args.label}" if args.label else "")
        + "  ",
        f"Set: {len(results)} uploads ({sum(r.case.source == 'corpus' for r in results)} corpus images, "
        f"{sum(r.case.source == 'specimen' for r in results)} synthetic) through "
        f"`onestop.materials.pipeline.process_upload` as the ingest function calls it; "
        f"{elapsed / 60:.1f} min on {_cpus()} cores (load average at the end "
        f"{os.getloadavg()[0]:.1f}: other work shared the cores).",
        "",
        "Generated by evaluation/ (tests/document_specimens.py renders the synthetic documents and their "
        "damage: rot90/180/270, skew 7°, Gaussian blur 1.6 px, JPEG quality 30, 50 % scale, perspective "
        "warp, extra seal and watermark, phone photo). Do not edit by hand.",
    ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(render(results, header=header, baseline=baseline), encoding="utf-8")
    if args.save:
        kept = [dataclasses.replace(r, case=dataclasses.replace(r.case, data=b"")) for r in results]
        args.save.write_bytes(pickle.dumps({"header": header, "results": kept}))
    if args.json:
        args.json.write_text(
            json.dumps([_as_json(r) for r in results], ensure_ascii=False, indent=1), encoding="utf-8"
        )
    h = headline(results)
    print(f"\nwrote {args.out} in {elapsed / 60:.1f} min: {asdict(h)}")
    return 0


def _baseline(path: Path | None, out: Path) -> tuple[str, dict[str, object]] | None:
    if path is None or not path.is_file() or path.resolve() == out.resolve():
        return None
    figures = read_headline(path.read_text(encoding="utf-8"))
    if figures is None:
        return None
    try:
        name = str(path.resolve().relative_to(ROOT))
    except ValueError:
        name = str(path)
    return name, figures


def _rerender(saved: Path, out: Path, baseline: tuple[str, dict[str, object]] | None) -> int:
    """The report again from saved results, judged by the current scoring (same onestop catalogue)."""
    data = pickle.loads(saved.read_bytes())  # noqa: S301 - our own file, written by --save
    results: list[CaseResult] = data["results"]
    fresh = CaseResult(results[0].case) if results else None
    for r in results:
        for f in dataclasses.fields(CaseResult):  # attributes added since the results were saved
            if not hasattr(r, f.name):
                setattr(r, f.name, getattr(fresh, f.name))
        r.verdicts, r.undeclared = [], []
        judge_result(r)
    out.write_text(render(results, header=data["header"], baseline=baseline), encoding="utf-8")
    print(f"wrote {out}: {asdict(headline(results))}")
    return 0


def _cpus() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _as_json(r: CaseResult) -> dict[str, object]:
    return {
        "case": r.case.name,
        "status": r.status,
        "reason": r.reason,
        "problems": r.problems,
        "material_type": r.material_type,
        "confidence": r.confidence,
        "stored": r.stored,
        "rotated": r.rotated,
        "char_accuracy": r.char_accuracy,
        "line_recall": r.line_recall,
        "raw_char_accuracy": r.raw_char_accuracy,
        "fields": [asdict(v) for v in r.verdicts],
        "seconds": round(r.seconds, 2),
        "error": r.error,
    }


if __name__ == "__main__":
    raise SystemExit(main())
