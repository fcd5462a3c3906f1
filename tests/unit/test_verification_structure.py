"""The verifier's raw-byte checks at their boundaries: every reject branch of the byte-range check
reached by a handcrafted file, every cap at exactly `max` (accepted) and `max + 1` (refused), and the
end-of-file rule (end-of-line bytes only)."""

from __future__ import annotations

import pytest
from onestop.verification import Check, Verdict, verify_pdf
from onestop.verification.structure import (
    StructureLimits,
    byte_range_problem,
    cap_problem,
    content_end,
    contents_problem,
    der_length,
    trailing_problem,
)

from tests.unit import test_verification_support as S

pytestmark = pytest.mark.timeout(300)

# A handcrafted "file" around a signature gap: 10 bytes, the hex string, 6 bytes.
SIG = bytes.fromhex("3003020101")  # a DER SEQUENCE of 5 bytes (an INTEGER 1 inside)
HEX = b"<" + SIG.hex().encode() + b">"
DATA = b"0123456789" + HEX + b"abcdef"
A, B = 10, 10 + len(HEX)
GOOD = [0, A, B, 6]


def test_the_handcrafted_range_is_accepted() -> None:
    assert byte_range_problem(DATA, GOOD, SIG) is None


@pytest.mark.parametrize(
    ("name", "byte_range", "contents", "error"),
    [
        ("three numbers", [0, A, B], SIG, "not four integers"),
        ("five numbers", [0, A, B, 6, 0], SIG, "not four integers"),
        ("a string among them", [0, A, "12", 6], SIG, "not four integers"),
        ("a boolean among them", [0, A, B, True], SIG, "not four integers"),
        ("not a list", None, SIG, "not four integers"),
        ("start at 1", [1, A - 1, B, 6], SIG, "does not start at the beginning"),
        ("empty first part", [0, 0, B, 6], SIG, "[0 a b c] with a < b"),
        ("second part before the first ends", [0, A, A, 6], SIG, "[0 a b c] with a < b"),
        ("negative length", [0, A, B, -1], SIG, "[0 a b c] with a < b"),
        ("one byte past the end", [0, A, B, 7], SIG, "beyond the end of the file"),
        ("gap one byte short at the start", [0, A + 1, B, 6], SIG, "not exactly one hex string"),
        ("gap one byte short at the end", [0, A, B - 1, 7], SIG, "not exactly one hex string"),
        ("gap of one byte", [0, A, A + 1, len(DATA) - A - 1], SIG, "not exactly one hex string"),
    ],
)
def test_every_byte_range_reject_branch(name: str, byte_range: object, contents: bytes, error: str) -> None:
    found = byte_range_problem(DATA, byte_range, contents)
    assert found is not None
    assert error in found, (name, found)


def test_gap_with_a_non_hex_character() -> None:
    data = b"0123456789" + b"<30zz>" + b"abcdef"
    assert "not hex digits" in (byte_range_problem(data, [0, 10, 16, 6], b"0") or "")


def test_gap_with_an_odd_number_of_hex_digits() -> None:
    data = b"0123456789" + b"<303>" + b"abcdef"
    assert "odd number" in (byte_range_problem(data, [0, 10, 15, 6], b"0") or "")


def test_gap_that_is_another_hex_string_than_contents() -> None:
    other = bytes.fromhex("3003020102")
    assert "not the signature's /Contents" in (byte_range_problem(DATA, GOOD, other) or "")


def test_range_ending_exactly_at_the_end_is_inside() -> None:
    assert byte_range_problem(DATA, [0, A, B, len(DATA) - B], SIG) is None


@pytest.mark.parametrize(
    ("data", "byte_range", "contents"),
    [
        (b"0<3003020101>abc", [0, 1, 13, 3], SIG),  # a first part of one byte
        (b"0123<3003020101>", [0, 4, 16, 0], SIG),  # an empty second part: the gap ends the file
        (b"0123<>abc", [0, 4, 6, 3], b""),  # an empty hex string is exactly one hex string
    ],
)
def test_smallest_ranges_and_gaps_are_accepted(data: bytes, byte_range: list[int], contents: bytes) -> None:
    assert byte_range_problem(data, byte_range, contents) is None


# ----------------------------------------------------------------------------- /Contents


def test_der_length() -> None:
    assert der_length(bytes.fromhex("3003020101")) == 5
    assert der_length(bytes.fromhex("3081ff")) == 3 + 255
    assert der_length(bytes.fromhex("308201f4")) == 4 + 500
    assert der_length(b"\x31\x03") is None  # not a SEQUENCE
    assert der_length(b"\x30") is None
    assert der_length(bytes.fromhex("3080")) is None  # indefinite length: not DER
    assert der_length(bytes.fromhex("3085")) is None  # five length bytes: over any sane size
    assert der_length(bytes.fromhex("3085") + bytes(5)) is None  # ... even when they are all there
    assert der_length(bytes.fromhex("308400000100")) == 6 + 256  # four length bytes are the most
    assert der_length(bytes.fromhex("308201")) is None  # a length cut short
    assert der_length(bytes.fromhex("3000")) == 2  # an empty SEQUENCE: two bytes are enough


@pytest.mark.parametrize(
    ("padding", "code"), [(b"", None), (b"\x00" * 100, None), (b"\x00" * 99 + b"\x01", "contents_padding")]
)
def test_padding_after_the_der_must_be_zeros(padding: bytes, code: str | None) -> None:
    found = contents_problem(SIG + padding, StructureLimits())
    assert (found.code if found else None) == code


def test_padding_problem_details() -> None:
    found = contents_problem(SIG + b"\x00\x00XX", StructureLimits())  # "X" is not zero either
    assert found is not None
    assert (found.check, found.verdict, found.code) == (Check.INTEGRITY, Verdict.FAIL, "contents_padding")
    assert found.details == {"padding_bytes": 4}
    assert found.reason_en.startswith("The padding after the signature")
    assert found.reason_zh.startswith("签名值（/Contents）中签名数据之后的填充区")


@pytest.mark.parametrize("contents", [b"not DER", bytes.fromhex("3080"), bytes.fromhex("300a0201")])
def test_contents_that_are_not_der_are_left_to_the_cms_parser(contents: bytes) -> None:
    """No DER length (or one past the end): not a padding problem; the CMS parser says what it is."""
    assert contents_problem(contents, StructureLimits()) is None


def test_contents_cap_at_max_and_max_plus_one() -> None:
    limits = StructureLimits(max_contents_bytes=64)
    at_max = SIG + b"\x00" * (64 - len(SIG))
    assert contents_problem(at_max, limits) is None
    over = contents_problem(at_max + b"\x00", limits)
    assert over is not None
    assert over.code == "contents_too_large"


def test_long_hex_string_is_refused_before_parsing_at_the_cap() -> None:
    limits = StructureLimits(max_contents_bytes=64)
    at_max = b"%PDF-1.7\n<" + b"0" * (2 * 64 + 1) + b">\n%%EOF\n"
    assert cap_problem(at_max, limits) is None
    over = cap_problem(b"%PDF-1.7\n<" + b"0" * (2 * 64 + 2) + b">\n%%EOF\n", limits)
    assert over is not None
    assert over.code == "contents_too_large"


# ----------------------------------------------------------------------------- caps


def _with(token: bytes, count: int) -> bytes:
    return b"%PDF-1.7\n" + (token + b"\n") * count + b"%%EOF\n"


@pytest.mark.parametrize(
    ("token", "cap", "code"),
    [
        (b"startxref", "max_revisions", "too_many_revisions"),
        (b"/DocTimeStamp", "max_timestamps", "too_many_timestamps"),
        (b"/ByteRange", "max_signature_fields", "too_many_signature_fields"),
    ],
)
def test_caps_at_max_and_max_plus_one(token: bytes, cap: str, code: str) -> None:
    limits = StructureLimits()
    at = getattr(limits, cap)
    assert cap_problem(_with(token, at), limits) is None
    over = cap_problem(_with(token, at + 1), limits)
    assert over is not None
    assert over.code == code


@pytest.mark.parametrize(("depth", "refused"), [(127, False), (128, True)])
def test_nesting_cap(depth: int, refused: bool) -> None:
    data = b"%PDF-1.7\n" + b"[" * depth + b"]" * depth + b"\n%%EOF\n"
    found = cap_problem(data, StructureLimits())
    assert (found.code if found else None) == ("nesting_too_deep" if refused else None)


# ----------------------------------------------------------------------------- end of file


@pytest.mark.parametrize("tail", [b"", b"\n", b"\r\n", b"\r", b"\r\n\r\n\n"])
def test_end_of_line_after_eof_is_tolerated(tail: bytes) -> None:
    assert trailing_problem(b"%PDF-1.7\n%%EOF" + tail) is None


@pytest.mark.parametrize("tail", [b" ", b"\x00", b"\t", b"\n\x0c", b"\nx", b"\n%comment\n"])
def test_any_other_byte_after_eof_is_data_after_eof(tail: bytes) -> None:
    found = trailing_problem(b"%PDF-1.7\n%%EOF" + tail)
    assert found is not None
    assert found.code == "data_after_eof"


def test_a_partial_update_after_eof_is_a_damaged_file() -> None:
    found = trailing_problem(b"%PDF-1.7\n%%EOF\n12 0 obj\n<< >>\nendobj\nxref\n")
    assert found is not None
    assert found.code == "pdf_damaged"


def test_no_eof_at_all_is_a_damaged_file() -> None:
    found = trailing_problem(b"%PDF-1.7\n1 0 obj\n")
    assert found is not None
    assert found.code == "pdf_damaged"
    assert (found.check, found.verdict, dict(found.details)) == (Check.INTEGRITY, Verdict.FAIL, {})
    assert found.reason_en.startswith("The PDF has no end-of-file marker")
    assert found.reason_zh.startswith("PDF文件没有文件结束标记")


def test_content_end() -> None:
    assert content_end(b"%%EOF") == 5  # a marker at the very start
    assert content_end(b"%PDF-1.7\n%%EOF\n%%EOF\r\n") == 20  # the last marker
    assert content_end(b"%PDF-1.7\n%%EO") is None


# ----------------------------------------------------------------------------- through verify_pdf


@pytest.fixture(scope="module")
def licence() -> S.Licence:
    return S.make_licence(S.make_pki())


def test_file_size_at_max_is_analysed_and_max_plus_one_is_refused(licence: S.Licence) -> None:
    from onestop.verification import VerifyLimits

    size = len(licence.sealed)
    at_max = verify_pdf(
        licence.sealed, trust=licence.anchors, registry_lookup=None, limits=VerifyLimits(max_bytes=size)
    )
    assert at_max.result(Check.INTEGRITY).passed
    over = verify_pdf(
        licence.sealed, trust=licence.anchors, registry_lookup=None, limits=VerifyLimits(max_bytes=size - 1)
    )
    assert over.result(Check.INTEGRITY).code == "file_too_large"
    assert over.result(Check.ISSUER).verdict is Verdict.UNKNOWN


def test_genuine_seal_is_within_every_cap(licence: S.Licence) -> None:
    """The caps leave room: our own seal (~3 KB of DER) is far under the /Contents cap."""
    assert cap_problem(licence.sealed, StructureLimits()) is None
