"""What every applications use case works with: storage, blobs, the bus, the clock and the limits."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from onestop.catalogue import Catalogue
from onestop.ports import BlobStore, EventPublisher

from .elicence import ElicenceSource
from .models import utcnow
from .ports import ApplicationRepository, Clock
from .quotas import Quotas


def random_id() -> str:
    """A fresh application or upload id (32 hex digits)."""
    return uuid.uuid4().hex


@dataclass(frozen=True)
class ServiceConfig:
    """Limits and timings of the service (from settings in the Lambda, literal in tests)."""

    upload_ttl_seconds: int = 600
    upload_max_bytes: int = 20 * 1024 * 1024
    download_ttl_seconds: int = 300
    quotas: Quotas = field(default_factory=Quotas)


@dataclass(frozen=True)
class ApplicationDeps:
    """The ports and settings the use cases share, built once by `ApplicationService`.

    `materials_store` and `elicences` are optional: without them there are no download links, and
    attaching an e-licence answers 503.
    """

    repository: ApplicationRepository
    catalogue: Catalogue
    uploads: BlobStore
    publisher: EventPublisher
    clock: Clock
    config: ServiceConfig = field(default_factory=ServiceConfig)
    materials_store: BlobStore | None = None
    elicences: ElicenceSource | None = None
    now: Callable[[], datetime] = utcnow
    new_id: Callable[[], str] = random_id
