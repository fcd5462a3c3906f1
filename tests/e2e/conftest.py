"""The local stack, started once per test session worker, driven over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from onestop.identifiers.uscc import compose_uscc

from infra import samples
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


# The enterprises the e2e applicants act for unless a test names others, as the test world's identity
# federation vouches for them: the sample enterprise (demo, web flow) and the e-licence tests' holder.
# Bindings are the user's attributes in the stack's user pool and accumulate per sub (as in Cognito),
# so an account meant to stay unbound to these (`other_applicant`) names its own.
E2E_ENTERPRISES = (samples.SampleEnterprise().uscc, compose_uscc("91440300", "MA5FEL01"))


class Api:
    """A tiny HTTP client for the stack's API with a bearer token per user."""

    def __init__(
        self,
        stack: LocalStack,
        sub: str | None = None,
        groups: tuple[str, ...] = (),
        *,
        uscc: tuple[str, ...] | None = None,
    ) -> None:
        self.base = stack.api_url
        self.session = requests.Session()
        if sub is not None:
            if uscc is None:
                uscc = E2E_ENTERPRISES if "applicant" in groups else ()
            token = stack.token(sub, list(groups), sub, uscc=uscc)
            self.session.headers["Authorization"] = f"Bearer {token}"

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
    # Another enterprise's applicant (the e-licence tests' second enterprise), bound to none of A's.
    return Api(stack, "applicant-b", ("applicant",), uscc=(compose_uscc("91440300", "MA5FEL02"),))


@pytest.fixture
def reviewer(stack: LocalStack) -> Api:
    return Api(stack, "reviewer-1", ("reviewer",))


@pytest.fixture
def admin(stack: LocalStack) -> Api:
    """The bureau's administrator: the licence lifecycle is the admin group's (template.yaml)."""
    return Api(stack, "admin-1", ("admin",))
