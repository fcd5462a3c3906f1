"""Channels over HTTP on the local stack (issue 18 item 3): a token per app client from the stack's
identity provider, one application per channel (the window's by a clerk), /stats per channel exact."""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest
import requests

from infra import samples
from infra.local import LocalStack

from .conftest import Api

pytestmark = pytest.mark.xdist_group("stack")

# No other end-to-end test applies for this item, so its /stats are this module's alone.
ITEM = "outbound-investment-filing"
CHANNELS = ("web_portal", "city_app", "mini_program", "service_window")


def through(
    stack: LocalStack, sub: str, groups: tuple[str, ...], client: str, uscc: tuple[str, ...] = ()
) -> Api:
    """A caller signed in through the app client of `client` (a channel name or a client id)."""
    api = Api(stack)
    token = stack.token(sub, list(groups), sub, uscc=uscc, client=client)
    api.session.headers["Authorization"] = f"Bearer {token}"
    return api


def audience(api: Api) -> str:
    token = str(api.session.headers["Authorization"]).removeprefix("Bearer ")
    return str(jwt.decode(token, options={"verify_signature": False})["aud"])


def create(api: Api) -> dict[str, Any]:
    enterprise = samples.SampleEnterprise()
    reply = api.post(
        "/applications",
        json={
            "item_code": ITEM,
            "applicant": {"kind": "enterprise", "uscc": enterprise.uscc, "name": enterprise.name},
        },
    )
    assert reply.status_code == 201, reply.text
    return dict(reply.json())


def upload_and_submit(api: Api, app_id: str) -> dict[str, Any]:
    enterprise = samples.SampleEnterprise()
    files = {
        "application": ("a.pdf", samples.application_form_pdf("境外投资备案", enterprise), "application/pdf"),
        "business_licence": ("b.png", samples.business_licence_png(enterprise), "image/png"),
    }
    for slot, (name, data, ctype) in files.items():
        ticket = api.post(
            f"/applications/{app_id}/materials/{slot}/uploads",
            json={"filename": name, "content_type": ctype, "size": len(data)},
        )
        assert ticket.status_code == 201, ticket.text
        body = ticket.json()
        posted = requests.post(
            body["url"], data=body["fields"], files={"file": (name, data, ctype)}, timeout=30
        )
        assert posted.status_code in (200, 201, 204), posted.text
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        detail = api.get(f"/applications/{app_id}").json()
        if all(m["status"] not in ("awaiting_upload", "processing") for m in detail["materials"]):
            break
        time.sleep(0.5)
    reply = api.post(f"/applications/{app_id}/submit")
    assert reply.status_code == 200, reply.text
    return dict(reply.json())


def channel_counts(reviewer: Api) -> dict[str, Any]:
    reply = reviewer.get("/stats", params={"item": ITEM})
    assert reply.status_code == 200, reply.text
    return dict(reply.json()["channels"])


def test_each_client_gets_its_own_audience_and_an_unknown_one_no_token(stack: LocalStack) -> None:
    auds = {c: audience(through(stack, "channel-probe", ("applicant",), c)) for c in CHANNELS}
    assert len(set(auds.values())) == 4
    assert auds["service_window"] == stack.outputs["ServiceWindowClientId"]
    assert auds["web_portal"] == stack.outputs["UserPoolClientId"]
    reply = requests.post(
        f"{stack.api_url}/_local/token",
        json={"sub": "x", "groups": ["applicant"], "client": "kiosk"},
        timeout=30,
    )
    assert reply.status_code == 400


def test_one_application_per_channel_and_stats_per_channel_exact(stack: LocalStack, reviewer: Api) -> None:
    enterprise = samples.SampleEnterprise()
    before = channel_counts(reviewer)
    made = {}
    for channel in CHANNELS[:3]:
        api = through(stack, "channel-applicant", ("applicant",), channel, (enterprise.uscc,))
        app = create(api)
        assert app["channel"] == channel
        made[channel] = upload_and_submit(api, app["id"])
    clerk = through(stack, "window-clerk-1", ("clerk",), "service_window")
    window_app = create(clerk)
    assert (window_app["channel"], window_app["clerk"]) == ("service_window", "window-clerk-1")
    made["service_window"] = upload_and_submit(clerk, window_app["id"])
    assert {c: a["status"] for c, a in made.items()} == dict.fromkeys(CHANNELS, "submitted")

    after = channel_counts(reviewer)
    was = {row["channel"]: row["received"] for row in before["by_channel"]}
    now = {row["channel"]: row["received"] for row in after["by_channel"]}
    assert {c: now[c] - was[c] for c in now} == {**dict.fromkeys(CHANNELS, 1), "unrecorded": 0}
    recorded = sum(now[c] for c in CHANNELS)
    online = sum(now[c] for c in CHANNELS[:3])
    assert (after["recorded"], after["online"], after["unrecorded"]) == (recorded, online, now["unrecorded"])
    assert after["online_rate"] == round(online / recorded, 4)
    if before["recorded"] == 0:  # this module's item alone: three online of four
        assert after["online_rate"] == 0.75

    # The applicant follows the window's application online; an applicant token cannot be the window.
    follower = through(stack, "channel-applicant", ("applicant",), "web_portal", (enterprise.uscc,))
    listed = follower.get("/applications/window", params={"party": enterprise.uscc})
    assert listed.status_code == 200, listed.text
    assert window_app["id"] in [a["id"] for a in listed.json()["items"]]
    assert follower.get(f"/applications/{window_app['id']}").json()["channel"] == "service_window"
    impostor = through(stack, "channel-applicant", ("applicant",), "service_window", (enterprise.uscc,))
    refused = impostor.post(
        "/applications",
        json={
            "item_code": ITEM,
            "applicant": {"kind": "enterprise", "uscc": enterprise.uscc, "name": enterprise.name},
        },
    )
    assert refused.status_code == 403
    assert refused.json()["code"] == "clerk_role_required"
