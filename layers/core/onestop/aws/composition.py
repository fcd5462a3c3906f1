"""Composition roots: the domain services wired to AWS from settings, built once per container."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from onestop.catalogue import Catalogue, load_catalogue
from onestop.licences.approval import issue_for_approval, issue_new_version
from onestop.licences.issuance import IssuerProfile
from onestop.licences.models import LicenceRecord
from onestop.licences.seal import timestamper_for
from onestop.licences.trust import load_trust
from onestop.settings import get_settings

from .application_links import DynamoApplicationLinker
from .events import EventBridgePublisher
from .kms_signer import KmsSigner
from .licence_registry import DynamoLicenceRegistry
from .s3 import S3BlobStore


@dataclass(frozen=True)
class LicenceIssuer:
    """Everything the issue function needs, resolved once per container."""

    catalogue: Catalogue
    issuer: IssuerProfile
    registry: DynamoLicenceRegistry
    store: S3BlobStore
    publisher: EventBridgePublisher
    applications: DynamoApplicationLinker

    def issue(self, detail: dict[str, Any]) -> LicenceRecord | None:
        # The trust index is read per event, not cached: a seal rotation takes effect without a redeploy.
        seal = load_trust(self.store, get_settings().pki_prefix).current_seal()
        return issue_for_approval(
            detail,
            catalogue=self.catalogue,
            issuer=self.issuer,
            registry=self.registry,
            store=self.store,
            signer=KmsSigner.for_seal(seal),
            publisher=self.publisher,
            applications=self.applications,
            timestamper=timestamper_for(self.issuer.tsa_url),
        )

    def new_version(self, detail: dict[str, Any]) -> LicenceRecord:
        """Renew (延续) or change (变更) a licence as a reviewer asked: a new sealed version."""
        seal = load_trust(self.store, get_settings().pki_prefix).current_seal()
        return issue_new_version(
            detail,
            issuer=self.issuer,
            registry=self.registry,
            store=self.store,
            signer=KmsSigner.for_seal(seal),
            publisher=self.publisher,
            timestamper=timestamper_for(self.issuer.tsa_url),
        )


@cache
def licence_issuer() -> LicenceIssuer:
    settings = get_settings()
    return LicenceIssuer(
        catalogue=load_catalogue(),
        issuer=IssuerProfile.from_settings(settings),
        registry=DynamoLicenceRegistry(settings.table_name),
        store=S3BlobStore(settings.licences_bucket),
        publisher=EventBridgePublisher(settings.event_bus_name, settings.event_source),
        applications=DynamoApplicationLinker(settings.table_name),
    )
