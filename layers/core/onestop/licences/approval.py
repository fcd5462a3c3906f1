"""From an `ApplicationApproved` event to an issued licence, linked back to its application."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Protocol

from pyhanko.sign.signers import Signer
from pyhanko.sign.timestamps import TimeStamper

from onestop.catalogue import Catalogue
from onestop.errors import InvalidInput, Reason
from onestop.ports import BlobStore, EventPublisher

from .issuance import ApprovalFacts, IssuerProfile, LicenceType, issue_licence
from .lifecycle import LicenceChanges, change_licence, renew_licence
from .models import HolderKind, LicenceRecord
from .registry import LicenceRegistry


class ApplicationLinker(Protocol):
    """Records on the application which licence it produced (shown to the applicant)."""

    def link_licence(self, application_id: str, licence_id: str) -> None: ...


def approval_from_event(
    detail: Mapping[str, Any], catalogue: Catalogue
) -> tuple[ApprovalFacts, LicenceType] | None:
    """The facts to print on the licence, or None when the item issues no licence (e.g. a filing)."""
    try:
        item = catalogue.item(str(detail["item_code"]))
        applicant = detail["applicant"]
        facts = ApprovalFacts(
            application_id=str(detail["application_id"]),
            item_code=item.code,
            item_name=item.name_zh,
            holder_kind=HolderKind(applicant["kind"]),
            holder_name=str(applicant["name"]),
            holder_code=str(applicant["code"]),
            approved_at=datetime.fromisoformat(str(detail["approved_at"]).replace("Z", "+00:00")),
            approved_by=str(detail.get("approved_by") or "reviewer"),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidInput(
            "approval_event_malformed",
            "批准事件内容不完整，无法发证。",
            "The approval event is incomplete; no licence can be issued.",
            details=[Reason("approval_event_malformed", str(exc), str(exc))],
        ) from exc
    if item.licence is None:
        return None
    return facts, LicenceType.from_spec(item.licence, definer_name=catalogue.authority.name_zh)


def issue_for_approval(
    detail: Mapping[str, Any],
    *,
    catalogue: Catalogue,
    issuer: IssuerProfile,
    registry: LicenceRegistry,
    store: BlobStore,
    signer: Signer,
    publisher: EventPublisher,
    applications: ApplicationLinker,
    timestamper: TimeStamper | None = None,
) -> LicenceRecord | None:
    """Issue the approval's licence (idempotent) and link it to the application."""
    found = approval_from_event(detail, catalogue)
    if found is None:
        return None
    facts, licence_type = found
    record = issue_licence(
        facts,
        licence_type=licence_type,
        issuer=issuer,
        registry=registry,
        store=store,
        signer=signer,
        publisher=publisher,
        timestamper=timestamper,
    )
    applications.link_licence(facts.application_id, record.licence_id)
    return record


def issue_new_version(
    detail: Mapping[str, Any],
    *,
    issuer: IssuerProfile,
    registry: LicenceRegistry,
    store: BlobStore,
    signer: Signer,
    publisher: EventPublisher,
    timestamper: TimeStamper | None = None,
) -> LicenceRecord:
    """A `LicenceVersionRequested` event → the renewed or changed version (idempotent: the successor's
    identifier is fixed by the old version, so a repeated event resumes or returns the same record)."""
    try:
        licence_id = str(detail["licence_id"])
        action = str(detail["action"])
        actor = str(detail.get("requested_by") or "reviewer")
        reason = str(detail["reason"])
    except KeyError as exc:
        raise InvalidInput(
            "version_request_malformed",
            "换发请求内容不完整。",
            "The renewal or change request is incomplete.",
        ) from exc
    if action == "renew":
        years = detail.get("validity_years")
        return renew_licence(
            licence_id,
            validity_years=int(years) if years else None,
            issuer=issuer,
            registry=registry,
            store=store,
            signer=signer,
            publisher=publisher,
            actor=actor,
            reason=reason,
            timestamper=timestamper,
        )
    if action == "change":
        return change_licence(
            licence_id,
            changes=LicenceChanges(holder_name=detail.get("holder_name") or None),
            issuer=issuer,
            registry=registry,
            store=store,
            signer=signer,
            publisher=publisher,
            actor=actor,
            reason=reason,
            timestamper=timestamper,
        )
    raise InvalidInput(
        "version_action_unknown", f"未知的换发类型：{action}。", f"Unknown renewal/change action: {action}."
    )
