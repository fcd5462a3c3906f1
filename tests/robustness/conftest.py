"""Fixtures of the robustness suite: an in-process moto world, and the local stack for HTTP tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.local import LocalStack, StackConfig

from .world import World, moto_world


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[World]:
    with moto_world(monkeypatch, tmp_path / "pki-root") as w:
        yield w


@pytest.fixture(scope="session")
def robust_stack() -> Iterator[LocalStack]:
    """A local stack of this suite's own (the e2e stack fixture lives in tests/e2e/conftest.py)."""
    with LocalStack(StackConfig(moto_port=0, api_port=0, warm=("ApiFunction",))) as running:
        yield running
