"""Use cases of applicants and reviewers behind one object. Storage, blobs, events and the clock come
in as ports, held in one `ApplicationDeps`; each method is a use case in its own module:

- `drafts`: create, list_mine, submit, withdraw;  `detail_view`: get;
- `uploads`: request_upload, remove_upload;  `attachments`: attach_elicence (免提交);
- `review_queue`: the reviewer's queue;  `decisions`: decide;
- `transitions`: the state change with its audit and outbox events (submit, withdraw, decide).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any, Generic, TypeVar, cast, overload

from onestop.catalogue import Catalogue
from onestop.catalogue.versions import CatalogueBook
from onestop.licences.models import LicenceRecord
from onestop.ports import BlobStore, EventPublisher

from . import attachments, corrections, decisions, detail_view, drafts, duties, elicence, review_queue
from . import uploads as upload_cases  # aliased: `uploads` is also the upload bucket's attribute
from .assignment import AssignedFilter, AssignmentStore, ReviewerDirectory
from .attachments import AttachedElicence
from .decisions import ReasonInput
from .deps import ApplicationDeps, ServiceConfig, random_id
from .detail_view import ApplicationDetail
from .drafts import ONLINE_DEPTHS, ApplicantInput
from .file_formats import CONTENT_TYPE_FORMATS, EXTENSION_FORMATS, FORMAT_CONTENT_TYPES, sanitise_filename
from .identity import Principal
from .models import Application, ApplicationStatus, Contact, Page, utcnow
from .ports import ApplicationRepository, Clock
from .review_queue import QueueEntry
from .state import Action
from .transitions import EVENT_FOR_ACTION
from .uploads import MAX_UPLOAD_ATTEMPTS_PER_SLOT, UploadTicket

# What callers import from here (the routes, schemas, KPIs and tests).
__all__ = [
    "CONTENT_TYPE_FORMATS",
    "EVENT_FOR_ACTION",
    "EXTENSION_FORMATS",
    "FORMAT_CONTENT_TYPES",
    "MAX_UPLOAD_ATTEMPTS_PER_SLOT",
    "ONLINE_DEPTHS",
    "ApplicantInput",
    "ApplicationDeps",
    "ApplicationDetail",
    "ApplicationService",
    "AttachedElicence",
    "QueueEntry",
    "ReasonInput",
    "ServiceConfig",
    "UploadTicket",
    "sanitise_filename",
]

T = TypeVar("T")


class _Dep(Generic[T]):
    """One field of the service's `ApplicationDeps`, read and replaced through the service."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, service: None, owner: type) -> _Dep[T]: ...
    @overload
    def __get__(self, service: ApplicationService, owner: type | None = None) -> T: ...
    def __get__(self, service: ApplicationService | None, owner: type | None = None) -> T | _Dep[T]:
        if service is None:  # on the class (introspection, autospec): the descriptor itself
            return self
        return cast(T, getattr(service.deps, self.name))

    def __set__(self, service: ApplicationService, value: T) -> None:
        # The deps stay frozen; re-pointing one (tests move the clock or break the bus) swaps in a copy.
        changed: dict[str, Any] = {self.name: value}
        service.deps = replace(service.deps, **changed)


class ApplicationService:
    """Applications from creation to decision, for applicants and reviewers."""

    deps: ApplicationDeps  # what every use case gets; the attributes below read and replace its fields
    repository: _Dep[ApplicationRepository] = _Dep()
    catalogue: _Dep[CatalogueBook] = _Dep()
    uploads: _Dep[BlobStore] = _Dep()
    publisher: _Dep[EventPublisher] = _Dep()
    clock: _Dep[Clock] = _Dep()
    config: _Dep[ServiceConfig] = _Dep()
    materials_store: _Dep[BlobStore | None] = _Dep()
    elicences: _Dep[elicence.ElicenceSource | None] = _Dep()
    now: _Dep[Callable[[], datetime]] = _Dep()
    new_id: _Dep[Callable[[], str]] = _Dep()

    def __init__(
        self,
        repository: ApplicationRepository,
        catalogue: Catalogue | CatalogueBook,
        uploads: BlobStore,
        publisher: EventPublisher,
        clock: Clock,
        *,
        config: ServiceConfig | None = None,
        materials_store: BlobStore | None = None,
        elicences: elicence.ElicenceSource | None = None,
        assignments: AssignmentStore | None = None,
        reviewers: ReviewerDirectory | None = None,
        now: Callable[[], datetime] = utcnow,
        new_id: Callable[[], str] = random_id,
    ) -> None:
        self.deps = ApplicationDeps(
            repository=repository,
            # A plain catalogue (tests, tools) is a book of one version.
            catalogue=catalogue if isinstance(catalogue, CatalogueBook) else CatalogueBook.fixed(catalogue),
            uploads=uploads,
            publisher=publisher,
            clock=clock,
            config=config or ServiceConfig(),
            materials_store=materials_store,
            elicences=elicences,
            assignments=assignments,
            reviewers=reviewers,
            now=now,
            new_id=new_id,
        )

    # ----------------------------------------------------------------- applicant side

    def create(
        self, principal: Principal, item_code: str, applicant: ApplicantInput, contact: Contact | None = None
    ) -> Application:
        """A new draft application; every problem with the input is reported at once."""
        return drafts.create(self.deps, principal, item_code, applicant, contact)

    def list_mine(
        self, principal: Principal, *, limit: int = 20, cursor: str | None = None
    ) -> Page[Application]:
        """The caller's own applications, newest first."""
        return drafts.list_mine(self.deps, principal, limit=limit, cursor=cursor)

    def get(self, principal: Principal, application_id: str) -> ApplicationDetail:
        """The application with materials and audit trail (owner or reviewer only; 404 otherwise)."""
        return detail_view.get(self.deps, principal, application_id)

    def request_upload(
        self,
        principal: Principal,
        application_id: str,
        slot: str,
        *,
        filename: str,
        content_type: str,
        size: int,
    ) -> UploadTicket:
        """A presigned POST for one file into `slot`, and its material record (awaiting upload)."""
        return upload_cases.request_upload(
            self.deps,
            principal,
            application_id,
            slot,
            filename=filename,
            content_type=content_type,
            size=size,
        )

    def remove_upload(self, principal: Principal, application_id: str, slot: str, upload_id: str) -> None:
        """Take a file out of the application while it can still be changed."""
        upload_cases.remove_upload(self.deps, principal, application_id, slot, upload_id)

    def attach_elicence(
        self, principal: Principal, application_id: str, slot: str, licence_id: str
    ) -> AttachedElicence:
        """Fill `slot` with an e-licence the bureau issued (免提交) instead of an uploaded file."""
        return attachments.attach_elicence(self.deps, principal, application_id, slot, licence_id)

    def submit(self, principal: Principal, application_id: str) -> Application:
        """Submit (or resubmit after correction); an incomplete set raises the one-time notice."""
        return drafts.submit(self.deps, principal, application_id)

    def withdraw(self, principal: Principal, application_id: str, comment: str | None = None) -> Application:
        """The applicant withdraws an application that has not been decided."""
        return drafts.withdraw(self.deps, principal, application_id, comment)

    # ----------------------------------------------------------------- reviewer side

    def queue(
        self,
        principal: Principal,
        *,
        statuses: Sequence[ApplicationStatus] = (ApplicationStatus.SUBMITTED, ApplicationStatus.ACCEPTED),
        at_risk_only: bool = False,
        limit: int = 50,
        cursor: str | None = None,
        assigned: AssignedFilter = "any",
        escalated_only: bool = False,
    ) -> Page[QueueEntry]:
        """Applications waiting for a reviewer, most urgent first, across the given statuses."""
        return review_queue.queue(
            self.deps,
            principal,
            statuses=statuses,
            at_risk_only=at_risk_only,
            limit=limit,
            cursor=cursor,
            assigned=assigned,
            escalated_only=escalated_only,
        )

    def decide(
        self,
        principal: Principal,
        application_id: str,
        action: Action,
        *,
        reasons: Sequence[ReasonInput] = (),
        comment: str | None = None,
        expected_version: int | None = None,
    ) -> Application:
        """A reviewer accepts (受理), asks for correction (补正), approves or rejects."""
        return decisions.decide(
            self.deps,
            principal,
            application_id,
            action,
            reasons=reasons,
            comment=comment,
            expected_version=expected_version,
        )

    def correct(
        self,
        principal: Principal,
        application_id: str,
        upload_id: str,
        given: corrections.CorrectionInput,
    ) -> corrections.CorrectionResult:
        """A reviewer corrects one value read from a material, or its type, with a reason."""
        return corrections.correct(self.deps, principal, application_id, upload_id, given)

    def require_may_change_licence(self, principal: Principal, record: LicenceRecord) -> Principal:
        """The admin acting on a licence whose application is neither theirs nor their party's (403)."""
        return duties.require_may_change_licence(self.deps, principal, record)
