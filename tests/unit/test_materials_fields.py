"""Field extraction, validation (check characters) and cross-checks with the applicant."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
from onestop.applications.models import Applicant
from onestop.identifiers.resident_id import id_check_char
from onestop.identifiers.uscc import compose_uscc
from onestop.materials.fields import extract_fields, parse_date

USCC = compose_uscc("91440300", "MA5G7Q2K")
PERSON = "44030419900102002" + id_check_char("44030419900102002")


def _codes(result) -> list[str]:  # type: ignore[no-untyped-def]
    return [p.code for p in result.problems]


def test_business_licence_fields_label_and_value_on_one_line() -> None:
    lines = [
        "营业执照",
        f"统一社会信用代码{USCC}",
        "名称深圳市前海示例科技有限公司",
        "法定代表人张三丰",
        "成立日期2019年03月15日",
        "住所深圳市南山区粤海街道",
        "科技园路1号",
        "经营范围软件开发",
    ]
    result = extract_fields("business_licence", lines)
    assert result.values["uscc"] == USCC
    assert result.values["enterprise_name"] == "深圳市前海示例科技有限公司"
    assert result.values["legal_representative"] == "张三丰"
    assert result.values["established_date"] == "2019-03-15"
    assert result.values["address"] == "深圳市南山区粤海街道科技园路1号"
    assert result.problems == ()


def test_labels_on_their_own_lines_and_ocr_confusables() -> None:
    spoiled = USCC.replace("0", "O")  # OCR reads zero as letter O, which a USCC never contains
    lines = ["统一社会信用代码", spoiled, "名 称", "示例公司", "法定代表人：", "李四"]
    result = extract_fields("business_licence", lines)
    assert result.values["uscc"] == USCC
    assert result.values["enterprise_name"] == "示例公司"
    assert result.values["legal_representative"] == "李四"


def test_bad_uscc_check_is_a_problem_and_the_value_is_kept() -> None:
    wrong = USCC[:-1] + ("0" if USCC[-1] != "0" else "1")
    result = extract_fields("business_licence", [f"统一社会信用代码 {wrong}", "名称 示例公司"])
    # Issue 14: a value failing its check is never stored as if valid; the reading keeps it.
    assert "uscc" not in result.values
    assert result.readings["uscc"].value == wrong
    assert "uscc_check_char" in _codes(result)
    problem = next(p for p in result.problems if p.code == "uscc_check_char")
    assert problem.field == "uscc"
    assert problem.zh
    assert problem.en


def test_licence_uscc_must_be_the_applicants() -> None:
    other = compose_uscc("91440300", "MA5G7Q2L")
    applicant = Applicant(kind="enterprise", code=other, name="示例公司")
    lines = [f"统一社会信用代码 {USCC}", "名称 示例公司", "法定代表人 张三丰"]
    result = extract_fields("business_licence", lines, applicant)
    assert _codes(result) == ["uscc_not_applicant"]
    same = Applicant(kind="enterprise", code=USCC, name="别的公司")
    result = extract_fields("business_licence", lines, same)
    assert _codes(result) == ["name_not_applicant"]


def test_id_card_specimen_fails_checksum_and_birth_date() -> None:
    # As OCR reads the chineseocr ID specimen (MIT): number 430512198908131367, 出生 2013-05-06.
    lines = [
        *("姓名代用名", "性别男", "民族汉", "出生2013年05月06日", "住址"),
        *("湖南省长沙市开福区巡道街", "幸福小区居民组", "公民身份证号码", "430512198908131367"),
    ]
    result = extract_fields("resident_id_card", lines)
    assert result.values == {
        "person_name": "代用名",
        "sex": "男",
        "ethnicity": "汉",
        "birth_date": "2013-05-06",
        "address": "湖南省长沙市开福区巡道街幸福小区居民组",
    }
    # Issue 14: the number fails its check character, so it is a reading with a problem, not a value.
    assert result.readings["id_number"].value == "430512198908131367"
    codes = _codes(result)
    assert "resident_id_check_char" in codes
    assert "resident_id_birth_date_mismatch" in codes


def test_valid_id_card_same_row_labels_and_validity() -> None:
    lines = [
        "姓名 李小梅",
        "性别 女 民族 汉",
        "出生 1990年1月2日",
        "住址 广东省深圳市福田区福中三路",
        f"公民身份号码 {PERSON}",
        "签发机关 深圳市公安局福田分局",
        "有效期限 2015.06.25-2035.06.25",
    ]
    person = Applicant(kind="person", code=PERSON, name="李小梅")
    result = extract_fields("resident_id_card", lines, person, today=date(2024, 1, 1))
    assert result.problems == ()
    assert result.values["sex"] == "女"
    assert result.values["ethnicity"] == "汉"
    assert result.values["birth_date"] == "1990-01-02"
    assert result.values["issuing_authority"] == "深圳市公安局福田分局"
    assert (result.values["valid_from"], result.values["valid_until"]) == ("2015-06-25", "2035-06-25")


def test_sex_digit_mismatch_and_missing_fields() -> None:
    result = extract_fields("resident_id_card", ["性别 男", f"公民身份号码 {PERSON}"])
    codes = _codes(result)
    assert "resident_id_sex_mismatch" in codes  # 17th digit 2 = female
    assert ("field_missing", "person_name") in [(p.code, p.field) for p in result.problems]


def test_application_form_fields() -> None:
    lines = ["行政许可申请表", "申请人名称 示例公司", f"统一社会信用代码 {USCC}", "联系电话 138 0013 8000"]
    result = extract_fields("application_form", lines)
    assert result.values["applicant_name"] == "示例公司"
    assert result.values["contact_phone"] == "13800138000"
    assert result.values["uscc"] == USCC


def test_lease_fields() -> None:
    lines = [
        "房屋租赁合同",
        "出租方（甲方）：王五",
        "承租方（乙方）：示例公司",
        "租赁期限：2024年1月1日至2026年12月31日",
    ]
    result = extract_fields("site_certificate", lines)
    assert result.values["lessee"] == "示例公司"
    assert result.values["lessor"] == "王五"
    assert "2024" in result.values["lease_term"]


def test_parse_date_variants() -> None:
    assert parse_date("2013年05月06日") == date(2013, 5, 6)
    assert parse_date("2013.5.6") == date(2013, 5, 6)
    assert parse_date("20130506") == date(2013, 5, 6)
    assert parse_date("2013年13月06日") is None


# --- real OCR on the realistic specimens (tests/document_specimens.py) ---------------------------------


def _ingest(specimen, condition: str = "clean"):  # type: ignore[no-untyped-def]
    from onestop.materials.ocr import get_rapid_engine
    from onestop.materials.pipeline import process_upload

    from tests.document_specimens import damage

    data, name = damage(specimen.image, condition)
    return process_upload(
        data,
        declared={"filename": name},
        expected_material_type=specimen.slot_type,
        engine=get_rapid_engine(),
    )


def _stored_as_truth(specimen, outcome) -> dict[str, tuple[str, str | None]]:  # type: ignore[no-untyped-def]
    """Fields whose stored value differs from the truth (blank truth: nothing may be stored)."""
    from evaluation.scoring import same_value

    wrong = {}
    for name, truth in specimen.fields.items():
        got = outcome.fields.get(name)
        if name in specimen.lenient and got is None:
            continue
        if (truth == "" and got is not None) or (truth and (got is None or not same_value(name, truth, got))):
            wrong[name] = (truth, got)
    return wrong


@pytest.mark.slow
@pytest.mark.timeout(180)
@pytest.mark.parametrize("condition", ["clean", "rot90", "seal_watermark"])
def test_two_column_licence_with_spaced_labels_reads_every_field(condition: str) -> None:
    from tests.document_specimens import business_licence

    specimen = business_licence()
    outcome = _ingest(specimen, condition)
    if condition == "seal_watermark":  # the seal covers the name: missing and said so, never guessed
        assert ("field_missing", "enterprise_name") in [(p.code, p.field) for p in outcome.problems]
        specimen = replace(
            specimen, fields={k: v for k, v in specimen.fields.items() if k != "enterprise_name"}
        )
    else:
        assert outcome.status == "catalogued", [p.en for p in outcome.problems]
    assert _stored_as_truth(specimen, outcome) == {}
    reading = outcome.field_readings["address"]
    assert reading["source"] == "ocr"
    assert 0 < reading["confidence"] <= 1
    assert outcome.manifest["field_readings"]["address"] == reading


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_blank_legal_representative_is_missing_not_invented() -> None:
    from tests.document_specimens import business_licence_blank_representative

    outcome = _ingest(business_licence_blank_representative(), "rot270")
    assert "legal_representative" not in outcome.fields
    assert ("field_missing", "legal_representative") in [(p.code, p.field) for p in outcome.problems]
    assert outcome.status == "needs_attention"


@pytest.mark.slow
@pytest.mark.timeout(180)
@pytest.mark.parametrize(
    "name",
    [
        "id_card_back",
        "id_card_both_sides",
        "technology_contract",
        "labour_contract",
        "lease_contract",
        "application_form",
    ],
)
def test_specimens_of_other_types_read_their_own_fields(name: str) -> None:
    from tests import document_specimens

    specimen = getattr(document_specimens, name)()
    outcome = _ingest(specimen)
    assert _stored_as_truth(specimen, outcome) == {}
    assert outcome.status == "catalogued", [p.en for p in outcome.problems]
