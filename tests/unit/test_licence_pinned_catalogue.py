"""The issue function issues the licence of the catalogue version the application pinned (issue 18
item 1): an admin's later change of the licence's validity or name does not reach an application
made before it; one made after gets the new spec."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from onestop.catalogue import load_catalogue
from onestop.catalogue.editing import Editor, edit_item
from onestop.catalogue.loader import catalogue_data
from onestop.catalogue.versions import CatalogueBook
from onestop.events import ApplicationApproved, EventApplicant
from onestop.licences.issuer import LicenceOffice
from onestop.licences.pki import DevPki, make_dev_pki
from onestop.licences.signers import LocalKeySigner

from tests.unit.test_catalogue_versions import MemoryRepository
from tests.unit.test_licence_issuer import QUALIFICATION, Linker
from tests.unit.test_licence_support import (
    BUREAU,
    HOLDER_USCC,
    ISSUER,
    MemoryBlobStore,
    MemoryRegistry,
    RecordingPublisher,
)


@pytest.fixture(scope="module")
def pki() -> DevPki:
    return make_dev_pki(BUREAU)


def approval(application_id: str, version: int | None) -> dict[str, object]:
    return ApplicationApproved(
        application_id=application_id,
        item_code=QUALIFICATION,
        applicant=EventApplicant(kind="enterprise", code=HOLDER_USCC, name="深圳市鹏城能源有限公司"),
        approved_at="2025-03-14T02:30:00Z",
        approved_by="reviewer-li",
        catalogue_version=version,
    ).detail()


def test_the_licence_follows_the_pinned_version(pki: DevPki) -> None:
    book = CatalogueBook(repository=MemoryRepository())
    item = next(i for i in catalogue_data(load_catalogue())["items"] if i["code"] == QUALIFICATION)
    shipped = load_catalogue().item(QUALIFICATION).licence
    assert shipped is not None
    assert shipped.validity_years == 5
    item["licence"] = {**item["licence"], "validity_years": 2}
    admin = Editor(label="admin-1", role="admin", is_admin=True)
    edit_item(book, admin, 1, QUALIFICATION, item, datetime(2025, 3, 1, tzinfo=UTC), None)
    office = LicenceOffice(
        catalogue=book,
        issuer=ISSUER,
        registry=MemoryRegistry(),
        store=MemoryBlobStore(),
        publisher=RecordingPublisher(),
        applications=Linker(),
        signer=lambda: LocalKeySigner.from_dev_pki(pki),
    )
    before = office.get(office.handle("ApplicationApproved", approval("app-before", None))["licence_id"])
    after = office.get(office.handle("ApplicationApproved", approval("app-after", 2))["licence_id"])
    assert before.metadata.valid_until is not None
    assert after.metadata.valid_until is not None
    assert before.metadata.valid_until.year - before.metadata.valid_from.year == 5
    assert after.metadata.valid_until.year - after.metadata.valid_from.year == 2
