"""schemathesis against the OpenAPI document the api function serves, driving the real Lambda handlers.

schemathesis cannot call a Lambda handler, so a small WSGI adapter plays API Gateway (HTTP API,
payload 2.0): it turns each request into the event API Gateway would send, with the JWT
authorizer's claims for `Authorization: Bearer test:<sub>:<group,group>`, hands it to the function
the template routes the path to (the verify function for /verify and /trust, with a test PKI; the api
function for the rest), and turns the result back into an HTTP response. Every check runs (the
response's status, content type, headers and body against the document), statelessly per operation
and statefully along the document's links (create → read → upload ticket → remove …). The e2e suite
runs schemathesis over real HTTP on the local stack.
"""

from __future__ import annotations

import base64
import re
import uuid
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from functools import cache
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, quote

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from .api_helpers import Aws, Client, LambdaContext, claims, enterprise_body, moto_aws, new_application


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    with moto_aws(monkeypatch) as stack:
        yield stack


_TEXT_TYPES = ("application/json", "text/", "application/x-www-form-urlencoded")


def _claims_from_header(value: str) -> dict[str, str] | None:
    # Stands in for the authorizer's verification: "Bearer test:<sub>:<groups>".
    if not value.startswith("Bearer test:"):
        return None
    _, sub, groups = [*value[len("Bearer ") :].split(":", 2), ""][:3]
    return claims(sub, tuple(g for g in groups.split(",") if g)) if sub else None


# template.yaml: VerifyFunction's events
_VERIFY_ROUTES = re.compile(r"^/(?:verify(?:/[^/]+)?|trust|status-lists/[^/]+)$")


@cache
def verify_function() -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    """The verify function's resolver with a test PKI and a registry that knows one licence."""
    from onestop.http.verify_api import VerifyDependencies, build_verify_api

    from tests.unit import test_verification_support as S

    licence = S.make_licence(S.make_pki())
    app = build_verify_api(
        VerifyDependencies(trust=lambda: licence.anchors, registry_lookup=S.registry(S.record_for(licence)))
    )
    return app.resolve


def api_gateway(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """WSGI → HTTP API payload 2.0 event → the route's function → WSGI response."""
    from functions.api.app import lambda_handler

    raw_uri = environ.get("RAW_URI") or environ.get("REQUEST_URI") or quote(environ.get("PATH_INFO", ""))
    path = raw_uri.split("?", 1)[0]
    query_string = environ.get("QUERY_STRING", "")
    headers = {k[5:].replace("_", "-").lower(): str(v) for k, v in environ.items() if k.startswith("HTTP_")}
    if environ.get("CONTENT_TYPE"):
        headers["content-type"] = environ["CONTENT_TYPE"]
    length = int(environ.get("CONTENT_LENGTH") or 0)
    raw = environ["wsgi.input"].read(length) if length else b""
    is_text = not raw or headers.get("content-type", "").startswith(_TEXT_TYPES)
    now = datetime.now(UTC)
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query_string,
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "schemathesis",
            "domainName": "localhost",
            "http": {
                "method": environ["REQUEST_METHOD"],
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": headers.get("user-agent", ""),
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": "$default",
            "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now.timestamp() * 1000),
        },
        "isBase64Encoded": not is_text,
    }
    if query_string:
        parsed = parse_qs(query_string, keep_blank_values=True)
        # API Gateway joins repeated parameters with commas
        event["queryStringParameters"] = {k: ",".join(v) for k, v in parsed.items()}
    if raw:
        event["body"] = raw.decode("utf-8", errors="replace") if is_text else base64.b64encode(raw).decode()
    found = _claims_from_header(headers.get("authorization", ""))
    if found is not None:
        event["requestContext"]["authorizer"] = {"jwt": {"claims": found, "scopes": None}}

    handler = verify_function() if _VERIFY_ROUTES.match(path) else lambda_handler
    result = handler(event, LambdaContext())
    status = int(result["statusCode"])
    body = result.get("body") or ""
    payload = base64.b64decode(body) if result.get("isBase64Encoded") else body.encode()
    out_headers = [(k, str(v)) for k, v in (result.get("headers") or {}).items()]
    out_headers += [("Set-Cookie", c) for c in result.get("cookies") or []]
    start_response(f"{status} {HTTPStatus(status).phrase}", out_headers)
    return [payload]


schema = schemathesis.openapi.from_wsgi("/openapi.json", api_gateway)

# One application exists; generated cases that name an application are pointed at it, so bodies are
# fuzzed against real state rather than only against 404s.
_state: dict[str, str] = {}


@pytest.fixture
def live_application(aws: Aws) -> Iterator[str]:
    app = new_application(Client("fuzzer"))
    _state["application_id"] = app["id"]
    yield app["id"]
    _state.clear()


@pytest.mark.slow
@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)
def test_no_server_errors_and_responses_match_the_schema(
    case: schemathesis.Case, live_application: str
) -> None:
    params = case.path_parameters or {}
    # Only well-formed ids are replaced: malformed ones are schemathesis' negative cases.
    if re.fullmatch(r"[0-9a-f]{32}", str(params.get("application_id", ""))):
        params["application_id"] = live_application
    case.call_and_validate(
        headers={"Authorization": "Bearer test:fuzzer:applicant,reviewer"},
        # Schema-valid input can still break a rule the schema cannot express (a USCC check digit,
        # an opaque cursor), which is a 422 by design, so "positive data acceptance" does not apply.
        excluded_checks=[positive_data_acceptance],
    )


class _ApiWorkflow(schema.as_state_machine()):  # type: ignore[misc]
    """Sequences of calls along the document's links, each response checked against the document."""

    def before_call(self, case: schemathesis.Case) -> None:
        # The producers get a body that passes the rules the schema cannot express (a USCC's checks,
        # an item that exists, a slot of it), so that the sequences go on along the links; their
        # bodies are fuzzed by the stateless test above. A negative case keeps what it was generated
        # with: rewritten into valid input, it would be accepted and fail the negative-data check.
        meta = case.meta
        if meta is not None and any(c.mode.is_negative for c in meta.components.values()):
            return
        if case.method == "POST" and case.path == "/applications":
            case.body = enterprise_body()
        elif case.method == "POST" and case.path.endswith("/materials/{slot}/uploads"):
            case.path_parameters = {**(case.path_parameters or {}), "slot": "application"}
            case.body = {"filename": "a.pdf", "content_type": "application/pdf", "size": 1000}

    def get_call_kwargs(self, case: schemathesis.Case) -> dict[str, Any]:
        return {"headers": {"Authorization": "Bearer test:fuzzer:applicant,reviewer"}}

    def validate_response(self, response: Any, case: schemathesis.Case, *args: Any, **kwargs: Any) -> None:
        # As above: a schema-valid body can still break a rule the schema cannot express.
        # The headers are passed on, so that the auth checks know the token was given, not generated.
        case.validate_response(
            response,
            excluded_checks=[positive_data_acceptance],
            headers=kwargs.get("headers"),
            transport_kwargs=kwargs or None,
        )


@pytest.mark.slow
def test_stateful_sequences_along_the_links_match_the_schema(aws: Aws) -> None:
    _ApiWorkflow.run(
        settings=settings(
            max_examples=15,
            stateful_step_count=6,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        )
    )
