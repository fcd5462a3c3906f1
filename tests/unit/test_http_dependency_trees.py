"""A route's `Depends()` tree is built once per container; its dependencies are solved per request."""

from __future__ import annotations

import json
from typing import Annotated, Any

import pytest
from aws_lambda_powertools.event_handler import Request
from aws_lambda_powertools.event_handler import depends as powertools_depends
from aws_lambda_powertools.event_handler.depends import Depends
from onestop.http.middlewares import HardenedHttpResolver


def caller_of(request: Request) -> str:
    claims = request.resolved_event.raw_event["requestContext"]["authorizer"]["jwt"]["claims"]
    return str(claims["sub"])


Caller = Annotated[str, Depends(caller_of)]


def _event(sub: str) -> dict[str, Any]:
    return {
        "version": "2.0",
        "routeKey": "GET /whoami",
        "rawPath": "/whoami",
        "rawQueryString": "",
        "headers": {},
        "requestContext": {
            "http": {"method": "GET", "path": "/whoami", "sourceIp": "127.0.0.1"},
            "authorizer": {"jwt": {"claims": {"sub": sub}, "scopes": None}},
            "requestId": "r",
            "routeKey": "GET /whoami",
            "stage": "$default",
        },
        "isBase64Encoded": False,
    }


def test_the_tree_is_built_once_and_each_request_gets_its_own_caller(monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[Any] = []
    original = getattr(powertools_depends.build_dependency_tree, "__wrapped__", None)
    original = original or powertools_depends.build_dependency_tree

    def counting(func: Any) -> Any:
        built.append(func)
        return original(func)

    # A fresh, uncached builder: the resolver's first request installs the cache over it.
    monkeypatch.setattr(powertools_depends, "build_dependency_tree", counting)
    app = HardenedHttpResolver(enable_validation=True)

    @app.get("/whoami")
    def whoami(caller: Caller) -> dict[str, str]:
        return {"sub": caller}

    subs = ("alice", "bob", "alice", "carol")
    answers = [json.loads(app.resolve(_event(sub), None)["body"]) for sub in subs]
    assert answers == [{"sub": "alice"}, {"sub": "bob"}, {"sub": "alice"}, {"sub": "carol"}]
    # Once for the route and once for its dependency, not once each per request.
    assert built.count(whoami) == 1
    assert built.count(caller_of) == 1
