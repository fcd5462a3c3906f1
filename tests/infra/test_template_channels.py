"""template.yaml: one app client per channel, every one in the JWT authorizer's audience and in the api's
CHANNEL_CLIENTS, none able to write the party attributes (issue 18 item 3)."""

from __future__ import annotations

import re
from typing import Any

from onestop.applications.channels import Channel

from infra.local.template import load_sam_template

CHANNEL_CLIENTS = {
    "web_portal": "UserPoolClient",
    "city_app": "CityAppClient",
    "mini_program": "MiniProgramClient",
    "service_window": "ServiceWindowClient",
}


def _resources() -> dict[str, Any]:
    resources: dict[str, Any] = load_sam_template()["Resources"]
    return resources


def test_every_channel_has_its_own_app_client() -> None:
    resources = _resources()
    clients = {k for k, r in resources.items() if r["Type"] == "AWS::Cognito::UserPoolClient"}
    assert clients == set(CHANNEL_CLIENTS.values())
    assert set(CHANNEL_CLIENTS) == {c.value for c in Channel}
    for logical_id in clients:
        props = resources[logical_id]["Properties"]
        assert props["UserPoolId"] == {"Ref": "UserPool"}
        # Public clients: no secret, authorization code (with PKCE) only, never implicit.
        assert props["GenerateSecret"] is False
        assert props["AllowedOAuthFlows"] == ["code"]
        # CloudFormation's default lets a client write every attribute, custom:uscc included.
        assert "WriteAttributes" in props
        assert not any(a.startswith("custom:") for a in props["WriteAttributes"])


def test_every_client_is_in_the_authorizer_audience() -> None:
    api = _resources()["HttpApi"]["Properties"]
    audience = api["Auth"]["Authorizers"]["CognitoJwt"]["JwtConfiguration"]["audience"]
    assert sorted(a["Ref"] for a in audience) == sorted(CHANNEL_CLIENTS.values())


def test_the_api_maps_every_client_to_its_channel() -> None:
    env = _resources()["ApiFunction"]["Properties"]["Environment"]["Variables"]
    text = env["CHANNEL_CLIENTS"]["Fn::Sub"]
    pairs = dict(re.findall(r"\$\{(\w+)\}=(\w+)", text))
    assert pairs == {client: channel for channel, client in CHANNEL_CLIENTS.items()}


def test_the_clerk_group_exists() -> None:
    groups = {
        r["Properties"]["GroupName"]
        for r in _resources().values()
        if r["Type"] == "AWS::Cognito::UserPoolGroup"
    }
    assert "clerk" in groups
