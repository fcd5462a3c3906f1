"""The application page: the application with its materials, audit trail, open issues, the actions
the caller may take and short-lived download links."""

from __future__ import annotations

from dataclasses import dataclass, field

from onestop.catalogue import ServiceItem
from onestop.errors import NotFound, Reason

from .access import may_read, not_found
from .assignment import STAFF_ACTIONS
from .completeness import check_completeness
from .deps import ApplicationDeps
from .identity import Principal
from .models import EDITABLE_STATUSES, Application, ApplicationStatus, AuditEvent, Evidence, Material
from .pauses import DECIDED_WHILE_RUNNING, is_paused
from .ports import ApplicationBundle
from .state import Action, Actor, allowed_actions


@dataclass(frozen=True)
class ApplicationDetail:
    """What the application page shows."""

    application: Application
    item: ServiceItem | None
    materials: list[Material]
    events: list[AuditEvent]
    open_issues: list[Reason]
    allowed_actions: list[Action]
    download_urls: dict[str, str] = field(default_factory=dict)
    # upload id → the material as pinned at submission (version and SHA-256 a decision is taken on)
    pinned: dict[str, Evidence] = field(default_factory=dict)
    # upload id → short-lived links to the JPEG of each upright page (the frame of the field boxes)
    preview_urls: dict[str, list[str]] = field(default_factory=dict)


def get(deps: ApplicationDeps, principal: Principal, application_id: str) -> ApplicationDetail:
    """The application with materials and audit trail (owner or reviewer only; 404 otherwise)."""
    principal.require_authenticated()
    bundle = deps.repository.load(application_id)
    if bundle is None or not may_read(principal, bundle.application):
        raise not_found()
    return detail_of(deps, principal, bundle)


def detail_of(deps: ApplicationDeps, principal: Principal, bundle: ApplicationBundle) -> ApplicationDetail:
    """The page for a bundle the caller may read."""
    application = bundle.application
    try:
        item: ServiceItem | None = deps.catalogue.of(application).item(application.item_code)
    except NotFound:
        item = None  # retired from the catalogue; the application keeps its snapshot names
    status = ApplicationStatus(application.status)
    issues: list[Reason] = []
    if item is not None and status in EDITABLE_STATUSES:
        issues = check_completeness(item, application.applicant, bundle.materials)
    actions: list[Action] = []
    if application.owner_sub == principal.sub:
        actions += allowed_actions(status, Actor.OWNER)
    if principal.is_reviewer:
        reviewer_actions = allowed_actions(status, Actor.REVIEWER)
        if is_paused(application):  # a hearing, expert review or inspection holds the clock (409)
            reviewer_actions = [a for a in reviewer_actions if a not in DECIDED_WHILE_RUNNING]
        actions += reviewer_actions
    urls: dict[str, str] = {}
    previews: dict[str, list[str]] = {}
    # A sealed e-licence original goes only to reviewers and accounts bound to its holder (the
    # applicant, whom `check_record` matched when it was attached), not to whoever owns the draft.
    holder_bound = principal.is_reviewer or principal.acts_for(
        application.applicant.kind, application.applicant.code
    )
    for material in bundle.materials:
        if material.source == "elicence" and not holder_bound:
            continue
        url = download_url(deps, material)
        if url is not None:
            urls[material.upload_id] = url
        pages = preview_urls(deps, material)
        if pages:
            previews[material.upload_id] = pages
    order = {r.slot: i for i, r in enumerate(item.materials)} if item is not None else {}
    materials = sorted(
        bundle.materials,
        key=lambda m: (order.get(m.slot, len(order)), m.slot, m.created_at or application.created_at),
    )
    return ApplicationDetail(
        application=application,
        item=item,
        materials=materials,
        # Who holds the work inside the bureau (claims, reassignments, escalations) is staff business.
        events=sorted(
            (e for e in bundle.events if principal.is_reviewer or e.action not in STAFF_ACTIONS),
            key=lambda e: (e.n, e.at),
        ),
        open_issues=issues,
        allowed_actions=actions,
        download_urls=urls,
        pinned={e.upload_id: e for e in application.evidence},
        preview_urls=previews,
    )


def preview_urls(deps: ApplicationDeps, material: Material) -> list[str]:
    """Presigned GETs of the page previews ingest stored beside the normalised PDF (none for an
    e-licence, or when the previews are not in the materials bucket we serve)."""
    store = deps.materials_store
    normalised = material.normalised or {}
    if store is None or material.source != "upload" or normalised.get("bucket", store.name) != store.name:
        return []
    out: list[str] = []
    for page in normalised.get("previews") or []:
        if not isinstance(page, dict) or not page.get("key"):
            continue
        version = page.get("version_id")
        out.append(
            store.presign_get(
                str(page["key"]),
                deps.config.download_ttl_seconds,
                version_id=str(version) if version else None,
            )
        )
    return out


def download_url(deps: ApplicationDeps, material: Material) -> str | None:
    """A presigned GET of a catalogued material, or None when it has no file in a bucket we serve."""
    normalised = material.normalised or {}
    key = normalised.get("key")
    if not key:
        return None
    ttl = deps.config.download_ttl_seconds
    if material.source == "elicence":
        store = deps.elicences.store if deps.elicences is not None else None
        if store is None or normalised.get("bucket") != store.name:
            return None
        version = normalised.get("version_id")
        return store.presign_get(str(key), ttl, version_id=str(version) if version else None)
    if deps.materials_store is None:
        return None
    if normalised.get("bucket", deps.materials_store.name) != deps.materials_store.name:
        return None
    # The version catalogued (and pinned at submission), not whatever the key holds later.
    version = normalised.get("version_id")
    return deps.materials_store.presign_get(str(key), ttl, version_id=str(version) if version else None)
