"""The channel of a token's app client (issue 18 item 3): the mapping, unknown clients, the figures."""

from __future__ import annotations

from collections import Counter

import pytest
from onestop.applications.channels import (
    UNRECORDED,
    Channel,
    channel_of,
    client_of,
    parse_clients,
)
from onestop.applications.identity import Role, principal_from_claims
from onestop.errors import Forbidden
from onestop.quality.channels import channel_figures, channel_of_record
from onestop.settings import SettingsError, get_settings, reset_settings

SETTING = "web-id=web_portal, app-id=city_app,mini-id=mini_program,window-id=service_window"
CLIENTS = parse_clients(SETTING)


def test_the_setting_maps_each_client_to_its_channel() -> None:
    assert CLIENTS == {
        "web-id": Channel.WEB_PORTAL,
        "app-id": Channel.CITY_APP,
        "mini-id": Channel.MINI_PROGRAM,
        "window-id": Channel.SERVICE_WINDOW,
    }
    assert parse_clients("") == {}
    assert parse_clients(None) == {}


@pytest.mark.parametrize(
    "text", ["web-id", "web-id=", "=web_portal", "web-id=kiosk", "a=web_portal,b=window"]
)
def test_a_malformed_setting_is_an_error_not_a_default(text: str) -> None:
    with pytest.raises(ValueError, match="CHANNEL_CLIENTS"):
        parse_clients(text)


def test_settings_refuse_a_malformed_mapping(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("TABLE_NAME", "IDEMPOTENCY_TABLE_NAME", "UPLOADS_BUCKET", "MATERIALS_BUCKET"):
        monkeypatch.setenv(name, "x")
    monkeypatch.setenv("LICENCES_BUCKET", "x")
    monkeypatch.setenv("EVENT_BUS_NAME", "x")
    monkeypatch.setenv("CHANNEL_CLIENTS", "web-id=fax")
    reset_settings()
    try:
        with pytest.raises(SettingsError, match="CHANNEL_CLIENTS"):
            get_settings()
        monkeypatch.setenv("CHANNEL_CLIENTS", SETTING)
        reset_settings()
        assert get_settings().channel_clients == SETTING
    finally:
        reset_settings()


def test_the_client_of_an_id_token_is_its_audience_and_of_an_access_token_its_client_id() -> None:
    assert client_of({"token_use": "id", "aud": "app-id"}) == "app-id"
    # An access token's aud (if any) is not its client; client_id is.
    assert client_of({"token_use": "access", "client_id": "mini-id", "aud": "web-id"}) == "mini-id"
    assert client_of({"client_id": "window-id"}) == "window-id"
    assert client_of({"token_use": "id", "aud": ["app-id"]}) == "app-id"
    assert client_of({"token_use": "id", "aud": ["app-id", "web-id"]}) is None  # no single client
    assert client_of({"token_use": "id"}) is None
    assert client_of(None) is None


def test_channel_of_claims() -> None:
    assert channel_of({"token_use": "id", "aud": "window-id"}, CLIENTS) is Channel.SERVICE_WINDOW
    assert channel_of({"token_use": "access", "client_id": "app-id"}, CLIENTS) is Channel.CITY_APP
    assert channel_of({"token_use": "id", "aud": "forged-id"}, CLIENTS) is None


def test_an_unknown_client_is_refused_with_a_reason_in_both_languages() -> None:
    principal = principal_from_claims({"sub": "alice", "token_use": "id", "aud": "forged-id"}, CLIENTS)
    assert (principal.client_id, principal.channel) == ("forged-id", None)
    with pytest.raises(Forbidden) as refused:
        principal.require_channel()
    assert refused.value.code == "unknown_client"
    assert "forged-id" in refused.value.zh
    assert "forged-id" in refused.value.en
    known = principal_from_claims({"sub": "alice", "token_use": "id", "aud": "mini-id"}, CLIENTS)
    assert known.require_channel() is Channel.MINI_PROGRAM


def test_the_clerk_group_is_a_role_that_neither_reviews_nor_applies() -> None:
    clerk = principal_from_claims({"sub": "wang", "cognito:groups": "[clerk]", "aud": "window-id"}, CLIENTS)
    assert clerk.roles == frozenset({Role.CLERK})
    assert clerk.is_clerk
    assert not clerk.is_reviewer
    with pytest.raises(Forbidden):
        clerk.require_applicant()


def test_channel_figures_measure_the_online_rate_and_keep_unrecorded_apart() -> None:
    counts = Counter({"web_portal": 3, "city_app": 2, "mini_program": 1, "service_window": 2, UNRECORDED: 5})
    figures = channel_figures(counts)
    assert (figures.received, figures.recorded, figures.online, figures.unrecorded) == (13, 8, 6, 5)
    assert figures.online_rate == 0.75
    rows = {r.channel: (r.received, r.online, r.share) for r in figures.by_channel}
    assert rows == {
        "web_portal": (3, True, 0.375),
        "city_app": (2, True, 0.25),
        "mini_program": (1, True, 0.125),
        "service_window": (2, False, 0.25),
        UNRECORDED: (5, None, None),
    }
    nothing_recorded = channel_figures(Counter({UNRECORDED: 4}))
    assert (nothing_recorded.online_rate, nothing_recorded.unrecorded) == (None, 4)


def test_a_stored_channel_outside_the_list_counts_as_unrecorded() -> None:
    assert channel_of_record(None) == UNRECORDED
    assert channel_of_record("kiosk") == UNRECORDED
    assert channel_of_record("city_app") == "city_app"
