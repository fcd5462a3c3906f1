"""The local gateway under concurrency: kept-alive connections served by a threaded server, and the
JWT check done once per token without letting an expired token through."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
from werkzeug.wrappers import Request, Response

from infra.local.gateway import HttpApiGateway, Route, ServerThread
from infra.local.identity import LocalIdentityProvider


def _echo(function: str, event: dict[str, Any]) -> dict[str, Any]:
    time.sleep(float((event.get("queryStringParameters") or {}).get("sleep", 0)))
    claims = (event["requestContext"].get("authorizer") or {}).get("jwt", {}).get("claims", {})
    return {"statusCode": 200, "body": json.dumps({"sub": claims.get("sub"), "body": event.get("body")})}


@pytest.fixture
def idp() -> LocalIdentityProvider:
    return LocalIdentityProvider(issuer="http://local/idp", audience="portal", token_ttl_s=2)


@pytest.fixture
def served(idp: LocalIdentityProvider) -> Iterator[tuple[ServerThread, HttpApiGateway]]:
    def unread(request: Request) -> Response:  # answers without reading the request body
        return Response("{}", mimetype="application/json")

    gateway = HttpApiGateway(
        [
            Route("GET", "/public", "Echo", authorized=False),
            Route("POST", "/public", "Echo", authorized=False),
            Route("GET", "/private", "Echo", authorized=True),
        ],
        _echo,
        idp,
        None,
        extra_handlers={"/_local/unread": unread},
    )
    server = ServerThread(gateway, "127.0.0.1", 0)
    server.start()
    yield server, gateway
    server.stop()


def _connection(server: ServerThread) -> http.client.HTTPConnection:
    return http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)


def _local_port(conn: http.client.HTTPConnection) -> int:
    assert conn.sock is not None
    return int(conn.sock.getsockname()[1])


def test_one_connection_carries_many_requests(served: tuple[ServerThread, HttpApiGateway]) -> None:
    server, _ = served
    conn = _connection(server)
    ports = set()
    for _ in range(5):
        conn.request("GET", "/public")
        response = conn.getresponse()
        assert response.status == 200
        assert json.loads(response.read())["body"] is None
        assert response.getheader("Connection") != "close"
        ports.add(_local_port(conn))
    assert len(ports) == 1  # the same TCP connection every time


def test_a_request_body_left_unread_does_not_corrupt_the_next_request(
    served: tuple[ServerThread, HttpApiGateway],
) -> None:
    server, _ = served
    conn = _connection(server)
    conn.request("POST", "/_local/unread", body=b"x" * 100_000, headers={"Content-Type": "text/plain"})
    response = conn.getresponse()
    assert response.status == 200
    response.read()
    port = _local_port(conn)
    conn.request("POST", "/public", body=b"second", headers={"Content-Type": "text/plain"})
    second = conn.getresponse()
    assert second.status == 200
    assert json.loads(second.read())["body"] == "second"
    assert _local_port(conn) == port


def test_a_chunked_body_is_read_and_the_connection_then_closes(
    served: tuple[ServerThread, HttpApiGateway],
) -> None:
    server, _ = served
    conn = _connection(server)
    conn.request(
        "POST",
        "/public",
        body=iter([b"chun", b"ked"]),
        headers={"Content-Type": "text/plain"},
        encode_chunked=True,
    )
    response = conn.getresponse()
    assert json.loads(response.read())["body"] == "chunked"
    assert response.getheader("Connection") == "close"


def test_a_head_answer_carries_no_body(served: tuple[ServerThread, HttpApiGateway]) -> None:
    server, _ = served
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as raw:
        raw.sendall(b"HEAD /public HTTP/1.1\r\nHost: x\r\n\r\nGET /public HTTP/1.1\r\nHost: x\r\n\r\n")
        time.sleep(0.3)
        data = raw.recv(65536)
    head, _, rest = data.partition(b"\r\n\r\n")
    # No route has HEAD /public (API Gateway's 404), and its answer says how long the body would be.
    assert head.startswith(b"HTTP/1.1 404")
    assert b"Content-Length: 24" in head
    # The very next bytes are the second response's status line: the HEAD answer had no body.
    assert rest.startswith(b"HTTP/1.1 200")


def test_requests_on_separate_connections_are_served_at_once(
    served: tuple[ServerThread, HttpApiGateway],
) -> None:
    server, _ = served
    spans: list[float] = []

    def call() -> None:
        conn = _connection(server)
        conn.request("GET", "/public?sleep=0.5")
        conn.getresponse().read()

    started = time.monotonic()
    threads = [threading.Thread(target=call) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    spans.append(time.monotonic() - started)
    assert spans[0] < 1.5  # four half-second requests, not one after the other (2 s)


def test_a_token_is_verified_once_and_refused_once_it_expires(
    served: tuple[ServerThread, HttpApiGateway], idp: LocalIdentityProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    server, _ = served
    token = idp.issue("alice", ["applicant"])
    checks = []
    verify = idp.verify

    def counted(value: str) -> dict[str, Any]:
        checks.append(value)
        return verify(value)

    monkeypatch.setattr(idp, "verify", counted)
    conn = _connection(server)
    for _ in range(3):
        conn.request("GET", "/private", headers={"Authorization": f"Bearer {token}"})
        response = conn.getresponse()
        assert response.status == 200
        assert json.loads(response.read())["sub"] == "alice"
    assert len(checks) == 1
    expires = jwt.decode(token, options={"verify_signature": False})["exp"]
    time.sleep(max(0.0, expires - time.time()) + 0.05)
    conn.request("GET", "/private", headers={"Authorization": f"Bearer {token}"})
    expired = conn.getresponse()
    assert expired.status == 401
    expired.read()


def test_a_tampered_token_is_refused_even_when_the_genuine_one_is_remembered(
    served: tuple[ServerThread, HttpApiGateway], idp: LocalIdentityProvider
) -> None:
    server, _ = served
    token = idp.issue("alice", ["applicant"])
    header, _payload, signature = token.split(".")
    forged_claims = jwt.decode(token, options={"verify_signature": False}) | {"sub": "mallory"}
    forged_payload = jwt.utils.base64url_encode(json.dumps(forged_claims).encode()).decode()
    conn = _connection(server)
    for value, status in ((token, 200), (f"{header}.{forged_payload}.{signature}", 401)):
        conn.request("GET", "/private", headers={"Authorization": f"Bearer {value}"})
        response = conn.getresponse()
        response.read()
        assert response.status == status
