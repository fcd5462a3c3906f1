"""The local API Gateway emulation: route choice, JWT checks, v2 events and responses."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from werkzeug.test import Client

from infra.local.gateway import CorsConfig, HttpApiGateway, Route
from infra.local.identity import LocalIdentityProvider

ROUTES = sorted(
    [
        Route("GET", "/items", "Api", authorized=False),
        Route("GET", "/items/{code}", "Api", authorized=False),
        Route("ANY", "/applications/{proxy+}", "Api", authorized=True),
        Route("POST", "/verify", "Verify", authorized=False),
        Route("GET", "/verify/{licence_id}", "Verify", authorized=False),
    ],
    key=lambda r: r.specificity(),
    reverse=True,
)


@pytest.fixture
def recorded() -> list[tuple[str, dict[str, Any]]]:
    return []


@pytest.fixture
def idp() -> LocalIdentityProvider:
    return LocalIdentityProvider(issuer="http://local/idp", audience="portal")


@pytest.fixture
def client(recorded: list[tuple[str, dict[str, Any]]], idp: LocalIdentityProvider) -> Client:
    def invoke(function: str, event: dict[str, Any]) -> Any:
        recorded.append((function, event))
        if event["rawPath"] == "/items/boom":
            raise RuntimeError("handler crashed")
        if event["rawPath"] == "/items/bare":
            return {"bare": True}
        return {"statusCode": 201, "headers": {"X-Test": "1"}, "body": json.dumps({"ok": True})}

    cors = CorsConfig(["http://portal.test"], ["authorization", "content-type"], ["GET", "POST"], 600)
    return Client(HttpApiGateway(ROUTES, invoke, idp, cors))


def test_public_route_gets_path_parameters(client: Client, recorded: list) -> None:
    response = client.get("/items/SW-001?lang=en&lang=zh")
    assert response.status_code == 201
    assert response.headers["X-Test"] == "1"
    function, event = recorded[0]
    assert function == "Api"
    assert event["routeKey"] == "GET /items/{code}"
    assert event["pathParameters"] == {"code": "SW-001"}
    assert event["queryStringParameters"] == {"lang": "en,zh"}
    assert "authorizer" not in event["requestContext"]


def test_protected_route_without_token_is_401_and_not_invoked(client: Client, recorded: list) -> None:
    assert client.get("/applications/abc").status_code == 401
    assert client.get("/applications/abc", headers={"Authorization": "Bearer nonsense"}).status_code == 401
    assert recorded == []


def test_token_from_another_issuer_is_refused(client: Client, recorded: list) -> None:
    stranger = LocalIdentityProvider(issuer="http://evil/idp", audience="portal")
    token = stranger.issue("mallory", ["reviewer"])
    assert client.get("/applications/x", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert recorded == []


def test_claims_arrive_as_api_gateway_sends_them(client: Client, recorded: list, idp) -> None:
    token = idp.issue("alice", ["applicant", "reviewer"], name="Alice")
    response = client.post(
        "/applications/a1/submit", headers={"Authorization": f"Bearer {token}"}, json={"x": 1}
    )
    assert response.status_code == 201
    _, event = recorded[0]
    claims = event["requestContext"]["authorizer"]["jwt"]["claims"]
    assert claims["sub"] == "alice"
    assert claims["cognito:groups"] == "[applicant reviewer]"
    assert event["pathParameters"] == {"proxy+": "a1/submit"}
    assert json.loads(event["body"]) == {"x": 1}
    assert event["isBase64Encoded"] is False


def test_binary_body_is_base64(client: Client, recorded: list) -> None:
    pdf = b"%PDF-1.7\n\x00\xff binary"
    client.post("/verify", data=pdf, headers={"Content-Type": "application/pdf"})
    _, event = recorded[0]
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == pdf


def test_literal_route_beats_parameter_route() -> None:
    routes = sorted(
        [Route("GET", "/verify/{licence_id}", "V", False), Route("GET", "/verify/help", "H", False)],
        key=lambda r: r.specificity(),
        reverse=True,
    )
    assert next(r.function for r in routes if r.match("GET", "/verify/help") is not None) == "H"


def test_handler_crash_is_500_and_bare_result_is_json(client: Client) -> None:
    assert client.get("/items/boom").status_code == 500
    response = client.get("/items/bare")
    assert response.status_code == 200
    assert response.json == {"bare": True}


def test_unknown_route_is_404(client: Client) -> None:
    assert client.get("/nowhere").status_code == 404


def test_cors_preflight_and_allow_origin(client: Client) -> None:
    preflight = client.options(
        "/items", headers={"Origin": "http://portal.test", "Access-Control-Request-Method": "GET"}
    )
    assert preflight.status_code == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == "http://portal.test"
    assert "authorization" in preflight.headers["Access-Control-Allow-Headers"]
    other = client.get("/items", headers={"Origin": "http://evil.test"})
    assert "Access-Control-Allow-Origin" not in other.headers


def test_token_endpoint_issues_verifiable_tokens(client: Client, idp: LocalIdentityProvider) -> None:
    response = client.post("/_local/token", json={"sub": "bob", "groups": ["reviewer"]})
    assert response.status_code == 200
    claims = idp.verify(response.json["id_token"])
    assert claims["sub"] == "bob"
    assert claims["cognito:groups"] == ["reviewer"]
    assert client.post("/_local/token", json={}).status_code == 400


def test_token_endpoint_carries_the_parties_the_federation_vouches_for(
    client: Client, idp: LocalIdentityProvider
) -> None:
    body = {
        "sub": "zhao",
        "groups": ["applicant"],
        "uscc": ["91440300ma5fq1p38n"],
        "id_number": "440305198503071234",
    }
    claims = idp.verify(client.post("/_local/token", json=body).json["id_token"])
    assert claims["custom:uscc"] == "91440300MA5FQ1P38N"  # one string, as Cognito keeps the attribute
    assert claims["custom:id_number"] == "440305198503071234"
    bare = idp.verify(
        client.post("/_local/token", json={"sub": "li", "groups": ["reviewer"]}).json["id_token"]
    )
    assert "custom:uscc" not in bare
    assert "custom:id_number" not in bare
    for wrong in ({"uscc": {"a": 1}}, {"id_number": 440305}):
        assert client.post("/_local/token", json={"sub": "x", "groups": [], **wrong}).status_code == 400
