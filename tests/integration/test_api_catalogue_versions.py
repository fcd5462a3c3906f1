"""Catalogue editing with versions through the api handler against moto (issue 18 item 1): admins only,
every change a new validated and audited version, conditional on its base (no lost update), YAML
import and export, and applications pinned to the version they were created with."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from onestop.catalogue import load_catalogue
from onestop.catalogue.loader import catalogue_data

from .api_helpers import SMALL_ITEM, Aws, Client, catalogued, moto_aws, new_application, upload_ticket


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    with moto_aws(monkeypatch) as stack:
        yield stack


alice = Client("alice-sub")
admin = Client("admin-sub", ("admin",))
other_admin = Client("admin-2-sub", ("admin",))
reviewer = Client("reviewer-sub", ("reviewer",))
anonymous = Client(None)


def item_data(code: str = SMALL_ITEM) -> dict[str, Any]:
    return copy.deepcopy(next(i for i in catalogue_data(load_catalogue())["items"] if i["code"] == code))


def changed_small_item() -> dict[str, Any]:
    """The attack's edit: renamed, a shorter limit, business_licence removed, a new required slot."""
    item = item_data()
    item["name_zh"] = "境外投资备案（新）"
    item["name_en"] = "Outbound investment filing (new)"
    item["promised_limit_days"] = 1
    item["materials"] = [m for m in item["materials"] if m["slot"] != "business_licence"] + [
        {
            "slot": "commitment",
            "material_type": "commitment_letter",
            "name_zh": "承诺书",
            "name_en": "Letter of commitment",
            "requirement": "required",
            "formats": ["pdf"],
        }
    ]
    return item


def put_item(client: Client, base: int, item: dict[str, Any]) -> Any:
    return client.request(
        "PUT", f"/admin/catalogue/items/{item['code']}", body={"base_version": base, "item": item}
    )


def test_only_admins_see_or_change_versions(aws: Aws) -> None:
    for who in (reviewer, alice):
        for reply in (
            who.get("/admin/catalogue/versions"),
            who.get("/admin/catalogue/versions/1/export"),
            put_item(who, 1, changed_small_item()),
            who.post("/admin/catalogue/import", body={"base_version": 1, "yaml": "items: []"}),
        ):
            assert reply.status == 403, reply.body
            assert reply.body["message"]["zh"]
            assert reply.body["message"]["en"]
    assert anonymous.get("/admin/catalogue/versions").status == 401
    assert aws.table.get_item(Key={"PK": "CATALOGUE", "SK": "CURRENT"}).get("Item") is None


def test_an_edit_makes_version_2_audited_and_public(aws: Aws) -> None:
    before = admin.get("/admin/catalogue/versions")
    assert before.status == 200
    assert before.body["current_version"] == 1
    assert [v["version"] for v in before.body["versions"]] == [1]

    reply = put_item(admin, 1, changed_small_item())
    assert reply.status == 200, reply.body
    assert reply.body["version"] == 2
    assert reply.body["base_version"] == 1
    assert reply.body["actor"] == "admin-sub"
    assert reply.body["actor_role"] == "admin"
    changed = reply.body["changes"]["changed"]
    assert changed[0]["code"] == SMALL_ITEM
    assert set(changed[0]["fields"]) == {"name_zh", "name_en", "promised_limit_days", "materials"}
    assert SMALL_ITEM in reply.body["summary"]["zh"]
    assert SMALL_ITEM in reply.body["summary"]["en"]

    listed = admin.get("/admin/catalogue/versions").body
    assert listed["current_version"] == 2
    assert [v["version"] for v in listed["versions"]] == [2, 1]
    # Version 1 was stored with the first change: a later deploy's YAML cannot alter it.
    assert aws.table.get_item(Key={"PK": "CATALOGUE", "SK": "V#0000000001"}).get("Item") is not None

    public = anonymous.get(f"/items/{SMALL_ITEM}")
    assert public.body["name_zh"] == "境外投资备案（新）"
    assert "commitment" in [m["slot"] for m in public.body["materials"]]
    old = admin.get("/admin/catalogue/versions/1").body["catalogue"]
    assert (
        next(i for i in old["items"] if i["code"] == SMALL_ITEM)["name_zh"]
        == load_catalogue().item(SMALL_ITEM).name_zh
    )


def test_two_admins_from_the_same_base_the_second_gets_409(aws: Aws) -> None:
    first = item_data()
    first["promised_limit_days"] = 2
    second = item_data()
    second["fee"] = "100 元 / CNY 100"
    assert put_item(admin, 1, first).status == 200
    reply = put_item(other_admin, 1, second)
    assert reply.status == 409
    assert reply.body["code"] == "catalogue_version_conflict"
    assert reply.body["current_version"] == 2
    assert reply.body["message"]["zh"]
    assert reply.body["message"]["en"]
    # Nothing lost: version 2 is the first admin's; the second admin's change from version 2 is version 3.
    current = admin.get("/admin/catalogue/versions/2").body["catalogue"]
    assert next(i for i in current["items"] if i["code"] == SMALL_ITEM)["promised_limit_days"] == 2
    assert put_item(other_admin, 2, second).status == 200
    three = admin.get("/admin/catalogue/versions/3").body["catalogue"]
    mine = next(i for i in three["items"] if i["code"] == SMALL_ITEM)
    assert (mine["promised_limit_days"], mine["fee"]) == (2, "100 元 / CNY 100")


def test_invalid_edits_are_422_with_the_field_and_store_nothing(aws: Aws) -> None:
    item = item_data()
    item["promised_limit_days"] = 400  # over the statutory limit and over 365
    item["materials"][0]["material_type"] = "no_such_type"
    reply = put_item(admin, 1, item)
    assert reply.status == 422
    assert reply.body["code"] == "catalogue_invalid"
    fields = [d["field"] for d in reply.body["details"]]
    assert any("promised_limit_days" in f for f in fields)
    assert any("material_type" in f for f in fields)
    for detail in reply.body["details"]:
        assert detail["zh"]
        assert detail["en"]
    assert aws.table.get_item(Key={"PK": "CATALOGUE", "SK": "CURRENT"}).get("Item") is None

    renamed = item_data()
    renamed["code"] = "another-code"
    reply = admin.request(
        "PUT", f"/admin/catalogue/items/{SMALL_ITEM}", body={"base_version": 1, "item": renamed}
    )
    assert (reply.status, reply.body["code"]) == (422, "item_code_immutable")


def test_add_and_retire_items(aws: Aws) -> None:
    new = item_data()
    new["code"] = "outbound-investment-filing-2"
    new.pop("licence", None)
    reply = admin.post("/admin/catalogue/items", body={"base_version": 1, "item": new, "comment": "试点"})
    assert reply.status == 201, reply.body
    assert reply.body["changes"]["added"] == ["outbound-investment-filing-2"]
    assert reply.body["comment"] == "试点"
    assert admin.post("/admin/catalogue/items", body={"base_version": 2, "item": new}).status == 409
    assert anonymous.get("/items/outbound-investment-filing-2").status == 200

    reply = admin.post("/admin/catalogue/items/outbound-investment-filing-2/retire", body={"base_version": 2})
    assert reply.status == 200, reply.body
    assert reply.body["changes"]["removed"] == ["outbound-investment-filing-2"]
    assert anonymous.get("/items/outbound-investment-filing-2").status == 404
    missing = admin.post("/admin/catalogue/items/nothing-here/retire", body={"base_version": 3})
    assert missing.status == 404


def test_export_import_round_trip_is_identical(aws: Aws) -> None:
    assert put_item(admin, 1, changed_small_item()).status == 200
    exported = admin.get("/admin/catalogue/versions/2/export")
    assert exported.status == 200
    text = exported.body["yaml"]
    reply = admin.post("/admin/catalogue/import", body={"base_version": 2, "yaml": text})
    assert reply.status == 201, reply.body
    assert reply.body["changes"] == {"added": [], "changed": [], "removed": [], "sections": []}
    two = admin.get("/admin/catalogue/versions/2").body["catalogue"]
    three = admin.get("/admin/catalogue/versions/3").body["catalogue"]
    assert two == three
    assert admin.get("/admin/catalogue/versions/3/export").body["yaml"] == text


def test_import_errors_name_the_line_and_field(aws: Aws) -> None:
    text = admin.get("/admin/catalogue/versions/1/export").body["yaml"]
    lines = text.splitlines()
    target = next(n for n, line in enumerate(lines) if line.strip() == "statutory_limit_days: 20")
    lines[target] = lines[target].replace("20", "0")
    reply = admin.post("/admin/catalogue/import", body={"base_version": 1, "yaml": "\n".join(lines)})
    assert reply.status == 422
    detail = reply.body["details"][0]
    assert detail["field"].startswith(f"line {target + 1}: items[")
    assert "statutory_limit_days" in detail["field"]
    assert detail["zh"].startswith(f"第 {target + 1} 行")
    assert detail["en"].startswith(f"line {target + 1}")

    broken = admin.post("/admin/catalogue/import", body={"base_version": 1, "yaml": "items: [\n  - a: b\n"})
    assert broken.status == 422
    assert broken.body["details"][0]["field"].startswith("line ")
    duplicated = yaml.safe_dump({"authority": {}}) + "authority: {}\n"
    assert admin.post("/admin/catalogue/import", body={"base_version": 1, "yaml": duplicated}).status == 422


# ----------------------------------------------------------------------------- pinning (the attack)


def test_an_application_keeps_its_version_after_the_item_changes(aws: Aws) -> None:
    old_app = new_application(alice)
    assert old_app["catalogue_version"] == 1
    catalogued(aws, alice, old_app["id"], "application", "application_form")

    # The admin renames the item, shortens its limit, drops business_licence and adds a required slot.
    assert put_item(admin, 1, changed_small_item()).status == 200

    new_app = new_application(alice)
    assert new_app["catalogue_version"] == 2
    assert new_app["item_name"]["zh"] == "境外投资备案（新）"

    # Upload slots: each application's own list.
    uscc = old_app["applicant"]["code"]
    catalogued(aws, alice, old_app["id"], "business_licence", "business_licence", {"uscc": uscc})
    assert upload_ticket(alice, old_app["id"], "commitment").body["code"] == "unknown_material_slot"
    assert upload_ticket(alice, new_app["id"], "business_licence").body["code"] == "unknown_material_slot"
    assert upload_ticket(alice, new_app["id"], "commitment").status == 201

    # The pages read the item as each application pinned it.
    pinned = anonymous.get(f"/items/{SMALL_ITEM}", query={"version": str(old_app["catalogue_version"])})
    assert "business_licence" in [m["slot"] for m in pinned.body["materials"]]
    assert "commitment" not in [m["slot"] for m in pinned.body["materials"]]
    assert anonymous.get(f"/items/{SMALL_ITEM}", query={"version": "99"}).status == 404

    # The detail view's open issues: the old list for the old application, the new for the new.
    old_detail = alice.get(f"/applications/{old_app['id']}").body
    assert old_detail["item"]["name_zh"] == load_catalogue().item(SMALL_ITEM).name_zh
    assert old_detail["open_issues"] == []
    new_detail = alice.get(f"/applications/{new_app['id']}").body
    assert {d["field"] for d in new_detail["open_issues"]} == {
        "materials.application",
        "materials.commitment",
    }

    # Completeness at submission: version 1's list (business_licence required, no commitment).
    submitted = alice.post(f"/applications/{old_app['id']}/submit")
    assert submitted.status == 200, submitted.body
    refused = alice.post(f"/applications/{new_app['id']}/submit")
    assert refused.status == 422
    assert {d["field"] for d in refused.body["details"]} == {"materials.application", "materials.commitment"}

    # The decision: version 1's promised limit (the item's old limit, not 1 working day).
    accepted = reviewer.post(f"/applications/{old_app['id']}/decision", body={"action": "accept"})
    assert accepted.status == 200, accepted.body
    old_limit = load_catalogue().item(SMALL_ITEM).promised_limit_days
    assert old_limit != 1
    assert accepted.body["deadline"]["working_days"] == old_limit

    # The approval names the pinned version, so the issue function reads that licence spec.
    approved = reviewer.post(f"/applications/{old_app['id']}/decision", body={"action": "approve"})
    assert approved.status == 200, approved.body
    events = [e for e in aws.bus_events() if e["detail-type"] == "ApplicationApproved"]
    assert events
    assert events[-1]["detail"]["catalogue_version"] == 1


def test_a_retired_item_takes_no_new_application_but_the_old_one_goes_on(aws: Aws) -> None:
    old_app = new_application(alice)
    assert admin.post(f"/admin/catalogue/items/{SMALL_ITEM}/retire", body={"base_version": 1}).status == 200
    refused = alice.post("/applications", body={**_body()})
    assert refused.status == 422
    assert refused.body["details"][0]["code"] == "unknown_item"
    assert upload_ticket(alice, old_app["id"], "application").status == 201
    assert alice.get(f"/applications/{old_app['id']}").body["item"]["code"] == SMALL_ITEM


def _body() -> dict[str, Any]:
    from .api_helpers import enterprise_body

    return enterprise_body()


# ----------------------------------------------------------------------------- KPI coverage


def test_the_kpi_report_shows_coverage_against_the_bureaus_list(aws: Aws) -> None:
    reply = reviewer.get("/stats")
    assert reply.status == 200, reply.body
    coverage = reply.body["coverage"]
    catalogued = len(load_catalogue().items)
    assert (coverage["catalogued"], coverage["listed"], coverage["catalogue_version"]) == (catalogued, 116, 1)
    listed = {c["category"]: (c["listed"], c["name_zh"], c["name_en"]) for c in coverage["by_category"]}
    assert listed["administrative_licensing"] == (20, "行政许可", "Administrative licensing")
    assert [listed[c][0] for c in listed] == [20, 3, 1, 87, 14]

    # The bureau's figures are catalogue data: an admin edits them like the rest, validated.
    text = admin.get("/admin/catalogue/versions/1/export").body["yaml"]
    edited = text.replace("public_service: 87", "public_service: 88")
    assert admin.post("/admin/catalogue/import", body={"base_version": 1, "yaml": edited}).status == 201
    new = item_data()
    new["code"] = "another-public-service"
    new["category"] = "public_service"
    new.pop("licence", None)
    assert admin.post("/admin/catalogue/items", body={"base_version": 2, "item": new}).status == 201
    coverage = reviewer.get("/stats").body["coverage"]
    assert (coverage["catalogued"], coverage["catalogue_version"]) == (catalogued + 1, 3)
    public = next(c for c in coverage["by_category"] if c["category"] == "public_service")
    assert public["listed"] == 88
