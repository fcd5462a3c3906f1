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


uscc_body = st.text(alphabet=USCC_ALPHABET, min_size=8, max_size=8)
org_body = st.text(alphabet="0123456789ABCDEFGHJKLMNPQRTUWXY", min_size=8, max_size=8)


@given(prefix=uscc_body, body=org_body)
def test_compose_uscc_is_always_valid(prefix: str, body: str) -> None:
    code = compose_uscc(prefix, body)
    assert len(code) == 18
    validate_uscc(code)


@given(first17=st.text(alphabet=USCC_ALPHABET, min_size=17, max_size=17))
def test_make_uscc_passes_its_own_check(first17: str) -> None:
    assert is_valid_uscc(make_uscc(first17), check_org_code=False)


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
