"""`make eval`'s harness (evaluation/): its scoring rules, and a real run on a two-document subset that
must produce every section of docs/accuracy.md with figures in it — a harness that silently reports
nothing would pass every target."""

from __future__ import annotations

import json
from dataclasses import asdict
from decimal import Decimal

import pytest

from evaluation.cases import Case, corpus_cases, specimen_cases
from evaluation.report import SECTIONS, headline, read_headline, render
from evaluation.run import CaseResult, run_cases
from evaluation.scoring import FieldVerdict, amount, canonical, char_accuracy, judge, line_recall, same_value


def test_dates_ranges_and_amounts_compare_as_values() -> None:
    assert same_value("established_date", "2021-05-06", "2021年05月06日")
    assert same_value("birth_date", "1990-01-02", "1990年1月2日")
    assert not same_value("birth_date", "1990-01-02", "1990年1月20日")
    assert same_value("business_term", "2021-05-06至长期", "2021年05月06日 至 长期")
    assert not same_value("business_term", "2021-05-06至长期", "2021年05月06日")
    assert same_value("valid_until", "2036-05-06", "2036.05.06")
    assert amount("人民币壹佰万元整") == Decimal(1_000_000)
    assert amount("100万元") == Decimal(1_000_000)
    assert amount("¥12,000.00") == Decimal(12000)
    assert same_value("registered_capital", "人民币壹佰万元整", "100万元人民币")
    assert not same_value("registered_capital", "人民币壹佰万元整", "人民币壹拾万元整")


def test_text_values_ignore_blanks_and_width_but_not_characters() -> None:
    assert canonical("enterprise_name", "深圳市 前海 示例科技有限公司") == canonical(
        "enterprise_name", "深圳市前海示例科技有限公司"
    )
    assert same_value("lessee", "有限责任公司（自然人投资或控股）", "有限责任公司(自然人投资或控股)")
    assert not same_value("enterprise_name", "深圳市前海示例科技有限公司", "深圳市前海示例科技有限公")
    assert not same_value("uscc", "91440300MA5G7Q2K6Y", "91440300MA5G7Q2K6")


def test_verdicts_and_the_trust_figures() -> None:
    assert judge("person_name", "李小梅", "李小梅") == "exact"
    assert judge("person_name", "李小梅", None) == "missing"
    assert judge("person_name", "李小梅", "李小") == "wrong"
    assert judge("legal_representative", "", None) == "blank_ok"
    assert judge("legal_representative", "", "经营范围") == "blank_filled"
    # A printed value known to be invalid (the corpus card's number): right only when named in a problem.
    assert judge("id_number", "430512198908131367", None, must_flag=True, flagged=True) == "flagged_ok"
    assert judge("id_number", "430512198908131367", "430512198908131367", must_flag=True) == "wrong"
    assert judge("id_number", "430512198908131367", None, must_flag=True) == "missing"

    def verdict(verdict: str, flagged: bool, required: bool = True) -> FieldVerdict:
        return FieldVerdict("c", "clean", "business_licence", "f", "x", "y", verdict, flagged, required)

    assert verdict("wrong", flagged=False).wrong_but_accepted
    assert not verdict("wrong", flagged=True).wrong_but_accepted
    assert verdict("blank_filled", flagged=False).wrong_but_accepted  # an invented value
    assert verdict("missing", flagged=False).missing_unflagged
    assert verdict("blank_ok", flagged=False, required=True).missing_unflagged  # a blank nobody named
    assert not verdict("blank_ok", flagged=False, required=False).missing_unflagged
    assert not verdict("exact", flagged=False).wrong_but_accepted


def test_character_measures() -> None:
    assert char_accuracy("营业执照", "营 业 执 照") == 1.0
    assert char_accuracy("营业执照", "") == 0.0
    assert 0.7 < char_accuracy("营业执照副本", "营业执照付本") < 0.9
    # Order-free: the lines are found even when the columns come back interleaved.
    assert line_recall(("名称甲公司", "注册资本一百万"), "注册资本一百万\n名称甲公司") == 1.0
    assert char_accuracy("名称甲公司注册资本一百万", "注册资本一百万名称甲公司") < 0.6


def test_the_specimen_set_covers_every_condition_and_kind() -> None:
    cases = list(specimen_cases(["id_card_back"], others=["single_text_line"], other_conditions=("clean",)))
    assert [c.condition for c in cases if c.document == "id_card_back"] == [
        "clean", "rot90", "rot180", "rot270", "skew", "blur", "jpeg30", "scale50", "perspective",
        "seal_watermark", "photo",
    ]  # fmt: skip
    by = {c.condition: c for c in cases if c.document == "id_card_back"}
    assert by["rot90"].rotation == 90
    assert by["clean"].rotation == 0
    assert by["jpeg30"].data[:2] == b"\xff\xd8"
    assert by["clean"].data[:4] == b"\x89PNG"
    assert len({c.data for c in by.values()}) == len(by)  # every damage changes the bytes
    other = next(c for c in cases if c.document == "single_text_line")
    assert other.kind == "non_document"
    assert other.slot_type == "other"
    assert other.truth_type is None


def test_corpus_labels_are_read_when_the_corpus_is_there() -> None:
    cases = {c.document: c for c in corpus_cases()}
    if not cases:
        pytest.skip("../shared/corpus is not present")
    idcard = cases["chineseocr_idcard_specimen_rot180.jpeg"]
    assert idcard.slot_type == "resident_id_card"
    assert idcard.rotation == 180
    assert idcard.fields["person_name"] == "代用名"
    assert idcard.fields["birth_date"] == "2013年05月06日"
    assert cases["rapidocr_empty_black.jpg"].kind == "non_document"
    assert cases["invoice_vat_electronic.png"].slot_type == "business_licence"  # unrelated, typed slot


@pytest.mark.slow
def test_a_two_document_run_fills_every_section() -> None:
    cases: list[Case] = list(
        specimen_cases(
            ["id_card_front"], ("clean",), others=["single_text_line"], other_conditions=("clean",)
        )
    )
    results: list[CaseResult] = run_cases(cases)
    assert [r.case.name for r in results] == ["id_card_front/clean", "single_text_line/clean"]
    card, line = results
    assert card.error is None
    assert line.error is None
    assert card.status
    assert card.material_type
    # Real figures, not placeholders: the OCR read most characters of the card.
    assert card.line_recall is not None
    assert card.line_recall > 0.6
    assert card.char_accuracy is not None
    assert card.char_accuracy > 0.3
    scored = {v.field for v in card.verdicts}
    assert {"person_name", "id_number"} <= scored
    assert all(v.truth for v in card.verdicts)

    report = render(results, header=["# Accuracy", "", "Command: `make eval`"])
    for section in SECTIONS:
        assert section in report
    h = headline(results)
    assert h.clean_n == len(card.verdicts) > 0
    assert h.non_documents == 1
    assert "| resident_id_card |" in report  # the confusion matrix's row
    assert "single_text_line/clean" in report
    assert f"**{h.non_documents_catalogued}** of 1 catalogued" in report
    # The headline travels with the report, and a later report compares itself with it.
    assert read_headline(report) == json.loads(json.dumps(asdict(h)))
    before = {**asdict(h), "wrong_but_accepted": 56, "clean_exact": 0.5}
    compared = render(results, header=["# Accuracy"], baseline=("docs/accuracy-before.md", before))
    assert "Before → after (docs/accuracy-before.md)" in compared
    assert "| wrong but accepted | 56 |" in compared
    assert "| key fields exact, clean | 50.0 % |" in compared


def test_an_empty_run_is_an_error_not_a_clean_report() -> None:
    with pytest.raises(ValueError, match="no cases"):
        render([], header=["# Accuracy"])
