"""Issue 13 item 8/9, an honest contract: `/openapi.json` names every route the HTTP API serves (the
verify function's too), and every answer a client can get on an operation, the gateway's own
included, is declared there with a schema the body matches.

The document is read from the api handler as a client reads it; bodies are checked with jsonschema
against the document's own schemas.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from infra.local.template import load_sam_template
from tests.integration.api_helpers import USCC_A, Aws, Client, enterprise_body, moto_aws, new_application

GATEWAY_401 = {"message": "Unauthorized"}  # the JWT authorizer's (infra/local/gateway.py, AWS)
GATEWAY_403 = {"message": "Forbidden"}
GATEWAY_413 = {"message": "Request Entity Too Large"}
GATEWAY_429 = {"message": "Too Many Requests"}  # a route throttle's
WAF_429 = {  # the template's WAF custom response body (rate-limited)
    "code": "rate_limited",
    "message": {"zh": "请求过于频繁，请稍后再试。", "en": "Too many requests; wait, then try again."},
    "details": [],
}


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    monkeypatch.setenv("QUOTA_UPLOAD_TICKETS_PER_SLOT_PER_DAY", "1")
    with moto_aws(monkeypatch) as stack:
        yield stack


@pytest.fixture
def document(aws: Aws) -> dict[str, Any]:
    reply = Client(None).get("/openapi.json")
    assert reply.status == 200
    return dict(reply.body)


def _conforms(document: dict[str, Any], method: str, path: str, status: int, body: Any) -> list[str]:
    """Why `body` is not an answer `method path` declares for `status` (empty: it is)."""
    operation = document["paths"][path][method.lower()]
    response = operation["responses"].get(str(status))
    if response is None:
        return [f"{status} is not declared on {method} {path}"]
    schema = response["content"]["application/json"]["schema"]
    validator = Draft202012Validator({**schema, "components": document["components"]})
    return [e.message for e in validator.iter_errors(body)]


def _template_routes() -> set[tuple[str, str]]:
    sam = load_sam_template()
    out = set()
    for resource in sam["Resources"].values():
        for event in (resource.get("Properties", {}).get("Events") or {}).values():
            if event.get("Type") == "HttpApi":
                out.add((event["Properties"]["Method"].lower(), event["Properties"]["Path"]))
    return out


# ----------------------------------------------------------------------------- every route


def test_every_route_the_http_api_serves_is_in_the_document(document: dict[str, Any]) -> None:
    documented = {(m, p) for p, item in document["paths"].items() for m in item}
    for method, path in _template_routes():
        if path in {"/openapi.json", "/docs"}:
            continue  # the document itself and its viewer
        if path.endswith("{proxy+}") or method == "any":
            prefix = path.removesuffix("{proxy+}")
            assert any(p.startswith(prefix) for _, p in documented), (method, path)
        else:
            assert (method, path) in documented, (method, path)
    for route in [("post", "/verify"), ("get", "/verify/{licence_id}"), ("get", "/trust")]:
        assert route in documented


def test_every_route_of_both_resolvers_is_in_the_document(document: dict[str, Any]) -> None:
    import re

    from onestop.http.resolver import build_api
    from onestop.http.verify_api import build_verify_api

    documented = {(m, p) for p, item in document["paths"].items() for m in item}
    api = build_api()
    api.load_all_routes()  # the function loads them on demand (onestop.http.route_table)
    for app in (api, build_verify_api(lambda: None)):  # type: ignore[arg-type,return-value]
        for route in [*app._static_routes, *app._dynamic_routes]:
            if not route.include_in_schema or route.path in {"/openapi.json", "/docs"}:
                continue
            path = re.sub(r"<(\w+)>", r"{\1}", route.path)
            assert (route.method.lower(), path) in documented, (route.method, path)


# ----------------------------------------------------------------------------- the gateway's answers


def test_the_gateways_401_matches_the_declared_schema(document: dict[str, Any]) -> None:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if operation.get("security"):
                assert _conforms(document, method, path, 401, GATEWAY_401) == [], (method, path)
                assert _conforms(document, method, path, 403, GATEWAY_403) == [], (method, path)


def test_the_functions_own_401_still_matches(aws: Aws, document: dict[str, Any]) -> None:
    reply = Client(None).get("/applications")
    assert reply.status == 401
    assert _conforms(document, "GET", "/applications", 401, reply.body) == []


def test_body_limits_and_rate_limits_are_declared_where_they_can_occur(document: dict[str, Any]) -> None:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            for body in (GATEWAY_429, WAF_429):
                assert _conforms(document, method, path, 429, body) == [], (method, path)
            assert "Retry-After" in operation["responses"]["429"]["headers"]
            if "requestBody" in operation:
                assert _conforms(document, method, path, 413, GATEWAY_413) == [], (method, path)


def test_a_party_refusal_403_is_declared(aws: Aws, document: dict[str, Any]) -> None:
    stranger = Client("stranger-sub", uscc=(), id_number=None)  # bound to no party
    reply = stranger.post("/applications", body=enterprise_body())
    assert reply.status == 403, reply.body
    assert _conforms(document, "POST", "/applications", 403, reply.body) == []


def test_quota_answers_are_declared(aws: Aws, document: dict[str, Any]) -> None:
    alice = Client("alice-sub")
    assert alice.claims is not None
    alice.claims["custom:uscc"] = USCC_A
    app = new_application(alice)
    path = "/applications/{application_id}/materials/{slot}/uploads"
    body = {"filename": "a.pdf", "content_type": "application/pdf", "size": 1000}
    url = f"/applications/{app['id']}/materials/application/uploads"
    first = alice.post(url, body=body)
    assert first.status == 201
    alice.delete(f"{url}/{first.body['upload_id']}")
    refused = alice.post(url, body=body)
    assert refused.status == 429, refused.body
    assert _conforms(document, "POST", path, 429, refused.body) == []
    # Open drafts: a 409 on create, declared.
    assert "409" in document["paths"]["/applications"]["post"]["responses"]


def test_the_verify_routes_reports_are_declared(document: dict[str, Any]) -> None:
    from onestop.http.contract import NumberReport, PdfReport

    post = document["paths"]["/verify"]["post"]
    assert set(post["requestBody"]["content"]) == {
        "application/pdf",
        "application/octet-stream",
        "image/jpeg",
        "image/png",
        "image/webp",
    }
    from onestop.http.contract import PhotoReport

    photo = document["components"]["schemas"]["PhotoReport"]
    assert set(PhotoReport.model_fields) <= set(photo["properties"])
    assert {"200", "413", "415", "422", "429"} <= set(post["responses"])
    assert set(PdfReport.model_fields) <= set(document["components"]["schemas"]["PdfReport"]["properties"])
    assert set(NumberReport.model_fields) <= set(
        document["components"]["schemas"]["NumberReport"]["properties"]
    )
    assert "302" in document["paths"]["/verify/{licence_id}"]["get"]["responses"]


def test_operations_are_linked_for_stateful_clients(document: dict[str, Any]) -> None:
    created = document["paths"]["/applications"]["post"]["responses"]["201"]["links"]
    operation_ids = {op["operationId"] for item in document["paths"].values() for op in item.values()}
    assert {link["operationId"] for link in created.values()} <= operation_ids
    assert created["GetApplication"]["parameters"] == {"application_id": "$response.body#/id"}
    ticket = document["paths"]["/applications/{application_id}/materials/{slot}/uploads"]["post"]
    assert ticket["responses"]["201"]["links"]["RemoveUpload"]["parameters"]["upload_id"] == (
        "$response.body#/upload_id"
    )


def test_the_document_is_valid_openapi(document: dict[str, Any]) -> None:
    from openapi_spec_validator import validate

    validate(json.loads(json.dumps(document)))


def test_the_gateways_405_names_the_methods_it_routes() -> None:
    # RFC 9110: a 405 carries Allow. schemathesis' unsupported-method check sent TRACE over HTTP and
    # got the local gateway's 405 without it.
    from werkzeug.test import Client as WsgiClient

    from infra.local.gateway import HttpApiGateway, Route
    from infra.local.identity import LocalIdentityProvider

    routes = [
        Route("GET", "/items", "Api", authorized=False),
        Route("POST", "/verify", "Verify", authorized=False),
        Route("GET", "/verify/{licence_id}", "Verify", authorized=False),
        Route("ANY", "/applications/{proxy+}", "Api", authorized=True),
    ]
    gateway = HttpApiGateway(routes, lambda *_: None, LocalIdentityProvider("http://idp", "portal"), None)
    client = WsgiClient(gateway)
    assert client.open("/items", method="TRACE").headers["Allow"] == "GET"
    assert client.open("/verify/x", method="TRACE").headers["Allow"] == "GET"
    allowed = client.open("/applications/abc", method="TRACE").headers["Allow"]
    assert allowed == "DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT"
    assert client.open("/nowhere", method="TRACE").headers["Allow"] == ""


def test_the_gateways_404_is_declared_where_a_path_takes_values(document: dict[str, Any]) -> None:
    # schemathesis over HTTP: a line break in an application id matched no route of the gateway.
    for path, item in document["paths"].items():
        for method in item:
            if "{" in path:
                assert _conforms(document, method, path, 404, {"message": "Not Found"}) == [], (method, path)
