"""Builds the HTTP API: one Powertools resolver with every router, OpenAPI and Swagger UI.

CORS is the HttpApi's (template.yaml, CorsConfiguration): with it configured API Gateway answers
preflights itself and ignores CORS headers from the function, so the function sends none.
"""

from __future__ import annotations

from functools import cache

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer, Tag

from onestop import __version__

from . import (
    routes_applications,
    routes_bindings,
    routes_catalogue,
    routes_corrections,
    routes_licences,
    routes_quality,
    routes_review,
)
from .bodies import json_body
from .contract import complete
from .errors import register_error_handlers
from .middlewares import HardenedHttpResolver, log_with_route_ids, reject_unknown_query_parameters

TITLE = "onestop API"
DESCRIPTION = (
    "Service catalogue, applications with presigned uploads and the one-time completeness notice "
    "(一次性告知), and the reviewer queue. Errors: `{code, message: {zh, en}, details: [{code, zh, en, "
    "field}]}`. Sign-in: a JWT (Cognito) in `Authorization: Bearer …`; "
    "groups `applicant`, `reviewer`, `admin`."
)
TAGS: list[Tag | str] = [
    Tag(name="catalogue", description="public: service items and their material lists"),
    Tag(name="applications", description="applicant: own applications, uploads, submission"),
    Tag(name="review", description="reviewer: queue and decisions"),
    Tag(name="licences", description="holder and reviewer: e-licences, their PDFs and lifecycle"),
    Tag(name="quality", description="好差评 reviews, rectification cases of bad reviews, KPI reports"),
    Tag(name="bindings", description="applicant asks to act for an enterprise; admin approves (custom:uscc)"),
]


def build_api() -> APIGatewayHttpResolver:
    """A fresh resolver with every route; the Lambda builds it once at import."""
    app = HardenedHttpResolver(enable_validation=True, json_body_deserializer=json_body)
    app.configure_openapi(
        title=TITLE,
        version=__version__,
        description=DESCRIPTION,
        tags=TAGS,
        security_schemes={
            "bearerAuth": HTTPBearer(bearerFormat="JWT", description="Cognito ID or access token")
        },
    )
    app.include_router(routes_catalogue.router)
    app.include_router(routes_applications.router)
    app.include_router(routes_review.router)
    app.include_router(routes_corrections.router)
    app.include_router(routes_licences.router)
    app.include_router(routes_quality.router)
    app.include_router(routes_bindings.router)
    app.use(middlewares=[log_with_route_ids, reject_unknown_query_parameters])
    register_error_handlers(app)

    @cache
    def spec() -> str:
        # Routes are fixed once built, so the document is generated once per container. Completed
        # with the verify routes, the gateway's own answers and the links (onestop.http.contract).
        return complete(app.get_openapi_json_schema())

    # No return annotation: Powertools would validate the (already serialised) document against it.
    @app.get("/openapi.json", include_in_schema=False)
    def openapi_document():
        return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=spec())

    app.enable_swagger(path="/docs", title=TITLE, version=__version__, description=DESCRIPTION)
    return app
