"""The composition root: every service the functions and routes use, wired to AWS from the settings.

One caching style: each builder below is a `functools.cache` function, called on first use (never at
import: the settings come from the environment) and reused while the container is warm; `reset()`
forgets them all (tests change settings and endpoints between cases). The adapters hold only names and
resolve their boto3 clients per call (`onestop.aws.clients`), so sharing one instance is safe.

Domain modules are imported inside the builders: each function's cold start pays only for what it uses
(the ingest function never loads the verifier, the scheduler never the seal).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Any

from onestop.settings import get_settings

from .events import EventBridgePublisher
from .s3 import S3BlobStore

if TYPE_CHECKING:
    from pyhanko.sign.signers import Signer

    from onestop.applications.elicence import ElicenceSource
    from onestop.applications.service import ApplicationService
    from onestop.catalogue.versions import CatalogueBook
    from onestop.http.verify_api import VerifyDependencies
    from onestop.licences.issuer import LicenceOffice
    from onestop.licences.publishing import ListPublisher
    from onestop.licences.trust import CachedTrust, PkiTrust
    from onestop.materials.ingest_records import IngestRecords, Invocation, Upload
    from onestop.notifications.service import Notifier
    from onestop.parties.bindings import BindingDeps
    from onestop.quality.reviews import ReviewService
    from onestop.quality.schedule import ScheduledRuns
    from onestop.verification import TrustAnchors

    from .application_links import DynamoApplicationLinker
    from .application_repository import DynamoApplicationRepository
    from .licence_registry import DynamoLicenceRegistry
    from .material_repository import DynamoMaterialRepository
    from .notifier_store import DynamoNotificationStore
    from .quality_repository import DynamoQualityRepository


# ----------------------------------------------------------------------------- adapters


@cache
def event_publisher() -> EventBridgePublisher:
    settings = get_settings()
    return EventBridgePublisher(settings.event_bus_name, settings.event_source)


@cache
def materials_store() -> S3BlobStore:
    return S3BlobStore(get_settings().materials_bucket)


@cache
def licences_store() -> S3BlobStore:
    return S3BlobStore(get_settings().licences_bucket)


@cache
def application_repository() -> DynamoApplicationRepository:
    from .application_repository import DynamoApplicationRepository

    return DynamoApplicationRepository(get_settings().table_name)


@cache
def material_repository() -> DynamoMaterialRepository:
    from .material_repository import DynamoMaterialRepository

    return DynamoMaterialRepository(get_settings().table_name)


@cache
def quality_repository() -> DynamoQualityRepository:
    from .quality_repository import DynamoQualityRepository

    return DynamoQualityRepository(get_settings().table_name)


@cache
def licence_registry() -> DynamoLicenceRegistry:
    from .licence_registry import DynamoLicenceRegistry

    return DynamoLicenceRegistry(get_settings().table_name)


@cache
def application_linker() -> DynamoApplicationLinker:
    from .application_links import DynamoApplicationLinker

    return DynamoApplicationLinker(get_settings().table_name)


# ----------------------------------------------------------------------------- trust


@cache
def pki_trust() -> CachedTrust[PkiTrust]:
    """The published PKI of the licences bucket, one copy per container for issuing and verifying.

    Re-read every `TRUST_TTL_S` (5 minutes): a seal rotation reaches the issue function within
    minutes, not at once — licences issued meanwhile carry the previous seal, which stays published
    and valid (rotation never deletes a seal certificate).
    """
    from onestop.licences.trust import CachedTrust, load_trust

    store, prefix = licences_store(), get_settings().pki_prefix
    return CachedTrust(lambda: load_trust(store, prefix))


@cache
def trust_anchors() -> Callable[[], TrustAnchors]:
    """The verifier's view of `pki_trust()` (recomputed only when the PKI copy changes)."""
    from onestop.verification import TrustAnchors

    return pki_trust().derived(TrustAnchors.from_pki)


# ----------------------------------------------------------------------------- api function


@cache
def elicence_source() -> ElicenceSource:
    """E-licence reuse: the registry in the table, sealed PDFs and the published PKI in the licences
    bucket (verified as the verify function does, with the same cached trust)."""
    from onestop.applications.elicence import ElicenceSource, pdf_verifier

    registry = licence_registry()
    return ElicenceSource(
        lookup=registry.get, store=licences_store(), verify=pdf_verifier(trust_anchors(), registry.get)
    )


@cache
def catalogue_book() -> CatalogueBook:
    """The catalogue's versions in the table (`catalogue.versions`): versions cached for good, the
    current number re-read every few seconds (reused while warm)."""
    from onestop.catalogue.versions import CatalogueBook

    from .catalogue_repository import DynamoCatalogueRepository

    return CatalogueBook(repository=DynamoCatalogueRepository(get_settings().table_name))


@cache
def application_service() -> ApplicationService:
    """The service wired to the table, buckets and bus named in the settings (reused while warm)."""
    from onestop.applications.clock import WorkingDayClock
    from onestop.applications.quotas import Quotas
    from onestop.applications.service import ApplicationService, ServiceConfig

    from .application_repository import DynamoApplicationRepository
    from .assignment_store import DynamoAssignmentStore
    from .reviewer_directory import CognitoReviewerDirectory

    settings = get_settings()
    return ApplicationService(
        repository=DynamoApplicationRepository(settings.table_name),
        catalogue=catalogue_book(),
        uploads=S3BlobStore(settings.uploads_bucket),
        publisher=EventBridgePublisher(settings.event_bus_name, settings.event_source),
        clock=WorkingDayClock(),
        config=ServiceConfig(
            upload_ttl_seconds=settings.upload_url_ttl_seconds,
            upload_max_bytes=settings.upload_max_bytes,
            download_ttl_seconds=settings.download_url_ttl_seconds,
            quotas=Quotas(
                open_drafts=settings.quota_open_drafts,
                upload_tickets_per_day=settings.quota_upload_tickets_per_day,
                upload_tickets_per_slot_per_day=settings.quota_upload_tickets_per_slot_per_day,
            ),
            assignment_lease_seconds=settings.assignment_lease_seconds,
        ),
        materials_store=S3BlobStore(settings.materials_bucket),
        elicences=elicence_source(),
        assignments=DynamoAssignmentStore(settings.table_name),
        reviewers=CognitoReviewerDirectory(settings.user_pool_id) if settings.user_pool_id else None,
    )


def review_service(now: Callable[[], datetime]) -> ReviewService:
    """好差评 and rectification cases; built per request around the routes' clock, from cached adapters."""
    from onestop.applications.clock import WorkingDayClock
    from onestop.quality.reviews import ReviewService

    return ReviewService(application_repository(), quality_repository(), WorkingDayClock(), now=now)


@cache
def binding_deps() -> BindingDeps:
    """Binding requests: the table, the uploads bucket's `bindings/` prefix (not ingested) and the
    user pool whose `custom:uscc` an approval sets (none configured: approvals answer 503)."""
    from onestop.applications.deps import random_id
    from onestop.applications.models import utcnow
    from onestop.parties.bindings import BindingDeps

    from .binding_repository import DynamoBindingStore
    from .cognito import CognitoPartyDirectory

    settings = get_settings()
    return BindingDeps(
        store=DynamoBindingStore(settings.table_name),
        directory=CognitoPartyDirectory(settings.user_pool_id) if settings.user_pool_id else None,
        documents=S3BlobStore(settings.uploads_bucket),
        now=utcnow,
        new_id=random_id,
        upload_ttl_seconds=settings.upload_url_ttl_seconds,
        download_ttl_seconds=settings.download_url_ttl_seconds,
    )


# ----------------------------------------------------------------------------- verify function


@cache
def verify_dependencies() -> VerifyDependencies:
    """The verify routes' trust (the cached PKI) and registry."""
    from onestop.http.verify_api import VerifyDependencies

    store = licences_store()

    def published(key: str) -> bytes | None:
        """A signed list the issue function published (licences/publishing.py), or None."""
        from onestop.errors import NotFound

        try:
            return store.get(key).body
        except NotFound:
            return None

    return VerifyDependencies(
        trust=trust_anchors(),
        registry_lookup=licence_registry().get,
        published=published,
        verify_base_url=str(get_settings().public_base_url),
    )


# ----------------------------------------------------------------------------- licences (issue, api)


@dataclass(frozen=True)
class SealSigner:
    """The current seal's KMS signer, from the container's copy of the PKI (re-read every few minutes:
    a seal rotation takes effect within minutes, without a redeploy)."""

    trust: Callable[[], PkiTrust]

    def __call__(self) -> Signer:
        from .kms_signer import KmsSigner

        return KmsSigner.for_seal(self.trust().current_seal())


@cache
def licence_office() -> LicenceOffice:
    """Issue, renew, change and status changes: the issue function's work and the api's licence routes."""
    from onestop.licences.issuance import IssuerProfile
    from onestop.licences.issuer import LicenceOffice

    return LicenceOffice(
        catalogue=catalogue_book(),
        issuer=IssuerProfile.from_settings(get_settings()),
        registry=licence_registry(),
        store=licences_store(),
        publisher=event_publisher(),
        applications=application_linker(),
        signer=SealSigner(pki_trust()),
        lists=list_publisher,
    )


@cache
def list_publisher() -> ListPublisher:
    """The signed status lists and trust list (issue function): the current seal, the published PKI."""
    from onestop.licences.jws import seal_key_from_signer
    from onestop.licences.publishing import ListPublisher

    signer = SealSigner(pki_trust())
    return ListPublisher(
        registry=licence_registry(),
        store=licences_store(),
        seal_key=lambda: seal_key_from_signer(signer()),
        anchors=trust_anchors(),
        verify_base_url=str(get_settings().public_base_url),
    )


# ----------------------------------------------------------------------------- ingest function


def _ingest(upload: Upload, invocation: Invocation | None = None) -> dict[str, Any]:
    from onestop.materials.ingest_records import ingest_upload

    uploads = S3BlobStore(upload.bucket)
    return ingest_upload(
        upload,
        invocation,
        uploads=uploads,
        materials=materials_store(),
        repository=material_repository(),
        publisher=event_publisher(),
        max_bytes=get_settings().upload_max_bytes,
        quarantine=uploads,  # refused objects move under quarantine/ in the same bucket
        catalogues=catalogue_book().at,  # the version each application pinned
    )


@cache
def ingest_records() -> IngestRecords:
    """The ingest function's record handler; an object version is ingested once (Powertools
    idempotency on bucket + key + version, remembered `INGEST_IDEMPOTENCY_TTL_SECONDS`), so duplicated
    and replayed notifications do no work twice."""
    from aws_lambda_powertools.utilities.idempotency import (
        DynamoDBPersistenceLayer,
        IdempotencyConfig,
        idempotent_function,
    )

    from onestop.materials.ingest_records import IngestRecords

    settings = get_settings()
    config = IdempotencyConfig(
        event_key_jmespath="[bucket, key, version]",
        expires_after_seconds=settings.ingest_idempotency_ttl_seconds,
    )
    persistence = DynamoDBPersistenceLayer(table_name=settings.idempotency_table_name)
    once = idempotent_function(
        _ingest, data_keyword_argument="upload", persistence_store=persistence, config=config
    )

    def ingest(upload: Upload, invocation: Invocation | None) -> dict[str, Any]:
        if invocation is not None:  # an in-progress record expires with the invocation
            config.register_lambda_context(invocation)  # type: ignore[arg-type]
        result: dict[str, Any] = once(upload=upload, invocation=invocation)
        return result

    return IngestRecords(
        ingest=ingest, repository=material_repository(), max_receive=settings.ingest_max_receive
    )


# ----------------------------------------------------------------------------- scheduler function


@cache
def scheduled_runs() -> ScheduledRuns:
    from onestop.quality.schedule import ScheduledRuns

    from .assignment_store import DynamoAssignmentStore

    return ScheduledRuns(
        quality=quality_repository(),
        outbox=application_repository(),
        publisher=event_publisher(),
        catalogue=catalogue_book().current_or_last_known,
        escalations=DynamoAssignmentStore(get_settings().table_name),
    )


# ----------------------------------------------------------------------------- notify function


@cache
def notifier() -> Notifier:
    """Notifications: applications and licences from the table, SMS by SNS, e-mail by SES from the
    configured sender, escalations to the user pool's admin group (issue 18 item 2)."""
    from onestop.notifications.messages import Links
    from onestop.notifications.service import Notifier, slot_names

    from .notifier import CognitoAdminDirectory, SesEmailSender, SnsSmsSender

    settings = get_settings()

    def licence_application(licence_id: str) -> str | None:
        record = licence_registry().get(licence_id)
        return record.application_id if record is not None else None

    return Notifier(
        store=notification_store(),
        applications=application_repository(),
        sms=SnsSmsSender(region=settings.notify_region),
        email=SesEmailSender(settings.notify_sender or "", region=settings.notify_region),
        links=Links(settings.portal_origin),
        admins=CognitoAdminDirectory(settings.user_pool_id, settings.notify_admin_group)
        if settings.user_pool_id
        else None,
        licence_application=licence_application,
        slot_name=slot_names(catalogue_book().of),  # the version the application pinned
    )


@cache
def notification_store() -> DynamoNotificationStore:
    """Preferences and inbox (the api's /me routes) and delivery records (the notify function)."""
    from .notifier_store import DynamoNotificationStore

    return DynamoNotificationStore(get_settings().table_name)


# -----------------------------------------------------------------------------


def reset() -> None:
    """Forget every built service (tests change the environment, the endpoints and the PKI)."""
    module = sys.modules[__name__]
    for value in vars(module).values():
        wrapped = getattr(value, "__wrapped__", None)
        if getattr(wrapped, "__module__", None) == __name__ and hasattr(value, "cache_clear"):
            value.cache_clear()
