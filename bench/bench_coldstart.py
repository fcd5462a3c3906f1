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
- our code (the layer, the functions, the minimal app) is copied without bytecode and imported with
  PYTHONDONTWRITEBYTECODE: Lambda's read-only code directory holds no __pycache__ for it, so every
  cold start compiles it (the installed packages come with their bytecode, as pip installs them);
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
OURS = frozenset({"onestop", "functions", ANCHOR_MODULE})  # copied beside the probe (copy_code)
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
heavy = sorted(m for m in {heavy!r} if m in sys.modules)
client = extra = None
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
out = {{"import_s": imported, "cpu_s": cpu, "heavy": heavy, "client_s": client, "engine_s": extra}}
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


def copy_code(into: Path) -> Path:
    """Our code as Lambda gets it: sources only, no bytecode."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    shutil.copytree(ROOT / "functions", into / "functions", ignore=ignore)
    shutil.copytree(ROOT / "layers" / "core" / "onestop", into / "layers" / "core" / "onestop", ignore=ignore)
    shutil.copy(ROOT / "bench" / "minimal_powertools_app.py", into / f"{ANCHOR_MODULE}.py")
    return into


def _env(code_root: Path, variables: dict[str, str]) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "TZ")}
    return {
        **keep,
        **variables,
        "PYTHONPATH": os.pathsep.join([str(code_root), str(code_root / "layers" / "core")]),
        "PYTHONDONTWRITEBYTECODE": "1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
    }


def probe(
    module: str,
    code_root: Path,
    variables: dict[str, str],
    blocked: set[str],
    engine: bool = False,
    first_client: bool = False,
) -> dict[str, Any]:
    code = _PROBE.format(
        module=module, engine=engine, first_client=first_client, blocked=sorted(blocked), heavy=HEAVY
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=code_root,
        env=_env(code_root, variables),
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"importing {module} failed: {out.stderr.strip().splitlines()[-1:]}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


# ------------------------------------------------------------------------------ import profile

_IMPORTTIME = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)")


def import_profile(
    module: str, code_root: Path, variables: dict[str, str], blocked: set[str], top: int = 12
) -> str:
    """`python -X importtime` of the module, summed per top-level package and its largest imports."""
    code = _PROBE.format(
        module=module, engine=False, first_client=False, blocked=sorted(blocked), heavy=HEAVY
    )
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code],
        cwd=code_root,
        env=_env(code_root, variables),
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
    code_root: Path,
    env: Environment,
    blocked: set[str],
    anchor_blocked: set[str],
    repeat: int,
    engine: bool,
    first_client: bool,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """`repeat` imports of `module` and of the anchor, alternating, so that a change of load on the
    machine weighs on both."""
    own: list[dict[str, Any]] = []
    anchor: list[dict[str, Any]] = []
    for _ in range(repeat):
        own.append(probe(module, code_root, env.variables, blocked, engine, first_client))
        anchor.append(probe(ANCHOR_MODULE, code_root, env.variables, anchor_blocked))
    return own, anchor


def run(repeat: int, profiles: bool = True) -> tuple[list[Figure], str]:
    layer = absent_modules(distribution_closure(shipped_requirements(image=False)))
    image = absent_modules(distribution_closure(shipped_requirements(image=True)))
    figures: list[Figure] = []
    details: list[str] = []
    with tempfile.TemporaryDirectory(prefix="onestop-coldstart-") as tmp:
        code_root = copy_code(Path(tmp))
        local = environments("ApiFunction", code_root)[0]
        anchor: list[dict[str, Any]] = []
        boto3: list[dict[str, Any]] = []
        for _ in range(repeat):
            anchor.append(probe(ANCHOR_MODULE, code_root, local.variables, layer))
            boto3.append(probe("boto3", code_root, local.variables, layer))
        figures.append(
            Figure(
                "cold start",
                f"anchor: minimal Powertools app ({local.label})",
                _median(anchor, "import_s"),
                "ms",
                "import boto3",
                _median(boto3, "import_s"),
                "bench/minimal_powertools_app.py; the layer's packages only (no awscrt, no pyOpenSSL)",
            )
        )
        for logical_id, module in sorted(functions().items()):
            is_image = logical_id == "IngestFunction"
            for env in environments(logical_id, code_root):
                engine = is_image and env.key == "local"
                first_client = env.key == "local"
                try:
                    own, anchor = side_by_side(
                        module,
                        code_root,
                        env,
                        image if is_image else layer,
                        layer,
                        repeat,
                        engine,
                        first_client,
                    )
                except RuntimeError as exc:  # one function that does not import: the others still count
                    label = f"minimal Powertools app ({env.label})"
                    figure = f"{logical_id}: import {module} ({env.label})"
                    figures.append(Figure("cold start", figure, None, "ms", label, None, str(exc)))
                    continue
                heavy = sorted({m for s in own for m in s["heavy"]})
                note = (
                    f"CPU {_median(own, 'cpu_s'):.0f} ms (anchor {_median(anchor, 'cpu_s'):.0f}); "
                    f"heavy modules imported: {', '.join(heavy) or 'none'}"
                )
                if first_client:
                    # boto3 comes with the first AWS client (onestop.aws.clients): what the first
                    # event that calls AWS adds to the import.
                    client = _median(own, "client_s")
                    note += f"; then the first AWS client (boto3, a DynamoDB table) {client:.0f} ms"
                figures.append(
                    Figure(
                        "cold start",
                        f"{logical_id}: import {module} ({env.label})",
                        _median(own, "import_s"),
                        "ms",
                        f"minimal Powertools app ({env.label})",
                        _median(anchor, "import_s"),
                        ("container image, no target; " if is_image else "") + note,
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
                            _median(boto3, "import_s"),
                            "paid by the first upload a new container handles",
                        )
                    )
            if profiles:
                details.append(f"{logical_id} ({local.label}):")
                details.append(
                    import_profile(module, code_root, local.variables, image if is_image else layer)
                )
        if profiles:
            details.append(f"Anchor, minimal Powertools app ({local.label}):")
            details.append(import_profile(ANCHOR_MODULE, code_root, local.variables, layer))
    heading = "Import profiles (python -X importtime, one run each, which inflates the times):"
    return figures, "\n".join([heading, *details]) if profiles else ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--no-profiles", action="store_true", help="figures only")
    args = parser.parse_args(argv)
    figures, details = run(args.repeat, profiles=not args.no_profiles)
    report(figures, args.json, _line, details)
    return 0  # a function that did not import is a figure "not measured", with the reason


def _line(f: Figure) -> str:
    if f.value is None or f.anchor_value is None or f.ratio is None:
        return f"{f.figure:<84} not measured: {f.note}"
    return f"{f.figure:<84} {f.value:6.0f} ms  ({f.ratio:.2f}x {f.anchor}: {f.anchor_value:.0f} ms)  {f.note}"


if __name__ == "__main__":
    raise SystemExit(main())
