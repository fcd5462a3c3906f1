"""What route handlers get injected: the caller and the services, built once per container."""

from __future__ import annotations

from functools import lru_cache

from aws_lambda_powertools.event_handler import Request

from onestop.applications.clock import WorkingDayClock
from onestop.applications.elicence import ElicenceSource, pdf_verifier
from onestop.applications.identity import Principal, principal_from_event
from onestop.applications.service import ApplicationService, ServiceConfig
from onestop.aws.application_repository import DynamoApplicationRepository
from onestop.aws.events import EventBridgePublisher
from onestop.aws.licence_registry import DynamoLicenceRegistry
from onestop.aws.s3 import S3BlobStore
from onestop.catalogue import Catalogue, load_catalogue
from onestop.licences.trust import load_trust
from onestop.settings import Settings, get_settings
from onestop.verification import TrustAnchors

from .verify_api import CachedTrust

# Declared on every route that needs a signed-in caller (OpenAPI `security`, and the 401-first rule).
BEARER: list[dict[str, list[str]]] = [{"bearerAuth": []}]


def current_principal(request: Request) -> Principal:
    """The caller, from the JWT authorizer's claims (anonymous when there are none)."""
    return principal_from_event(request.resolved_event.raw_event)


def catalogue() -> Catalogue:
    return load_catalogue()


def elicence_source(settings: Settings) -> ElicenceSource:
    """E-licence reuse: the registry in the table, sealed PDFs and the published PKI in the licences
    bucket (the PKI is read when first needed and re-read every few minutes, as the verify function does)."""
    store = S3BlobStore(settings.licences_bucket)
    registry = DynamoLicenceRegistry(settings.table_name)
    prefix = settings.pki_prefix
    trust = CachedTrust(lambda: TrustAnchors.from_pki(load_trust(store, prefix)))
    return ElicenceSource(lookup=registry.get, store=store, verify=pdf_verifier(trust, registry.get))


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
        elicences=elicence_source(settings),
    )


def reset_services() -> None:
    """Forget the wired services (tests change settings and endpoints between cases)."""
    application_service.cache_clear()
