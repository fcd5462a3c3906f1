"""Duplicates and order: the same S3 event twice, a later object version before an earlier one, the
approval event twice (in sequence and at once) → exactly one material and one licence."""

from __future__ import annotations

import concurrent.futures

from onestop.licences.models import LicenceStatus

from tests.materials_specimens import SPECIMENS, text_pdf_bytes

from .world import World, new_id


def _licence_pdf(company: str | None = None) -> bytes:
    lines = list(SPECIMENS["business_licence"]().lines)
    if company:
        lines = [line.replace("深圳市前海示例科技有限公司", company) for line in lines]
    return text_pdf_bytes(lines)


def _events_for(world: World, upload_id: str) -> list[str]:
    return [e["detail-type"] for e in world.events() if e["detail"].get("upload_id") == upload_id]


def test_same_s3_event_twice_is_one_material(world: World) -> None:
    app_id, upload_id = new_id(), new_id()
    put = world.put_upload(app_id, "business_licence", upload_id, _licence_pdf())
    world.notify(put)
    world.notify(put)  # S3 delivers at least once
    world.drain_uploads()
    (item,) = world.materials(app_id)
    assert item["status"] == "catalogued"
    assert _events_for(world, upload_id) == ["MaterialCatalogued"]
    prefix = f"catalogue/{app_id}/business_licence/{upload_id}/"
    assert sorted(v["Key"].rsplit("/", 1)[1] for v in world.catalogue_versions(prefix)) == [
        "manifest.json",
        "material.pdf",
        "original",
        "page-001.jpg",  # the reviewer's page preview, also written once
    ]
    assert world.dlq_depth() == 0


def test_same_s3_event_twice_in_one_batch_is_one_material(world: World) -> None:
    app_id, upload_id = new_id(), new_id()
    put = world.put_upload(app_id, "business_licence", upload_id, _licence_pdf())
    for _ in range(3):
        world.notify(put)
    world.drain_uploads()
    (item,) = world.materials(app_id)
    assert item["status"] == "catalogued"
    assert _events_for(world, upload_id) == ["MaterialCatalogued"]
    assert world.dlq_depth() == 0


def test_later_version_processed_first_is_not_overwritten_by_the_earlier_one(world: World) -> None:
    """Two versions under one key (the presigned POST allows re-posting to the same key); S3 does not
    order notifications, so the second version's event may come first. The material must end up
    describing the object as it is now (the newest version), whatever order the events came in."""
    app_id, upload_id = new_id(), new_id()
    first = world.put_upload(app_id, "business_licence", upload_id, _licence_pdf("深圳市第一版本有限公司"))
    second = world.put_upload(app_id, "business_licence", upload_id, _licence_pdf("深圳市第二版本有限公司"))
    assert first["version_id"] != second["version_id"]
    world.notify(second, sequencer="0B")
    world.drain_uploads()
    world.notify(first, sequencer="0A")  # the late, older one
    world.drain_uploads()
    (item,) = world.materials(app_id)
    assert item["status"] == "catalogued"
    assert item["original"]["version_id"] == second["version_id"], (
        "an older object version's late event overwrote the material of the newer version"
    )
    assert item["fields"]["enterprise_name"] == "深圳市第二版本有限公司"


def test_approval_event_twice_issues_one_licence(world: World) -> None:
    app_id, approved = world.approved_application()
    first = world.issue(approved)
    second = world.issue(approved)
    assert first["issued"]
    assert second["issued"]
    assert first["licence_id"] == second["licence_id"]
    assert len(world.licence_records()) == 1
    assert len(world.licence_pdf_versions()) == 1
    record = world.licence_of(app_id)
    assert record is not None
    assert record.status is LicenceStatus.VALID
    assert world.application(app_id)["licence_id"] == record.licence_id
    issued = [e for e in world.events() if e["detail-type"] == "LicenceIssued"]
    assert len(issued) == 1


def test_approval_event_delivered_concurrently_issues_one_licence(world: World) -> None:
    app_id, approved = world.approved_application()
    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        futures = [pool.submit(world.issue, approved) for _ in range(3)]
    outcomes = []
    for future in futures:
        try:
            outcomes.append(future.result()["licence_id"])
        except Exception as exc:  # a loser may fail; EventBridge then retries it
            outcomes.append(type(exc).__name__)
    # Whatever lost the race, a retry of the same event converges on the one licence, sealed once: the
    # licences bucket is under Object Lock, so a second sealed PDF of the same licence can never go away.
    retried = world.issue(approved)
    assert len(world.licence_records()) == 1, outcomes
    assert len(world.licence_pdf_versions()) == 1, outcomes
    record = world.licence_of(app_id)
    assert record is not None
    assert record.status is LicenceStatus.VALID
    assert retried["licence_id"] == record.licence_id
    assert world.application(app_id)["licence_id"] == record.licence_id
    assert all(o in (record.licence_id, "Conflict", "ConditionalCheckFailedException") for o in outcomes), (
        outcomes
    )
