"""The one-time notice (一次性告知): every problem with the materials, named at once."""

from __future__ import annotations

from typing import Any

import pytest
from onestop.applications.completeness import check_completeness, notice
from onestop.applications.models import Applicant, Classification, Declared, Material, MaterialStatus
from onestop.catalogue import ServiceItem, load_catalogue
from onestop.errors import Reason
from onestop.identifiers.uscc import compose_uscc

USCC = compose_uscc("91440300", "MA5F0001")
OTHER_USCC = compose_uscc("91440300", "MA5F0002")
ENTERPRISE = Applicant(kind="enterprise", code=USCC, name="深圳市示例贸易有限公司")


@pytest.fixture(scope="module")
def big_item() -> ServiceItem:
    """对外劳务合作经营资格核准: eight required materials and one conditional."""
    return load_catalogue().item("foreign-labour-cooperation-qualification")


def material(slot: str, status: MaterialStatus, n: int = 0, **extra: Any) -> Material:
    return Material(
        application_id="a" * 32,
        slot=slot,
        upload_id=f"{n:032x}",
        status=status,
        declared=Declared(filename=f"{slot}-{n}.pdf", content_type="application/pdf", size=100),
        **extra,
    )


def good(item: ServiceItem, slot: str, n: int = 0, fields: dict[str, str] | None = None) -> Material:
    req = next(r for r in item.materials if r.slot == slot)
    return material(
        slot,
        MaterialStatus.CATALOGUED,
        n,
        classification=Classification(material_type=req.material_type, confidence=0.95),
        fields=fields or {},
    )


def complete_set(item: ServiceItem) -> list[Material]:
    return [good(item, r.slot, i) for i, r in enumerate(item.materials) if r.requirement == "required"]


def test_nothing_uploaded_names_every_required_material(big_item: ServiceItem) -> None:
    reasons = check_completeness(big_item, ENTERPRISE, [])
    required = [r.slot for r in big_item.materials if r.requirement == "required"]
    assert len(required) == 8
    assert [r.field for r in reasons] == [f"materials.{s}" for s in required]
    assert {r.code for r in reasons} == {"material_missing"}
    for reason, slot in zip(reasons, required, strict=True):
        req = next(m for m in big_item.materials if m.slot == slot)
        assert req.name_zh in reason.zh
        assert req.name_en in reason.en


def test_complete_set_passes_and_conditional_slots_are_not_demanded(big_item: ServiceItem) -> None:
    assert check_completeness(big_item, ENTERPRISE, complete_set(big_item)) == []


def test_every_kind_of_problem_is_reported_in_one_pass(big_item: ServiceItem) -> None:
    materials = complete_set(big_item)
    by_slot = {m.slot: m for m in materials}
    # missing: drop the financial statement
    del by_slot["financial_statement"]
    # rejected by ingest, with its reason
    by_slot["application"] = material(
        "application",
        MaterialStatus.REJECTED,
        reason=Reason("not_a_pdf", "文件不是有效的 PDF", "the file is not a valid PDF"),
    )
    # still processing
    by_slot["premises"] = material("premises", MaterialStatus.PROCESSING)
    # wrong document: an ID card in the articles-of-association slot
    by_slot["articles_of_association"] = material(
        "articles_of_association",
        MaterialStatus.CATALOGUED,
        classification=Classification(material_type="resident_id_card", confidence=0.9),
    )
    # someone else's business licence
    by_slot["business_licence"] = good(big_item, "business_licence", fields={"uscc": OTHER_USCC})
    reasons = check_completeness(big_item, ENTERPRISE, list(by_slot.values()))
    codes = {r.field: r.code for r in reasons}
    assert codes == {
        "materials.application": "material_rejected",
        "materials.business_licence": "material_identity_mismatch",
        "materials.articles_of_association": "material_mismatched",
        "materials.financial_statement": "material_missing",
        "materials.premises": "material_processing",
    }
    rejected = next(r for r in reasons if r.code == "material_rejected")
    assert "文件不是有效的 PDF" in rejected.zh
    assert "not a valid PDF" in rejected.en
    identity = next(r for r in reasons if r.code == "material_identity_mismatch")
    assert OTHER_USCC in identity.zh
    assert USCC in identity.en


def test_a_rejected_upload_replaced_by_a_good_one_is_not_reported(big_item: ServiceItem) -> None:
    materials = [*complete_set(big_item), material("application", MaterialStatus.FAILED, 99)]
    assert check_completeness(big_item, ENTERPRISE, materials) == []


def test_processing_extra_file_blocks_even_when_the_slot_is_satisfied(big_item: ServiceItem) -> None:
    materials = [*complete_set(big_item), material("premises", MaterialStatus.PROCESSING, 99)]
    reasons = check_completeness(big_item, ENTERPRISE, materials)
    assert [(r.code, r.field) for r in reasons] == [("material_processing", "materials.premises")]


def test_unfinished_upload_is_named_as_not_received(big_item: ServiceItem) -> None:
    materials = [m for m in complete_set(big_item) if m.slot != "application"]
    materials.append(material("application", MaterialStatus.AWAITING_UPLOAD))
    reasons = check_completeness(big_item, ENTERPRISE, materials)
    assert [r.code for r in reasons] == ["material_not_received"]


def test_too_many_files_in_a_slot(big_item: ServiceItem) -> None:
    materials = [*complete_set(big_item), good(big_item, "application", 99)]
    reasons = check_completeness(big_item, ENTERPRISE, materials)
    assert [r.code for r in reasons] == ["material_too_many"]


def test_problems_in_an_optional_slot_block_only_while_processing(big_item: ServiceItem) -> None:
    attorney = material("power_of_attorney", MaterialStatus.REJECTED, 50)
    assert check_completeness(big_item, ENTERPRISE, [*complete_set(big_item), attorney]) == []


def test_notice_numbers_every_reason_in_both_languages(big_item: ServiceItem) -> None:
    reasons = check_completeness(big_item, ENTERPRISE, [])
    text = notice(big_item, reasons)
    assert text.reasons == reasons
    assert "一次性告知" in text.zh
    assert "One-time notice" in text.en
    for i, reason in enumerate(reasons, 1):
        assert f"{i}. {reason.zh}" in text.zh
        assert f"{i}. {reason.en}" in text.en
