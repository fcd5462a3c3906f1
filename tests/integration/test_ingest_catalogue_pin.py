"""The ingest function reads the slot's rules from the catalogue version the application pinned
(issue 18 item 1): after an admin makes a slot take photographs, a photo uploaded to an application
made before is still "not a document" (needs attention), and one made after catalogues it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from onestop.aws import composition
from onestop.catalogue import load_catalogue
from onestop.catalogue.editing import Editor, edit_item
from onestop.catalogue.loader import catalogue_data

from functions.ingest import app
from tests.integration.ingest_stack import Context, Stack, open_stack
from tests.materials_specimens import png_bytes
from tests.unit.test_materials_documents import street_scene

pytestmark = [pytest.mark.timeout(300)]

ITEM = "outbound-investment-filing"
SLOT = "application"  # application_form; pdf, jpeg, png; no photographs in the shipped catalogue


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    yield from open_stack(monkeypatch)


def _application(stack: Stack, application_id: str, catalogue_version: int | None) -> None:
    item: dict[str, Any] = {
        "PK": f"APP#{application_id}",
        "SK": "META",
        "id": application_id,
        "status": "draft",
        "version": 1,
        "item_code": ITEM,
    }
    if catalogue_version is not None:
        item["catalogue_version"] = catalogue_version
    stack.table.put_item(Item=item)


def _photo_into(stack: Stack, application_id: str) -> dict[str, Any]:
    key = f"uploads/{application_id}/{SLOT}/U1/photo.png"
    put = stack.upload(key, png_bytes(street_scene()), "image/png")  # a shop front: a photo, not a document
    event = stack.s3_event(key, put["version_id"], put["etag"], put["size"])
    reply = app.lambda_handler(stack.sqs_event(event), Context())
    assert reply == {"batchItemFailures": []}
    [material] = stack.materials_of(application_id)
    return dict(material)


def test_ingest_goes_by_the_pinned_version(stack: Stack) -> None:
    assert not load_catalogue().item(ITEM).material(SLOT).accepts_photos
    _application(stack, "BEFORE01", None)  # made before versions existed: version 1

    item = next(i for i in catalogue_data(load_catalogue())["items"] if i["code"] == ITEM)
    for m in item["materials"]:
        if m["slot"] == SLOT:
            m["accepts_photos"] = True
    admin = Editor(label="admin-1", role="admin", is_admin=True)
    record, _ = edit_item(composition.catalogue_book(), admin, 1, ITEM, item, datetime.now(UTC), None)
    assert record.version == 2
    _application(stack, "AFTER001", 2)
    composition.reset()  # the ingest function's own container: it reads the versions from the table

    before = _photo_into(stack, "BEFORE01")
    after = _photo_into(stack, "AFTER001")
    assert before["status"] == "needs_attention"
    assert [p["code"] for p in before["problems"]] == ["not_a_document"]
    assert after["status"] == "catalogued", after.get("reason")
