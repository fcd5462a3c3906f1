"""Cold start per function: importing its handler module in a fresh interpreter, beside a minimal app.

    .venv/bin/python -m bench.bench_coldstart [--repeat 3] [--json]

What a new Lambda container pays before the first event (the Init phase), measured as the import of
`functions.<name>.app` in a new `python` process, median of `--repeat`. Anchor: the same import of
bench/minimal_powertools_app.py - an HTTP resolver with validation, one pydantic route, Logger,
Tracer and Metrics, nothing of onestop - measured side by side (alternating, same environment). A
second anchor line gives `import boto3`, the floor of any Python function that talks to AWS.

Measured as Lambda runs the code, not as the dev venv happens to hold it:

- only the packages the function ships are importable: the layer's requirements.txt and what they
  depend on (read from the venv's metadata), plus for the ingest image the "ocr" extra. The venv has
  more for the tools (awscrt and pyOpenSSL through aws-sam-cli's boto3[crt]): botocore imports them
  when present, Lambda's copy of the code never finds them;
- the layer as `sam build` makes it: layers/core/Makefile's `layer-code` target (the target
  `build-CoreLayer` runs) copies onestop into a python/ folder and compiles its bytecode
  (unchecked-hash .pyc), and the probe imports it from there with PYTHONDONTWRITEBYTECODE, as from
  Lambda's read-only /opt. The functions' code and the minimal app sit in the task directory as
  sources, as SAM ships a function's CodeUri (a handler module of 20-50 lines each). The installed
  packages play the layer's requirements, with their bytecode (the Makefile compiles those too);
- these "built layer" rows are the target (issue 16: each zip function <= 1.2x the minimal app and
  <= 400 ms). Beside them, "from source" rows import the same code copied without any bytecode, as
  the layer was shipped before it had a build step (every cold start compiled onestop): the difference
  is what the bytecode saves. The ingest image ships onestop without bytecode: its rows are from source;
- two environments, the template's POWERTOOLS_* variables in both: "local", tracing disabled as in
  the tests and the local stack, and "in AWS", where `Tracing: Active` and LAMBDA_TASK_ROOT make
  Powertools' Tracer import the X-Ray SDK and patch every supported library at construction.

boto3 is imported with the first AWS client (onestop.aws.clients), not at import: each function's note
gives what its first AWS-calling event adds (importing boto3 and building a DynamoDB table resource).
For the ingest function (a container image, no cold-start target) the first OCR engine session (model
load), which its first upload pays, is measured too. The details give each function's import profile
(`python -X importtime`, one run, local environment): time per top-level package and the largest
imports with the module that imported them.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import tomllib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from bench.common import ROOT, Figure, report

ANCHOR_MODULE = "minimal_powertools_app"
OURS = frozenset({"onestop", "functions", ANCHOR_MODULE})  # laid out beside the probe (lay_out)
MAKE_LAYER_CODE = (
    "make",
    "--no-print-directory",
    "-f",
    str(ROOT / "layers" / "core" / "Makefile"),
    "layer-code",
)
# The api function's first request in the bench: the applicant's most frequent (bench_api's too).
FIRST_REQUEST_PATH = "/applications/a1b2c3"
HEAVY = ("aws_xray_sdk.core", "pyhanko", "pyhanko_certvalidator", "reportlab", "pypdf", "numpy", "PIL")

# Runs in the probe interpreter: hide what the function does not ship, import, report.
# (A plain class as the finder: importlib.abc would import pathlib, re, tempfile … ahead of the clock.)
_PROBE = """
import json, sys, time
BLOCKED = frozenset({blocked!r})
class Absent:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None
sys.meta_path.insert(0, Absent())
started, cpu = time.perf_counter(), time.process_time()
import {module}
imported, cpu = time.perf_counter() - started, time.process_time() - cpu
onestop = sys.modules.get("onestop")
origin = getattr(onestop, "__file__", None)
heavy = sorted(m for m in {heavy!r} if m in sys.modules)
client = extra = routes = None
if {first_path!r}:
    # The api function loads a route module on the first request for its paths (onestop.http.route_table).
    from onestop.http.route_table import route_modules_for
    t = time.perf_counter()
    sys.modules[{module!r}].app.load_routes(route_modules_for({first_path!r}))
    routes = time.perf_counter() - t
if {first_client}:
    t = time.perf_counter()
    from onestop.aws.clients import dynamodb_table
    dynamodb_table("onestop-bench")
    client = time.perf_counter() - t
if {engine}:
    from onestop.materials.ocr import get_rapid_engine
    import numpy as np
    t = time.perf_counter()
    get_rapid_engine().recognise(np.full((64, 256, 3), 255, dtype=np.uint8))
    extra = time.perf_counter() - t
out = {{"import_s": imported, "cpu_s": cpu, "heavy": heavy, "client_s": client, "engine_s": extra,
       "routes_s": routes, "onestop": origin}}
print(json.dumps(out))
"""


# ------------------------------------------------------------------------------ what Lambda ships


def _requirement_lines(path: Path) -> list[str]:
    lines = (line.split("#", 1)[0].strip() for line in path.read_text(encoding="utf-8").splitlines())
    return [line for line in lines if line]


def shipped_requirements(image: bool) -> list[str]:
    """The layer's requirements; for the ingest image also the "ocr" extra and the no-deps list."""
    reqs = _requirement_lines(ROOT / "layers" / "core" / "requirements.txt")
    if image:
        project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
        reqs += project["project"]["optional-dependencies"]["ocr"]
        reqs += project.get("tool", {}).get("onestop", {}).get("no-deps", [])
    return reqs


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def distribution_closure(requirements: Iterable[str]) -> set[str]:
    """Canonical names of the distributions `requirements` install, from the venv's metadata."""
    from packaging.requirements import Requirement

    todo = [Requirement(r) for r in requirements]
    seen: set[tuple[str, frozenset[str]]] = set()
    names: set[str] = set()
    while todo:
        req = todo.pop()
        key = (_canonical(req.name), frozenset(req.extras))
        if key in seen:
            continue
        seen.add(key)
        try:
            dist = metadata.distribution(req.name)
        except metadata.PackageNotFoundError:
            continue
        names.add(key[0])
        for line in dist.requires or []:
            dep = Requirement(line)
            extras = req.extras or {""}
            if dep.marker is None or any(dep.marker.evaluate({"extra": e}) for e in extras):
                todo.append(dep)
    return names


def absent_modules(shipped: set[str]) -> set[str]:
    """Top-level modules of the venv that no shipped distribution provides (never the stdlib)."""
    out = set()
    for module, dists in metadata.packages_distributions().items():
        if module in sys.stdlib_module_names or module.startswith("_distutils") or module in OURS:
            continue
        if not any(_canonical(d) in shipped for d in dists):
            out.add(module)
    return out


# ------------------------------------------------------------------------------ environments


@dataclass(frozen=True)
class Environment:
    key: str
    label: str
    variables: dict[str, str]


def template_variables(logical_id: str) -> dict[str, str]:
    """The POWERTOOLS_* variables template.yaml gives the function (Globals, then its own)."""
    from infra.local.template import load_sam_template

    sam = load_sam_template()
    merged: dict[str, Any] = {
        **(sam.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables") or {}),
        **(sam["Resources"][logical_id].get("Properties", {}).get("Environment", {}).get("Variables") or {}),
    }
    return {k: str(v) for k, v in merged.items() if k.startswith("POWERTOOLS_") and isinstance(v, str | int)}


def environments(logical_id: str, code_root: Path) -> list[Environment]:
    base = template_variables(logical_id)
    local = {**base, "POWERTOOLS_TRACE_DISABLED": "true", "POWERTOOLS_DEV": "false"}  # infra/local/stack.py
    in_aws = {
        **base,
        # What the Lambda runtime sets with `Tracing: Active` (the Tracer reads LAMBDA_TASK_ROOT).
        "LAMBDA_TASK_ROOT": str(code_root),
        "AWS_LAMBDA_FUNCTION_NAME": f"onestop-{logical_id}",
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.11",
        "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000",
        "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
    }
    return [
        Environment("local", "local: tracing disabled", local),
        Environment("aws", "in AWS: tracing on", in_aws),
    ]


# ------------------------------------------------------------------------------ probes


def functions() -> dict[str, str]:
    """Logical id → handler module, from template.yaml (the same source the local stack uses)."""
    from infra.local.template import function_sources, load_sam_template

    return {logical_id: source.module for logical_id, source in function_sources(load_sam_template()).items()}


@dataclass(frozen=True)
class Code:
    """Our code laid out for the probes: `root` the task directory (the functions, the minimal app; the
    probe's working directory), `layer` the folder that holds onestop, after it on the path."""

    key: str
    label: str
    root: Path
    layer: Path

    @property
    def target(self) -> bool:
        return self.key == "built"


_SOURCES_ONLY = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")


def _task_directory(root: Path) -> None:
    shutil.copytree(ROOT / "functions", root / "functions", ignore=_SOURCES_ONLY)
    shutil.copy(ROOT / "bench" / "minimal_powertools_app.py", root / f"{ANCHOR_MODULE}.py")


def lay_out(into: Path) -> tuple[Code, Code]:
    """The layer built by its Makefile (bytecode, the target) and the same code from source."""
    built = Code("built", "built layer", into / "built" / "task", into / "built" / "opt" / "python")
    _task_directory(built.root)
    done = subprocess.run(
        [*MAKE_LAYER_CODE, f"ARTIFACTS_DIR={built.layer.parent}", f"PYTHON={sys.executable}"],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"building the layer failed: {(done.stdout + done.stderr)[-1000:]}")
    source = Code("source", "from source", into / "source" / "task", into / "source" / "layer")
    _task_directory(source.root)
    shutil.copytree(ROOT / "layers" / "core" / "onestop", source.layer / "onestop", ignore=_SOURCES_ONLY)
    return built, source


def _env(code: Code, variables: dict[str, str]) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "TZ")}
    return {
        **keep,
        **variables,
        "PYTHONPATH": os.pathsep.join([str(code.root), str(code.layer)]),
        "PYTHONDONTWRITEBYTECODE": "1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
    }


def probe(
    module: str,
    code: Code,
    variables: dict[str, str],
    blocked: set[str],
    engine: bool = False,
    first_client: bool = False,
    first_path: str = "",
) -> dict[str, Any]:
    source = _PROBE.format(
        module=module,
        engine=engine,
        first_client=first_client,
        first_path=first_path,
        blocked=sorted(blocked),
        heavy=HEAVY,
    )
    out = subprocess.run(
        [sys.executable, "-c", source],
        cwd=code.root,
        env=_env(code, variables),
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"importing {module} failed: {out.stderr.strip().splitlines()[-1:]}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    # The dev venv has onestop installed (editable): the figure counts only if the laid-out copy ran.
    if result["onestop"] is not None and not Path(result["onestop"]).is_relative_to(code.layer):
        raise RuntimeError(f"{module} imported onestop from {result['onestop']}, not from {code.layer}")
    return result


# ------------------------------------------------------------------------------ import profile

_IMPORTTIME = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)")


def import_profile(
    module: str, code: Code, variables: dict[str, str], blocked: set[str], top: int = 12
) -> str:
    """`python -X importtime` of the module, summed per top-level package and its largest imports."""
    source = _PROBE.format(
        module=module, engine=False, first_client=False, first_path="", blocked=sorted(blocked), heavy=HEAVY
    )
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", source],
        cwd=code.root,
        env=_env(code, variables),
        capture_output=True,
        text=True,
        check=False,
    )
    rows = [(int(m[1]), int(m[2]), len(m[3]), m[4]) for m in _IMPORTTIME.finditer(out.stderr)]
    # -X importtime prints a module after everything it imported: its importer is the next line
    # printed with less indentation.
    importer: dict[int, str] = {}
    for i, (_, _, indent, _) in enumerate(rows):
        importer[i] = next((r[3] for r in rows[i + 1 :] if r[2] < indent), "")
    total = next((cum for _, cum, _, name in rows if name == module), 0)
    per_package: Counter[str] = Counter()
    for self_us, _, _, name in rows:
        per_package[name.partition(".")[0]] += self_us
    packages = ", ".join(f"{name} {us / 1000:.0f}" for name, us in per_package.most_common(10))
    # The largest imports, without the chain of our own modules that merely contain them: a module
    # counts when it is entered from another top-level package (e.g. onestop.aws.clients → boto3) or
    # when its own body is large.
    entries = []
    for i, (self_us, cum, _, name) in enumerate(rows):
        parent = importer[i]
        if name == module or parent == "":
            continue
        if parent.partition(".")[0] != name.partition(".")[0] or self_us >= 15_000:
            entries.append((cum, self_us, name, parent))
    seen: set[str] = set()
    largest = []
    for cum, self_us, name, parent in sorted(entries, reverse=True):
        if name in seen:
            continue
        seen.add(name)
        largest.append(f"    {cum / 1000:6.0f} ms (own {self_us / 1000:3.0f})  {name}  ← {parent}")
        if len(largest) == top:
            break
    return "\n".join(
        [
            f"  {module}: {total / 1000:.0f} ms under -X importtime",
            f"  per package (own ms): {packages}",
            "  largest imports (cumulative, own, imported by):",
            *largest,
        ]
    )


# ------------------------------------------------------------------------------ the run


def _median(samples: list[dict[str, Any]], key: str) -> float:
    return statistics.median(s[key] for s in samples) * 1000


def side_by_side(
    module: str,
    code: Code,
    env: Environment,
    blocked: set[str],
    anchor_blocked: set[str],
    repeat: int,
    engine: bool,
    first_client: bool,
    first_path: str = "",
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """`repeat` imports of `module` and of the anchor, alternating, so that a change of load on the
    machine weighs on both."""
    own: list[dict[str, Any]] = []
    anchor: list[dict[str, Any]] = []
    for _ in range(repeat):
        own.append(probe(module, code, env.variables, blocked, engine, first_client, first_path))
        anchor.append(probe(ANCHOR_MODULE, code, env.variables, anchor_blocked))
    return own, anchor


def _function_figures(
    logical_id: str,
    module: str,
    code: Code,
    blocked: set[str],
    anchor_blocked: set[str],
    repeat: int,
    boto3_ms: float,
) -> list[Figure]:
    is_image = logical_id == "IngestFunction"
    figures: list[Figure] = []
    for env in environments(logical_id, code.root):
        engine = is_image and env.key == "local"
        first_client = env.key == "local"
        how = "container image, from source" if is_image else code.label
        figure = f"{logical_id}: import {module} ({env.label}; {how})"
        label = f"minimal Powertools app ({env.label})"
        first_path = FIRST_REQUEST_PATH if logical_id == "ApiFunction" else ""
        try:
            own, anchor = side_by_side(
                module, code, env, blocked, anchor_blocked, repeat, engine, first_client, first_path
            )
        except RuntimeError as exc:  # one function that does not import: the others still count
            figures.append(Figure("cold start", figure, None, "ms", label, None, str(exc)))
            continue
        heavy = sorted({m for s in own for m in s["heavy"]})
        if is_image:
            note = "container image, no target, ships no bytecode; "
        elif code.target:
            note = "TARGET (<= 1.2x and <= 400 ms); "
        else:
            note = "before the layer's build step: no bytecode, every module compiled at import; "
        note += (
            f"CPU {_median(own, 'cpu_s'):.0f} ms (anchor {_median(anchor, 'cpu_s'):.0f}); "
            f"heavy modules imported: {', '.join(heavy) or 'none'}"
        )
        if first_client:
            # boto3 comes with the first AWS client (onestop.aws.clients): what the first event that
            # calls AWS adds to the import.
            note += f"; then the first AWS client (boto3, a DynamoDB table) {_median(own, 'client_s'):.0f} ms"
        figures.append(
            Figure(
                "cold start", figure, _median(own, "import_s"), "ms", label, _median(anchor, "import_s"), note
            )
        )
        if first_path:
            # What the import left to the first request: its path's route modules. Beside the anchor's
            # import, which has its only route already.
            first = statistics.median(o["import_s"] + o["routes_s"] for o in own) * 1000
            figures.append(
                Figure(
                    "cold start",
                    f"{logical_id}: import + the route modules of a first GET /applications/{{id}} "
                    f"({env.label}; {how})",
                    first,
                    "ms",
                    label,
                    _median(anchor, "import_s"),
                    f"no target: what the import leaves to the first request (onestop.http.route_table); "
                    f"the routes alone {_median(own, 'routes_s'):.0f} ms",
                )
            )
        if engine:
            figures.append(
                Figure(
                    "cold start",
                    "IngestFunction: first OCR session (model load + first call)",
                    _median(own, "engine_s"),
                    "ms",
                    "import boto3",
                    boto3_ms,
                    "paid by the first upload a new container handles",
                )
            )
    return figures


def run(repeat: int, profiles: bool = True, from_source: bool = True) -> tuple[list[Figure], str]:
    layer = absent_modules(distribution_closure(shipped_requirements(image=False)))
    image = absent_modules(distribution_closure(shipped_requirements(image=True)))
    figures: list[Figure] = []
    details: list[str] = []
    with tempfile.TemporaryDirectory(prefix="onestop-coldstart-") as tmp:
        built, source = lay_out(Path(tmp))
        local = environments("ApiFunction", built.root)[0]
        anchor: list[dict[str, Any]] = []
        boto3: list[dict[str, Any]] = []
        for _ in range(repeat):
            anchor.append(probe(ANCHOR_MODULE, built, local.variables, layer))
            boto3.append(probe("boto3", built, local.variables, layer))
        boto3_ms = _median(boto3, "import_s")
        figures.append(
            Figure(
                "cold start",
                f"anchor: minimal Powertools app ({local.label})",
                _median(anchor, "import_s"),
                "ms",
                "import boto3",
                boto3_ms,
                "bench/minimal_powertools_app.py; the layer's packages only (no awscrt, no pyOpenSSL)",
            )
        )
        for logical_id, module in sorted(functions().items()):
            is_image = logical_id == "IngestFunction"
            blocked = image if is_image else layer
            # The ingest image copies onestop without compiling it; the zip functions get the built layer.
            codes = [source] if is_image else [built, source] if from_source else [built]
            for code in codes:
                figures += _function_figures(logical_id, module, code, blocked, layer, repeat, boto3_ms)
            if profiles:
                code = source if is_image else built
                details.append(f"{logical_id} ({local.label}; {code.label}):")
                details.append(import_profile(module, code, local.variables, blocked))
        if profiles:
            details.append(f"Anchor, minimal Powertools app ({local.label}):")
            details.append(import_profile(ANCHOR_MODULE, built, local.variables, layer))
    heading = "Import profiles (python -X importtime, one run each, which inflates the times):"
    return figures, "\n".join([heading, *details]) if profiles else ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--no-profiles", action="store_true", help="figures only")
    parser.add_argument(
        "--built-only", action="store_true", help="only the target rows (the layer built with bytecode)"
    )
    args = parser.parse_args(argv)
    figures, details = run(args.repeat, profiles=not args.no_profiles, from_source=not args.built_only)
    report(figures, args.json, _line, details)
    return 0  # a function that did not import is a figure "not measured", with the reason


def _line(f: Figure) -> str:
    if f.value is None or f.anchor_value is None or f.ratio is None:
        return f"{f.figure:<100} not measured: {f.note}"
    return (
        f"{f.figure:<100} {f.value:6.0f} ms  ({f.ratio:.2f}x {f.anchor}: {f.anchor_value:.0f} ms)  {f.note}"
    )


if __name__ == "__main__":
    raise SystemExit(main())
