"""Classification into the shared material types, with reasons naming the matched cues."""

from __future__ import annotations

import pytest
from onestop.materials.classify import MATERIAL_TYPES, classify, mismatch_problem

LICENCE = (
    "营业执照\n统一社会信用代码 91440300MA5G7Q2K0X\n名称 深圳市示例科技有限公司\n"
    "法定代表人 张三\n成立日期 2019年03月15日"
)
ID_CARD = (
    "姓名 李小梅\n性别 女 民族 汉\n出生 1990年1月2日\n住址 广东省深圳市\n公民身份号码 440304199001020026"
)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        (LICENCE, "business_licence"),
        (ID_CARD, "resident_id_card"),
        ("行政许可申请表\n申请人 某公司\n申请事项 成品油零售\n联系电话 13800138000", "application_form"),
        ("房屋租赁合同\n出租方（甲方）：王五\n承租方（乙方）：某公司\n租赁期限：三年", "site_certificate"),
        ("某某有限公司章程\n第一章 总则\n股东会由全体股东组成\n出资方式", "articles_of_association"),
        ("授权委托书\n委托人：张三\n受托人：李四\n委托事项：代为办理", "power_of_attorney"),
        ("审计报告\n资产负债表\n利润表\n某某会计师事务所", "financial_statement"),
        ("企业名称预先核准通知书\n保留期至2024年", "name_preapproval"),
        ("建设工程消防验收意见书\n经抽查，验收合格", "fire_approval"),
    ],
)
def test_types_and_cues(text: str, code: str) -> None:
    result = classify(text)
    assert result.material_type == code
    assert result.confidence >= 0.6
    assert result.cues, "the reason must name what matched"
    assert result.cues[0] in result.reason_zh
    assert result.cues[0] in result.reason_en
    assert code in MATERIAL_TYPES


def test_spaced_out_ocr_words_still_match() -> None:
    assert classify("营 业 执 照\n统 一 社 会 信 用 代 码").material_type == "business_licence"


def test_blank_is_not_a_document() -> None:
    result = classify("  \n ")
    assert not result.is_document
    assert result.confidence == 0.0


def test_text_without_cues_is_other_with_low_confidence() -> None:
    result = classify("既然是自己选的，就不要抱怨")
    assert result.material_type == "other"
    assert result.confidence < 0.6
    assert result.is_document


def test_mismatch_reason_says_what_it_looks_like_and_where_it_went() -> None:
    reason = mismatch_problem("resident_id_card", "business_licence")
    assert reason.code == "material_type_mismatch"
    assert "looks like a resident ID card, uploaded as the business licence" in reason.en
    assert "居民身份证" in reason.zh
    assert "营业执照" in reason.zh


def test_ambiguous_text_has_lower_confidence_than_clear_text() -> None:
    mixed = "营业执照\n公民身份号码 440304199001020026\n性别 女"
    assert classify(mixed).confidence < classify(LICENCE).confidence
