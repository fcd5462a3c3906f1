"""Builds the HTTP API: one Powertools resolver with every router, OpenAPI and Swagger UI.

CORS is the HttpApi's (template.yaml, CorsConfiguration): with it configured API Gateway answers
preflights itself and ignores CORS headers from the function, so the function sends none.

Not built when the function starts (docs/decisions.md, "What a cold start imports"):
- the route modules: each is imported and included on the first request for one of its paths
  (onestop.http.route_table), so a container pays only for the parts of the API its requests use;
- the OpenAPI side (Powertools' OpenAPI models, the document, the Swagger UI page): on the first
  GET /openapi.json or /docs, which load every route module first.
"""

from __future__ import annotations

import gc
import importlib
from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types

from onestop import __version__

from .bodies import body_limit, json_body
from .errors import register_error_handlers
from .middlewares import HardenedHttpResolver, log_with_route_ids, reject_unknown_query_parameters
from .route_table import ROUTE_MODULES, route_modules_for

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler.api_gateway import Route
    from aws_lambda_powertools.event_handler.openapi.models import Tag

TITLE = "onestop API"
DESCRIPTION = (
    "Service catalogue, applications with presigned uploads and the one-time completeness notice "
    "(一次性告知), and the reviewer queue. Errors: `{code, message: {zh, en}, details: [{code, zh, en, "
    "field}]}`. Sign-in: a JWT (Cognito) in `Authorization: Bearer …`; "
    "groups `applicant`, `reviewer`, `admin`, `clerk` (service window); the token's app client is "
    "the channel (web portal, city app, mini program, service window)."
)
# The document's tags, name → description (made into Powertools' `Tag` models with the document).
TAGS: dict[str, str] = {
    "catalogue": "public: service items and their material lists",
    "catalogue-admin": "admin: catalogue versions with their audit, item edits, YAML import and export",
    "applications": "applicant: own applications, uploads, submission",
    "review": "reviewer: queue and decisions",
    "clock": "the legal clock: pauses for special procedures, the one extension (admin approves)",
    "assignment": "reviewer: claim and release applications; admin: reassign (work assignment)",
    "licences": "holder and reviewer: e-licences, their PDFs and lifecycle",
    "quality": "好差评 reviews, rectification cases of bad reviews, KPI reports",
    "bindings": "applicant asks to act for an enterprise; admin approves (custom:uscc)",
    "notifications": "signed in: my notification preferences and in-portal inbox",
}


def configure_openapi(app: APIGatewayHttpResolver) -> None:
    """Title, tags and the bearer scheme of the document (Powertools' OpenAPI models, imported here)."""
    from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer, Tag

    tags: list[Tag | str] = [Tag(name=name, description=text) for name, text in TAGS.items()]
    app.configure_openapi(
        title=TITLE,
        version=__version__,
        description=DESCRIPTION,
        tags=tags,
        security_schemes={
            "bearerAuth": HTTPBearer(bearerFormat="JWT", description="Cognito ID or access token")
        },
    )


def swagger_page(document: str) -> str:
    """The Swagger UI page showing `document`, as Powertools' `enable_swagger` draws it (its bundled
    script and stylesheet inlined: the page loads nothing from elsewhere)."""
    from aws_lambda_powertools.event_handler.openapi import swagger_ui
    from aws_lambda_powertools.event_handler.openapi.swagger_ui.html import generate_swagger_html

    bundle = Path(swagger_ui.__file__).parent
    script = (bundle / "swagger-ui-bundle.min.js").read_text(encoding="utf-8")
    style = (bundle / "swagger-ui.min.css").read_text(encoding="utf-8")
    # `</` escaped: the document is embedded in a <script> element and must not close it.
    return generate_swagger_html(document.replace("</", "<\\/"), script, style, "", None)


class ApiResolver(HardenedHttpResolver):
    """The API's resolver: a route module is imported and included before the first request for one of
    its paths is resolved (onestop.http.route_table says which), once per container."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.loaded_route_modules: set[str] = set()

    def load_routes(self, modules: Iterable[str]) -> None:
        """Include the routers of `modules` (names in route_table.ROUTE_MODULES) not yet included."""
        missing = [name for name in modules if name not in self.loaded_route_modules]
        if not missing:
            return
        # As at the function's start (functions/api/app.py): no collection while the modules' routes and
        # models are made, then frozen, since they live as long as the container.
        collecting = gc.isenabled()
        gc.disable()
        try:
            for name in missing:
                self.include_router(importlib.import_module(f"{__package__}.{name}").router)
                self.loaded_route_modules.add(name)
            # The precedence among overlapping rules is the registration order; loading on demand
            # must not change it (route_table.ROUTE_MODULES, then the resolver's own routes).
            self._static_routes.sort(key=_registration_rank)
            self._dynamic_routes.sort(key=_registration_rank)
        finally:
            gc.freeze()
            if collecting:
                gc.enable()

    def load_all_routes(self) -> None:
        self.load_routes(ROUTE_MODULES)

    def resolve(self, event: Mapping[str, Any], context: Any) -> dict[str, Any]:
        self.load_routes(route_modules_for(str(event.get("rawPath") or event.get("path") or "/")))
        return super().resolve(event, context)


_RANK = {f"{__package__}.{name}": rank for rank, name in enumerate(ROUTE_MODULES)}


def _registration_rank(route: Route) -> int:
    return _RANK.get(getattr(route.func, "__module__", ""), len(_RANK))


def build_api() -> ApiResolver:
    """A fresh resolver, its route modules loaded on demand; the Lambda builds it once at import."""
    app: ApiResolver = ApiResolver(
        enable_validation=True,
        # The body's size limit is the route's (bodies.LARGER_BODIES: a catalogue import), else 64 KiB.
        json_body_deserializer=lambda text: json_body(text, body_limit(app.current_event.raw_path)),
    )
    app.use(middlewares=[log_with_route_ids, reject_unknown_query_parameters])
    register_error_handlers(app)

    @cache
    def spec() -> str:
        # Every route module loaded first, and then the routes are fixed: the document is generated once
        # per container, on the first request for it. Completed with the verify routes, the gateway's
        # own answers and the links (onestop.http.contract, whose own models are built with it).
        from .contract import complete

        app.load_all_routes()
        configure_openapi(app)
        return complete(app.get_openapi_json_schema())

    # No return annotations: Powertools would validate the (already serialised) answers against them.
    @app.get("/openapi.json", include_in_schema=False)
    def openapi_document():
        return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=spec())

    # The same document as /openapi.json (Powertools' `enable_swagger` would build its own, without
    # the verify routes and the gateway's answers, and import the OpenAPI models at start-up).
    @app.get("/docs", include_in_schema=False)
    def swagger_ui():
        return Response(status_code=200, content_type="text/html", body=swagger_page(spec()))

    return app
