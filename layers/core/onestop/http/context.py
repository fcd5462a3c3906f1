"""What route handlers get injected: the caller and the services, built once per container."""

from __future__ import annotations

from functools import lru_cache

from aws_lambda_powertools.event_handler import Request

from onestop.applications.clock import WorkingDayClock
from onestop.applications.identity import Principal, principal_from_event
from onestop.applications.service import ApplicationService, ServiceConfig
from onestop.aws.application_repository import DynamoApplicationRepository
from onestop.aws.events import EventBridgePublisher
from onestop.aws.s3 import S3BlobStore
from onestop.catalogue import Catalogue, load_catalogue
from onestop.settings import get_settings

# Declared on every route that needs a signed-in caller (OpenAPI `security`, and the 401-first rule).
BEARER: list[dict[str, list[str]]] = [{"bearerAuth": []}]


def current_principal(request: Request) -> Principal:
    """The caller, from the JWT authorizer's claims (anonymous when there are none)."""
    return principal_from_event(request.resolved_event.raw_event)


def catalogue() -> Catalogue:
    return load_catalogue()


@lru_cache(maxsize=1)
def application_service() -> ApplicationService:
    """The service wired to the table, buckets and bus named in the settings (reused while warm)."""
    settings = get_settings()
    return ApplicationService(
        repository=DynamoApplicationRepository(settings.table_name),
        catalogue=load_catalogue(),
        uploads=S3BlobStore(settings.uploads_bucket),
        publisher=EventBridgePublisher(settings.event_bus_name, settings.event_source),
        clock=WorkingDayClock(),
        config=ServiceConfig(
            upload_ttl_seconds=settings.upload_url_ttl_seconds,
            upload_max_bytes=settings.upload_max_bytes,
            download_ttl_seconds=settings.download_url_ttl_seconds,
        ),
        materials_store=S3BlobStore(settings.materials_bucket),
    )


def reset_services() -> None:
    """Forget the wired services (tests change settings and endpoints between cases)."""
    application_service.cache_clear()
