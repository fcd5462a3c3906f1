"""What route handlers get injected: the caller, and the services of the composition root."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Request

from onestop.applications.identity import Principal, principal_from_event
from onestop.aws.composition import application_service
from onestop.aws.composition import reset as reset_services
from onestop.catalogue import Catalogue, load_catalogue

__all__ = ["BEARER", "application_service", "catalogue", "current_principal", "reset_services"]

# Declared on every route that needs a signed-in caller (OpenAPI `security`, and the 401-first rule).
BEARER: list[dict[str, list[str]]] = [{"bearerAuth": []}]


def current_principal(request: Request) -> Principal:
    """The caller, from the JWT authorizer's claims (anonymous when there are none)."""
    return principal_from_event(request.resolved_event.raw_event)


def catalogue() -> Catalogue:
    return load_catalogue()
