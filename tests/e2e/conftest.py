"""The local stack, started once per test session worker, driven over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from infra.local import LocalStack, StackConfig

from .browser import chromium


@pytest.fixture(scope="session")
def stack() -> Iterator[LocalStack]:
    with LocalStack(StackConfig(moto_port=0, api_port=0, warm=("ApiFunction",))) as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as launched:
        yield launched


@pytest.fixture
def context(browser: Any) -> Iterator[Any]:
    ctx = browser.new_context(locale="zh-CN", viewport={"width": 1100, "height": 1200})
    ctx.set_default_timeout(20_000)
    yield ctx
    ctx.close()


class Api:
    """A tiny HTTP client for the stack's API with a bearer token per user."""

    def __init__(self, stack: LocalStack, sub: str | None = None, groups: tuple[str, ...] = ()) -> None:
        self.base = stack.api_url
        self.session = requests.Session()
        if sub is not None:
            self.session.headers["Authorization"] = f"Bearer {stack.token(sub, list(groups), sub)}"

    def get(self, path: str, **kw: object) -> requests.Response:
        return self.session.get(self.base + path, timeout=60, **kw)  # type: ignore[arg-type]

    def post(self, path: str, **kw: object) -> requests.Response:
        return self.session.post(self.base + path, timeout=60, **kw)  # type: ignore[arg-type]


@pytest.fixture
def anonymous(stack: LocalStack) -> Api:
    return Api(stack)


@pytest.fixture
def applicant(stack: LocalStack) -> Api:
    return Api(stack, "applicant-a", ("applicant",))


@pytest.fixture
def other_applicant(stack: LocalStack) -> Api:
    return Api(stack, "applicant-b", ("applicant",))


@pytest.fixture
def reviewer(stack: LocalStack) -> Api:
    return Api(stack, "reviewer-1", ("reviewer",))
