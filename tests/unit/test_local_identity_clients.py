"""The local identity provider issues tokens per app client (issue 18 item 3): `aud` is the client,
verification accepts the authorizer's clients only, and the token endpoint refuses an unknown one."""

from __future__ import annotations

import jwt
import pytest

from infra.local.identity import LocalIdentityProvider, UnknownClient

ALIASES = {
    "web_portal": "web-id",
    "city_app": "app-id",
    "mini_program": "mini-id",
    "service_window": "window-id",
}


def provider() -> LocalIdentityProvider:
    return LocalIdentityProvider(
        issuer="http://local/_local/idp",
        audience="web-id",
        other_clients=("app-id", "mini-id", "window-id"),
        aliases=ALIASES,
    )


def test_each_client_is_the_audience_of_its_tokens_and_each_verifies() -> None:
    idp = provider()
    for alias, client_id in ALIASES.items():
        for asked in (alias, client_id):
            claims = idp.verify(idp.issue("alice", ["applicant"], client=asked))
            assert (claims["aud"], claims["token_use"]) == (client_id, "id")
    assert idp.verify(idp.issue("alice", ["applicant"]))["aud"] == "web-id"  # the web portal by default


def test_an_unknown_client_gets_no_token() -> None:
    idp = provider()
    with pytest.raises(UnknownClient):
        idp.issue("alice", ["applicant"], client="kiosk")
    status, body = idp.token_response({"sub": "alice", "groups": ["applicant"], "client": "kiosk"})
    assert status == 400
    assert "kiosk" in body["message"]
    status, body = idp.token_response({"sub": "wang", "groups": ["clerk"], "client": "service_window"})
    assert status == 200
    assert jwt.decode(body["id_token"], options={"verify_signature": False})["aud"] == "window-id"


def test_a_token_for_a_client_outside_the_audience_does_not_verify() -> None:
    idp = provider()
    elsewhere = LocalIdentityProvider(issuer=idp.issuer, audience="kiosk-id")
    elsewhere._key = idp._key  # same signing key and issuer: only the audience differs
    with pytest.raises(jwt.InvalidAudienceError):
        idp.verify(elsewhere.issue("alice", ["applicant"]))
