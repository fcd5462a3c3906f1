"""E-licence reuse (免提交) in the applications domain, with in-memory ports (no AWS, no real PDF).

The real seal, registry and bucket are exercised in tests/integration/test_api_elicence.py; here the
verifier is a stand-in so that each refusal path (and the person-holder rule) can be driven exactly.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from onestop.applications.channels import Channel
from onestop.applications.elicence import (
    ElicenceSource,
    catalogued_material,
    elicence_upload_id,
    licence_fields,
    required_type,
    verify_stored,
)
from onestop.applications.identity import Principal, Role
from onestop.applications.models import Application, AuditEvent, Material, MaterialStatus
from onestop.applications.service import ApplicantInput, ApplicationService
from onestop.catalogue import ServiceItem, load_catalogue
from onestop.errors import Conflict, InvalidInput, NotFound, Unavailable
from onestop.identifiers.licence_id import make_licence_id
from onestop.licences.models import (
    Action,
    AuditEntry,
    HolderKind,
    LicenceMetadata,
    LicenceRecord,
    LicenceStatus,
    StoredPdf,
)
from onestop.outbox import OwedEvent, drain
from onestop.verification.report import Check, CheckResult, VerificationReport, failed, passed, unknown

from tests.unit.test_licence_support import (
    BUREAU_USCC,
    HOLDER_USCC,
    PERSON_ID,
    TYPE_CODE,
    MemoryBlobStore,
    RecordingPublisher,
)

NOW = datetime(2026, 5, 6, 3, 0, tzinfo=UTC)
PDF = b"%PDF-1.7 sealed licence stand-in"
CHANGE = "refined-oil-retail-change"


# ----------------------------------------------------------------------------- in-memory ports


class MemoryRepository:
    """What `attach_elicence` uses of the applications repository, with the same conditional rule."""

    def __init__(self) -> None:
        self.applications: dict[str, Application] = {}
        self.materials: dict[tuple[str, str, str], Material] = {}
        self.events: list[AuditEvent] = []
        self.outbox: dict[tuple[str, str, str], OwedEvent] = {}
        self.quotas: dict[tuple[str, str], int] = {}

    def create(self, application: Application, event: AuditEvent) -> None:
        self.applications[application.id] = application
        self.events.append(event)

    def get(self, application_id: str) -> Application | None:
        return self.applications.get(application_id)

    def list_materials(self, application_id: str) -> list[Material]:
        return [m for (a, _, _), m in self.materials.items() if a == application_id]

    def add_material(
        self,
        application: Application,
        material: Material,
        event: AuditEvent | None = None,
        owed: OwedEvent | None = None,
    ) -> None:
        key = (application.id, material.slot, material.upload_id)
        if key in self.materials:
            raise Conflict("illegal_transition", "冲突", "conflict")
        self.materials[key] = material
        if event is not None:
            self.events.append(event)
        if owed is not None:
            self.outbox[(owed.owner, owed.detail_type, owed.key)] = owed

    def clear_owed(self, owed: OwedEvent) -> None:
        del self.outbox[(owed.owner, owed.detail_type, owed.key)]

    def pending_outbox(self, limit: int = 100) -> list[OwedEvent]:
        return list(self.outbox.values())[:limit]

    def take_quota(self, owner_sub: str, counter: str, limit: int, *, expires_at: datetime | None) -> bool:
        if self.quotas.get((owner_sub, counter), 0) >= limit:
            return False
        self.quotas[(owner_sub, counter)] = self.quotas.get((owner_sub, counter), 0) + 1
        return True

    def give_back_quota(self, owner_sub: str, counter: str) -> None:
        self.quotas[(owner_sub, counter)] -= 1


class FixedClock:
    def add_working_days(self, start: datetime, days: int) -> Any:
        raise NotImplementedError


@dataclass
class Verifier:
    """Answers with a report built from `checks`; records what it was asked."""

    checks: Sequence[CheckResult] = ()
    licence_id: str | None = None
    calls: list[bytes] = field(default_factory=list)

    def __call__(self, data: bytes, now: datetime) -> VerificationReport:
        self.calls.append(data)
        checks = self.checks or [
            passed(Check.INTEGRITY, "intact", "完整", "intact"),
            passed(Check.ISSUER, "trusted", "可信", "trusted"),
            passed(Check.STATUS, "valid", "有效", "valid"),
            passed(Check.IDENTIFIER, "identifier_ok", "正确", "ok"),
        ]
        return VerificationReport(
            checks=tuple(checks),
            licence={"licence_id": self.licence_id} if self.licence_id else {},
            sha256=hashlib.sha256(data).hexdigest(),
            size=len(data),
            checked_at=now,
        )


class PersonFriendlyCatalogue:
    """The shipped catalogue, with the change item also open to persons (none is today)."""

    def __init__(self) -> None:
        real = load_catalogue()
        self.authority = real.authority
        self.items = [
            i.model_copy(update={"applicant_kinds": ["enterprise", "person"]}) if i.code == CHANGE else i
            for i in real.items
        ]

    def item(self, code: str) -> ServiceItem:
        return next(i for i in self.items if i.code == code)


def record(
    holder_code: str = HOLDER_USCC,
    kind: HolderKind = HolderKind.ENTERPRISE,
    *,
    serial: str = "20260000001",
    status: LicenceStatus = LicenceStatus.VALID,
    valid_until: date | None = date(2031, 5, 5),
    application_id: str = "f" * 32,
) -> LicenceRecord:
    licence_id = make_licence_id(TYPE_CODE, BUREAU_USCC, serial, 1)
    meta = LicenceMetadata(
        licence_id=licence_id,
        number=f"440300-{serial}",
        name_zh="成品油零售经营批准证书",
        name_en="Refined oil retail operation approval certificate",
        type_code=TYPE_CODE,
        version=1,
        issuer_name="深圳市商务局",
        issuer_name_en="Shenzhen Municipal Commerce Bureau",
        issuer_code=BUREAU_USCC,
        definer_name="深圳市商务局",
        division_code="440300",
        issue_date=date(2026, 5, 6),
        valid_from=date(2026, 5, 6),
        valid_until=valid_until,
        holder_name="张三" if kind is HolderKind.PERSON else "深圳市鹏城能源有限公司",
        holder_code=holder_code,
        holder_kind=kind,
        item_code="refined-oil-retail-qualification",
        item_name="成品油零售经营资格审批",
        application_id=application_id,
    )
    entry = AuditEntry(NOW, "onestop:issue", Action.ISSUE, LicenceStatus.ISSUING, status)
    return LicenceRecord(
        metadata=meta,
        status=status,
        reserved_at=NOW,
        issued_at=NOW,
        pdf=StoredPdf(
            "licences", f"licences/{licence_id}.pdf", None, hashlib.sha256(PDF).hexdigest(), len(PDF)
        ),
        history=(entry,),
    )


@dataclass
class World:
    service: ApplicationService
    repository: MemoryRepository
    store: MemoryBlobStore
    registry: dict[str, LicenceRecord]
    verifier: Verifier
    publisher: RecordingPublisher

    def add(self, rec: LicenceRecord, body: bytes = PDF) -> LicenceRecord:
        assert rec.pdf is not None
        version = self.store.put(rec.pdf.key, body, "application/pdf")
        rec = replace(rec, pdf=replace(rec.pdf, version_id=version))
        self.registry[rec.licence_id] = rec
        self.verifier.licence_id = rec.licence_id
        return rec


@pytest.fixture
def world() -> World:
    repository = MemoryRepository()
    store = MemoryBlobStore("licences")
    registry: dict[str, LicenceRecord] = {}
    verifier = Verifier()
    publisher = RecordingPublisher()
    service = ApplicationService(
        repository=repository,  # type: ignore[arg-type]
        catalogue=PersonFriendlyCatalogue(),  # type: ignore[arg-type]
        uploads=MemoryBlobStore("uploads"),
        publisher=publisher,
        clock=FixedClock(),  # type: ignore[arg-type]
        elicences=ElicenceSource(lookup=registry.get, store=store, verify=verifier),
        now=lambda: NOW,
    )
    return World(service, repository, store, registry, verifier, publisher)


def applicant(sub: str = "alice") -> Principal:
    """An applicant the federation binds to the test enterprise and person (as the API's tests do)."""
    return Principal(
        sub=sub,
        roles=frozenset({Role.APPLICANT}),
        id_number=PERSON_ID,
        usccs=frozenset({HOLDER_USCC}),
        channel=Channel.WEB_PORTAL,
    )


def open_application(world: World, who: Principal, *, person: bool = False) -> Application:
    given = (
        ApplicantInput(kind="person", name="张三", id_number=PERSON_ID)
        if person
        else ApplicantInput(kind="enterprise", name="深圳市鹏城能源有限公司", uscc=HOLDER_USCC)
    )
    return world.service.create(who, CHANGE, given)


# ----------------------------------------------------------------------------- the service flow


def test_attach_catalogues_and_records_the_audit_event(world: World) -> None:
    rec = world.add(record())
    app = open_application(world, applicant())
    attached = world.service.attach_elicence(applicant(), app.id, "current_licence", rec.licence_id)
    assert attached.created
    material = attached.material
    assert material.status is MaterialStatus.CATALOGUED
    assert material.upload_id == elicence_upload_id(rec.licence_id)
    assert material.normalised == {
        "bucket": "licences",
        "key": rec.pdf.key if rec.pdf else None,
        "version_id": rec.pdf.version_id if rec.pdf else None,
        "sha256": hashlib.sha256(PDF).hexdigest(),
    }
    assert world.verifier.calls == [PDF]
    [event] = [e for e in world.repository.events if e.action == "attach_elicence"]
    assert event.actor == "alice"
    assert rec.licence_id in (event.comment or "")
    assert [t for t, _ in world.publisher.events] == ["MaterialCatalogued"]
    assert world.repository.outbox == {}  # published, so no longer owed
    again = world.service.attach_elicence(applicant(), app.id, "current_licence", rec.licence_id)
    assert not again.created
    assert again.material == material
    assert world.verifier.calls == [PDF]  # the repeat reads nothing again


def test_an_attachment_whose_event_fails_keeps_it_owed_until_the_drain(world: World) -> None:
    rec = world.add(record())
    app = open_application(world, applicant())
    world.publisher.fail_next = 1
    attached = world.service.attach_elicence(applicant(), app.id, "current_licence", rec.licence_id)
    assert attached.created  # the material stands whatever the bus does
    assert world.publisher.events == []
    [owed] = world.repository.outbox.values()
    assert (owed.owner, owed.detail_type, owed.key) == (
        app.id,
        "MaterialCatalogued",
        f"current_licence#{attached.material.upload_id}",
    )
    assert drain(world.repository, world.publisher).republished == 1
    [(kind, detail)] = world.publisher.events
    assert kind == "MaterialCatalogued"
    assert detail == {
        "schema_version": 1,
        "application_id": app.id,
        "slot": "current_licence",
        "upload_id": attached.material.upload_id,
        "status": "catalogued",
        "source": "elicence",
        "licence_id": rec.licence_id,
        "material_type": attached.material.classification.material_type
        if attached.material.classification
        else None,
        "confidence": 1.0,
        "problems": [],
        "normalised": attached.material.normalised,
        "manifest_key": None,
    }
    assert world.repository.outbox == {}


def test_a_persons_licence_only_from_the_account_that_applied_for_it(world: World) -> None:
    owner = applicant("zhang")
    origin = open_application(world, owner, person=True)
    rec = world.add(record(PERSON_ID, HolderKind.PERSON, application_id=origin.id))
    # Another account verified as the same person (a second sign-up) types the ID number into an
    # application of its own: the licence stays with the account that applied; name not shown.
    snoop = applicant("snoop")
    theirs = open_application(world, snoop, person=True)
    with pytest.raises(InvalidInput) as refused:
        world.service.attach_elicence(snoop, theirs.id, "current_licence", rec.licence_id)
    assert refused.value.code == "elicence_other_account"
    assert "张三" not in refused.value.zh
    assert world.verifier.calls == []
    # The person themself, in a new application.
    mine = open_application(world, owner, person=True)
    attached = world.service.attach_elicence(owner, mine.id, "current_licence", rec.licence_id)
    assert attached.material.fields["person_name"] == "张三"
    assert attached.material.fields["id_number"] == PERSON_ID
    assert "uscc" not in attached.material.fields


def test_without_an_elicence_source_the_service_says_so(world: World) -> None:
    rec = world.add(record())
    world.service.elicences = None
    app = open_application(world, applicant())
    with pytest.raises(Unavailable) as refused:
        world.service.attach_elicence(applicant(), app.id, "current_licence", rec.licence_id)
    assert refused.value.code == "elicence_unavailable"


# ----------------------------------------------------------------------------- the stored PDF


def test_a_missing_file_is_a_conflict_naming_the_bureau(world: World) -> None:
    rec = record()
    world.registry[rec.licence_id] = rec  # registered, but nothing stored at its key
    with pytest.raises(Conflict) as refused:
        verify_stored(world.service.elicences, rec, NOW)  # type: ignore[arg-type]
    assert refused.value.code == "elicence_file_missing"


def test_an_oversized_object_is_not_the_original() -> None:
    store = MemoryBlobStore("licences")
    rec = record()
    assert rec.pdf is not None
    store.put(rec.pdf.key, b"%PDF" + b"0" * 2048, "application/pdf")
    source = ElicenceSource(lookup=lambda _: rec, store=store, verify=Verifier(), max_pdf_bytes=1024)
    with pytest.raises(InvalidInput) as refused:
        verify_stored(source, rec, NOW)
    assert refused.value.code == "elicence_verification_failed"
    assert [d.code for d in refused.value.details] == ["file_too_large"]


def test_a_registry_that_cannot_be_asked_is_unavailable_not_a_refusal(world: World) -> None:
    rec = world.add(record())
    world.verifier.checks = [
        passed(Check.INTEGRITY, "intact", "完整", "intact"),
        passed(Check.ISSUER, "trusted", "可信", "trusted"),
        unknown(Check.STATUS, "registry_unavailable", "暂时无法查询", "cannot be reached"),
        passed(Check.IDENTIFIER, "identifier_ok", "正确", "ok"),
    ]
    with pytest.raises(Unavailable) as refused:
        verify_stored(world.service.elicences, rec, NOW)  # type: ignore[arg-type]
    assert refused.value.code == "elicence_verification_unavailable"


def test_each_failed_check_is_a_reason(world: World) -> None:
    rec = world.add(record())
    world.verifier.checks = [
        failed(Check.INTEGRITY, "content_changed", "被改动", "changed"),
        passed(Check.ISSUER, "trusted", "可信", "trusted"),
        failed(Check.STATUS, "not_issued_file", "不是原件", "not the original"),
        passed(Check.IDENTIFIER, "identifier_ok", "正确", "ok"),
    ]
    with pytest.raises(InvalidInput) as refused:
        verify_stored(world.service.elicences, rec, NOW)  # type: ignore[arg-type]
    details = refused.value.details
    assert [d.code for d in details] == ["content_changed", "not_issued_file"]
    assert details[0].zh == "文件完整性：被改动"
    assert details[0].en == "Document integrity: changed"


def test_a_genuine_pdf_of_another_licence_at_the_key_is_refused(world: World) -> None:
    rec = world.add(record())
    world.verifier.licence_id = make_licence_id(TYPE_CODE, BUREAU_USCC, "20260000002", 1)
    with pytest.raises(InvalidInput) as refused:
        verify_stored(world.service.elicences, rec, NOW)  # type: ignore[arg-type]
    assert [d.code for d in refused.value.details] == ["licence_file_mismatch"]


def test_a_newer_version_at_the_key_is_what_gets_verified(world: World) -> None:
    rec = world.add(record())
    assert rec.pdf is not None
    world.store.put(rec.pdf.key, PDF + b"% appended", "application/pdf")
    verify_stored(world.service.elicences, rec, NOW)  # type: ignore[arg-type]
    assert world.verifier.calls == [PDF + b"% appended"]


# ----------------------------------------------------------------------------- pure pieces


def test_slots_without_a_bureau_licence_type_are_refused() -> None:
    item = load_catalogue().item(CHANGE)
    assert required_type(item.material("current_licence")) == TYPE_CODE
    with pytest.raises(InvalidInput) as not_replaceable:
        required_type(item.material("application"))
    assert not_replaceable.value.code == "elicence_not_accepted"
    with pytest.raises(InvalidInput) as elsewhere:
        required_type(item.material("business_licence"))
    assert elsewhere.value.code == "elicence_not_in_registry"


def test_long_term_licences_read_as_long_term() -> None:
    fields = licence_fields(record(valid_until=None).metadata)
    assert fields["valid_until"] == "长期"
    assert fields["valid_from"] == "2026-05-06"


@pytest.mark.parametrize(
    ("status", "valid_until", "shown"),
    [
        (LicenceStatus.SUSPENDED, date(2031, 5, 5), "暂扣"),
        (LicenceStatus.VALID, NOW.date() - timedelta(days=1), "失效"),
        (LicenceStatus.SUPERSEDED, date(2031, 5, 5), "已被新版本替代"),
    ],
)
def test_status_refusals_name_the_status(
    world: World, status: LicenceStatus, valid_until: date, shown: str
) -> None:
    rec = world.add(record(status=status, valid_until=valid_until))
    app = open_application(world, applicant())
    with pytest.raises(Conflict) as refused:
        world.service.attach_elicence(applicant(), app.id, "current_licence", rec.licence_id)
    assert refused.value.code == "elicence_not_valid"
    assert shown in refused.value.zh
    assert world.verifier.calls == []


def test_unknown_licence_is_not_found(world: World) -> None:
    app = open_application(world, applicant())
    missing = make_licence_id(TYPE_CODE, BUREAU_USCC, "20260000009", 1)
    with pytest.raises(NotFound):
        world.service.attach_elicence(applicant(), app.id, "current_licence", missing)


def test_material_points_at_the_verified_object(world: World) -> None:
    rec = world.add(record())
    app = open_application(world, applicant())
    verified = verify_stored(world.service.elicences, rec, NOW)  # type: ignore[arg-type]
    item = load_catalogue().item(CHANGE)
    material = catalogued_material(
        app, item.material("current_licence"), verified, bucket="licences", upload_id="0" * 32, now=NOW
    )
    assert material.source == "elicence"
    assert material.classification is not None
    assert material.classification.material_type == "qualification_certificate"
    assert material.classification.confidence == 1.0
    assert material.declared is None
    assert material.fields["licence_id"] == rec.licence_id
