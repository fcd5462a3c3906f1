"""API Gateway HTTP API (payload v2) emulation, with routes, JWT auth and CORS from template.yaml.

In front of it, what CloudFront and WAF do in AWS (edge.py): per-client rate limits, route throttles,
the pages' security headers, and API Gateway's body and invocation payload limits.

Also serves the local identity provider (identity.py, the stand-in for Cognito): `POST /_local/token`
issues an RS256 JWT with Cognito-style claims; protected routes verify it exactly as the HttpApi JWT
authorizer does (signature, issuer, audience, expiry) and hand the claims to the function in
`requestContext.authorizer.jwt.claims`.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

import jwt
from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.wrappers import Request, Response

from .edge import MAX_INVOKE_PAYLOAD, MAX_REQUEST_BODY, Blocked, Edge
from .http_server import KeepAliveRequestHandler
from .identity import LocalIdentityProvider
from .runtime import TooManyRequests

log = logging.getLogger("infra.local")

_TEXT_TYPES = ("application/json", "text/", "application/xml", "application/x-www-form-urlencoded")
# The methods an HTTP API route can have (ANY stands for these); others never reach a route.
_ROUTE_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Verified tokens remembered (their claims, until they expire); the oldest goes first when full.
_CLAIMS_CACHE_SIZE = 4096


@dataclass(frozen=True)
class Route:
    """One HttpApi route: method (or ANY), path template, target function, whether it needs a JWT."""

    method: str
    path: str
    function: str
    authorized: bool

    @property
    def route_key(self) -> str:
        return f"{self.method} {self.path}"

    @cached_property
    def _pattern(self) -> tuple[re.Pattern[str], tuple[tuple[str, str], ...]]:
        """The path template as a regular expression, and (parameter name, group) pairs; built once
        per route rather than on every request it is tried against."""
        pattern = ""
        for part in re.split(r"(\{[^}]+\})", self.path):
            if part.startswith("{") and part.endswith("+}"):
                pattern += f"(?P<{_group(part[1:-2])}>.+)"
            elif part.startswith("{"):
                pattern += f"(?P<{_group(part[1:-1])}>[^/]+)"
            else:
                pattern += re.escape(part)
        names = re.findall(r"\{([^}+]+)\+?\}", self.path)
        params = tuple((name + ("+" if f"{{{name}+}}" in self.path else ""), _group(name)) for name in names)
        return re.compile(pattern), params

    def match(self, method: str, path: str) -> dict[str, str] | None:
        if self.method not in ("ANY", method):
            return None
        compiled, params = self._pattern
        found = compiled.fullmatch(path)
        if not found:
            return None
        return {name: found.group(group) for name, group in params}

    def specificity(self) -> tuple[int, int, int]:
        """API Gateway prefers literal segments, then parameters, then greedy paths; exact method over ANY."""
        segments = self.path.strip("/").split("/")
        greedy = any(s.endswith("+}") for s in segments)
        literals = sum(1 for s in segments if not s.startswith("{"))
        return (0 if greedy else 1, literals, 1 if self.method != "ANY" else 0)


def _group(name: str) -> str:
    return re.sub(r"\W", "_", name)


def routes_from_api(body: Mapping[str, Any], function_for_uri: Callable[[Any], str]) -> list[Route]:
    """Routes from the OpenAPI body that samtranslator generates for an AWS::Serverless::HttpApi."""
    routes = []
    for path, methods in body.get("paths", {}).items():
        for method, spec in methods.items():
            integration = spec.get("x-amazon-apigateway-integration")
            if not integration:
                continue
            verb = "ANY" if method == "x-amazon-apigateway-any-method" else method.upper()
            security = spec.get("security") or [{"default": []}]
            authorized = not any("NONE" in entry for entry in security)
            routes.append(Route(verb, path, function_for_uri(integration["uri"]), authorized))
    return sorted(routes, key=lambda r: r.specificity(), reverse=True)


def _claims_as_api_gateway(claims: Mapping[str, Any]) -> dict[str, str]:
    """HTTP API hands claims over as strings; arrays become "[a b]" (observed AWS behaviour)."""
    out = {}
    for key, value in claims.items():
        if isinstance(value, list):
            out[key] = "[" + " ".join(str(v) for v in value) + "]"
        else:
            out[key] = str(value)
    return out


@dataclass
class CorsConfig:
    """The HttpApi CorsConfiguration."""

    allow_origins: list[str]
    allow_headers: list[str]
    allow_methods: list[str]
    max_age: int

    @classmethod
    def from_api(cls, body: Mapping[str, Any], resolve: Callable[[Any], Any]) -> CorsConfig | None:
        cors = body.get("x-amazon-apigateway-cors")
        if not cors:
            return None
        cors = resolve(cors)

        def as_list(value: Any) -> list[str]:
            return [v.strip() for v in value.split(",")] if isinstance(value, str) else list(value or [])

        return cls(
            allow_origins=as_list(cors.get("allowOrigins")),
            allow_headers=[h.lower() for h in as_list(cors.get("allowHeaders"))],
            allow_methods=as_list(cors.get("allowMethods")),
            max_age=int(cors.get("maxAge", 0)),
        )

    def allows(self, origin: str) -> bool:
        return "*" in self.allow_origins or origin in self.allow_origins


Invoke = Callable[[str, dict[str, Any]], Any]


class HttpApiGateway:
    """A WSGI app that turns HTTP requests into v2 events for the route's function."""

    def __init__(
        self,
        routes: list[Route],
        invoke: Invoke,
        idp: LocalIdentityProvider,
        cors: CorsConfig | None,
        static_dirs: Mapping[str, Path] | None = None,
        extra_handlers: Mapping[str, Callable[[Request], Response]] | None = None,
        edge: Edge | None = None,
        static_headers: Mapping[str, str] | None = None,
    ) -> None:
        self.routes = routes
        self.invoke = invoke
        self.idp = idp
        self.cors = cors
        self.static_dirs = dict(static_dirs or {})
        self.extra_handlers = dict(extra_handlers or {})
        self.edge = edge  # None: no rate limits (throughput benchmarks)
        self.static_headers = dict(static_headers or {})  # CloudFront's response headers policy
        self.requests_served = 0
        self._claims: dict[str, tuple[float, dict[str, Any]]] = {}
        self._claims_lock = threading.Lock()

    # WSGI entry point
    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = Request(environ)
        response = self.handle(request)
        return response(environ, start_response)

    def handle(self, request: Request) -> Response:
        self.requests_served += 1
        origin = request.headers.get("Origin")
        # The local stack's own endpoints do not exist in AWS, so nothing of the edge applies to them.
        if request.path == "/_local/token" and request.method == "POST":
            return self._issue_token(request)
        if request.path in self.extra_handlers:
            return self.extra_handlers[request.path](request)
        # WAF answers before anything behind it, without CORS headers (CloudFront adds none).
        client = request.remote_addr or "127.0.0.1"
        if self.edge and (blocked := self.edge.check_client(client, request.path)):
            return _blocked(blocked)
        if request.method == "OPTIONS" and origin and request.headers.get("Access-Control-Request-Method"):
            response = self._preflight(origin)
        elif static := self._static(request):
            return static
        else:
            response = self._route(request)
            if self.cors:
                # With a CorsConfiguration, API Gateway ignores the integration's CORS headers and
                # answers CORS itself, so a function cannot widen what the template allows.
                for key in {
                    k for k, _ in response.headers.items() if k.lower().startswith("access-control-")
                }:
                    del response.headers[key]
        if origin and self.cors and self.cors.allows(origin):
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Vary"] = "Origin"
        return response

    def _verified(self, token: str) -> dict[str, Any]:
        """The token's claims, verified once per token and remembered until it expires.

        A token is immutable and signed, so its signature, issuer and audience checks give the same
        answer every time; only expiry changes with the clock, and is checked on every use. This keeps
        the RSA check off the hot path, as API Gateway keeps the issuer's keys (JWKS) cached.
        """
        now = time.time()
        with self._claims_lock:
            cached = self._claims.get(token)
        if cached is not None:
            expires, claims = cached
            if now < expires:
                return claims
            raise jwt.ExpiredSignatureError("Signature has expired")
        claims = self.idp.verify(token)
        with self._claims_lock:
            if len(self._claims) >= _CLAIMS_CACHE_SIZE:
                self._claims.pop(next(iter(self._claims)))  # the oldest entry
            self._claims[token] = (float(claims["exp"]), claims)
        return claims

    def _issue_token(self, request: Request) -> Response:
        status, payload = self.idp.token_response(request.get_json(silent=True) or {})
        return _json(status, payload)

    def _preflight(self, origin: str) -> Response:
        if not self.cors or not self.cors.allows(origin):
            return Response(status=204)
        response = Response(status=204)
        response.headers["Access-Control-Allow-Methods"] = ",".join(self.cors.allow_methods)
        response.headers["Access-Control-Allow-Headers"] = ",".join(self.cors.allow_headers)
        response.headers["Access-Control-Max-Age"] = str(self.cors.max_age)
        return response

    def _static(self, request: Request) -> Response | None:
        response = self._static_file(request)
        if response is not None:
            response.headers.extend(self.static_headers)
        return response

    def _static_file(self, request: Request) -> Response | None:
        if request.method != "GET":
            return None
        for prefix, folder in self.static_dirs.items():
            if request.path == prefix.rstrip("/"):
                return Response(status=301, headers={"Location": prefix})
            if request.path.startswith(prefix):
                relative = request.path[len(prefix) :] or "index.html"
                target = (folder / relative).resolve()
                if target.is_dir():
                    target = target / "index.html"
                if folder.resolve() not in target.parents or not target.is_file():
                    return _json(404, {"message": "Not Found"})
                import mimetypes

                mime = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
                return Response(target.read_bytes(), status=200, mimetype=mime)
        return None

    def _route(self, request: Request) -> Response:
        if request.method not in _ROUTE_METHODS:
            # TRACE, CONNECT and the like: no HTTP API route can have them (ANY means the seven above).
            # RFC 9110: a 405 names the methods the target takes (empty when no route has the path).
            allowed = {
                method
                for route in self.routes
                if route.match(route.method, request.path) is not None
                for method in (_ROUTE_METHODS if route.method == "ANY" else {route.method})
            }
            response = _json(405, {"message": "Method Not Allowed"})
            response.headers["Allow"] = ", ".join(sorted(allowed))
            return response
        raw = _read_body(request)
        if raw is None:
            return _json(413, {"message": "Request Entity Too Large"})
        path = request.path
        for route in self.routes:
            params = route.match(request.method, path)
            if params is None:
                continue
            if self.edge and (throttled := self.edge.check_route(route.route_key)):
                return _blocked(throttled)
            claims: dict[str, Any] | None = None
            if route.authorized:
                header = request.headers.get("Authorization", "")
                token = header[7:] if header.lower().startswith("bearer ") else header
                if not token:
                    return _json(401, {"message": "Unauthorized"})
                try:
                    claims = self._verified(token)
                except jwt.PyJWTError:
                    return _json(401, {"message": "Unauthorized"})
            event = self._event(request, raw, route, params, claims)
            if len(json.dumps(event).encode()) > MAX_INVOKE_PAYLOAD:
                # Lambda refuses the invocation (RequestEntityTooLargeException) and API Gateway
                # answers any refused invocation with 500 (AWS Lambda guide, "Handling Lambda errors
                # with an API Gateway API"). A binary body grows by a third in base64: a 4.5 MB PDF
                # is already over.
                log.warning("%s: invocation payload over %d bytes", route.function, MAX_INVOKE_PAYLOAD)
                return _json(500, {"message": "Internal Server Error"})
            try:
                result = self.invoke(route.function, event)
            except TooManyRequests as exc:
                # Lambda refuses the invocation at once when the function's reserved concurrency is
                # all in use; API Gateway answers a refused invocation with 500, as above (it does not
                # pass Lambda's 429 on). The throttle shows in the function's Throttles metric.
                log.warning("%s throttled: %s", route.function, exc)
                return _json(500, {"message": "Internal Server Error"})
            except Exception as exc:  # API Gateway answers 500 when the integration fails
                log.error("%s failed: %s\n%s", route.function, exc, getattr(exc, "trace", ""))
                return _json(500, {"message": "Internal Server Error"})
            return _response_from_result(result)
        return _json(404, {"message": "Not Found"})

    def _event(
        self,
        request: Request,
        raw: bytes,
        route: Route,
        params: dict[str, str],
        claims: dict[str, Any] | None,
    ) -> dict[str, Any]:
        content_type = request.headers.get("Content-Type", "")
        is_text = not raw or any(content_type.startswith(t) for t in _TEXT_TYPES)
        now = datetime.now(UTC)
        headers: dict[str, str] = {}
        for key, value in request.headers.items():
            key = key.lower()
            headers[key] = f"{headers[key]},{value}" if key in headers else value
        query: dict[str, str] = {}
        for key in request.args:
            query[key] = ",".join(request.args.getlist(key))
        event: dict[str, Any] = {
            "version": "2.0",
            "routeKey": route.route_key,
            "rawPath": request.path,
            "rawQueryString": request.query_string.decode(),
            "headers": headers,
            "requestContext": {
                "accountId": "123456789012",
                "apiId": "local",
                "domainName": request.host,
                "domainPrefix": "local",
                "http": {
                    "method": request.method,
                    "path": request.path,
                    "protocol": request.environ.get("SERVER_PROTOCOL", "HTTP/1.1"),
                    "sourceIp": request.remote_addr or "127.0.0.1",
                    "userAgent": request.headers.get("User-Agent", ""),
                },
                "requestId": str(uuid.uuid4()),
                "routeKey": route.route_key,
                "stage": "$default",
                "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
                "timeEpoch": int(now.timestamp() * 1000),
            },
            "isBase64Encoded": not is_text,
        }
        if request.cookies:
            event["cookies"] = [f"{k}={v}" for k, v in request.cookies.items()]
        if query:
            event["queryStringParameters"] = query
        if params:
            event["pathParameters"] = params
        if raw:
            event["body"] = (
                raw.decode("utf-8", errors="replace") if is_text else base64.b64encode(raw).decode()
            )
        if claims is not None:
            event["requestContext"]["authorizer"] = {
                "jwt": {"claims": _claims_as_api_gateway(claims), "scopes": None}
            }
        return event


def _read_body(request: Request) -> bytes | None:
    """The request body, or None when it is over API Gateway's 10 MB (the rest is read and dropped, so
    that the client, still sending, gets the answer rather than a reset connection)."""
    declared = request.content_length
    stream = request.stream
    if declared is not None and declared > MAX_REQUEST_BODY:
        while stream.read(1 << 20):
            pass
        return None
    data = stream.read(MAX_REQUEST_BODY + 1) if declared is None else request.get_data()
    if len(data) > MAX_REQUEST_BODY:
        while stream.read(1 << 20):
            pass
        return None
    return data


def _blocked(blocked: Blocked) -> Response:
    response = Response(blocked.body, status=blocked.status, content_type=blocked.content_type)
    for key, value in blocked.headers.items():
        response.headers[key] = value
    return response


def _json(status: int, payload: Any) -> Response:
    return Response(json.dumps(payload, ensure_ascii=False), status=status, mimetype="application/json")


def _response_from_result(result: Any) -> Response:
    """Apply API Gateway's payload v2 response rules."""
    if isinstance(result, dict) and "statusCode" in result:
        body = result.get("body") or ""
        data = base64.b64decode(body) if result.get("isBase64Encoded") else str(body).encode()
        response = Response(data, status=int(result["statusCode"]))
        response.headers.pop("Content-Type", None)
        for key, value in (result.get("headers") or {}).items():
            response.headers[key] = str(value)
        for key, values in (result.get("multiValueHeaders") or {}).items():
            for value in values:
                response.headers.add(key, str(value))
        for cookie in result.get("cookies") or []:
            response.headers.add("Set-Cookie", cookie)
        if "Content-Type" not in response.headers:
            response.headers["Content-Type"] = "application/json"
        return response
    # A bare value: API Gateway serialises it as JSON with 200.
    return _json(200, result)


class ServerThread:
    """A werkzeug server on its own thread."""

    def __init__(self, app: Any, host: str, port: int) -> None:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no access log on the console
        # Threaded (one thread per connection) and keep-alive, as API Gateway's endpoint is.
        self.server: BaseWSGIServer = make_server(
            host, port, app, threaded=True, request_handler=KeepAliveRequestHandler
        )
        self.thread = threading.Thread(target=self.server.serve_forever, name=f"http-{port}", daemon=True)

    @property
    def port(self) -> int:
        return int(self.server.server_port)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.thread.join(5)
        self.server.server_close()
