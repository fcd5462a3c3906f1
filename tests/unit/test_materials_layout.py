"""Layout-aware key-value reading on OCR boxes (issue 14 items 1, 2, 5), with boxes built by hand.

Each page here is the list of boxes an OCR engine returns for a document laid out as the outsiders'
business-licence scans were: two columns, spaced labels ("名 称", "住 所"), a blank legal
representative, a date beside 登记机关. The old reader flattened these boxes into reading-order lines;
the defects it had are asserted absent here.
"""

from __future__ import annotations

import math
from datetime import date

import pytest
from onestop.catalogue import load_catalogue
from onestop.identifiers.resident_id import id_check_char
from onestop.identifiers.uscc import compose_uscc
from onestop.materials.fields import extract_fields
from onestop.materials.layout import LabelRule, Page, read_page, text_page
from onestop.materials.ocr import OcrLine

USCC = compose_uscc("91440300", "MA5G7Q2K")
COMPANY = "深圳市前海示例科技有限公司"
PERSON = "44030419900102002" + id_check_char("44030419900102002")
W, H = 2000, 1400


def box(text: str, x0: float, y0: float, x1: float, y1: float, conf: float = 0.99) -> OcrLine:
    return OcrLine(text, ((x0, y0), (x1, y0), (x1, y1), (x0, y1)), conf)


def row(y: float, *cells: tuple[str, float, float]) -> list[OcrLine]:
    return [box(text, x0, y, x1, y + 40) for text, x0, x1 in cells]


def two_column_licence(legal_rep: str | None = None) -> list[OcrLine]:
    """Left: 名称/类型/法定代表人/经营范围 (3 lines); right: 注册资本/成立日期/营业期限/住所 (2 lines);
    登记机关 at the bottom right with the date of issue beside it (the seal covers the authority)."""
    rep = [("" + legal_rep, 300, 420)] if legal_rep else []
    return [
        box("营业执照", 800, 80, 1200, 180),
        *row(300, ("统一社会信用代码", 100, 400), (USCC, 450, 900)),
        *row(
            380,
            ("名", 100, 130),
            ("称", 200, 230),
            (COMPANY, 300, 800),
            ("注册资本", 1000, 1150),
            ("人民币壹佰万元整", 1200, 1500),
        ),
        *row(
            460,
            ("类", 100, 130),
            ("型", 200, 230),
            ("有限责任公司", 300, 520),
            ("成立日期", 1000, 1150),
            ("2019年03月15日", 1200, 1450),
        ),
        *row(
            540,
            ("法定代表人", 100, 280),
            *rep,
            ("营业期限", 1000, 1150),
            ("2019年03月15日至长期", 1200, 1560),
        ),
        *row(
            620,
            ("经营范围", 100, 250),
            ("软件开发；信息技术咨询服务；", 300, 900),
            ("住", 1000, 1030),
            ("所", 1100, 1130),
            ("深圳市南山区粤海街道", 1200, 1800),
        ),
        *row(670, ("计算机软硬件销售；", 300, 900), ("科技园路1号", 1200, 1500)),
        *row(720, ("电子产品销售", 300, 700)),
        *row(900, ("登记机关", 1000, 1150), ("2024年05月06日", 1200, 1500)),
    ]


def _codes(result) -> list[tuple[str, str | None]]:  # type: ignore[no-untyped-def]
    return [(p.code, p.field) for p in result.problems]


def _page(lines: list[OcrLine], width: float = W, height: float = H) -> Page:
    return Page(0, tuple(lines), width, height)


def test_spaced_labels_columns_and_blank_values_of_a_two_column_licence() -> None:
    result = extract_fields("business_licence", pages=[_page(two_column_licence())])
    values = result.values
    assert values["uscc"] == USCC
    assert values["enterprise_name"] == COMPANY  # "名", "称" two boxes
    assert values["address"] == "深圳市南山区粤海街道科技园路1号"  # "住", "所" two boxes, two lines
    # The right-hand column's second line belongs to the address, not to the scope beside it.
    assert values["business_scope"] == "软件开发;信息技术咨询服务;计算机软硬件销售;电子产品销售"  # NFKC
    assert values["registered_capital"] == "1000000元"
    assert values["business_term"] == "2019-03-15至长期"
    # Blank legal representative: a problem, never a value taken from the neighbouring column.
    assert "legal_representative" not in values
    assert ("field_missing", "legal_representative") in _codes(result)
    # The date beside 登记机关 is not an authority: a problem, not a value.
    assert "issuing_authority" not in values
    assert ("field_invalid", "issuing_authority") in _codes(result)
    assert result.readings["issuing_authority"].raw == "2024年05月06日"


def test_the_same_licence_with_its_legal_representative_is_clean() -> None:
    lines = [b for b in two_column_licence("张三丰") if b.text != "2024年05月06日"]
    lines.append(box("深圳市市场监督管理局", 1200, 900, 1600, 940))
    result = extract_fields("business_licence", pages=[_page(lines)])
    assert result.values["legal_representative"] == "张三丰"
    assert result.values["issuing_authority"] == "深圳市市场监督管理局"
    assert result.problems == ()


def _turn(lines: list[OcrLine], degrees: int) -> tuple[list[OcrLine], float, float]:
    """The boxes as an engine reports them on the page turned by `degrees` clockwise (first point =
    the text's own top-left, wherever that lands)."""
    out = []
    for line in lines:
        pts = []
        for x, y in line.box:
            if degrees == 90:
                pts.append((H - y, x))
            elif degrees == 180:
                pts.append((W - x, H - y))
            else:
                pts.append((y, W - x))
        out.append(OcrLine(line.text, (pts[0], pts[1], pts[2], pts[3]), line.confidence))
    width, height = (H, W) if degrees in (90, 270) else (W, H)
    return out, width, height


@pytest.mark.parametrize("degrees", [90, 180, 270])
def test_a_turned_page_reads_as_printed_and_invents_nothing(degrees: int) -> None:
    lines, width, height = _turn(two_column_licence(), degrees)
    result = extract_fields("business_licence", pages=[Page(0, tuple(lines), width, height)])
    assert result.values["address"] == "深圳市南山区粤海街道科技园路1号"
    assert result.values["enterprise_name"] == COMPANY
    assert "legal_representative" not in result.values
    assert ("field_missing", "legal_representative") in _codes(result)
    x0, y0, x1, y1 = result.readings["address"].box or (0, 0, 0, 0)
    # In the upright frame: right half of the page, a fifth of the way down.
    assert 0.55 < x0 < 0.65
    assert 0.85 < x1 <= 0.95
    assert 0.4 < y0 < 0.5
    assert y1 < 0.55


def test_a_slightly_skewed_page_keeps_its_rows() -> None:
    angle = math.radians(6)
    turned = [
        OcrLine(
            line.text,
            tuple(  # type: ignore[arg-type]
                (x * math.cos(angle) - y * math.sin(angle) + 300, x * math.sin(angle) + y * math.cos(angle))
                for x, y in line.box
            ),
            line.confidence,
        )
        for line in two_column_licence("张三丰")
    ]
    result = extract_fields("business_licence", pages=[_page(turned, 2400, 1800)])
    assert result.values["legal_representative"] == "张三丰"
    assert result.values["address"] == "深圳市南山区粤海街道科技园路1号"
    assert result.values["business_scope"].endswith("电子产品销售")


def test_a_label_inside_a_longer_word_is_no_label() -> None:
    lines = [
        box("商户名称：示例小店", 100, 100, 600, 140),
        box(f"统一社会信用代码 {USCC}", 100, 200, 900, 240),
        box("法定代表人 张三丰", 100, 300, 500, 340),
    ]
    result = extract_fields("business_licence", pages=[_page(lines)])
    assert "enterprise_name" not in result.values
    assert ("field_missing", "enterprise_name") in _codes(result)


def test_a_contact_label_is_not_a_phone_number() -> None:
    lines = [
        box("申请人名称", 100, 100, 300, 140),
        box(COMPANY, 400, 100, 900, 140),
        box("联系电话", 100, 200, 260, 240),
        box("经办人", 400, 200, 520, 240),
    ]
    result = extract_fields("application_form", pages=[_page(lines)])
    assert result.values["applicant_name"] == COMPANY
    assert "contact_phone" not in result.values
    assert ("field_missing", "contact_phone") in _codes(result)


def test_a_placeholder_name_is_invalid_and_not_kept() -> None:
    lines = [
        "姓名 (CARDHOLDER NAME)",
        "性别 女",
        "民族 汉",
        "出生 1990年1月2日",
        "住址 广东省深圳市福田区福中三路",
        f"公民身份号码 {PERSON}",
    ]
    result = extract_fields("resident_id_card", lines)
    assert "person_name" not in result.values
    assert ("field_invalid", "person_name") in _codes(result)
    assert result.readings["person_name"].value == "(CARDHOLDER NAME)"


def test_id_card_back_has_its_own_fields_and_not_the_fronts() -> None:
    lines = [
        "中华人民共和国",
        "居民身份证",
        "签发机关 深圳市公安局福田分局",
        "有效期限 2015.06.25-2035.06.25",
    ]
    result = extract_fields("resident_id_card", lines, today=date(2026, 12, 3))
    assert result.sides == ("back",)
    assert result.problems == ()
    assert result.values == {
        "issuing_authority": "深圳市公安局福田分局",
        "validity": "2015-06-25至2035-06-25",
        "valid_from": "2015-06-25",
        "valid_until": "2035-06-25",
    }


def test_id_card_back_blank_authority_and_expired_validity() -> None:
    lines = ["中华人民共和国", "居民身份证", "签发机关", "有效期限 2005.06.25-2025.06.25"]
    result = extract_fields("resident_id_card", lines, today=date(2026, 12, 3))
    codes = _codes(result)
    assert ("field_missing", "issuing_authority") in codes
    assert ("id_card_expired", "validity") in codes
    assert all(field not in ("person_name", "id_number") for _, field in codes)
    long_term = extract_fields("resident_id_card", ["签发机关 深圳市公安局", "有效期限 2015.06.25-长期"])
    assert long_term.values["valid_until"] == "长期"
    assert long_term.problems == ()


def test_id_card_front_and_back_on_one_page_are_both_read() -> None:
    lines = [
        "姓名 李小梅",
        "性别 女 民族 汉",
        "出生 1990年1月2日",
        "住址 广东省深圳市福田区福中三路",
        f"公民身份号码 {PERSON}",
        "签发机关 深圳市公安局福田分局",
        "有效期限 2015.06.25-2035.06.25",
    ]
    result = extract_fields("resident_id_card", lines, today=date(2026, 1, 1))
    assert result.sides == ("front", "back")
    assert result.problems == ()
    assert result.values["id_number"] == PERSON
    assert result.values["issuing_authority"] == "深圳市公安局福田分局"
    front_only = extract_fields("resident_id_card", lines[:4], today=date(2026, 1, 1))
    assert front_only.sides == ("front",)
    assert [p for p in front_only.problems if p.field == "person_name"] == []
    assert ("field_missing", "id_number") in _codes(front_only)
    assert ("field_missing", "validity") not in _codes(front_only)


def test_low_confidence_is_uncertain_and_the_box_is_kept() -> None:
    lines = two_column_licence("张三丰")
    lines = [OcrLine(b.text, b.box, 0.55) if b.text == "张三丰" else b for b in lines]
    result = extract_fields("business_licence", pages=[_page(lines)])
    assert result.values["legal_representative"] == "张三丰"
    assert ("field_uncertain", "legal_representative") in _codes(result)
    reading = result.readings["legal_representative"]
    assert reading.confidence == pytest.approx(0.55)
    assert reading.source == "ocr"
    assert reading.page == 0
    assert reading.box == (0.15, pytest.approx(540 / H, abs=1e-3), 0.21, pytest.approx(580 / H, abs=1e-3))


def test_value_below_its_label_and_multiline_stops_at_a_gap() -> None:
    rules = [LabelRule("address", ("住所",), "right_or_below", True), LabelRule("scope", ("经营范围",))]
    lines = [
        box("住所", 100, 100, 180, 140),
        box("北京市海淀区中关村大街", 100, 150, 600, 190),
        box("27号", 100, 200, 200, 240),
        box("本页以下空白", 100, 400, 400, 440),
    ]
    found = read_page(_page(lines), rules).found
    assert found["address"].text == "北京市海淀区中关村大街27号"


def test_text_layer_lines_get_stacked_boxes_and_no_page_box() -> None:
    page = text_page(["营业执照", f"统一社会信用代码{USCC}", "名 称", "示例科技有限公司", "法定代表人：李四"])
    result = extract_fields("business_licence", pages=[page])
    assert result.values["enterprise_name"] == "示例科技有限公司"
    assert result.values["legal_representative"] == "李四"
    assert result.readings["uscc"].source == "text_layer"
    assert result.readings["uscc"].box is None
    assert result.readings["uscc"].confidence == 1.0


def test_every_catalogued_field_has_labels_and_a_known_validator() -> None:
    catalogue = load_catalogue()
    for material_type in catalogue.material_types:
        for spec in material_type.fields:
            assert spec.label_variants, (material_type.code, spec.name)
        # Reading any type never raises, with or without text.
        extract_fields(material_type.code, ["无关文字"])


def test_a_value_box_overlapping_its_labels_end_is_still_its_value() -> None:
    # A perspective-warped scan: the value's box starts a little inside the label's box.
    lines = [box("经营范围", 205, 584, 352, 617), box("一般经营项目是：软件开发", 333, 583, 867, 623)]
    rules = [LabelRule("business_scope", ("经营范围",), "right_or_below", True)]
    found = read_page(_page(lines), rules).found
    assert found["business_scope"].text == "一般经营项目是:软件开发"  # NFKC
