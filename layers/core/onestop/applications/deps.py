"""What every applications use case works with: storage, blobs, the bus, the clock and the limits."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from onestop.catalogue import Catalogue
from onestop.catalogue.versions import CatalogueBook
from onestop.ports import BlobStore, EventPublisher

from .elicence import ElicenceSource
from .models import utcnow
from .ports import ApplicationRepository, Clock
from .quotas import Quotas

if TYPE_CHECKING:
    from .assignment import AssignmentStore, ReviewerDirectory


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
    assignment_lease_seconds: int = 4 * 3600  # a claim lapses after this long without its owner acting


@dataclass(frozen=True)
class ApplicationDeps:
    """The ports and settings the use cases share, built once by `ApplicationService`.

    `materials_store` and `elicences` are optional: without them there are no download links, and
    attaching an e-licence answers 503.
    """

    repository: ApplicationRepository
    # The catalogue's versions: `current()` for a new application, `of(application)` for its pinned one.
    catalogue: CatalogueBook
    uploads: BlobStore
    publisher: EventPublisher
    clock: Clock
    config: ServiceConfig = field(default_factory=ServiceConfig)
    materials_store: BlobStore | None = None
    elicences: ElicenceSource | None = None
    # Work assignment (`applications.assignment`): without a store nothing is claimed or guarded.
    assignments: AssignmentStore | None = None
    reviewers: ReviewerDirectory | None = None
    now: Callable[[], datetime] = utcnow
    new_id: Callable[[], str] = random_id

    def __post_init__(self) -> None:
        # A plain catalogue (tests, tools) is a book of one version: every reader can ask for a pin.
        if isinstance(self.catalogue, Catalogue):
            object.__setattr__(self, "catalogue", CatalogueBook.fixed(self.catalogue))
