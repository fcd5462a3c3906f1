"""The local edge (infra/local/edge.py) and the gateway's AWS limits, read from template.yaml.

The rules are the template's own (not copies of its numbers), so a change to the template is a change
here; a fake clock drives the windows and buckets.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from werkzeug.test import Client

from infra.local.edge import (
    MAX_INVOKE_PAYLOAD,
    MAX_REQUEST_BODY,
    Edge,
    RouteThrottles,
    compile_statement,
    rate_rules_from_web_acl,
    security_headers,
    with_sub_variables,
)
from infra.local.gateway import CorsConfig, HttpApiGateway, Route
from infra.local.identity import LocalIdentityProvider
from infra.local.template import Resolver, load_sam_template, parameter_values

SAM = load_sam_template()
RESOLVER = Resolver(parameter_values(SAM, {}, "us-east-1", "123456789012"), SAM.get("Conditions", {}))
WEB_ACL = RESOLVER.resolve(SAM["Resources"]["EdgeWebAcl"]["Properties"])
STAGE = {
    k: v
    for k, v in SAM["Resources"]["HttpApi"]["Properties"].items()
    if k in ("DefaultRouteSettings", "RouteSettings")
}
RULES = {r.name: r for r in rate_rules_from_web_acl(WEB_ACL)}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _edge(clock: Clock) -> Edge:
    return Edge(rate_rules_from_web_acl(WEB_ACL), RouteThrottles.from_stage(STAGE), clock)


def test_the_template_limits_verify_tighter_than_the_api() -> None:
    verify, api = RULES["verify-per-ip"], RULES["api-per-ip"]
    assert verify.limit / verify.window_s < api.limit / api.window_s
    assert verify.in_scope("/verify")
    assert verify.in_scope("/verify/SW-2026-000001")
    assert not verify.in_scope("/items")
    assert api.in_scope("/applications")
    assert api.in_scope("/verify")
    assert not api.in_scope("/web/portal/index.html"), "static pages are not rate-limited by the API rule"


def test_a_burst_over_the_verify_limit_is_429_with_retry_after_and_the_api_error_shape() -> None:
    clock = Clock()
    edge = _edge(clock)
    limit = RULES["verify-per-ip"].limit
    assert all(edge.check_client("198.51.100.7", "/verify") is None for _ in range(limit))
    blocked = edge.check_client("198.51.100.7", "/verify/x")
    assert blocked is not None
    assert blocked.status == 429
    assert blocked.headers["Retry-After"] == str(RULES["verify-per-ip"].window_s)
    body = json.loads(blocked.body)
    assert body["code"] == "rate_limited"
    assert body["message"]["zh"]
    assert body["message"]["en"]
    assert blocked.content_type == "application/json"
    # Another client is not affected, nor is the same client on another path.
    assert edge.check_client("198.51.100.8", "/verify") is None
    assert edge.check_client("198.51.100.7", "/items") is None


def test_the_limit_is_per_window_so_waiting_retry_after_lets_the_client_back_in() -> None:
    clock = Clock()
    edge = _edge(clock)
    rule = RULES["verify-per-ip"]
    for _ in range(rule.limit):
        clock.now += 0.01
        edge.check_client("203.0.113.1", "/verify")
    assert edge.check_client("203.0.113.1", "/verify") is not None
    clock.now += int(rule.answer.headers["Retry-After"])
    assert edge.check_client("203.0.113.1", "/verify") is None


def test_under_the_limit_nothing_is_blocked_however_long_it_goes_on() -> None:
    clock = Clock()
    edge = _edge(clock)
    rule = RULES["verify-per-ip"]
    spacing = rule.window_s / rule.limit * 1.05
    for _ in range(rule.limit * 3):
        clock.now += spacing
        assert edge.check_client("203.0.113.2", "/verify") is None


def test_route_throttles_come_from_the_stage_and_refill() -> None:
    clock = Clock()
    edge = _edge(clock)
    rate, burst = RouteThrottles.from_stage(STAGE).limits_for("POST /verify")  # type: ignore[misc]
    default = RouteThrottles.from_stage(STAGE).limits_for("GET /items")
    assert default is not None
    assert default[1] > burst, "verify is throttled tighter than the default"
    assert all(edge.check_route("POST /verify") is None for _ in range(burst))
    throttled = edge.check_route("POST /verify")
    assert throttled is not None
    assert (throttled.status, json.loads(throttled.body)) == (429, {"message": "Too Many Requests"})
    clock.now += 1 / rate
    assert edge.check_route("POST /verify") is None


def test_statements_the_emulator_does_not_know_stop_it() -> None:
    with pytest.raises(ValueError, match="GeoMatchStatement"):
        compile_statement({"GeoMatchStatement": {"CountryCodes": ["XX"]}})
    rule = {
        "Name": "r",
        "Priority": 0,
        "Statement": {"RateBasedStatement": {"Limit": 10, "AggregateKeyType": "FORWARDED_IP"}},
        "Action": {"Block": {"CustomResponse": {"ResponseCode": 429}}},
    }
    with pytest.raises(ValueError, match="per-IP"):
        rate_rules_from_web_acl({"Rules": [rule]})


def test_page_headers_from_the_template_policy() -> None:
    config = SAM["Resources"]["WebSecurityHeaders"]["Properties"]["ResponseHeadersPolicyConfig"]
    local = with_sub_variables(config, {"StorageOrigin": "http://127.0.0.1:4566", "IdentityOrigin": ""})
    headers = security_headers(RESOLVER.resolve(local))
    csp = headers["Content-Security-Policy"]
    directives = dict(([*d.split(" ", 1), ""])[:2] for d in csp.split("; "))
    assert directives["frame-ancestors"] == "'none'"
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert "unsafe-inline" not in csp
    assert "unsafe-eval" not in csp
    assert directives["connect-src"] == "'self' http://127.0.0.1:4566"
    assert directives["img-src"] == "'self' data: http://127.0.0.1:4566"  # the desk's page previews
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["Strict-Transport-Security"].startswith("max-age=63072000")


# ------------------------------------------------------------------ the gateway with the edge in front

ROUTES = [
    Route("POST", "/verify", "Verify", authorized=False),
    Route("GET", "/items", "Api", authorized=False),
    Route("ANY", "/applications", "Api", authorized=False),
]


@pytest.fixture
def recorded() -> list[dict[str, Any]]:
    return []


@pytest.fixture
def client(recorded: list[dict[str, Any]]) -> Client:
    def invoke(function: str, event: dict[str, Any]) -> Any:
        recorded.append(event)
        # A function that widens CORS on its own (as the resolvers did with allow_origin="*").
        return {
            "statusCode": 200,
            "headers": {"Access-Control-Allow-Origin": "*", "Content-Type": "application/json"},
            "body": "{}",
        }

    idp = LocalIdentityProvider(issuer="http://local/idp", audience="portal")
    cors = CorsConfig(["http://portal.test"], ["authorization", "content-type"], ["GET", "POST"], 600)
    gateway = HttpApiGateway(
        ROUTES, invoke, idp, cors, edge=_edge(Clock()), static_headers={"X-Frame-Options": "DENY"}
    )
    return Client(gateway)


def test_gateway_answers_a_verify_burst_with_429_per_client(client: Client, recorded: list) -> None:
    limit = RULES["verify-per-ip"].limit
    codes = [
        client.post("/verify", data=b"%PDF", environ_base={"REMOTE_ADDR": "192.0.2.1"}).status_code
        for _ in range(limit + 3)
    ]
    # The route throttle (a bucket for all clients) may answer first; either way, over the limit is 429.
    assert 429 in codes
    assert len(recorded) <= limit
    last = client.post("/verify", data=b"%PDF", environ_base={"REMOTE_ADDR": "192.0.2.1"})
    assert last.status_code == 429
    assert "Retry-After" in last.headers


def test_body_over_10_mb_is_413_and_never_invoked(client: Client, recorded: list) -> None:
    response = client.post("/applications", data=b"x" * (MAX_REQUEST_BODY + 1))
    assert response.status_code == 413
    assert response.json == {"message": "Request Entity Too Large"}
    assert recorded == []


def test_invocation_payload_over_6_mb_is_refused_as_lambda_refuses_it(client: Client, recorded: list) -> None:
    # 4.6 MiB of PDF is 6.1 MiB in base64: under API Gateway's 10 MB, over Lambda's payload.
    pdf = b"%PDF" + b"\x00" * (MAX_INVOKE_PAYLOAD * 3 // 4)
    response = client.post(
        "/applications",
        data=pdf,
        headers={"Content-Type": "application/pdf"},
        environ_base={"REMOTE_ADDR": "a"},
    )
    assert response.status_code == 500
    assert response.json == {"message": "Internal Server Error"}
    assert recorded == []
    small = client.post(
        "/applications", data=b"%PDF" + b"\x00" * 1000, headers={"Content-Type": "application/pdf"}
    )
    assert small.status_code == 200


def test_function_cors_headers_do_not_pass_the_gateway(client: Client) -> None:
    stranger = client.get("/items", headers={"Origin": "http://evil.test"})
    assert stranger.status_code == 200
    assert "Access-Control-Allow-Origin" not in stranger.headers
    portal = client.get("/items", headers={"Origin": "http://portal.test"})
    assert portal.headers["Access-Control-Allow-Origin"] == "http://portal.test"


def test_trace_is_405_not_404(client: Client, recorded: list) -> None:
    assert client.open("/applications", method="TRACE").status_code == 405
    assert client.open("/nowhere", method="TRACE").status_code == 405
    assert recorded == []
