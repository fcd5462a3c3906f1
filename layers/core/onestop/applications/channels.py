"""Channels: where an application was made, learnt from WHO CALLS, never from what a request says.

The bureau takes applications through the web portal, the city's app, a WeChat mini program and the
service-centre window. Each is its own app client in the identity provider (template.yaml: one
`AWS::Cognito::UserPoolClient` per channel, all in the HttpApi JWT authorizer's audience), and the
token names its client: an ID token in `aud`, an access token in `client_id`. The api function maps
the client to the channel with the `CHANNEL_CLIENTS` setting, which template.yaml builds from the
clients' ids (`<client id>=<channel>,…`), so the mapping cannot drift from the clients that exist.
An applicant's app could put anything in a request body; it cannot choose the client its token was
issued to, so the service-window channel is open only to tokens of the window's client (and, there,
only to clerks: `onestop.applications.window`).

A token from a client the mapping does not know (a client added to the pool but not to the api, or a
forged audience that slipped past a misconfigured authorizer) is refused with 403 `unknown_client`.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from onestop.errors import Forbidden


class Channel(StrEnum):
    """Where an application was made."""

    WEB_PORTAL = "web_portal"
    CITY_APP = "city_app"
    MINI_PROGRAM = "mini_program"
    SERVICE_WINDOW = "service_window"


# Every channel but the window is online (网上办理): the measured online rate counts these.
ONLINE_CHANNELS = frozenset({Channel.WEB_PORTAL, Channel.CITY_APP, Channel.MINI_PROGRAM})
# Applications made before channels were recorded (channel None): reported apart, never guessed.
UNRECORDED = "unrecorded"

CHANNEL_NAMES: Mapping[str, tuple[str, str]] = {
    Channel.WEB_PORTAL: ("网上办事大厅", "Web portal"),
    Channel.CITY_APP: ("城市 App", "City app"),
    Channel.MINI_PROGRAM: ("微信小程序", "Mini program"),
    Channel.SERVICE_WINDOW: ("服务窗口", "Service window"),
    UNRECORDED: ("未记录（渠道启用前）", "Unrecorded (before channels)"),
}

ChannelClients = Mapping[str, Channel]


def parse_clients(text: str | None) -> dict[str, Channel]:
    """The `CHANNEL_CLIENTS` setting ("<client id>=<channel>,…") as client id → channel.

    Raises ValueError on a malformed pair or an unknown channel: a deployment error, never a silent
    default (a client left out of the mapping is refused, not taken for the web portal)."""
    out: dict[str, Channel] = {}
    for pair in (text or "").split(","):
        pair = pair.strip()
        if not pair:
            continue
        client_id, sep, channel = pair.partition("=")
        client_id, channel = client_id.strip(), channel.strip()
        if not sep or not client_id or not channel:
            raise ValueError(f"CHANNEL_CLIENTS: '{pair}' is not <client id>=<channel>")
        try:
            out[client_id] = Channel(channel)
        except ValueError:
            known = ", ".join(c.value for c in Channel)
            raise ValueError(f"CHANNEL_CLIENTS: unknown channel '{channel}' (known: {known})") from None
    return out


def client_of(claims: Mapping[str, Any] | None) -> str | None:
    """The app client a verified token was issued to: `client_id` of an access token, `aud` of an ID
    token (Cognito's ID tokens have a single audience; API Gateway passes it as a string)."""
    if not claims:
        return None
    use = str(claims.get("token_use") or "")
    value: Any = claims.get("client_id") if use == "access" else claims.get("aud")
    if value is None and not use:
        value = claims.get("client_id")  # a token that does not say what it is: Cognito's access shape
    if isinstance(value, list | tuple):
        value = value[0] if len(value) == 1 else None  # several audiences: no single client to trust
    text = str(value).strip() if value is not None else ""
    return text or None


def channel_of(claims: Mapping[str, Any] | None, clients: ChannelClients) -> Channel | None:
    """The channel of the token's client, or None when the client is unknown."""
    client = client_of(claims)
    return clients.get(client) if client is not None else None


def unknown_client(client_id: str | None) -> Forbidden:
    """403 for a token whose app client is not one of the bureau's channels."""
    shown = client_id or "-"
    return Forbidden(
        "unknown_client",
        f"该登录令牌来自未登记的应用客户端（{shown}），不属于本局任何办理渠道（网上办事大厅、城市 App、"
        "微信小程序、服务窗口），请通过正式渠道登录后再操作。",
        f"The sign-in token comes from an app client that is not registered ({shown}) and belongs to "
        "none of the bureau's channels (web portal, city app, mini program, service window); sign in "
        "through one of them.",
    )
