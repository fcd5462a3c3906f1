"""Request checks Powertools' validation does not make, and the headers every answer carries."""

from __future__ import annotations

import functools
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware

from onestop.errors import InvalidInput, Reason
from onestop.observability import CORRELATION_KEYS, logger


def log_with_route_ids(app: APIGatewayHttpResolver, next_middleware: NextMiddleware) -> Response:
    """Every log line of a request carries the ids its path names (application, licence, case…)."""
    args = app.context.get("_route_args") or {}
    # Kept to the end of the invocation, not removed on the way out: the error handlers log after the
    # middleware has returned. The function's `inject_lambda_context(clear_state=True)` starts every
    # request without them.
    logger.append_keys(**{k: str(v) for k, v in args.items() if k in CORRELATION_KEYS})
    return next_middleware(app)


def reject_unknown_query_parameters(app: APIGatewayHttpResolver, next_middleware: NextMiddleware) -> Response:
    """A query parameter the route does not declare is a 422, so that `?stauts=` is not silently ignored."""
    route = app.context.get("_route")
    func = getattr(route, "func", None)
    # Only onestop's own routes: Powertools' not-found and Swagger handlers declare no parameters.
    if route is None or not getattr(func, "__module__", "").startswith("onestop."):
        return next_middleware(app)
    declared = {f.alias for f in route.dependant.query_params}
    unknown = sorted(set(app.current_event.query_string_parameters or {}) - declared)
    if unknown:
        known = ", ".join(sorted(declared)) or "—"
        raise InvalidInput(
            "unknown_query_parameter",
            f"不支持的查询参数：{', '.join(unknown)}。可用参数：{known}。",
            f"Unknown query parameter(s): {', '.join(unknown)}. This route takes: {known}.",
            [
                Reason(
                    "unknown_query_parameter",
                    f"{name}：不支持的参数。",
                    f"{name}: not a parameter here.",
                    name,
                )
                for name in unknown
            ],
        )
    return next_middleware(app)


# Every API response: no MIME sniffing, no caching of personal data on the way, and for JSON a CSP that
# lets nothing run or frame it should a browser ever render one. HTML (the Swagger UI at /docs) keeps
# its own needs; the pages' CSP is CloudFront's (template.yaml, WebSecurityHeaders).
_ALWAYS = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"}
_FOR_DATA = {"Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'; sandbox"}


def _build_dependency_trees_once() -> None:
    """Have Powertools build each route's `Depends()` tree once per container, not on every request.

    Powertools rebuilds it from the route function's type hints on each call, and with postponed
    annotations `typing.get_type_hints` compiles every annotation anew: 0.25-0.5 ms of CPU a request
    (a tenth of GET /applications/{id} in the function). The tree depends on the function's signature
    alone, which does not change; the dependencies themselves are still solved on every request.
    """
    from aws_lambda_powertools.event_handler import depends

    if not hasattr(depends.build_dependency_tree, "cache_info"):
        depends.build_dependency_tree = functools.cache(depends.build_dependency_tree)


class HardenedHttpResolver(APIGatewayHttpResolver):
    """The HTTP API resolver whose every answer (errors and not-found included) carries `_ALWAYS`.

    Set on the way out of `resolve` rather than in a middleware: a middleware's way back is skipped
    when a route raises, and the error handlers' answers need the headers as much.
    """

    def resolve(self, event: Any, context: Any) -> dict[str, Any]:
        # On the first request rather than at import: Powertools imports `depends` with it too.
        _build_dependency_trees_once()
        result = super().resolve(event, context)
        headers = result.setdefault("headers", {})
        present = {k.lower() for k in headers}
        extra = dict(_ALWAYS)
        if not str(headers.get("Content-Type", "")).startswith("text/html"):
            extra.update(_FOR_DATA)
        for key, value in extra.items():
            if key.lower() not in present:  # a route's own choice (e.g. caching) wins
                headers[key] = value
        return result
