"""The licence office: every licence use case over one set of dependencies, built once per container
by the composition root (`onestop.aws.composition.licence_office`).

- `issue(approved)`: an `ApplicationApproved` → the item's licence (idempotent), linked back to the
  application;
- `renew` (延续) and `change` (变更): a new sealed version, the old one superseded;
- `change_status(action, …)`: suspend, reinstate, revoke, cancel, withdraw;
- `request_new_version`: what the api function does for renew and change (only the issue function
  may use the seal key): it asks the issue function with a `LicenceVersionRequested`;
- `handle(detail_type, detail)`: the issue function's work, routed by the event's detail type;
  `LicenceIssued` and `LicenceStatusChanged` republish that licence type's signed status list, and
  the schedule's `PublishLists` every list and the trust list (licences/publishing.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import ValidationError

from onestop.catalogue import Catalogue
from onestop.catalogue.versions import CatalogueBook
from onestop.errors import InvalidInput, Reason
from onestop.events import (
    ApplicationApproved,
    LicenceIssued,
    LicenceStatusChanged,
    LicenceVersionRequested,
    parse_time,
    publish,
)
from onestop.observability import logger, metrics
from onestop.ports import BlobStore, EventPublisher

from .issuance import ApprovalFacts, IssuerProfile, LicenceType, issue_licence
from .lifecycle import LicenceChanges, change_licence, change_status, get_licence, renew_licence
from .models import (
    Action,
    EvidenceRef,
    HolderKind,
    LicenceRecord,
    LicenceStatus,
    china_date,
    illegal_transition,
)
from .registry import LicenceRegistry

if TYPE_CHECKING:
    from pyhanko.sign.signers import Signer
    from pyhanko.sign.timestamps import TimeStamper

    from .publishing import ListPublisher


class ApplicationLinker(Protocol):
    """Records on the application which licence it produced (shown to the applicant)."""

    def link_licence(self, application_id: str, licence_id: str) -> None: ...


class UnroutedEvent(InvalidInput):
    """An event the issue function has no use for: it fails (EventBridge retries, then dead-letters
    it) instead of being taken for something else."""


def _malformed(code: str, zh: str, en: str, exc: Exception) -> InvalidInput:
    return InvalidInput(code, zh, en, details=[Reason(code, str(exc), str(exc))])


def approval_from_event(
    approved: ApplicationApproved, catalogue: Catalogue
) -> tuple[ApprovalFacts, LicenceType] | None:
    """The facts to print on the licence, or None when the item issues no licence (e.g. a filing)."""
    item = catalogue.item(approved.item_code)
    try:
        approved_at = parse_time(approved.approved_at)
    except ValueError as exc:
        raise _malformed(
            "approval_event_malformed",
            "批准事件内容不完整，无法发证。",
            "The approval event is incomplete; no licence can be issued.",
            exc,
        ) from exc
    facts = ApprovalFacts(
        application_id=approved.application_id,
        item_code=item.code,
        item_name=item.name_zh,
        holder_kind=HolderKind(approved.applicant.kind),
        holder_name=approved.applicant.name,
        holder_code=approved.applicant.code,
        approved_at=approved_at,
        approved_by=approved.approved_by or "reviewer",
        evidence=tuple(
            EvidenceRef(
                slot=e.slot,
                upload_id=e.upload_id,
                sha256=e.sha256,
                version_id=e.version_id,
                normalised_sha256=e.normalised_sha256,
                source=e.source,
                corrections=tuple(c.model_dump(mode="json") for c in e.corrections or ()),
            )
            for e in approved.evidence or ()
        ),
    )
    if item.licence is None:
        return None
    return facts, LicenceType.from_spec(item.licence, definer_name=catalogue.authority.name_zh)


@dataclass(frozen=True)
class LicenceOffice:
    """The issuer's dependencies, and the licence use cases over them.

    `signer` gives the current seal's signer; it is asked only by the use cases that seal (issue,
    renew, change), so changing a status never loads the signing stack. `timestamper`: None takes the
    issuer's TSA, if it has one (`seal.timestamper_for`).
    """

    catalogue: Catalogue | CatalogueBook  # a book: the licence spec of the application's pinned version
    issuer: IssuerProfile
    registry: LicenceRegistry
    store: BlobStore
    publisher: EventPublisher
    applications: ApplicationLinker
    signer: Callable[[], Signer]
    timestamper: TimeStamper | None = None
    lists: Callable[[], ListPublisher] | None = None  # the status and trust lists (issue function)

    def get(self, licence_id: str) -> LicenceRecord:
        """A visible licence version (404 otherwise)."""
        return get_licence(self.registry, licence_id)

    def issue(self, approved: ApplicationApproved, *, now: datetime | None = None) -> LicenceRecord | None:
        """Issue the approval's licence (idempotent) and link it to the application; None when the
        item issues no licence."""
        book = self.catalogue
        catalogue = book.at(approved.catalogue_version) if isinstance(book, CatalogueBook) else book
        found = approval_from_event(approved, catalogue)
        if found is None:
            return None
        facts, licence_type = found
        record = issue_licence(facts, licence_type=licence_type, now=now, **self._sealing())
        self.applications.link_licence(facts.application_id, record.licence_id)
        return record

    def renew(
        self,
        licence_id: str,
        *,
        validity_years: int | None,
        actor: str,
        reason: str,
        now: datetime | None = None,
        actor_role: str | None = None,
    ) -> LicenceRecord:
        """延续: the next version, valid `validity_years` (the type's term when None) from the day after
        the old one ends."""
        return renew_licence(
            licence_id,
            validity_years=validity_years,
            actor=actor,
            reason=reason,
            now=now,
            actor_role=actor_role,
            **self._sealing(),
        )

    def change(
        self,
        licence_id: str,
        *,
        changes: LicenceChanges,
        actor: str,
        reason: str,
        now: datetime | None = None,
        actor_role: str | None = None,
    ) -> LicenceRecord:
        """变更: the next version with the changed particulars, until the old end date."""
        return change_licence(
            licence_id,
            changes=changes,
            actor=actor,
            reason=reason,
            now=now,
            actor_role=actor_role,
            **self._sealing(),
        )

    def change_status(
        self,
        action: Action,
        licence_id: str,
        *,
        actor: str,
        reason: str,
        reason_code: str | None = None,
        now: datetime | None = None,
        actor_role: str | None = None,
    ) -> LicenceRecord:
        """Suspend, reinstate, revoke, cancel or withdraw (`lifecycle.change_status`)."""
        return change_status(
            action,
            licence_id,
            registry=self.registry,
            publisher=self.publisher,
            actor=actor,
            reason=reason,
            reason_code=reason_code,
            now=now,
            actor_role=actor_role,
        )

    def request_new_version(
        self,
        licence_id: str,
        *,
        action: str,
        actor: str,
        reason: str,
        validity_years: int | None = None,
        holder_name: str | None = None,
        actor_role: str | None = None,
    ) -> LicenceRecord:
        """Ask the issue function to renew or change a valid licence; the licence as it stands."""
        record = self.get(licence_id)
        today = china_date(datetime.now(UTC))
        if record.effective_status(today) is not LicenceStatus.VALID:
            raise illegal_transition(licence_id, Action.SUPERSEDE, record.effective_status(today))
        if action == "change" and not holder_name:
            raise InvalidInput(
                "licence_change_empty",
                "变更申请未包含任何变更内容（例如新的持证主体名称）。",
                "The change does not alter anything (give, for example, the holder's new name).",
                details=[
                    Reason(
                        "licence_change_empty", "请填写变更后的内容。", "Give the new value.", "holder_name"
                    )
                ],
            )
        requested = LicenceVersionRequested(
            licence_id=licence_id,
            action=action,
            reason=reason,
            validity_years=validity_years,
            holder_name=holder_name,
            requested_by=actor,
            requested_role=actor_role,
            requested_at=datetime.now(UTC).isoformat(),
        )
        publish(self.publisher, requested)
        return record

    def new_version(self, requested: LicenceVersionRequested) -> LicenceRecord:
        """A `LicenceVersionRequested` → the renewed or changed version (idempotent: the successor's
        identifier is fixed by the old version, so a repeated event resumes or returns the same record)."""
        actor = requested.requested_by or "reviewer"
        if requested.action == "renew":
            return self.renew(
                requested.licence_id,
                validity_years=requested.validity_years or None,
                actor=actor,
                reason=requested.reason,
                actor_role=requested.requested_role,
            )
        if requested.action == "change":
            changes = LicenceChanges(holder_name=requested.holder_name or None)
            return self.change(
                requested.licence_id,
                changes=changes,
                actor=actor,
                reason=requested.reason,
                actor_role=requested.requested_role,
            )
        raise InvalidInput(
            "version_action_unknown",
            f"未知的换发类型：{requested.action}。",
            f"Unknown renewal/change action: {requested.action}.",
        )

    def handle(self, detail_type: str, detail: Mapping[str, Any]) -> dict[str, Any]:
        """The issue function's work for one event, chosen by its detail type (`EVENT_ROUTES`)."""
        route = EVENT_ROUTES.get(detail_type) or SCHEDULED_ROUTES.get(detail_type)
        if route is None:
            logger.error("event type not routed", extra={"detail_type": detail_type})
            raise UnroutedEvent(
                "event_type_unrouted",
                f"发证服务不处理 {detail_type} 事件。",
                f"The issue function does not handle {detail_type} events.",
                extra={"detail_type": detail_type, "routed": sorted(EVENT_ROUTES)},
            )
        return route(self, detail)

    def _sealing(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "registry": self.registry,
            "store": self.store,
            "signer": self.signer(),
            "publisher": self.publisher,
            "timestamper": self.timestamper,
        }


def _on_approved(office: LicenceOffice, detail: Mapping[str, Any]) -> dict[str, Any]:
    try:
        approved = ApplicationApproved.parse(detail)
    except ValidationError as exc:
        raise _malformed(
            "approval_event_malformed",
            "批准事件内容不完整，无法发证。",
            "The approval event is incomplete; no licence can be issued.",
            exc,
        ) from exc
    record = office.issue(approved)
    if record is None:
        logger.info("item issues no licence", extra={"application": approved.application_id})
        return {"issued": False}
    metrics.add_metric(name="LicenceIssued", unit="Count", value=1)
    logger.info("licence issued", extra={"licence_id": record.licence_id})
    return {"issued": True, "licence_id": record.licence_id, "status": record.status.value}


def _on_version_requested(office: LicenceOffice, detail: Mapping[str, Any]) -> dict[str, Any]:
    try:
        requested = LicenceVersionRequested.parse(detail)
    except ValidationError as exc:
        raise _malformed(
            "version_request_malformed",
            "换发请求内容不完整。",
            "The renewal or change request is incomplete.",
            exc,
        ) from exc
    renewed = office.new_version(requested)
    metrics.add_metric(name="LicenceVersionIssued", unit="Count", value=1)
    return {"issued": True, "licence_id": renewed.licence_id, "supersedes": renewed.supersedes}


def _publisher(office: LicenceOffice) -> ListPublisher:
    if office.lists is None:
        raise UnroutedEvent(
            "lists_not_configured",
            "本服务未配置状态列表发布。",
            "This service does not publish status lists.",
        )
    return office.lists()


def _on_lifecycle(office: LicenceOffice, detail: Mapping[str, Any]) -> dict[str, Any]:
    licence_id = detail.get("licence_id")
    if not isinstance(licence_id, str) or not licence_id:
        raise InvalidInput(
            "lifecycle_event_malformed",
            "证照状态事件缺少证照标识。",
            "The licence event names no licence.",
        )
    return _publisher(office).on_lifecycle(licence_id)


def _on_publish_lists(office: LicenceOffice, detail: Mapping[str, Any]) -> dict[str, Any]:
    return _publisher(office).publish_all()


# The issue function's rules (template.yaml) deliver exactly these detail types.
EVENT_ROUTES: dict[str, Callable[[LicenceOffice, Mapping[str, Any]], dict[str, Any]]] = {
    ApplicationApproved.DETAIL_TYPE: _on_approved,
    LicenceVersionRequested.DETAIL_TYPE: _on_version_requested,
    LicenceIssued.DETAIL_TYPE: _on_lifecycle,
    LicenceStatusChanged.DETAIL_TYPE: _on_lifecycle,
}

# The issue function's schedule (template.yaml, `PublishLists`: its Input is an event of this type).
PUBLISH_LISTS = "PublishLists"
SCHEDULED_ROUTES: dict[str, Callable[[LicenceOffice, Mapping[str, Any]], dict[str, Any]]] = {
    PUBLISH_LISTS: _on_publish_lists,
}
