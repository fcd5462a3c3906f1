"""The composition root and the settings it reads: required names fail clearly, everything is built
once and forgotten by one reset(), and the PKI is read once for issuing and verifying."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from onestop.aws import composition
from onestop.errors import Unavailable
from onestop.licences.trust import CachedTrust
from onestop.settings import SettingsError, get_settings, reset_settings

NAMES = {
    "TABLE_NAME": "t",
    "IDEMPOTENCY_TABLE_NAME": "i",
    "UPLOADS_BUCKET": "u",
    "MATERIALS_BUCKET": "m",
    "LICENCES_BUCKET": "l",
    "EVENT_BUS_NAME": "b",
}


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    for name, value in NAMES.items():
        monkeypatch.setenv(name, value)
    reset_settings()
    composition.reset()
    yield monkeypatch
    composition.reset()
    reset_settings()


def test_a_missing_resource_name_fails_at_first_use_naming_it(env: pytest.MonkeyPatch) -> None:
    env.delenv("TABLE_NAME")
    env.setenv("INGEST_MAX_RECEIVE", "0")
    reset_settings()
    with pytest.raises(SettingsError) as err:
        get_settings()
    assert "TABLE_NAME: not set" in str(err.value)
    assert "INGEST_MAX_RECEIVE" in str(err.value)
    with pytest.raises(SettingsError):
        composition.licence_registry()


def test_ingest_settings_and_defaults(env: pytest.MonkeyPatch) -> None:
    settings = get_settings()
    assert (settings.ingest_max_receive, settings.ingest_idempotency_ttl_seconds) == (3, 7 * 24 * 3600)
    env.setenv("INGEST_MAX_RECEIVE", "5")
    env.setenv("INGEST_IDEMPOTENCY_TTL_SECONDS", "60")
    reset_settings()
    assert composition.ingest_records().max_receive == 5
    assert get_settings().ingest_idempotency_ttl_seconds == 60


def test_services_are_built_once_and_reset_forgets_every_one(env: pytest.MonkeyPatch) -> None:
    built = {
        name: getattr(composition, name)()
        for name in ("event_publisher", "licence_registry", "licences_store", "pki_trust", "licence_office")
    }
    assert all(getattr(composition, name)() is value for name, value in built.items())
    office = composition.licence_office()
    assert isinstance(office.signer, composition.SealSigner)
    assert office.signer.trust is composition.pki_trust()
    assert office.registry is composition.licence_registry()
    assert composition.verify_dependencies().trust is composition.trust_anchors()
    env.setenv("TABLE_NAME", "other")
    reset_settings()
    composition.reset()
    assert all(getattr(composition, name)() is not value for name, value in built.items())
    assert composition.licence_registry().table_name == "other"


def test_a_view_of_the_trust_is_computed_once_per_copy() -> None:
    loads: list[object] = []

    def load() -> object:
        loads.append(object())
        return loads[-1]

    views: list[object] = []

    def view(source: object) -> int:
        views.append(source)
        return len(views)

    trust = CachedTrust(load, ttl_s=3600)
    anchors = trust.derived(view)
    assert (anchors(), anchors()) == (1, 1)
    assert views == loads
    expired = CachedTrust(load, ttl_s=-1)
    fresh = expired.derived(lambda source: source)
    assert fresh() is not fresh()  # a new copy, a new view


def test_no_trust_yet_is_unavailable() -> None:
    def missing() -> object:
        raise RuntimeError("no index.json")

    with pytest.raises(Unavailable) as err:
        CachedTrust(missing)()
    assert err.value.code == "trust_unavailable"

    def bad_view(source: object) -> object:
        raise ValueError("at least one trust anchor (root certificate) is needed")

    with pytest.raises(Unavailable):
        CachedTrust(object).derived(bad_view)()
