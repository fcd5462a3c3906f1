"""`make bench`: run every benchmark, each figure beside its anchor, and write docs/benchmarks.md.

    .venv/bin/python -m bench [--out docs/benchmarks.md] [--only NAME ...] [--quick]

Each benchmark runs in its own interpreter (no warm caches shared between them), one after the other
so that they do not compete for the two cores. The benchmarks of this folder that report `Figure`s
(`--json`) are collected as they are; the others (bench_licence, bench_ocr, bench_verify) are run
with their own options and their output is parsed, and kept verbatim in the report. A benchmark that
fails or overruns its time is reported as such; the rest still run. Budget: under 10 minutes on 2
cores.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from bench.common import ROOT, Figure

DOC = ROOT / "docs" / "benchmarks.md"


@dataclass
class Outcome:
    """What one benchmark produced."""

    name: str
    command: list[str]
    seconds: float = 0.0
    figures: list[Figure] = field(default_factory=list)
    output: str = ""
    error: str | None = None


@dataclass(frozen=True)
class Bench:
    name: str
    args: list[str]  # after the interpreter
    quick_args: list[str]
    timeout_s: int
    parse: Callable[[str], tuple[list[Figure], str]]


# ------------------------------------------------------------------------------------------- parsers


def _json_figures(output: str) -> tuple[list[Figure], str]:
    """The last JSON line of a `--json` run of a benchmark of this folder (bench.common.emit)."""
    for line in reversed(output.strip().splitlines()):
        if line.startswith('{"figures"'):
            data = json.loads(line)
            return [Figure.from_dict(f) for f in data["figures"]], data.get("details", "")
    raise ValueError("no figures in the output")


def _raw_ecdsa_ms(n: int = 200) -> float:
    """Anchor of the licence figure: one ECDSA P-256 / SHA-256 signature over signed-attributes-sized
    data with `cryptography` (what the seal's KMS call does, without the network or pyHanko)."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    message = os.urandom(240)  # DER of CMS signed attributes with a SHA-256 digest: ~200-300 bytes
    times = []
    for _ in range(n):
        started = time.perf_counter()
        key.sign(message, ec.ECDSA(hashes.SHA256()))
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def _licence(output: str) -> tuple[list[Figure], str]:
    medians = dict(re.findall(r"^\s+(render\+seal|render|seal)\s+median\s+([\d.]+) ms", output, re.M))
    if "render+seal" not in medians:
        raise ValueError("no render+seal median in bench_licence's output")
    anchors = dict(re.findall(r"^anchor: (.+?)\s+([\d.]+) ms$", output, re.M))
    bare = next((float(v) for k, v in anchors.items() if "bare pyHanko" in k), None)
    split = f"render {medians.get('render')} ms, seal {medians.get('seal')} ms (median of bench_licence)"
    ecdsa = _raw_ecdsa_ms()
    figures = [
        # issue 16's anchor: pyHanko's one-call PAdES signature with a stamp on the same page, timed
        # interleaved with the licences (target: render + seal <= 30 ms)
        Figure(
            "licence issue",
            "render + seal one licence (PAdES, local key, credential-size QR)",
            float(medians["render+seal"]),
            "ms",
            "bare pyHanko signature with a stamp (sign_pdf, same page and key)",
            bare,
            split,
        ),
        Figure(
            "licence issue",
            "render + seal one licence (PAdES, local key, credential-size QR)",
            float(medians["render+seal"]),
            "ms",
            "raw ECDSA P-256 signature (cryptography)",
            ecdsa,
            "what the seal's KMS call computes, without pyHanko, the PDF or the network",
        ),
    ]
    subset = next((float(v) for k, v in anchors.items() if "shipped subset" in k), None)
    full = next((float(v) for k, v in anchors.items() if "subset of the full font" in k), None)
    if subset is not None and full is not None:
        figures.append(
            Figure(
                "licence issue",
                "font work per licence: shipped pre-subset font (register)",
                subset,
                "ms",
                "fontTools subset of the full 17 MB font, per licence",
                full,
                "what the pre-subset font saves (bench_licence --anchors)",
            )
        )
    return figures, ""


def _verify(output: str) -> tuple[list[Figure], str]:
    start = output.index("{")
    data = json.loads(output[start:])
    results = {r["name"]: r for r in data["results"]}
    bare = next(r for name, r in results.items() if "bare" in name)
    figures = []
    for name, r in results.items():
        if r is bare:
            continue
        figures.append(
            Figure(
                "verification",
                name,
                r["median_ms"],
                "ms",
                "bare pyHanko validate_pdf_signature",
                bare["median_ms"],
                f"p90 {r['p90_ms']} ms; {r['per_second']}/s on one core",
            )
        )
    return figures, ""


def _markdown_tables(output: str) -> list[list[dict[str, str]]]:
    tables: list[list[dict[str, str]]] = []
    current: list[dict[str, str]] = []
    header: list[str] | None = None
    for line in output.splitlines():
        if not line.startswith("|"):
            if current:
                tables.append(current)
            current, header = [], None
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if header is None:
            header = cells
        elif not set("".join(cells)) <= set("-: "):
            current.append(dict(zip(header, cells, strict=False)))
    if current:
        tables.append(current)
    return tables


def _ocr_sweep(output: str) -> tuple[list[Figure], str]:
    """bench_ocr --sweep: RapidOCR's defaults against the tuned settings, per page (before → after)."""
    rows = [row for table in _markdown_tables(output) for row in table]
    by = {(r.get("config"), r.get("page")): r for r in rows}
    figures = []
    for (config, page), row in by.items():
        if config != "rapidocr-default":
            continue
        tuned = by.get(("max1280 (tuned)", page))
        if tuned is None:
            continue
        figures.append(
            Figure(
                "OCR tuning",
                f"{page} ({row.get('pixels')}): raw PP-OCR, tuned settings",
                float(tuned["raw_s"]) * 1000,
                "ms",
                "RapidOCR 3 defaults (before tuning)",
                float(row["raw_s"]) * 1000,
                f"accuracy tuned {tuned.get('acc')}, defaults {row.get('acc')}",
            )
        )
    if not figures:
        raise ValueError("no rapidocr-default / tuned rows in bench_ocr's output")
    return figures, ""


BENCHES = [
    Bench(
        "cold start",
        ["-m", "bench.bench_coldstart", "--json", "--repeat", "3"],
        ["--repeat", "1"],
        # 2 environments x 6 functions x (built layer, from source), each beside the anchor, and an
        # import profile per function
        600,
        _json_figures,
    ),
    Bench(
        "born-digital PDF",
        ["-m", "bench.bench_pdf", "--json", "--repeat", "5"],
        ["--repeat", "1"],
        120,
        _json_figures,
    ),
    Bench("PDF memory bombs", ["-m", "bench.bench_pdf_hostile", "--json"], [], 600, _json_figures),
    Bench(
        "OCR page",
        ["-m", "bench.bench_ocr_page", "--json", "--repeat", "2"],
        ["--repeat", "1"],
        240,
        _json_figures,
    ),
    Bench(
        "page orientation",
        ["-m", "bench.bench_orientation", "--json", "--repeat", "3"],
        ["--repeat", "1"],
        180,
        _json_figures,
    ),
    Bench("OCR tuning", ["bench/bench_ocr.py", "--sweep", "--repeat", "1"], [], 240, _ocr_sweep),
    Bench("licence issue", ["bench/bench_licence.py", "--n", "30", "--anchors"], ["--n", "5"], 120, _licence),
    Bench("verification", ["-m", "bench.bench_verify", "--json", "--n", "100"], ["--n", "20"], 180, _verify),
    Bench("verification attacks", ["-m", "bench.bench_verify_attacks", "--json"], [], 300, _json_figures),
    Bench(
        "QR credential",
        ["-m", "bench.bench_credential", "--json", "--repeat", "5", "--n", "200"],
        ["--repeat", "1", "--n", "50"],
        120,
        _json_figures,
    ),
    # decode + verify from a 12 MP photo beside raw zxing; success rate over the synthetic photo set
    Bench(
        "verify from a photo",
        ["-m", "bench.bench_photo", "--json", "--repeat", "5"],
        ["--repeat", "1"],
        240,
        _json_figures,
    ),
    Bench(
        "API and load",
        ["-m", "bench.bench_api", "--json"],
        ["--requests", "60", "--applicants", "4"],
        300,
        _json_figures,
    ),
]


def _replace(args: list[str], quick: list[str]) -> list[str]:
    """Apply `--flag value` pairs of `quick` over `args`."""
    out = list(args)
    for flag, value in zip(quick[::2], quick[1::2], strict=True):
        if flag in out:
            out[out.index(flag) + 1] = value
        else:
            out += [flag, value]
    return out


def run_bench(bench: Bench, quick: bool) -> Outcome:
    args = _replace(bench.args, bench.quick_args) if quick else bench.args
    command = [sys.executable, *args]
    outcome = Outcome(bench.name, command)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "layers" / "core")]),
        "POWERTOOLS_LOG_LEVEL": "WARNING",
        "POWERTOOLS_METRICS_DISABLED": "true",
        "PYTHONWARNINGS": "ignore",
    }
    started = time.monotonic()
    try:
        done = subprocess.run(
            command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=bench.timeout_s, check=False
        )
    except subprocess.TimeoutExpired as exc:
        outcome.seconds = time.monotonic() - started
        outcome.output = (
            (exc.stdout or b"").decode("utf-8", "replace") if isinstance(exc.stdout, bytes) else ""
        )
        outcome.error = f"did not finish within {bench.timeout_s} s"
        return outcome
    outcome.seconds = time.monotonic() - started
    outcome.output = "\n".join(
        line for line in done.stdout.splitlines() if not line.startswith(('{"level"', '{"_aws"'))
    )
    if done.returncode != 0:
        outcome.error = f"exit code {done.returncode}: {done.stderr.strip().splitlines()[-1:] or ''}"
        return outcome
    try:
        outcome.figures, details = bench.parse(outcome.output)
    except (ValueError, KeyError, StopIteration, json.JSONDecodeError) as exc:
        outcome.error = f"output not understood: {exc}"
        return outcome
    if details:
        outcome.output = details
    return outcome


# ------------------------------------------------------------------------------------------- report


def machine() -> dict[str, str]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = "unknown"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    nproc = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    tesseract = "not installed"
    if shutil.which("tesseract"):
        version = subprocess.run(["tesseract", "--version"], capture_output=True, text=True, check=False)
        tesseract = (
            (version.stdout or version.stderr).splitlines()[0] if (version.stdout or version.stderr) else "?"
        )
    return {
        "nproc": str(nproc),
        "cpu": cpu,
        "memory": memory,
        "python": platform.python_version(),
        "os": f"{platform.system()} {platform.release()}",
        "tesseract": tesseract,
    }


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "n/a"
    if value >= 100:
        return f"{value:,.0f} {unit}"
    if value >= 10:
        return f"{value:.1f} {unit}"
    return f"{value:.2f} {unit}"


def _ratio(f: Figure) -> str:
    if f.ratio is None:
        return "n/a"
    if f.unit.endswith("/s"):
        return f"{f.ratio:.2f} of anchor"
    return f"{f.ratio:.2f}x"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render(outcomes: list[Outcome], info: dict[str, str], started: datetime, total_s: float) -> str:
    lines = [
        "# Benchmarks",
        "",
        "Generated by `make bench` (`python -m bench`); rerun it rather than editing this page. Every figure",
        "stands beside its anchor - the least the same work costs without onestop around it, or what it",
        "cost before a change - measured in the same run on the same machine. Ratio = figure / anchor:",
        "for times, how many times the anchor it costs; for rates (req/s), the share of the anchor reached.",
        "",
        "## Machine and run",
        "",
        f"- date: {started.strftime('%Y-%m-%d %H:%M UTC')}; whole run {total_s:.0f} s",
        f"- CPUs (nproc): {info['nproc']} - {info['cpu']}",
        f"- memory: {info['memory']}",
        f"- Python {info['python']} on {info['os']}; Tesseract: {info['tesseract']}",
        "",
        "## Figures",
        "",
        "| area | figure | value | anchor | anchor value | ratio | note |",
        "|---|---|---|---|---|---|---|",
    ]
    for outcome in outcomes:
        if outcome.error:
            lines.append(f"| {outcome.name} | **not measured** | n/a | | | | {_cell(outcome.error)} |")
        for f in outcome.figures:
            lines.append(
                f"| {_cell(f.area)} | {_cell(f.figure)} | {_fmt(f.value, f.unit)} | {_cell(f.anchor)} | "
                f"{_fmt(f.anchor_value, f.unit)} | {_ratio(f)} | {_cell(f.note)} |"
            )
    lines += [
        "",
        "## Reading the figures",
        "",
        "- **Cold start**: the handler import is what each new container pays before its first event,",
        "  beside a minimal Powertools app with the same utilities (bench/minimal_powertools_app.py),",
        "  alternating, in the same environment: the layer's packages only, tracing disabled (local)",
        "  and on (in AWS, where Powertools' own Tracer imports the X-Ray SDK at start; ours imports it",
        '  on the first traced call). The target rows ("built layer", <= 1.2x and <= 400 ms) import',
        "  onestop as layers/core/Makefile builds the layer, with its bytecode, read-only as from /opt;",
        '  the "from source" rows import the same code without bytecode, as the layer shipped before it',
        "  had a build step (every module compiled at each cold start). What stays at",
        "  import is what nearly every event needs (Powertools, settings, the routes' models); the",
        "  X-Ray SDK, the OpenAPI document, pyHanko and the verifier come on first use, boto3 with the",
        "  first AWS client, whose cost the note gives (docs/decisions.md). The api function loads a",
        "  route module on the first request for one of its paths (onestop.http.route_table): its row",
        '  "import + the route modules of a first GET /applications/{id}" gives what that first request',
        "  adds. The profiles below name the largest imports. The ingest function's first upload also",
        "  pays the OCR session.",
        "- **Born-digital PDF**: the ingest pipeline opens every PDF in a worker process with time and",
        "  memory caps (hostile files cannot hang or exhaust the function), reused across files; the",
        "  hand-over to the worker is a fixed cost per file, spread over the pages of a longer one.",
        "- **PDF worker memory**: the worker's peak resident memory (VmHWM) on each hostile PDF and on",
        "  normal scans, against its cap (a fresh interpreter whose whole address space is 512 MiB);",
        "  time to the outcome in the note (for scans it includes OCR). Bombs are refused by the decode",
        "  caps (32 MiB a stream, 128 MiB a file, images by declared pixels) before PDFium sees a page.",
        "- **OCR page**: the ingest path costs about what the raw PP-OCR call costs - decoding, checks,",
        "  classification and the normalised PDF are small beside the model. Tesseract (one thread) is",
        "  of the same order in time but reads these pages markedly worse (accuracy in the note).",
        "- **OCR tuning** (before → after): RapidOCR 3's defaults against the settings the ingest",
        "  function ships (detector input size, threads; see bench/bench_ocr.py --sweep).",
        "- **Licence issue**: render + seal of one licence beside a bare pyHanko signature with a stamp",
        "  on the same page (issue 16 target: <= 30 ms median); the static layout of each licence type is",
        "  laid out once, the seal skips pyHanko's dry-run CMS; the pre-subset CJK font keeps per-licence",
        "  font work to a registration.",
        "- **Verification**: the overhead of onestop's checks and of the forked, capped worker over",
        "  bare pyHanko validation.",
        "- **API throughput**: the local stack runs a pool of workers per function (3 for the api",
        "  function on 2 cores, one event each at a time, like Lambda containers); the clients run in",
        "  their own process; the",
        "  gateway alone is the ceiling of this emulator on this machine. Background functions (no HTTP",
        "  route: ingest, issue, scheduler, notify) run at a lower CPU priority, as in AWS they would",
        "  take none of the API's CPU. The notes give the CPU one request costs in each process (on a",
        "  shared machine the rate follows the others' load, the CPU much less), how long requests",
        "  waited for a free api worker (first come, first served, as no Lambda invocation waits",
        "  behind a later one), and the machine's load average.",
        "",
        "## Output of each benchmark",
        "",
    ]
    for outcome in outcomes:
        command = " ".join(Path(c).name if c == sys.executable else c for c in outcome.command)
        lines += [f"### {outcome.name} ({outcome.seconds:.0f} s)", "", f"`{command}`", ""]
        if outcome.output.strip():
            lines += ["```", outcome.output.strip(), "```", ""]
        if outcome.error:
            lines += [f"Not measured: {outcome.error}", ""]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DOC)
    parser.add_argument("--only", nargs="*", help="names of benchmarks to run (default: all)")
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (a smoke run)")
    args = parser.parse_args(argv)
    started = datetime.now(UTC)
    clock = time.monotonic()
    outcomes = []
    for bench in BENCHES:
        if args.only and bench.name not in args.only:
            continue
        print(f"── {bench.name} …", flush=True)
        outcome = run_bench(bench, args.quick)
        status = outcome.error or f"{len(outcome.figures)} figure(s)"
        print(f"   {outcome.seconds:.0f} s: {status}", flush=True)
        outcomes.append(outcome)
    total = time.monotonic() - clock
    report = render(outcomes, machine(), started, total)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(report, encoding="utf-8")
    print(f"wrote {args.out} ({total:.0f} s)")
    return 1 if any(o.error for o in outcomes) else 0


if __name__ == "__main__":
    raise SystemExit(main())
