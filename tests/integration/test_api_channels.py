"""Channels through the api handler (issue 18 item 3): the channel comes from the token's app client,
the service window's clerk applies on the applicant's behalf, and /stats measures the online rate."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from onestop.applications.models import Application
from onestop.aws.composition import application_service

from .api_helpers import (
    USCC_A,
    USCC_B,
    Aws,
    Client,
    catalogued,
    enterprise_body,
    moto_aws,
    new_application,
)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    with moto_aws(monkeypatch) as stack:
        yield stack


# The same applicant account through each online channel's client (bound to USCC_A, USCC_B, ID_PERSON).
web = Client("alice-sub")
city = Client("alice-sub", client="city_app")
mini = Client("alice-sub", client="mini_program")
# Alice's token from the service window's client: an applicant may not claim the window.
alice_at_window = Client("alice-sub", client="service_window")
# Clerks sign in at the window's terminal; they are bound to no party.
clerk = Client("clerk-wang", ("clerk",), client="service_window")
clerk_on_portal = Client("clerk-wang", ("clerk",))
other_clerk = Client("clerk-li", ("clerk",), client="service_window")
# Someone bound only to USCC_B, not to the window application's enterprise.
bob = Client("bob-sub", uscc=(USCC_B,), id_number=None)
reviewer = Client("rev-sub", ("reviewer",))
unknown = Client("alice-sub", client="some-other-client")


def complete(aws: Aws, client: Client, application_id: str) -> None:
    catalogued(aws, client, application_id, "application", "application_form")
    catalogued(aws, client, application_id, "business_licence", "business_licence", {"uscc": USCC_A})


def submitted(aws: Aws, client: Client) -> dict[str, Any]:
    app = new_application(client)
    complete(aws, client, app["id"])
    reply = client.post(f"/applications/{app['id']}/submit")
    assert reply.status == 200, reply.body
    return dict(reply.body)


def stored(aws: Aws, application_id: str) -> dict[str, Any]:
    return dict(aws.table.get_item(Key={"PK": f"APP#{application_id}", "SK": "META"})["Item"])


def assert_bilingual(body: dict[str, Any], code: str) -> None:
    assert body["code"] == code, body
    assert body["message"]["zh"]
    assert body["message"]["en"]
    assert body["message"]["zh"] != body["message"]["en"]


@pytest.mark.parametrize(
    ("client", "channel", "zh"),
    [
        (web, "web_portal", "网上办事大厅"),
        (city, "city_app", "城市 App"),
        (mini, "mini_program", "微信小程序"),
    ],
)
def test_an_online_application_records_the_channel_of_its_client(
    aws: Aws, client: Client, channel: str, zh: str
) -> None:
    app = new_application(client)
    assert (app["channel"], app["channel_name"]["zh"], app["clerk"]) == (channel, zh, None)
    assert stored(aws, app["id"])["channel"] == channel
    detail = client.get(f"/applications/{app['id']}").body
    assert (detail["channel"], detail["channel_name"]["en"]) == (channel, detail["channel_name"]["en"])


def test_a_token_of_an_unknown_client_is_refused_on_every_route(aws: Aws) -> None:
    reply = unknown.post("/applications", body=enterprise_body())
    assert reply.status == 403
    assert_bilingual(reply.body, "unknown_client")
    assert "some-other-client" in reply.body["message"]["en"]
    listing = unknown.get("/applications")
    assert listing.status == 403
    assert_bilingual(listing.body, "unknown_client")
    assert aws.table.scan()["Count"] == 0


def test_the_channel_cannot_be_claimed_in_the_body(aws: Aws) -> None:
    reply = web.post("/applications", body={**enterprise_body(), "channel": "service_window"})
    assert reply.status == 422
    assert aws.table.scan()["Count"] == 0


def test_an_applicant_token_cannot_claim_the_service_window(aws: Aws) -> None:
    reply = alice_at_window.post("/applications", body=enterprise_body())
    assert reply.status == 403
    assert_bilingual(reply.body, "clerk_role_required")
    assert aws.table.scan()["Count"] == 0


def test_a_clerk_applies_only_through_the_window_client(aws: Aws) -> None:
    reply = clerk_on_portal.post("/applications", body=enterprise_body())
    assert reply.status == 403
    assert_bilingual(reply.body, "applicant_role_required")


def test_the_window_applies_for_the_applicant_and_the_applicant_follows_online(aws: Aws) -> None:
    app = new_application(clerk)  # the clerk is bound to no party: the window checked the papers
    assert (app["channel"], app["clerk"], app["applicant"]["code"]) == (
        "service_window",
        "clerk-wang",
        USCC_A,
    )
    item = stored(aws, app["id"])
    assert (item["owner_sub"], item["clerk"], item["GSI2PK"]) == (
        "clerk-wang",
        "clerk-wang",
        f"WINDOW#enterprise#{USCC_A}",
    )
    complete(aws, clerk, app["id"])
    reply = clerk.post(f"/applications/{app['id']}/submit")
    assert reply.status == 200, reply.body
    trail = clerk.get(f"/applications/{app['id']}").body["audit_trail"]
    assert [(e["action"], e["actor"], e["actor_role"]) for e in trail] == [
        ("create", "clerk-wang", "clerk"),
        ("submit", "clerk-wang", "clerk"),
    ]
    # The applicant's bound account reads it and finds it by party, but acts through the window.
    detail = web.get(f"/applications/{app['id']}")
    assert detail.status == 200
    assert (detail.body["status"], detail.body["channel"], detail.body["allowed_actions"]) == (
        "submitted",
        "service_window",
        [],
    )
    listed = web.get("/applications/window", query={"party": USCC_A})
    assert listed.status == 200
    assert [a["id"] for a in listed.body["items"]] == [app["id"]]
    assert web.get("/applications/window", query={"party": USCC_B}).body["items"] == []
    withdraw = web.post(f"/applications/{app['id']}/withdraw")
    assert withdraw.status == 403
    assert_bilingual(withdraw.body, "owner_only")
    # The applicant's own list is what they opened; the window's application is not theirs to manage.
    assert [a["id"] for a in web.get("/applications").body["items"]] == []


def test_no_one_else_reads_a_window_application(aws: Aws) -> None:
    app = new_application(clerk)
    for outsider in (bob, other_clerk):
        reply = outsider.get(f"/applications/{app['id']}")
        assert reply.status == 404
        assert_bilingual(reply.body, "application_not_found")
    refused = bob.get("/applications/window", query={"party": USCC_A})
    assert refused.status == 403
    assert_bilingual(refused.body, "party_not_bound")
    assert other_clerk.post(f"/applications/{app['id']}/withdraw").status == 404


def test_a_clerk_reads_no_application_unrelated_to_the_window(aws: Aws) -> None:
    online = new_application(web)
    reply = clerk.get(f"/applications/{online['id']}")
    assert reply.status == 404
    assert clerk.post(f"/applications/{online['id']}/withdraw").status == 404
    assert clerk.get("/applications/window", query={"party": USCC_A}).status == 403
    assert clerk.get("/review/queue").status == 403


def test_the_clerk_handles_a_window_application_only_through_the_window_client(aws: Aws) -> None:
    app = new_application(clerk)
    reply = clerk_on_portal.post(f"/applications/{app['id']}/withdraw")
    assert reply.status == 403
    assert_bilingual(reply.body, "window_client_required")
    assert clerk.post(f"/applications/{app['id']}/withdraw").status == 200


def test_the_channel_of_an_existing_application_cannot_be_changed(aws: Aws) -> None:
    app = new_application(city)
    complete(aws, city, app["id"])
    reply = web.post(f"/applications/{app['id']}/submit")  # carried on in another channel
    assert reply.status == 200, reply.body
    assert reply.body["channel"] == "city_app"
    assert stored(aws, app["id"])["channel"] == "city_app"
    # Nothing below the API can move it either: a transition that changes it is refused.
    repository = application_service().repository
    before = repository.get(app["id"])
    assert isinstance(before, Application)
    after = before.model_copy(update={"channel": "service_window", "version": before.version + 1})
    events = repository.list_events(app["id"])  # type: ignore[attr-defined]  # the DynamoDB adapter's
    with pytest.raises(ValueError, match="fixed"):
        repository.transition(before, after, events[-1])
    assert stored(aws, app["id"])["channel"] == "city_app"


def test_stats_report_the_measured_online_rate_per_channel(aws: Aws) -> None:
    for client in (web, web, city, mini, clerk):
        submitted(aws, client)
    legacy = new_application(web)
    # An application from before channels were recorded: no channel attribute at all.
    aws.table.update_item(Key={"PK": f"APP#{legacy['id']}", "SK": "META"}, UpdateExpression="REMOVE channel")
    complete(aws, web, legacy["id"])
    assert web.post(f"/applications/{legacy['id']}/submit").status == 200
    assert "channel" not in stored(aws, legacy["id"])
    new_application(city)  # a draft: not received, not counted
    reply = reviewer.get("/stats")
    assert reply.status == 200, reply.body
    channels = reply.body["channels"]
    counts = {row["channel"]: row["received"] for row in channels["by_channel"]}
    assert counts == {
        "web_portal": 2,
        "city_app": 1,
        "mini_program": 1,
        "service_window": 1,
        "unrecorded": 1,
    }
    assert (channels["received"], channels["recorded"], channels["online"], channels["unrecorded"]) == (
        6,
        5,
        4,
        1,
    )
    assert channels["online_rate"] == 0.8
    shares = {row["channel"]: row["share"] for row in channels["by_channel"]}
    assert shares == {
        "web_portal": 0.4,
        "city_app": 0.2,
        "mini_program": 0.2,
        "service_window": 0.2,
        "unrecorded": None,
    }
    # The catalogue's promise is still there, beside the measurement: every item here is online.
    assert reply.body["totals"]["received"] == 6
    assert reply.body["totals"]["online_share"] == 1.0


def test_an_anonymous_caller_is_asked_to_sign_in_before_any_channel_check(aws: Aws) -> None:
    reply = Client(None).post("/applications", body=enterprise_body())
    assert reply.status == 401
    assert_bilingual(reply.body, "authentication_required")


def test_the_applicant_rates_a_window_application_and_the_clerk_does_not(aws: Aws) -> None:
    app = new_application(clerk)
    assert clerk.post(f"/applications/{app['id']}/withdraw").status == 200  # finished: may be rated
    good = {
        "overall_satisfaction": 5,
        "efficiency": 5,
        "guidance_accuracy": 5,
        "convenience": 5,
        "platform_usability": 5,
    }
    body = {"level": "very_satisfied", "indicators": good}
    refused = clerk.post(f"/applications/{app['id']}/review", body=body)
    assert refused.status == 403
    assert_bilingual(refused.body, "applicant_only")
    assert bob.post(f"/applications/{app['id']}/review", body=body).status == 404
    rated = web.post(f"/applications/{app['id']}/review", body=body)
    assert rated.status == 201, rated.body
    assert web.get(f"/applications/{app['id']}/review").status == 200
