"""What a cold start imports: each zip function's handler module, imported in a fresh interpreter,
leaves the heavy modules unimported (issue 16 item 3; docs/decisions.md, "What a cold start imports").

A check of which modules are loaded, not a timing: the time is `make bench`'s (bench/bench_coldstart.py).
Run with tracing disabled (the tests, the local stack) and with tracing on as in AWS (`Tracing:
Active`: LAMBDA_TASK_ROOT set), where Powertools' own Tracer would import the X-Ray SDK at once.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Needed by a few requests at most, never by all: imported by the code that uses them.
HEAVY = (
    "aws_xray_sdk.core",  # the X-Ray SDK: on the first traced call, and only with tracing on
    "aws_lambda_powertools.event_handler.openapi.models",  # the OpenAPI document: first /openapi.json
    "boto3",  # with the first AWS client (onestop.aws.clients)
    "pyhanko",
    "pyhanko_certvalidator",
    "reportlab",
    "fontTools",
    "pypdf",
    "pypdfium2",
    "numpy",
    "PIL",
    "cv2",
    "zxingcpp",
    "onnxruntime",
    "rapidocr",
    "cbor2",
    "pycose",
    "segno",
    "opencc",
    "jwt",
    "lxml",
    "aiohttp",
    "yaml",  # the catalogue's YAML: the shipped files or an admin's import (onestop.catalogue.yaml_text)
)
# Per function, parts of onestop that only some of its requests need.
NOT_AT_START = {
    # The verifier (trust anchors, sandbox) serves only the attaching of an e-licence.
    "ApiFunction": (
        # The route modules, each on the first request for one of its paths (onestop.http.route_table).
        "onestop.http.routes_",
        "onestop.applications.service",
        "onestop.verification",
        "onestop.http.contract",  # the completed OpenAPI document: first /openapi.json
        "onestop.licences.render",
        "onestop.licences.seal",
    ),
    "IssueFunction": ("onestop.licences.render", "onestop.licences.seal"),
    "SchedulerFunction": ("onestop.verification", "onestop.licences.render"),
    "VerifyFunction": ("onestop.licences.render", "onestop.licences.seal"),
    # Notifications: the catalogue only to name a material's slot, never the licences' machinery.
    "NotifyFunction": ("onestop.verification", "onestop.licences.render", "onestop.licences.seal"),
}

TRACING = {
    "tracing disabled": {"POWERTOOLS_TRACE_DISABLED": "true"},
    "tracing on": {
        "POWERTOOLS_TRACE_DISABLED": "false",
        "LAMBDA_TASK_ROOT": str(ROOT),
        "AWS_LAMBDA_FUNCTION_NAME": "onestop-test",
    },
}

_PROBE = """
import json, sys
import {module}
print(json.dumps(sorted(sys.modules)))
"""


def zip_functions() -> dict[str, str]:
    from infra.local.template import function_sources, load_sam_template

    return {
        logical_id: source.module
        for logical_id, source in function_sources(load_sam_template()).items()
        if source.package_type == "Zip"
    }


def loaded_after_import(module: str, extra_env: dict[str, str]) -> set[str]:
    env = {
        **{k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR")},
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "layers" / "core")]),
        "PYTHONDONTWRITEBYTECODE": "1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_SERVICE_NAME": "test",
        "POWERTOOLS_METRICS_NAMESPACE": "OnestopTest",
        **extra_env,
    }
    done = subprocess.run(
        [sys.executable, "-c", _PROBE.format(module=module)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


def test_every_zip_function_is_checked() -> None:
    # A new zip function gets its entry here (and its place in the cold-start benchmark).
    assert set(zip_functions()) == set(NOT_AT_START)


@pytest.mark.parametrize("tracing", sorted(TRACING))
@pytest.mark.parametrize("logical_id", sorted(NOT_AT_START))
def test_the_handler_module_imports_no_heavy_module(logical_id: str, tracing: str) -> None:
    module = zip_functions()[logical_id]
    loaded = loaded_after_import(module, TRACING[tracing])
    assert module in loaded
    # A name ending in "_" stands for every module it begins (onestop.http.routes_…).
    names = (*HEAVY, *NOT_AT_START[logical_id])
    unwanted = [m for p in names for m in sorted(loaded) if m == p or (p.endswith("_") and m.startswith(p))]
    assert unwanted == [], f"importing {module} ({tracing}) loads {unwanted}"


# Built at import on purpose: a default value made at import (the withdraw route's empty body) and the
# generic page, whose parametrised forms are made where they are declared.
BUILT_AT_IMPORT = {"onestop.applications.models.Page", "onestop.http.schemas.WithdrawIn"}

_BUILT_PROBE = """
import json, sys
import {module}
from pydantic import BaseModel
def subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from subclasses(sub)
print(json.dumps(sorted({{
    f"{{c.__module__}}.{{c.__qualname__}}" for c in subclasses(BaseModel)
    if c.__module__.startswith("onestop") and c.__dict__.get("__pydantic_complete__")
}})))
"""


@pytest.mark.parametrize("logical_id", sorted(NOT_AT_START))
def test_the_handler_module_builds_no_model_validator(logical_id: str) -> None:
    """pydantic builds a model's validator when the class is made unless the model defers it
    (`defer_build`): a cold start would build every record, event and answer model of the domain, most
    of which its first event never uses."""
    module = zip_functions()[logical_id]
    env = {
        **{k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR")},
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "layers" / "core")]),
        "PYTHONDONTWRITEBYTECODE": "1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_SERVICE_NAME": "test",
        "POWERTOOLS_TRACE_DISABLED": "true",
    }
    done = subprocess.run(
        [sys.executable, "-c", _BUILT_PROBE.format(module=module)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    built = set(json.loads(done.stdout.strip().splitlines()[-1])) - BUILT_AT_IMPORT
    assert built == set(), f"importing {module} builds the validators of {sorted(built)}"
