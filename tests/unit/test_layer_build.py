"""The core layer is built with its bytecode (layers/core/Makefile, CoreLayer `BuildMethod: makefile`).

Lambda unpacks the layer under /opt, read-only: without .pyc every cold start compiles every module it
imports. These tests run the Makefile's `layer-code` target (the onestop part of `build-CoreLayer`;
the requirements' part needs PyPI, tests/infra/test_template.py's `sam build` covers it) into a temp
dir and import the api function from a copy laid out as Lambda lays it out: its code in the task
directory, the layer's python/ folder on the path, nothing writable, sources with new modification
times (the zip keeps them only to 2 s; the unchecked-hash .pyc must not care).
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MAKEFILE = ROOT / "layers" / "core" / "Makefile"
TAG = sys.implementation.cache_tag  # cpython-311
MAKE_LAYER_CODE = ("make", "--no-print-directory", "-f", str(MAKEFILE), "layer-code")


def build_layer_code(artifacts: Path) -> Path:
    done = subprocess.run(
        [*MAKE_LAYER_CODE, f"ARTIFACTS_DIR={artifacts}", f"PYTHON={sys.executable}"],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return artifacts / "python"


@pytest.fixture(scope="module")
def layer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("make") is None:
        pytest.fail("make is missing: sam build runs the layer's Makefile with it")
    return build_layer_code(tmp_path_factory.mktemp("CoreLayer"))


def test_the_layer_holds_onestop_under_python_with_a_pyc_for_every_module(layer: Path) -> None:
    package = layer / "onestop"
    assert (package / "__init__.py").is_file()
    assert sorted(p.name for p in layer.iterdir()) == ["onestop"]
    sources = sorted(package.rglob("*.py"))
    expected = {p.parent / "__pycache__" / f"{p.stem}.{TAG}.pyc" for p in sources}
    compiled = set(package.rglob("*.pyc"))
    assert compiled == expected
    # The data files the package reads at run time come along (catalogue, fonts, trust anchors).
    source_data = {
        p.relative_to(ROOT / "layers" / "core")
        for p in (ROOT / "layers" / "core" / "onestop").rglob("*")
        if p.is_file() and p.suffix not in (".py", ".pyc") and "__pycache__" not in p.parts
    }
    shipped_data = {
        p.relative_to(layer) for p in package.rglob("*") if p.is_file() and p.suffix not in (".py", ".pyc")
    }
    assert shipped_data == source_data
    assert not list(layer.rglob("*.egg-info")), "packaging metadata of the dev install"


def test_the_bytecode_is_unchecked_hash_based(layer: Path) -> None:
    """PEP 552 flags: bit 0 hash-based, bit 1 check the source. 0b01: valid whatever the sources'
    modification times, without reading the sources."""
    for pyc in (layer / "onestop").rglob("*.pyc"):
        flags = int.from_bytes(pyc.read_bytes()[4:8], "little")
        assert flags == 0b01, f"{pyc}: flags {flags:#04b}"


def test_the_api_function_imports_its_layer_from_bytecode_read_only(layer: Path, tmp_path: Path) -> None:
    opt = tmp_path / "opt"
    task = tmp_path / "task"
    shutil.copytree(layer, opt / "python")
    shutil.copytree(ROOT / "functions" / "api", task, ignore=shutil.ignore_patterns("__pycache__"))
    later = time.time() + 3600  # as if unpacked from a zip an hour after the build
    for path in (opt / "python").rglob("*.py"):
        os.utime(path, (later, later))
    for path in [*opt.rglob("*"), *task.rglob("*")]:
        path.chmod(path.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    before = sorted(opt.rglob("*"))
    env = {
        **{k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR")},
        "PYTHONPATH": os.pathsep.join([str(task), str(opt / "python")]),
        "PYTHONDONTWRITEBYTECODE": "1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_SERVICE_NAME": "api",
        "POWERTOOLS_TRACE_DISABLED": "true",
    }
    done = subprocess.run(
        # The import, then the route modules a first request loads (onestop.http.route_table): all of them.
        [
            sys.executable,
            "-v",
            "-c",
            "import app, onestop; app.app.load_all_routes(); print(onestop.__file__)",
        ],
        cwd=task,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == str(opt / "python" / "onestop" / "__init__.py")
    # `python -v` names where each module's code object came from: the .pyc, or the source it compiled.
    loaded = [line for line in done.stderr.splitlines() if line.startswith("# code object from")]
    from_layer = [line for line in loaded if str(opt) in line]
    assert len(from_layer) > 40, "the api function imports most of onestop's HTTP side"
    compiled_at_import = [line for line in from_layer if not line.rstrip("'").endswith(".pyc")]
    assert compiled_at_import == []
    after = sorted(opt.rglob("*"))
    for path in [*opt.rglob("*"), *task.rglob("*")]:
        path.chmod(path.stat().st_mode | stat.S_IWUSR)  # let tmp_path be cleaned up
    assert after == before


def test_the_layer_refuses_to_build_without_an_artifacts_dir() -> None:
    done = subprocess.run(
        [*MAKE_LAYER_CODE, f"PYTHON={sys.executable}"],
        capture_output=True,
        text=True,
        check=False,
        env={k: v for k, v in os.environ.items() if k != "ARTIFACTS_DIR"},
        timeout=60,
    )
    assert done.returncode != 0
    assert "ARTIFACTS_DIR is not set" in done.stdout + done.stderr
