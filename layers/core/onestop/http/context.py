"""What route handlers get injected: the caller, and the services of the composition root."""

from __future__ import annotations

from functools import lru_cache
from types import MappingProxyType

from aws_lambda_powertools.event_handler import Request

from onestop.applications.channels import ChannelClients, parse_clients
from onestop.applications.identity import Principal, principal_from_event
from onestop.aws.composition import application_service, catalogue_book
from onestop.aws.composition import reset as reset_services
from onestop.catalogue import Catalogue
from onestop.settings import get_settings

__all__ = ["BEARER", "application_service", "catalogue", "current_principal", "reset_services"]

# Declared on every route that needs a signed-in caller (OpenAPI `security`, and the 401-first rule).
BEARER: list[dict[str, list[str]]] = [{"bearerAuth": []}]


def current_principal(request: Request) -> Principal:
    """The caller, from the JWT authorizer's claims (anonymous when there are none). A signed-in caller
    whose token's app client is none of the channels' is refused here, on every route (403)."""
    principal = principal_from_event(request.resolved_event.raw_event, channel_clients())
    if not principal.is_anonymous:
        principal.require_channel()
    return principal


def channel_clients() -> ChannelClients:
    """App client id → channel, from the `CHANNEL_CLIENTS` setting (template.yaml builds it)."""
    return _parsed_clients(get_settings().channel_clients)


@lru_cache(maxsize=4)
def _parsed_clients(text: str) -> ChannelClients:
    return MappingProxyType(parse_clients(text))


def catalogue() -> Catalogue:
    """The catalogue's current version (`catalogue.versions`: its number re-read every few seconds;
    the last known one while the table cannot be read, so the public pages keep working)."""
    return catalogue_book().current_or_last_known()
