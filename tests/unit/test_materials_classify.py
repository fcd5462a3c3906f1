"""Classification into the catalogue's material types, with reasons naming the matched cues.

The catalogue (material_types.yaml) is the classifier's only cue list: these tests read it, and a
best guess under the floor is never named (issue 14: a receipt "as resident ID card" at 0.12).
"""

from __future__ import annotations

import ast
import io
from pathlib import Path

import pytest
from onestop.catalogue import load_catalogue
from onestop.materials import classify as classify_module
from onestop.materials.classify import (
    CONFIDENT,
    GUESS_FLOOR,
    MATERIAL_TYPES,
    classify,
    is_material,
    mismatch_problem,
    not_expected_problem,
    type_name,
    unrelated_problem,
)
from pypdf import PdfReader

from infra import samples

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
        # Types the catalogue lacked for its own slots (issue 14 item 5).
        (
            "技术进出口合同\n受让方：某公司\n让与方：Northwind GmbH\n第一条 专利实施许可及技术秘密转让",
            "technology_contract",
        ),
        ("劳务合同\n甲方（用工单位）：某公司\n乙方（劳务人员）：陈建国\n劳务报酬：每月", "labour_contract"),
        ("劳务派遣协议\n用人单位：某公司\n劳动者：张三\n工作内容：安装", "labour_contract"),
        ("建设工程规划许可证\n建设单位：某公司\n建设项目名称：加油站\n建设位置：宝安区", "planning_permit"),
        ("成品油购销合同（供油协议）\n供方：某石化公司\n需方：某加油站\n供货期限一年", "supply_agreement"),
        ("对外劳务合作管理制度\n第一条 为规范合同管理\n第二条 备用金\n附则", "management_rules"),
        ("拆解设备设施清单\n设备名称 规格型号 数量 购置日期\n剪切机 JQ-400 2 2024-03-01", "equipment_list"),
        ("承诺书\n本单位郑重承诺：符合国家标准\n承诺人（盖章）", "commitment_letter"),
        ("预收资金存管协议\n存管银行：某银行\n存管账户\n发卡企业", "custody_agreement"),
        ("股东会决议\n经全体股东一致同意，表决通过境外投资事项", "investment_resolution"),
        # Known non-materials: recognised so that the pipeline can say what they are.
        ("深圳增值税普通发票\n发票代码 044031800104\n发票号码 41108527\n价税合计（大写）", "invoice"),
        ("G1418 宜春站 南昌西站\n二等座\n限乘当日当次车\n候车：一层候车室", "train_ticket"),
        ("某某医院检验报告单\n临床诊断：\n标本：血清\n检验结果 参考范围", "lab_report"),
    ],
)
def test_types_and_cues(text: str, code: str) -> None:
    result = classify(text)
    assert result.material_type == code
    assert result.confidence >= CONFIDENT
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
    assert result.confidence < CONFIDENT
    assert result.is_document


def test_mismatch_reason_says_what_it_looks_like_and_where_it_went() -> None:
    reason = mismatch_problem("resident_id_card", "business_licence")
    assert reason.code == "material_type_mismatch"
    assert "looks like a resident identity card, uploaded as the business licence" in reason.en
    assert "居民身份证" in reason.zh
    assert "营业执照" in reason.zh


def test_ambiguous_text_has_lower_confidence_than_clear_text() -> None:
    mixed = "营业执照\n公民身份号码 440304199001020026\n性别 女"
    assert classify(mixed).confidence < classify(LICENCE).confidence


# --- the floor: a weak guess is not named ----------------------------------------------------------


def _named_types(text: str) -> set[str]:
    """Catalogue types whose zh or en name appears in `text`."""
    found = set()
    for mt in load_catalogue().material_types:
        if mt.code == "other":
            continue
        zh, en = type_name(mt.code)
        if zh in text or en in text.lower():
            found.add(mt.code)
    return found


def test_a_guess_under_the_floor_is_other_and_named_nowhere() -> None:
    # What a till receipt's OCR gave the old classifier: one weak label and an 18-digit number, read
    # "as resident ID card" at 0.12.
    result = classify("收银员 03\n会员卡号 440304199001020026\n性别\n谢谢惠顾")
    assert result.confidence < GUESS_FLOOR
    assert result.material_type == "other"
    assert _named_types(result.reason_zh) == set()
    assert _named_types(result.reason_en) == set()


def test_uncertain_in_a_typed_slot_names_only_the_slot_type() -> None:
    reason = not_expected_problem("business_licence")
    assert reason.code == "material_type_mismatch"
    assert _named_types(reason.en) == {"business_licence"}
    assert _named_types(reason.zh) == {"business_licence"}


def test_unrelated_documents_are_known_but_no_material() -> None:
    for code in ("invoice", "train_ticket", "lab_report"):
        assert not is_material(code)
        reason = unrelated_problem(code)
        assert reason.code == "material_type_mismatch"
        assert _named_types(reason.en) == {code}
    assert is_material("technology_contract")
    assert is_material("business_licence")


# --- the catalogue is the one source -----------------------------------------------------------------


def test_classifier_has_no_cue_or_name_table_of_its_own() -> None:
    """No dict or tuple literal in classify.py holds a catalogue type's title word or name."""
    tree = ast.parse(Path(classify_module.__file__).read_text(encoding="utf-8"))
    literals = {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    }
    for mt in load_catalogue().material_types:
        assert mt.name_zh not in literals, mt.code
        titles = [c.word for c in mt.cues_zh if c.weight >= 3]
        assert not set(titles) & literals, (mt.code, set(titles) & literals)


def test_every_title_word_in_the_catalogue_classifies_as_its_type() -> None:
    """Each type's title words, alone, decide it: overlapping cue lists show up here as data errors."""
    for mt in load_catalogue().material_types:
        for cue in mt.cues_zh:
            if cue.weight >= 4:
                result = classify(f"{cue.word}\n{cue.word}")
                assert result.material_type == mt.code, (cue.word, result.material_type)


def test_a_type_added_to_the_catalogue_is_classified_without_code(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cues come from the catalogue: change the data and the classifier follows."""
    catalogue = load_catalogue()
    patched = catalogue.model_copy(
        update={
            "material_types": [
                mt.model_copy(update={"cues_zh": [type(mt.cues_zh[0])(word="测绘成果报告", weight=5)]})
                if mt.code == "site_plan"
                else mt
                for mt in catalogue.material_types
            ]
        }
    )
    monkeypatch.setattr(classify_module, "load_catalogue", lambda: patched)
    classify_module._cue_table.cache_clear()
    try:
        assert classify("测绘成果报告\n某某测绘院").material_type == "site_plan"
        assert classify("平面布置图\n图例").material_type != "site_plan"
    finally:
        monkeypatch.undo()
        classify_module._cue_table.cache_clear()


def test_every_other_slot_holds_no_known_document() -> None:
    """Slots still typed "other" hold evidence of many kinds or photos, not one known document."""
    other = {
        (item.code, m.slot)
        for item in load_catalogue().items
        for m in item.materials
        if m.material_type == "other"
    }
    assert other == {
        ("refined-oil-retail-change", "change_evidence"),
        ("technology-contract-registration", "counterparty_status"),
        ("prepaid-card-issuer-filing", "card_sample"),
        ("direct-selling-outlet-inspection", "outlet_photos"),
    }
    catalogue = load_catalogue()
    assert catalogue.item("technology-contract-registration").material("contract").material_type == (
        "technology_contract"
    )
    assert catalogue.item("direct-selling-outlet-inspection").material("outlet_photos").accepts_photos


def test_the_demo_contract_is_a_technology_contract() -> None:
    """`make demo` uploads this contract into the technology-contract item's contract slot."""
    pdf = PdfReader(io.BytesIO(samples.contract_pdf()))
    text = "\n".join(page.extract_text() for page in pdf.pages)
    result = classify(text)
    assert result.material_type == "technology_contract"
    assert result.confidence >= CONFIDENT


def _catalogue_docs() -> tuple[dict, dict]:
    from importlib import resources

    import yaml

    base = resources.files("onestop.catalogue")
    items = yaml.safe_load((base / "items.yaml").read_text(encoding="utf-8"))
    items.pop("x-shared", None)
    types = yaml.safe_load((base / "material_types.yaml").read_text(encoding="utf-8"))
    return items, types


def test_no_slot_may_be_typed_with_a_non_material_and_also_accepts_only_non_materials() -> None:
    from onestop.catalogue import CatalogueError, parse_catalogue

    items, types = _catalogue_docs()
    slot = items["items"][0]["materials"][0]
    slot["material_type"] = "invoice"
    with pytest.raises(CatalogueError, match="is no material type"):
        parse_catalogue(items, types)
    items, types = _catalogue_docs()
    items["items"][0]["materials"][0]["also_accepts"] = ["business_licence"]
    with pytest.raises(CatalogueError, match="not known non-material types"):
        parse_catalogue(items, types)
    items, types = _catalogue_docs()
    items["items"][0]["materials"][0]["also_accepts"] = ["invoice"]
    assert parse_catalogue(items, types).items[0].materials[0].also_accepts == ["invoice"]
