"""Fixtures of the security suite: the licence side of a moto account, as the e-licence API tests have it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from onestop.licences.pki import DevPki, make_dev_pki

from tests.integration.test_api_elicence import Bureau, bureau_in
from tests.unit.test_licence_support import BUREAU


@pytest.fixture(scope="module")
def pki() -> DevPki:
    return make_dev_pki(BUREAU)


@pytest.fixture
def bureau(monkeypatch: pytest.MonkeyPatch, pki: DevPki) -> Iterator[Bureau]:
    yield from bureau_in(monkeypatch, pki)
