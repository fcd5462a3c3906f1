"""Filling a material slot with an e-licence the bureau issued (免提交) instead of an uploaded file;
the checks themselves are in `elicence`."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from onestop.catalogue import ServiceItem
from onestop.errors import Conflict, InvalidInput, Reason, Unavailable
from onestop.events import MaterialCatalogued
from onestop.licences.models import HolderKind, china_date
from onestop.observability import metrics
from onestop.outbox import OwedEvent, deliver
from onestop.parties.rules import require_acts_for

from . import elicence
from .access import owned, require_editable
from .deps import ApplicationDeps
from .detail_view import download_url
from .identity import Principal, Role
from .models import ApplicationStatus, AuditEvent, Material
from .uploads import check_slot_room, find_material, requirement_for


@dataclass(frozen=True)
class AttachedElicence:
    """The material an e-licence filled; `created` is False when it was already attached."""

    material: Material
    created: bool
    item: ServiceItem
    download_url: str | None = None


def attach_elicence(
    deps: ApplicationDeps, principal: Principal, application_id: str, slot: str, licence_id: str
) -> AttachedElicence:
    """Fill `slot` with an e-licence the bureau issued (免提交) instead of an uploaded file.

    Checked in order, cheapest first, each refusal saying why: the slot takes an e-licence of
    some type; the identifier is well formed and of that type; the registry has it; it is the
    applicant's and valid now; its sealed PDF verifies. The material is then catalogued at once.
    The same licence again in the same slot returns the material already there.
    """
    application = owned(deps, principal, application_id)
    principal = principal.acting_as(Role.APPLICANT)
    # The application's party must be the caller's (an application opened before parties were bound,
    # or a binding since withdrawn, must not reach another holder's licence); the holder must then be
    # that party (`check_record`).
    require_acts_for(principal, application.applicant.kind, application.applicant.code, field="licence_id")
    require_editable(application, "attach e-licence")
    item = deps.catalogue.of(application).item(application.item_code)  # its pinned version
    requirement = requirement_for(item, slot)
    expected_type = elicence.required_type(requirement)
    requested = elicence.parse_requested(licence_id)
    elicence.check_type(requirement, requested, expected_type, _licence_names(deps, expected_type))
    canonical = requested.value
    upload_id = elicence.elicence_upload_id(canonical)
    existing = [m for m in deps.repository.list_materials(application.id) if m.slot == slot]
    already = next((m for m in existing if m.upload_id == upload_id), None)
    if already is not None:
        return AttachedElicence(already, False, item, download_url(deps, already))
    check_slot_room(requirement, existing)

    source = _elicence_source(deps)
    now = deps.now()
    record = elicence.check_record(source.lookup(canonical), canonical, application, china_date(now))
    if record.metadata.holder_kind is HolderKind.PERSON:
        _require_own_person_licence(deps, principal, record.application_id)
    verified = elicence.verify_stored(source, record, now)
    material = elicence.catalogued_material(
        application, requirement, verified, bucket=source.store.name, upload_id=upload_id, now=now
    )
    event = AuditEvent(
        application_id=application.id,
        at=now,
        n=application.version,
        tag=deps.new_id()[:12],
        actor=principal.label,
        actor_role=principal.primary_role,
        action="attach_elicence",
        from_status=ApplicationStatus(application.status),
        to_status=ApplicationStatus(application.status),
        comment=f"{slot}/{upload_id} {canonical}",
    )
    # The event is owed from the same write (the outbox), then sent; if the bus fails the material is
    # attached all the same and the scheduler's drain sends the event later.
    owed = OwedEvent.of(
        catalogued_event(material, canonical), owner=application.id, key=f"{slot}#{upload_id}"
    )
    try:
        deps.repository.add_material(application, material, event, owed=owed)
    except Conflict:
        # A concurrent attach of the same licence won the conditional write: same answer as a retry.
        raced = find_material(deps, application.id, slot, upload_id)
        if raced is None:
            raise
        return AttachedElicence(raced, False, item, download_url(deps, raced))
    metrics.add_metric(name="ElicenceAttached", unit="Count", value=1)
    deliver(deps.publisher, owed, partial(deps.repository.clear_owed, owed))
    return AttachedElicence(material, True, item, download_url(deps, material))


def _elicence_source(deps: ApplicationDeps) -> elicence.ElicenceSource:
    if deps.elicences is None:
        raise Unavailable(
            "elicence_unavailable",
            "暂时无法使用电子证照免提交，请稍后再试或上传文件。",
            "E-licences cannot be attached right now; try again later or upload the file.",
        )
    return deps.elicences


def _licence_names(deps: ApplicationDeps, type_code: str) -> tuple[str, str] | None:
    for item in deps.catalogue.items:
        if item.licence is not None and item.licence.type_code == type_code:
            return item.licence.name_zh, item.licence.name_en
    return None


def _require_own_person_licence(
    deps: ApplicationDeps, principal: Principal, licence_application_id: str
) -> None:
    # Anyone can type a person's ID number into a new application; attaching would then show that
    # person's name. So a person's licence is usable only by the account that applied for it.
    origin = deps.repository.get(licence_application_id)
    if origin is None or origin.owner_sub != principal.sub:
        raise InvalidInput(
            "elicence_other_account",
            "个人持有的电子证照只能由申领该证照的账号使用，请用该账号办理或改为上传文件。",
            "A person's e-licence can be attached only from the account that applied for it; use that "
            "account or upload the file instead.",
            [
                Reason(
                    "elicence_other_account",
                    "该证照不是由本账号申领的。",
                    "This account did not apply for the licence.",
                    "licence_id",
                )
            ],
        )


def catalogued_event(material: Material, licence_id: str) -> MaterialCatalogued:
    """The same event ingest sends for a catalogued upload, naming the e-licence."""
    classification = material.classification
    return MaterialCatalogued(
        application_id=material.application_id,
        slot=material.slot,
        upload_id=material.upload_id,
        status=material.status.value,
        source=material.source,
        licence_id=licence_id,
        material_type=classification.material_type if classification else None,
        confidence=classification.confidence if classification else None,
        problems=[],
        normalised=material.normalised,
        manifest_key=None,
    )
