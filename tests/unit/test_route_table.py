"""The api function loads a route module on the first request for one of its paths
(onestop.http.route_table): every request must find the route it would find with all modules loaded.

Checked for every route of every module, with its parameters filled by ordinary values and by every
literal segment of the API (`window`, `pending`, `materials`…), where rules of different modules
could compete; and with the modules loaded in the opposite order, where only the resolver's sort
keeps the registration order.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from onestop.http import route_table
from onestop.http.resolver import ApiResolver, build_api
from onestop.http.route_table import ROUTE_MODULES, route_modules_for

HTTP = Path(route_table.__file__).parent
PARAMETER = re.compile(r"<(\w+)>")


def _full() -> ApiResolver:
    app = build_api()
    app.load_all_routes()
    return app


FULL = _full()
RULES = sorted({(r.method, r.path) for r in [*FULL._static_routes, *FULL._dynamic_routes]})
LITERALS = sorted({s for _, rule in RULES for s in rule.split("/") if s and not PARAMETER.fullmatch(s)})


def matched(app: ApiResolver, method: str, path: str) -> str | None:
    """The route Powertools' resolver picks for `method path` (static rules first, then in order)."""
    for route in [*app._static_routes, *app._dynamic_routes]:
        if route.method == method and route.rule.match(path):
            return f"{route.func.__module__}.{route.func.__qualname__}"
    return None


def sample_paths(rule: str) -> list[str]:
    names = PARAMETER.findall(rule)
    paths = [PARAMETER.sub("a1b2", rule)]
    for name in names:
        for literal in LITERALS:
            paths.append(PARAMETER.sub(lambda m, n=name, v=literal: v if m[1] == n else "a1b2", rule))
    return paths


def test_the_table_names_every_route_module_once() -> None:
    on_disk = {p.stem for p in HTTP.glob("routes_*.py")}
    assert sorted(ROUTE_MODULES) == sorted(on_disk)
    assert len(set(ROUTE_MODULES)) == len(ROUTE_MODULES)
    named = {m for modules in route_table.BY_FIRST_SEGMENT.values() for m in modules}
    named |= {m for modules in route_table.BY_APPLICATION_ACTION.values() for m in modules}
    assert named | set(route_table.APPLICATION_ITSELF) == set(ROUTE_MODULES)


def test_a_path_the_table_does_not_know_loads_every_module() -> None:
    for path in ("/", "/nothing", "/applications/a/nothing", "//", "/openapi.json"):
        assert route_modules_for(path) == ROUTE_MODULES


@pytest.mark.parametrize("reverse", [False, True], ids=["table order", "reversed"])
def test_every_route_is_found_as_with_every_module_loaded(reverse: bool) -> None:
    checked = 0
    for method, rule in RULES:
        for path in sample_paths(rule):
            expected = matched(FULL, method, path)
            modules = route_modules_for(path)
            lazy = build_api()
            lazy.load_routes(reversed(modules) if reverse else modules)
            assert matched(lazy, method, path) == expected, f"{method} {path} loads {modules}"
            # The path's every method is loaded with it (405 and its Allow header come from them).
            for other, _ in RULES:
                assert matched(lazy, other, path) == matched(FULL, other, path), f"{other} {path}"
            checked += 1
    assert checked > 500  # every rule, each parameter filled with every literal segment


def get(path: str) -> dict[str, object]:
    """An HTTP API (payload 2.0) GET event without a sign-in."""
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {},
        "requestContext": {"http": {"method": "GET", "path": path}, "stage": "$default"},
        "isBase64Encoded": False,
    }


def test_a_request_loads_only_the_modules_of_its_path() -> None:
    app = build_api()
    assert app.loaded_route_modules == set()
    answer = app.resolve(get("/applications/a1b2"), None)
    assert answer["statusCode"] == 401  # the route was found, and wants a sign-in
    assert app.loaded_route_modules == {"routes_applications", "routes_channels"}
    app.resolve(get("/stats"), None)
    assert app.loaded_route_modules == {"routes_applications", "routes_channels", "routes_quality"}


def test_the_openapi_document_lists_every_route_whatever_was_loaded() -> None:
    import json

    app = build_api()
    document = json.loads(app.resolve(get("/openapi.json"), None)["body"])
    documented = {(m.upper(), p) for p, ops in document["paths"].items() for m in ops if m != "parameters"}
    ours = {(m, PARAMETER.sub(r"{\1}", r)) for m, r in RULES if not r.startswith(("/openapi", "/docs"))}
    assert ours <= documented


def test_loading_in_any_order_keeps_the_registration_order() -> None:
    """Rules of different modules may come to compete (a new literal under /applications/{id}): the
    route list itself, not only today's answers, must be the one registering every module gives."""

    def order(app: ApiResolver) -> list[tuple[str, str]]:
        return [(r.method, r.path) for r in [*app._static_routes, *app._dynamic_routes]]

    for modules in (reversed(ROUTE_MODULES), ("routes_channels", "routes_quality"), ROUTE_MODULES[::2]):
        lazy = build_api()
        for name in modules:  # one request after another
            lazy.load_routes([name])
        lazy.load_all_routes()
        assert order(lazy) == order(FULL)
