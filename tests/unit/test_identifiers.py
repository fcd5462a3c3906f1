"""Identifiers: USCC (GB 32100), resident ID (GB 11643), e-licence id (GB/T 36904)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from onestop.errors import InvalidInput
from onestop.identifiers import (
    LicenceId,
    birth_date_of,
    compose_uscc,
    id_check_char,
    is_valid_licence_id,
    is_valid_resident_id,
    is_valid_uscc,
    make_licence_id,
    make_uscc,
    mod37_36_check,
    normalise_resident_id,
    normalise_uscc,
    org_code_check_char,
    parse_licence_id,
    resident_id_problems,
    uscc_check_char,
    uscc_problems,
    validate_resident_id,
    validate_uscc,
)
from onestop.identifiers.licence_id import ALPHABET as LID_ALPHABET
from onestop.identifiers.uscc import ALPHABET as USCC_ALPHABET
from onestop.identifiers.uscc import REGISTRATION_AUTHORITIES

CORPUS = Path("/work/shared/corpus")


def _codes(exc: pytest.ExceptionInfo[InvalidInput]) -> set[str]:
    return {r.code for r in exc.value.details}


# ---------------------------------------------------------------- USCC


def test_uscc_worked_example() -> None:
    # 91350100M000100Y43, by hand. Values: digits = themselves, M = 21, Y = 30 (index in the
    # 31-character alphabet). Σ value × weight over the first 17:
    #   9·1 + 1·3 + 3·9 + 5·27 + 0·19 + 1·26 + 0·16 + 0·17 + M(21)·20 + 0·29 + 0·25 + 0·13
    #   + 1·8 + 0·24 + 0·10 + Y(30)·30 + 4·28 = 9+3+27+135+26+420+8+900+112 = 1640
    #   1640 mod 31 = 28 → 31 − 28 = 3 → check "3".
    # Organisation code M000100Y4: GB 11714 letter values A=10…, so M = 22, Y = 34:
    #   22·3 + 0·7 + 0·9 + 0·10 + 1·5 + 0·8 + 0·4 + 34·2 = 66 + 5 + 68 = 139; 139 mod 11 = 7 → 11 − 7 = 4.
    assert uscc_check_char("91350100M000100Y4") == "3"
    assert org_code_check_char("M000100Y") == "4"
    assert make_uscc("91350100M000100Y4") == "91350100M000100Y43"
    validate_uscc("91350100M000100Y43")


@pytest.mark.parametrize(
    "code",
    [
        # Taxpayer numbers printed on the corpus invoices (see /work/shared/corpus/MANIFEST.md:
        # guanshuicheng/invoice test-invoice/*, MIT).
        "91120222079642398Y",
        "91440300708436854B",
        "92440300L08175019R",  # individual business (个体工商户): letter inside the org code
        # Defining body and issuer from GB/T 36904's published example.
        "11100000000013338W",
        "11430000006122244L",
    ],
)
def test_real_usccs_are_valid(code: str) -> None:
    assert is_valid_uscc(code)


def test_uscc_reasons_are_separate_and_bilingual() -> None:
    with pytest.raises(InvalidInput) as exc:
        validate_uscc("9144030070843685")
    assert _codes(exc) == {"uscc_length"}
    assert exc.value.code == "invalid_uscc"
    with pytest.raises(InvalidInput) as exc:
        validate_uscc("91440300708436854I")
    assert _codes(exc) == {"uscc_alphabet"}
    assert "I" in exc.value.details[0].zh
    assert "I" in exc.value.details[0].en
    # Wrong final check only.
    with pytest.raises(InvalidInput) as exc:
        validate_uscc("91440300708436854C")
    assert _codes(exc) == {"uscc_check_char"}
    assert "B" in exc.value.details[0].en
    # Organisation code check broken, final check repaired: only the GB 11714 reason.
    broken_org = make_uscc("9144030070843685" + "5")
    with pytest.raises(InvalidInput) as exc:
        validate_uscc(broken_org)
    assert _codes(exc) == {"uscc_org_code_check"}
    assert is_valid_uscc(broken_org, check_org_code=False)
    for r in exc.value.details:
        assert r.zh
        assert r.en
        assert r.field == "uscc"


def test_uscc_every_single_substitution_is_detected() -> None:
    code = "91440300708436854B"
    for i in range(18):
        for c in USCC_ALPHABET:
            if c != code[i]:
                assert uscc_problems(code[:i] + c + code[i + 1 :]), (i, c)


def test_normalise_uscc() -> None:
    assert normalise_uscc(" 9144 0300 7084 3685 4b ") == "91440300708436854B"


# Independent examples: each expected value below is worked out by hand from GB 32100 / GB 11714
# (/work/shared/REFERENCE.md), never taken from the code under test.


@pytest.mark.parametrize(
    ("code", "holder"),
    [
        # Unified social credit codes of well-known companies, as printed on their business licences
        # (public disclosures). Each passes both checks by hand (values: index in the 31-character
        # alphabet, T = 26; organisation-code letters A = 10 ... Z = 35):
        # 91440300708461136T: 9·1 + 1·3 + 4·9 + 4·27 + 3·26 + 7·20 + 8·25 + 4·13 + 6·8 + 1·24 + 1·10
        #   + 3·30 + 6·28 = 966; 966 mod 31 = 5; 31 − 5 = 26 → "T".
        #   Organisation code 70846113-6: 7·3 + 8·9 + 4·10 + 6·5 + 1·8 + 1·4 + 3·2 = 181;
        #   181 mod 11 = 5; 11 − 5 = 6 → "6".
        ("91440300708461136T", "深圳市腾讯计算机系统有限公司"),
        # 914403001922038216: 9·1 + 1·3 + 4·9 + 4·27 + 3·26 + 1·20 + 9·29 + 2·25 + 2·13 + 3·24 + 8·10
        #   + 2·30 + 1·28 = 831; 831 mod 31 = 25; 31 − 25 = 6 → "6".
        #   19220382-1: 1·3 + 9·7 + 2·9 + 2·10 + 3·8 + 8·4 + 2·2 = 164; 164 mod 11 = 10; 11 − 10 = 1.
        ("914403001922038216", "华为技术有限公司"),
        # 91440300192317458F: 9·1 + 1·3 + 4·9 + 4·27 + 3·26 + 1·20 + 9·29 + 2·25 + 3·13 + 1·8 + 7·24
        #   + 4·10 + 5·30 + 8·28 = 1194; 1194 mod 31 = 16; 31 − 16 = 15 → "F".
        #   19231745-8: 1·3 + 9·7 + 2·9 + 3·10 + 1·5 + 7·8 + 4·4 + 5·2 = 201; 201 mod 11 = 3; 11 − 3 = 8.
        ("91440300192317458F", "比亚迪股份有限公司"),
        # 91100000100003962T: 9·1 + 1·3 + 1·9 + 1·20 + 3·24 + 9·10 + 6·30 + 2·28 = 439;
        #   439 mod 31 = 5; 31 − 5 = 26 → "T". 10000396-2: 1·3 + 3·8 + 9·4 + 6·2 = 75; 75 mod 11 = 9;
        #   11 − 9 = 2.
        ("91100000100003962T", "中国工商银行股份有限公司"),
        # 911000001000013428: 9·1 + 1·3 + 1·9 + 1·20 + 1·24 + 3·10 + 4·30 + 2·28 = 271; 271 mod 31 = 23;
        #   31 − 23 = 8 → "8". 10000134-2: 1·3 + 1·8 + 3·4 + 4·2 = 31; 31 mod 11 = 9; 11 − 9 = 2.
        ("911000001000013428", "中国银行股份有限公司"),
    ],
)
def test_published_usccs_of_well_known_companies(code: str, holder: str) -> None:
    assert uscc_check_char(code[:17]) == code[17], holder
    assert org_code_check_char(code[8:16]) == code[16], holder
    assert uscc_problems(code) == [], holder
    # Any other final character is refused with the expected one named.
    wrong = "0" if code[17] != "0" else "1"
    with pytest.raises(InvalidInput) as exc:
        validate_uscc(code[:17] + wrong)
    assert _codes(exc) == {"uscc_check_char"}
    assert f"should be {code[17]}" in exc.value.details[0].en


@pytest.mark.parametrize(
    ("first17", "check"),
    [
        # Σ = 0 → 31 − 0 = 31, read as 0 → "0" (the wrap-around).
        ("00000000000000000", "0"),
        # Σ = 1·1 = 1 → 31 − 1 = 30 → "Y", the last character of the alphabet.
        ("10000000000000000", "Y"),
        # Only the last position: Y(30)·28 = 840; 840 mod 31 = 3 (31·27 = 837); 31 − 3 = 28 → "W".
        ("0000000000000000Y", "W"),
        # H = 17 at position 6 (weight 26): 17·26 = 442; 442 mod 31 = 8 (31·14 = 434); 31 − 8 = 23 → "P".
        ("00000H00000000000", "P"),
    ],
)
def test_uscc_check_hand_worked_edges(first17: str, check: str) -> None:
    assert uscc_check_char(first17) == check


@pytest.mark.parametrize(
    ("body8", "check"),
    [
        ("00000000", "0"),  # Σ = 0 → 11 − 0 = 11 → "0"
        ("00000006", "X"),  # 6·2 = 12; 12 mod 11 = 1 → 11 − 1 = 10 → "X"
        ("00000001", "9"),  # 1·2 = 2 → 11 − 2 = 9
        ("A0000000", "3"),  # A = 10: 10·3 = 30; 30 mod 11 = 8 → 3
        # I, O, S, V, Z are refused in a USCC but are ordinary letters of a GB 11714 organisation code.
        ("Z0000001", "3"),  # Z = 35: 35·3 + 1·2 = 107; 107 = 9·11 + 8 → 11 − 8 = 3
        ("1234567A", "4"),  # 1·3 + 2·7 + 3·9 + 4·10 + 5·5 + 6·8 + 7·4 + 10·2 = 205; 205 mod 11 = 7 → 4
    ],
)
def test_org_code_check_hand_worked(body8: str, check: str) -> None:
    assert org_code_check_char(body8) == check


def test_uscc_reasons_name_their_field_and_the_defaults_check_the_org_code() -> None:
    broken_org = "9144030070843685" + "5"
    broken_org += uscc_check_char(broken_org)  # final check repaired, organisation code still wrong
    # By default both checks run, in every entry point.
    assert {r.code for r in uscc_problems(broken_org)} == {"uscc_org_code_check"}
    assert not is_valid_uscc(broken_org)
    assert uscc_problems(broken_org, check_org_code=False) == []
    for bad in ("9144030070843685", "91440300708436854I", "91440300708436854C", broken_org):
        reasons = uscc_problems(bad)
        assert reasons
        assert {r.field for r in reasons} == {"uscc"}, bad
    assert "不允许的字符：I（" in uscc_problems("91440300708436854I")[0].zh
    with pytest.raises(InvalidInput) as exc:
        validate_uscc("91440300708436854C")
    assert exc.value.zh == "统一社会信用代码无效。"
    assert exc.value.en == "Invalid unified social credit code."


def test_uscc_check_functions_refuse_bad_input() -> None:
    with pytest.raises(ValueError, match=r"^need 17 characters, got 16$"):
        uscc_check_char("9" * 16)
    with pytest.raises(ValueError, match=r"^character 'I' is not in the USCC alphabet$"):
        uscc_check_char("9144030070843685I")
    with pytest.raises(ValueError, match=r"^need 8 characters, got 7$"):
        org_code_check_char("7084368")
    with pytest.raises(ValueError, match=r"^'7084368-' has a character outside 0-9A-Z$"):
        org_code_check_char("7084368-")


# Registration authority + entity type pairs of GB 32100's table, then a 6-character division.
USCC_KINDS = [a + t for a, r in REGISTRATION_AUTHORITIES.items() for t in r.entity_types]
uscc_body = st.builds(
    str.__add__, st.sampled_from(USCC_KINDS), st.text(alphabet=USCC_ALPHABET, min_size=6, max_size=6)
)
org_body = st.text(alphabet="0123456789ABCDEFGHJKLMNPQRTUWXY", min_size=8, max_size=8)


@given(prefix=uscc_body, body=org_body)
def test_compose_uscc_is_always_valid(prefix: str, body: str) -> None:
    code = compose_uscc(prefix, body)
    assert len(code) == 18
    validate_uscc(code)


@given(
    first17=st.builds(
        str.__add__,
        st.sampled_from(USCC_KINDS),
        st.text(alphabet=USCC_ALPHABET, min_size=15, max_size=15),
    )
)
def test_make_uscc_passes_its_own_check(first17: str) -> None:
    assert is_valid_uscc(make_uscc(first17), check_org_code=False)


def test_uscc_registration_authority_and_entity_type_come_from_gb32100s_table() -> None:
    # All zeros pass both check characters (zeros weigh nothing): only the table refuses it.
    assert uscc_check_char("0" * 17) == "0"
    assert org_code_check_char("0" * 8) == "0"
    with pytest.raises(InvalidInput) as exc:
        validate_uscc("0" * 18)
    assert _codes(exc) == {"uscc_registration_authority"}
    assert "第1位" in exc.value.details[0].zh
    assert "1st character" in exc.value.details[0].en
    # 9 (industry and commerce) registers types 1-3 only; 5 (civil affairs) has 1-3 and 9.
    for prefix, ok in [("91", True), ("92", True), ("93", True), ("94", False), ("99", False),
                       ("59", True), ("54", False), ("Y1", True), ("Y2", False), ("N3", True),
                       ("A1", True), ("B1", False), ("01", False)]:  # fmt: skip
        code = compose_uscc(prefix + "440300", "MA5F0001")
        assert is_valid_uscc(code) is ok, prefix
        if not ok:
            [reason] = uscc_problems(code)
            wanted = (
                "uscc_entity_type" if prefix[0] in REGISTRATION_AUTHORITIES else "uscc_registration_authority"
            )
            assert reason.code == wanted, prefix
    [reason] = uscc_problems(compose_uscc("99440300", "MA5F0001"))
    assert "工商" in reason.zh
    assert "1、2、3" not in reason.zh
    assert "1（企业）" in reason.zh
    assert "registers only types 1, 2, 3" in reason.en


# ---------------------------------------------------------------- resident ID


def test_resident_id_worked_example() -> None:
    # 11010519491231002X (the standard's own example). Σ digit × weight:
    #   1·7 + 1·9 + 0·10 + 1·5 + 0·8 + 5·4 + 1·2 + 9·1 + 4·6 + 9·3 + 1·7 + 2·9 + 3·10 + 1·5 + 0·8 + 0·4 + 2·2
    #   = 7+9+5+20+2+9+24+27+7+18+30+5+4 = 167; 167 mod 11 = 2 → "10X98765432"[2] = "X".
    assert id_check_char("11010519491231002") == "X"
    validate_resident_id("11010519491231002X", date(1949, 12, 31))
    assert birth_date_of("11010519491231002X") == date(1949, 12, 31)


def test_corpus_id_card_specimen_number_is_flagged() -> None:
    # chineseocr/chineseocr test/idcard-demo.jpeg (MIT), a cartoon specimen: the printed number fails
    # the checksum (expected 9, printed 7) and its birth segment contradicts 出生 2013-05-06.
    labels = (CORPUS / "01_ocr_images" / "labels.jsonl").read_text(encoding="utf-8").splitlines()
    row = next(json.loads(x) for x in labels if "chineseocr_idcard" in x)
    number = row["fields"]["公民身份号码"]
    assert number == "430512198908131367"
    printed_birth = date(2013, 5, 6)
    # By hand: Σ = 4·7+3·9+0·10+5·5+1·8+2·4+1·2+9·1+8·6+9·3+0·7+8·9+1·10+3·5+1·8+3·4+6·2 = 311;
    # 311 mod 11 = 3 → "9".
    assert id_check_char(number[:17]) == "9"
    with pytest.raises(InvalidInput) as exc:
        validate_resident_id(number, printed_birth)
    assert _codes(exc) == {"resident_id_check_char", "resident_id_birth_date_mismatch"}
    assert not is_valid_resident_id(number)
    # Repaired check digit: only the date mismatch remains.
    fixed = number[:17] + "9"
    assert is_valid_resident_id(fixed)
    assert {r.code for r in resident_id_problems(fixed, printed_birth)} == {"resident_id_birth_date_mismatch"}


def test_resident_id_reasons() -> None:
    assert {r.code for r in resident_id_problems("11010519491231002")} == {"resident_id_length"}
    fifteen = resident_id_problems("110105491231002")
    assert "15" in fifteen[0].en
    assert {r.code for r in resident_id_problems("1101051949123100ZX")} == {"resident_id_alphabet"}
    assert {r.code for r in resident_id_problems("11010519491231002x")} == {"resident_id_alphabet"}
    bad_date = "110105" + "19490231" + "002"
    assert {r.code for r in resident_id_problems(bad_date + id_check_char(bad_date))} == {
        "resident_id_birth_date_invalid"
    }
    future = "110105" + "20300101" + "002"
    codes = {r.code for r in resident_id_problems(future + id_check_char(future), today=date(2025, 1, 1))}
    assert codes == {"resident_id_birth_date_future"}
    with pytest.raises(InvalidInput):
        birth_date_of(bad_date + "0")


def test_resident_id_every_single_substitution_is_detected() -> None:
    number = "11010519491231002X"
    for i in range(18):
        for c in "0123456789X":
            if c != number[i]:
                assert resident_id_problems(number[:i] + c + number[i + 1 :]), (i, c)


# Hand-worked GB 11643 examples: Σ digit × weight (7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2), zero terms left
# out; Σ mod 11 indexes "10X98765432". None of the expected characters comes from the code under test.
@pytest.mark.parametrize(
    ("first17", "check"),
    [
        # 4·7 + 4·9 + 3·5 + 5·4 + 1·2 + 9·1 + 9·6 + 1·9 + 1·5 + 1·2 = 180; 180 mod 11 = 4 → "8"
        ("44030519900101001", "8"),
        # 1·7 + 1·9 + 1·5 + 1·4 + 2·2 + 1·9 + 1·5 + 1·2 = 45; 45 mod 11 = 1 → "0"
        ("11010120000101001", "0"),
        # 4·7 + 4·9 + 3·5 + 5·4 + 2·2 + 1·9 + 1·5 + 2·2 = 121; 121 mod 11 = 0 → "1"
        ("44030520000101002", "1"),
        # 3·7 + 2·9 + 1·5 + 2·4 + 1·2 + 9·1 + 8·6 + 2·9 + 2·10 + 9·5 + 3·2 = 200; 200 mod 11 = 2 → "X"
        ("32010219800229003", "X"),
        # 4·7 + 4·9 + 3·5 + 5·4 + 2·2 + 2·6 + 4·3 + 2·9 + 2·10 + 9·5 + 9·8 + 9·4 + 9·2 = 336;
        # 336 mod 11 = 6 → "6"
        ("44030520240229999", "6"),
    ],
)
def test_resident_id_hand_worked_checks(first17: str, check: str) -> None:
    assert id_check_char(first17) == check
    number = first17 + check
    assert resident_id_problems(number, today=date(2025, 1, 1)) == []
    assert birth_date_of(number) == date(int(first17[6:10]), int(first17[10:12]), int(first17[12:14]))


def test_resident_id_earliest_birth_year_and_today_are_the_edges() -> None:
    # 1880-01-01 is the earliest accepted birth date: 1·7 + 1·9 + 1·5 + 5·4 + 1·2 + 8·1 + 8·6 + 1·9
    # + 1·5 = 113; 113 mod 11 = 3 → "9".
    assert resident_id_problems("110105188001010009") == []
    # 1879-12-31, one day earlier: 1·7 + 1·9 + 1·5 + 5·4 + 1·2 + 8·1 + 7·6 + 9·3 + 1·7 + 2·9 + 3·10
    # + 1·5 + 9·2 = 198; 198 mod 11 = 0 → "1". The check is right, the date is refused.
    assert {r.code for r in resident_id_problems("110105187912310091")} == {"resident_id_birth_date_invalid"}
    # Born today is fine; tomorrow is in the future (2000-01-01: check "1" above).
    born = "440305200001010021"
    assert resident_id_problems(born, today=date(2000, 1, 1)) == []
    assert {r.code for r in resident_id_problems(born, today=date(1999, 12, 31))} == {
        "resident_id_birth_date_future"
    }
    # validate_resident_id and is_valid_resident_id pass their arguments on.
    validate_resident_id(born, date(2000, 1, 1), today=date(2000, 1, 1))
    with pytest.raises(InvalidInput) as exc:
        validate_resident_id(born, today=date(1999, 12, 31))
    assert _codes(exc) == {"resident_id_birth_date_future"}
    assert exc.value.code == "invalid_resident_id"
    assert exc.value.zh == "公民身份号码无效。"
    assert exc.value.en == "Invalid citizen identity number."
    assert is_valid_resident_id(born, date(2000, 1, 1))
    assert not is_valid_resident_id(born, date(2000, 1, 2))


def test_resident_id_reasons_name_their_field_and_hint_at_15_digits() -> None:
    for bad in ("11010519491231002", "1101051949123100ZX", "11010519491231002Y", "110105194902310021"):
        reasons = resident_id_problems(bad)
        assert reasons, bad
        assert {r.field for r in reasons} == {"id_number"}, bad
    fifteen = resident_id_problems("110105491231002")[0]
    assert "first-generation" in fifteen.en
    assert "第一代" in fifteen.zh
    sixteen = resident_id_problems("1101054912310021")[0]
    assert sixteen.en == "A citizen identity number has 18 characters; this one has 16."
    assert sixteen.zh == "公民身份号码应为18位，当前为16位。"
    # The date reasons name the field too (2000-01-01: check "1", see above).
    for reasons in (
        resident_id_problems("440305200001010021", today=date(1999, 12, 31)),
        resident_id_problems("440305200001010021", date(2000, 1, 2), today=date(2000, 1, 2)),
    ):
        assert [r.field for r in reasons] == ["id_number"]
    # The birth date cannot be read from a number of the wrong length, even if digits 7-14 are a date.
    with pytest.raises(InvalidInput) as exc:
        birth_date_of("11010519491231002")
    assert exc.value.code == "invalid_resident_id"
    assert [(r.code, r.field) for r in exc.value.details] == [("resident_id_birth_date_invalid", "id_number")]


def test_the_default_today_is_the_date_in_shanghai(monkeypatch: pytest.MonkeyPatch) -> None:
    # Make the machine's zone disagree with Shanghai about today's date (one of the two always does:
    # UTC-12 is 20 hours behind, Kiritimati 6 hours ahead), then ask about someone born on the later
    # of the two dates: valid if that is Shanghai's today, in the future if it is the machine's.
    import time
    from datetime import datetime
    from zoneinfo import ZoneInfo

    shanghai = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    zone, local = next(
        (z, d)
        for z in ("Etc/GMT+12", "Pacific/Kiritimati")
        if (d := datetime.now(ZoneInfo(z)).date()) != shanghai
    )
    born = max(local, shanghai)
    first17 = f"110105{born:%Y%m%d}001"
    number = first17 + id_check_char(first17)
    monkeypatch.setenv("TZ", zone)
    time.tzset()
    try:
        assert is_valid_resident_id(number) == (born == shanghai)
    finally:
        monkeypatch.undo()
        time.tzset()


def test_id_check_char_needs_17_ascii_digits() -> None:
    with pytest.raises(ValueError, match=r"^need 17 ASCII digits$"):
        id_check_char("1101051949123100")
    # "١" (ARABIC-INDIC DIGIT ONE) is a digit to str.isdigit and to int(), but not an ASCII one.
    with pytest.raises(ValueError, match=r"^need 17 ASCII digits$"):
        id_check_char("\u0661" + "1010519491231002")


def test_normalise_resident_id() -> None:
    assert normalise_resident_id(" 110105 19491231 002x ") == "11010519491231002X"


@given(
    area=st.from_regex(r"[1-6][0-9]{5}", fullmatch=True),
    born=st.dates(min_value=date(1900, 1, 1), max_value=date(2020, 12, 31)),
    seq=st.from_regex(r"[0-9]{3}", fullmatch=True),
)
def test_generated_resident_ids_round_trip(area: str, born: date, seq: str) -> None:
    first17 = f"{area}{born:%Y%m%d}{seq}"
    number = first17 + id_check_char(first17)
    validate_resident_id(number, born)
    assert birth_date_of(number) == born


# ---------------------------------------------------------------- e-licence identifier

PUBLISHED = "1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.001.U"


def _reference_mod37_36(body: str) -> str:
    """An independent formulation (as in python-stdnum's iso7064.mod_37_36) to cross-check ours."""
    modulus = len(LID_ALPHABET)
    check = modulus // 2
    for ch in body:
        check = (((check or modulus) * 2) % (modulus + 1) + LID_ALPHABET.index(ch)) % modulus
    return LID_ALPHABET[(1 - ((check or modulus) * 2) % (modulus + 1)) % modulus]


def test_mod37_36_worked_example() -> None:
    # Body "A1", by hand: P = 36; "A" (10): S = (36 + 10) mod 36 = 10, P = 2·10 mod 37 = 20;
    # "1": S = (20 + 1) mod 36 = 21, P = 42 mod 37 = 5. Check = (37 − 5) mod 36 = 32 → "W".
    # Verify: (5 + 32) mod 36 = 1.
    assert mod37_36_check("A1") == "W"
    # A zero S is read as 36: body "0" → S = 36 mod 36 = 0 → 36, P = 72 mod 37 = 35, check = 2.
    assert mod37_36_check("0") == "2"


def test_mod37_36_published_and_hand_worked_examples() -> None:
    # ISO 7064 MOD 37,36 as documented by python-stdnum (stdnum.iso7064.mod_37_36): "A12425GABC1234002"
    # → "M". By hand, P starts at 36, S = (P + a) mod 36 (0 read as 36), P' = 2S mod 37:
    #   A(10) S=10 P=20; 1 S=21 P=5; 2 S=7 P=14; 4 S=18 P=36; 2 S=2 P=4; 5 S=9 P=18; G(16) S=34 P=31;
    #   A(10) S=5 P=10; B(11) S=21 P=5; C(12) S=17 P=34; 1 S=35 P=33; 2 S=35 P=33; 3 S=36 P=35;
    #   4 S=3 P=6; 0 S=6 P=12; 0 S=12 P=24; 2 S=26 P=15. Check = (37 − 15) mod 36 = 22 → "M".
    assert mod37_36_check("A12425GABC1234002") == "M"
    # "Z" (35): S = 35, P = 70 mod 37 = 33; check = 4 → "4". "ZZ": S = (33 + 35) mod 36 = 32,
    # P = 64 mod 37 = 27; check = 10 → "A". "9": S = 9, P = 18; check = 19 → "J".
    assert mod37_36_check("Z") == "4"
    assert mod37_36_check("ZZ") == "A"
    assert mod37_36_check("9") == "J"
    # "U1": U(30) S = 30, P = 60 mod 37 = 23; 1: S = 24, P = 48 mod 37 = 11; check = 26 → "Q".
    assert mod37_36_check("U1") == "Q"
    with pytest.raises(ValueError, match=r"^character '-' is not in 0-9A-Z$"):
        mod37_36_check("A-1")


def _step(p: int, a: int) -> int:
    """One step of the hybrid system, written from ISO 7064 (independent of the module)."""
    return (2 * ((p + a) % 36 or 36)) % 37


def _prefixes_for_every_state() -> dict[int, str]:
    """A shortest body that leaves the running state at each of its 36 values."""
    found: dict[int, str] = {36: ""}
    frontier = [""]
    while len(found) < 36:
        nxt = []
        for body in frontier:
            p = 36
            for ch in body:
                p = _step(p, LID_ALPHABET.index(ch))
            for ch in LID_ALPHABET:
                q = _step(p, LID_ALPHABET.index(ch))
                if q not in found:
                    found[q] = body + ch
                    nxt.append(body + ch)
        frontier = nxt
    return found


def test_mod37_36_catches_every_substitution_from_every_state() -> None:
    # Whatever came before (all 36 running states), changing the next character to any other changes
    # the check character, and so does changing it with more characters following.
    for prefix in _prefixes_for_every_state().values():
        for tail in ("", "7Q"):
            checks = {mod37_36_check(prefix + ch + tail) for ch in LID_ALPHABET}
            assert len(checks) == 36, (prefix, tail)


def test_mod37_36_catches_every_adjacent_transposition_but_the_documented_ones() -> None:
    # Swapping two different characters after any running state is caught, except when their values
    # are consecutive (or 0 and 35) and the state is the one that makes both orders meet: 36 cases.
    missed = []
    for p, prefix in _prefixes_for_every_state().items():
        for i, a in enumerate(LID_ALPHABET):
            for b in LID_ALPHABET[i + 1 :]:
                if mod37_36_check(prefix + a + b) == mod37_36_check(prefix + b + a):
                    missed.append((p, a, b))
    assert len(missed) == 36
    assert all((LID_ALPHABET.index(b) - LID_ALPHABET.index(a)) in (1, 35) for _, a, b in missed)


def test_published_example_checks_out() -> None:
    lid = parse_licence_id(PUBLISHED)
    assert lid == LicenceId("11100000000013338W011", "11430000006122244L", "20230000403", 1, "U")
    assert lid.value == PUBLISHED
    assert str(lid) == PUBLISHED
    assert make_licence_id("11100000000013338W011", "11430000006122244L", "20230000403") == PUBLISHED


@given(st.text(alphabet=LID_ALPHABET, min_size=1, max_size=80))
def test_mod37_36_matches_reference_formulation(body: str) -> None:
    assert mod37_36_check(body) == _reference_mod37_36(body)


def _check_holds(body_and_check: str) -> bool:
    return mod37_36_check(body_and_check[:-1]) == body_and_check[-1]


def test_every_single_substitution_is_detected() -> None:
    full = parse_licence_id(PUBLISHED).body + "U"
    for i in range(len(full)):
        for c in LID_ALPHABET:
            if c != full[i]:
                assert not _check_holds(full[:i] + c + full[i + 1 :]), (i, c)


def test_every_adjacent_transposition_is_detected() -> None:
    full = parse_licence_id(PUBLISHED).body + "U"
    swapped = 0
    for i in range(len(full) - 1):
        if full[i] != full[i + 1]:
            swapped += 1
            assert not _check_holds(full[:i] + full[i + 1] + full[i] + full[i + 2 :]), i
    assert swapped > 20


def test_transpositions_also_caught_through_parse() -> None:
    # Swap inside the serial of the printed form: parse must say check_failed, not accept it.
    bad = PUBLISHED.replace("20230000403", "20230004003")
    with pytest.raises(InvalidInput) as exc:
        parse_licence_id(bad)
    assert exc.value.code == "licence_id_check_failed"
    assert exc.value.zh
    assert exc.value.en


def test_hybrid_system_blind_spot_is_what_the_module_says() -> None:
    """Documented limit: 36 (running state, pair) combinations of consecutive values are missed."""

    def step(p: int, a: int) -> int:
        return (2 * ((p + a) % 36 or 36)) % 37

    missed = [
        (p, a, b)
        for p in range(1, 37)
        for a in range(36)
        for b in range(a + 1, 36)
        if step(step(p, a), b) == step(step(p, b), a)
    ]
    assert len(missed) == 36
    assert all((b - a) in (1, 35) for _, a, b in missed)


def test_parse_rejects_malformed() -> None:
    cases = {
        "2.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.001.U": "licence_id_root",
        "1.2.156.3005.2.11100000000013338W011.11430000006122244L.001.U": "licence_id_parts",
        "1.2.156.3005.2.11100000000013338W01.11430000006122244L.20230000403.001.U": (
            "licence_type_code_format"
        ),
        "1.2.156.3005.2.11100000000013338W011.1143000000612224.20230000403.001.U": "licence_issuer_format",
        "1.2.156.3005.2.11100000000013338W011.11430000006122244L..001.U": "licence_serial_format",
        "1.2.156.3005.2.11100000000013338W011.11430000006122244L.2023-0403.001.U": "licence_serial_format",
        "1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.1.U": "licence_version_format",
        "1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.001.UU": "licence_check_format",
    }
    for text, reason in cases.items():
        with pytest.raises(InvalidInput) as exc:
            parse_licence_id(text)
        assert exc.value.code == "licence_id_malformed", text
        assert reason in _codes(exc), text
        assert not is_valid_licence_id(text)


def test_parse_forgives_case_and_blanks() -> None:
    assert parse_licence_id("  " + PUBLISHED.lower() + "\n").value == PUBLISHED


def test_embedded_uscc_must_itself_be_valid() -> None:
    # A broken issuer USCC with a correct MOD 37,36 check is still refused.
    issuer = "11430000006122244K"
    body = "11100000000013338W011" + issuer + "20230000403" + "001"
    text = f"1.2.156.3005.2.11100000000013338W011.{issuer}.20230000403.001.{mod37_36_check(body)}"
    with pytest.raises(InvalidInput) as exc:
        parse_licence_id(text)
    assert exc.value.code == "licence_id_malformed"
    assert "uscc_check_char" in _codes(exc)
    with pytest.raises(InvalidInput):
        make_licence_id("11100000000013338W011", issuer, "1")


def test_make_rejects_bad_parts() -> None:
    for args in [
        ("11100000000013338W01", "11430000006122244L", "1", 1),
        ("11100000000013338W011", "11430000006122244L", "a", 1),
        ("11100000000013338W011", "11430000006122244L", "X" * 33, 1),
        ("11100000000013338W011", "11430000006122244L", "1", 0),
        ("11100000000013338W011", "11430000006122244L", "1", 1000),
    ]:
        with pytest.raises(InvalidInput) as exc:
            make_licence_id(*args)
        assert exc.value.code == "licence_id_malformed"


def test_licence_id_reasons_carry_code_field_and_expected_check() -> None:
    assert is_valid_licence_id(PUBLISHED)
    # A check character outside 0-9A-Z is malformed, not merely wrong.
    with pytest.raises(InvalidInput) as exc:
        parse_licence_id(PUBLISHED[:-1] + "*")
    assert exc.value.code == "licence_id_malformed"
    assert _codes(exc) == {"licence_check_format"}
    # Version 000 is not a version.
    with pytest.raises(InvalidInput) as exc:
        parse_licence_id(PUBLISHED.replace(".001.U", ".000.U"))
    assert _codes(exc) == {"licence_version_format"}
    # A wrong check character ("U" is the published one) is named.
    with pytest.raises(InvalidInput) as exc:
        parse_licence_id(PUBLISHED[:-1] + "V")
    assert exc.value.code == "licence_id_check_failed"
    assert [r.code for r in exc.value.details] == ["licence_check_char"]
    assert "V" in exc.value.details[0].en
    # Every reason of every refusal names the field.
    bad = [
        "2.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.001.U",
        "1.2.156.3005.2.11100000000013338W011.11430000006122244L.001.U",
        "1.2.156.3005.2.11100000000013338W01.1143000000612224..1.UU",
        PUBLISHED[:-1] + "V",
    ]
    for text in bad:
        with pytest.raises(InvalidInput) as exc:
            parse_licence_id(text)
        assert {r.field for r in exc.value.details} == {"licence_id"}, text


def test_make_licence_id_reasons() -> None:
    for version in (0, -1):
        with pytest.raises(InvalidInput) as exc:
            make_licence_id("11100000000013338W011", "11430000006122244L", "1", version)
        assert [(r.code, r.field) for r in exc.value.details] == [("licence_version_format", "licence_id")]
    assert make_licence_id("11100000000013338W011", "11430000006122244L", "1", 999).split(".")[-2] == "999"
    # A bad embedded USCC is named as such, with where it is.
    with pytest.raises(InvalidInput) as exc:
        make_licence_id("11100000000013338W011", "11430000006122244K", "1")
    assert [(r.code, r.field) for r in exc.value.details] == [("uscc_check_char", "licence_id")]
    assert exc.value.details[0].zh.startswith("颁发机构代码：")
    assert exc.value.details[0].en.startswith("In the issuing authority code: ")
    with pytest.raises(InvalidInput) as exc:
        make_licence_id("11100000000013338X011", "11430000006122244L", "1")
    assert [r.code for r in exc.value.details] == ["uscc_check_char"]
    assert exc.value.details[0].zh.startswith("证照类型代码中的定义机构代码：")
    assert exc.value.details[0].en.startswith("In the defining body code inside the type code: ")


@given(
    defining=st.tuples(uscc_body, org_body),
    seq=st.from_regex(r"[0-9]{3}", fullmatch=True),
    issuer=st.tuples(uscc_body, org_body),
    serial=st.text(alphabet=LID_ALPHABET, min_size=1, max_size=32),
    version=st.integers(min_value=1, max_value=999),
)
def test_make_then_parse_round_trips(
    defining: tuple[str, str], seq: str, issuer: tuple[str, str], serial: str, version: int
) -> None:
    type_code = compose_uscc(*defining) + seq
    issuer_uscc = compose_uscc(*issuer)
    text = make_licence_id(type_code, issuer_uscc, serial, version)
    lid = parse_licence_id(text)
    assert (lid.type_code, lid.issuer_uscc, lid.serial, lid.version) == (
        type_code,
        issuer_uscc,
        serial,
        version,
    )
    assert lid.value == text
    assert text.startswith("1.2.156.3005.2.")
    assert text.split(".")[-2] == f"{version:03d}"


@given(
    serial=st.text(alphabet=LID_ALPHABET, min_size=1, max_size=32),
    pos=st.integers(min_value=0, max_value=1000),
    replacement=st.sampled_from(LID_ALPHABET),
)
def test_any_single_change_in_serial_fails(serial: str, pos: int, replacement: str) -> None:
    text = make_licence_id("11100000000013338W011", "11430000006122244L", serial)
    i = pos % len(serial)
    if serial[i] == replacement:
        return
    parts = text.split(".")
    parts[-3] = serial[:i] + replacement + serial[i + 1 :]
    tampered = ".".join(parts)
    assert not is_valid_licence_id(tampered)
