"""The service catalogue: shipped data validates, broken data is refused with a clear message."""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml
from onestop.catalogue import (
    Catalogue,
    CatalogueError,
    Category,
    load_catalogue,
    load_catalogue_from,
    parse_catalogue,
)
from onestop.errors import InvalidInput, NotFound
from onestop.identifiers import is_valid_uscc, make_licence_id

VOCABULARY_TYPES = {
    "business_licence",
    "resident_id_card",
    "application_form",
    "site_certificate",
    "articles_of_association",
    "land_use_certificate",
    "site_plan",
    "safety_approval",
    "fire_approval",
    "name_preapproval",
    "power_of_attorney",
    "environmental_approval",
    "financial_statement",
    "qualification_certificate",
    "other",
}
# Added for the catalogue's own slots and for documents that are no material (issue 14 item 5).
NEW_TYPES = {
    "technology_contract",
    "labour_contract",
    "planning_permit",
    "supply_agreement",
    "management_rules",
    "equipment_list",
    "commitment_letter",
    "custody_agreement",
    "investment_resolution",
}
NON_MATERIALS = {"train_ticket", "invoice", "lab_report"}


@pytest.fixture
def catalogue() -> Catalogue:
    return load_catalogue()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A writable copy of the shipped data files."""
    src = resources.files("onestop.catalogue")
    for name in ("items.yaml", "material_types.yaml"):
        with resources.as_file(src.joinpath(name)) as p:
            shutil.copy(p, tmp_path / name)
    return tmp_path


def _docs(data_dir: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    items = yaml.safe_load((data_dir / "items.yaml").read_text(encoding="utf-8"))
    types = yaml.safe_load((data_dir / "material_types.yaml").read_text(encoding="utf-8"))
    items.pop("x-shared")
    return items, types


def test_shipped_catalogue_loads_and_is_cached(catalogue: Catalogue) -> None:
    assert load_catalogue() is catalogue
    assert len(catalogue.items) >= 8
    assert {t.code for t in catalogue.material_types} == VOCABULARY_TYPES | NEW_TYPES | NON_MATERIALS
    assert {t.code for t in catalogue.material_types if not t.is_material} == NON_MATERIALS


def test_required_real_items_present(catalogue: Catalogue) -> None:
    names = {i.name_zh: i for i in catalogue.items}
    for name in ("成品油零售经营资格审批", "对外劳务合作经营资格核准", "报废机动车回收拆解企业资格认定"):
        assert name in names
    # Abolished on 2022-12-30: must not be offered.
    assert not any("对外贸易经营者备案" in n for n in names)
    oil = names["成品油零售经营资格审批"]
    assert oil.statutory_limit_days == 20
    assert {
        "application_form",
        "land_use_certificate",
        "site_plan",
        "safety_approval",
        "fire_approval",
        "business_licence",
        "name_preapproval",
    } <= {m.material_type for m in oil.materials}
    elv = names["报废机动车回收拆解企业资格认定"]
    assert elv.correction_notice_days == 5
    assert elv.on_site_review
    assert elv.public_notice_days is not None
    assert elv.public_notice_days >= 5


def test_every_category_is_covered(catalogue: Catalogue) -> None:
    assert {i.category for i in catalogue.items} == set(Category)
    assert Category.other_power.name_zh == "其他行政权力"
    assert Category("public_service").name_en == "Public service"


def test_item_invariants(catalogue: Catalogue) -> None:
    for item in catalogue.items:
        assert 1 <= item.promised_limit_days <= item.statutory_limit_days, item.code
        if item.online_depth == "IV":
            assert item.visits_required == 0, item.code
        assert item.visits_required <= 1, item.code  # "run at most once"
        for m in item.materials:
            mt = catalogue.material_type(m.material_type)
            assert set(m.formats) <= set(mt.formats), (item.code, m.slot)
            assert m.min_count <= m.max_count
        if item.category == Category.administrative_licensing:
            assert item.licence is not None, item.code


def test_licence_specs_make_valid_identifiers(catalogue: Catalogue) -> None:
    issuer = catalogue.authority.uscc
    assert is_valid_uscc(issuer)
    for item in catalogue.items:
        if item.licence is not None:
            assert make_licence_id(item.licence.type_code, issuer, "20250000001").startswith(
                "1.2.156.3005.2."
            )
            assert catalogue.licence_spec(item.licence.type_code).name_zh == item.licence.name_zh
    with pytest.raises(NotFound):
        catalogue.licence_spec("11440300MB2D03151D999")


def test_elicence_replacement_points_at_issued_type(catalogue: Catalogue) -> None:
    change = catalogue.item("refined-oil-retail-change")
    current = change.material("current_licence")
    assert current.elicence_replaceable
    assert current.elicence_type_code == catalogue.item("refined-oil-retail-qualification").licence.type_code  # type: ignore[union-attr]
    assert change.licence is not None
    assert change.licence.issues == "new_version"
    assert (
        catalogue.item("refined-oil-retail-qualification").material("business_licence").elicence_replaceable
    )


def test_lookups_and_not_found(catalogue: Catalogue) -> None:
    item = catalogue.items[0]
    assert catalogue.item(item.code) is item
    assert catalogue.material_type("business_licence").field("uscc") is not None
    assert catalogue.material_type("business_licence").field("uscc").validator == "uscc"  # type: ignore[union-attr]
    with pytest.raises(NotFound) as exc:
        catalogue.item("no-such-item")
    assert exc.value.code == "item_not_found"
    assert "no-such-item" in exc.value.zh
    assert "no-such-item" in exc.value.en
    with pytest.raises(NotFound):
        catalogue.material_type("passport")
    with pytest.raises(NotFound) as exc:
        item.material("nope")
    assert exc.value.code == "material_slot_not_found"
    assert "application" in exc.value.details[0].en


def test_search_zh_en_and_category(catalogue: Catalogue) -> None:
    assert [i.code for i in catalogue.search("报废机动车")] == ["end-of-life-vehicle-recycling-qualification"]
    assert {i.code for i in catalogue.search("REFINED oil")} == {
        "refined-oil-retail-qualification",
        "refined-oil-retail-change",
    }
    assert [i.code for i in catalogue.search("劳务")] == ["foreign-labour-cooperation-qualification"]
    assert catalogue.search("拍卖经营批准证书")[0].code == "auction-enterprise-establishment"  # licence name
    assert catalogue.search() == catalogue.items
    assert catalogue.search("no such thing at all") == []
    inspections = catalogue.search(category="administrative_inspection")
    assert inspections
    assert all(i.category == Category.administrative_inspection for i in inspections)
    assert catalogue.search("oil", category=Category.public_service) == []
    with pytest.raises(InvalidInput) as exc:
        catalogue.search(category="licensing")
    assert exc.value.code == "invalid_category"


def test_material_types_have_fields_and_cues(catalogue: Catalogue) -> None:
    for mt in catalogue.material_types:
        if mt.code != "other":
            assert mt.cues_zh, mt.code
        if mt.code in VOCABULARY_TYPES - {"other"}:
            assert mt.fields, mt.code
        if not mt.is_material:
            assert not mt.fields, mt.code  # nothing is read from a ticket or a receipt
    id_card = catalogue.material_type("resident_id_card")
    assert id_card.field("id_number").validator == "resident_id"  # type: ignore[union-attr]


def test_copy_of_shipped_data_loads(data_dir: Path) -> None:
    assert len(load_catalogue_from(data_dir).items) == len(load_catalogue().items)


def test_dangling_material_type_is_rejected(data_dir: Path) -> None:
    types_path = data_dir / "material_types.yaml"
    doc = yaml.safe_load(types_path.read_text(encoding="utf-8"))
    doc["material_types"] = [t for t in doc["material_types"] if t["code"] != "fire_approval"]
    types_path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    with pytest.raises(CatalogueError) as exc:
        load_catalogue_from(data_dir)
    msg = str(exc.value)
    assert "item refined-oil-retail-qualification, slot fire_approval" in msg
    assert "unknown material type 'fire_approval'" in msg


def test_material_type_outside_vocabulary_is_rejected(data_dir: Path) -> None:
    items, types = _docs(data_dir)
    items["items"][0]["materials"][0]["material_type"] = "application_from"  # typo
    with pytest.raises(CatalogueError) as exc:
        parse_catalogue(items, types)
    msg = str(exc.value)
    assert (
        "items[0] (refined-oil-retail-qualification) > materials[0] (slot application) > material_type" in msg
    )
    assert "application_from" in msg


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda it: it[1].update(code=it[0]["code"]), "used twice"),
        (lambda it: it[0].update(promised_limit_days=25), "exceeds statutory"),
        (lambda it: it[0].update(online_depth="IV", visits_required=1), "visits_required must be 0"),
        (lambda it: it[0]["materials"].append(dict(it[0]["materials"][0])), "duplicate material slots"),
        (lambda it: it[0]["materials"][0].update(slot="Application Form"), "snake_case"),
        (lambda it: it[0]["materials"][0].update(requirement="conditional"), "needs condition_zh"),
        (lambda it: it[0]["materials"][0].update(formats=["pdf", "docx"]), "formats"),
        (lambda it: it[0]["materials"][0].update(min_count=3, max_count=2), "min_count 3 > max_count 2"),
        (lambda it: it[0]["licence"].update(type_code="11440300MB2D03151X001"), "defining body USCC invalid"),
        (
            lambda it: it[0]["licence"].update(type_code="1144030001"),
            "18-character USCC followed by 3 digits",
        ),
        (lambda it: it[0].update(category="licensing"), "category"),
        (lambda it: it[1]["licence"].update(issues="new"), "exactly one item must issue it new"),
        (
            lambda it: it[1]["materials"][1].update(elicence_type_code="11440300MB2D03151D099"),
            "is not a licence any item issues",
        ),
    ],
)
def test_broken_items_are_rejected(data_dir: Path, mutate: Any, expected: str) -> None:
    items, types = _docs(data_dir)
    mutate(items["items"])
    with pytest.raises(CatalogueError) as exc:
        parse_catalogue(items, types)
    assert expected in str(exc.value)


def test_formats_not_accepted_by_the_material_type(data_dir: Path) -> None:
    items, types = _docs(data_dir)
    fin = next(t for t in types["material_types"] if t["code"] == "financial_statement")
    assert fin["formats"] == ["pdf"]
    slot = next(
        m for it in items["items"] for m in it["materials"] if m["material_type"] == "financial_statement"
    )
    slot["formats"] = ["pdf", "jpeg"]
    with pytest.raises(CatalogueError) as exc:
        parse_catalogue(items, types)
    assert "not accepted by material type financial_statement" in str(exc.value)


def test_unknown_field_name_is_rejected(data_dir: Path) -> None:
    items, types = _docs(data_dir)
    types["material_types"][0]["fields"][0]["name"] = "credit_code"
    with pytest.raises(CatalogueError) as exc:
        parse_catalogue(items, types)
    assert "material_types[0] (business_licence) > fields[0] > name" in str(exc.value)


def test_duplicate_yaml_keys_are_rejected(data_dir: Path) -> None:
    path = data_dir / "items.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(
        text.replace("    statutory_limit_days: 20\n", "    statutory_limit_days: 20\n    fee: x\n", 1)
    )
    with pytest.raises(CatalogueError) as exc:
        load_catalogue_from(data_dir)
    assert "duplicate key 'fee'" in str(exc.value)


def test_missing_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(CatalogueError, match=r"items\.yaml: file missing"):
        load_catalogue_from(tmp_path)
