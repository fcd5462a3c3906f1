"""Small rules of the verifier pinned exactly (what mutation testing showed loose): masking, the public
registry entry, report shapes, the details of structural refusals, seal certificate rules, names."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from onestop.licences.models import LicenceStatus
from onestop.licences.pki import to_asn1
from onestop.verification import Check, RegistryEntry, StatusReport, TrustAnchors
from onestop.verification.names import confusable_with, skeleton, strip_invisible, visual
from onestop.verification.report import CheckResult, VerificationReport, failed, passed, summary, unknown
from onestop.verification.seal_rules import (
    bureau_seal,
    extended_key_usage,
    key_usage,
    known_names,
    name_of,
    organisation,
    publication_problem,
    usage_problem,
)
from onestop.verification.status import (
    _face_mismatch,
    _mask_code,
    _mask_name,
    _mask_organisation,
    holder_check,
    masked_face,
    registry_unavailable,
)
from onestop.verification.structure import (
    StructureLimits,
    cap_problem,
    contents_too_large,
    too_many_fields,
    too_many_timestamps,
    trailing_problem,
)

from tests.unit import test_verification_support as S

# ----------------------------------------------------------------------------- masking


@pytest.mark.parametrize(
    ("name", "masked"),
    [("", "*"), ("张", "*"), ("张三", "张*"), ("张三丰", "张*丰"), ("欧阳娜娜", "欧**娜"), (" 李四 ", "李*")],
)
def test_mask_name(name: str, masked: str) -> None:
    assert _mask_name(name) == masked


@pytest.mark.parametrize(
    ("code", "masked"),
    [
        ("", ""),
        ("1234", "****"),
        ("12345678", "********"),  # 8 or fewer: all hidden
        ("123456789", "1234*6789"),
        ("11010519491231002X", "1101**********002X"),
    ],
)
def test_mask_code(code: str, masked: str) -> None:
    assert _mask_code(code) == masked


def test_masked_face_hides_every_holder() -> None:
    person = {"holder_kind": "person", "holder_name": "张三丰", "holder_code": "11010519491231002X"}
    assert masked_face(person) == {
        "holder_kind": "person",
        "holder_name": "张*丰",
        "holder_code": "1101**********002X",
        "masked": True,
    }
    firm = {
        "holder_kind": "enterprise",
        "holder_name": "深圳市前海能源有限公司",
        "holder_code": "91440300MA5F12342Q",
    }
    assert masked_face(firm) == {
        "holder_kind": "enterprise",
        "holder_name": "深圳*****有限公司",
        "holder_code": "9144**********342Q",
        "masked": True,
    }
    # Short organisation names fall back to the person rule; empty values stay empty.
    assert masked_face({"holder_kind": "enterprise", "holder_name": "某某公司"})["holder_name"] == "某**司"
    assert masked_face({"holder_kind": "enterprise", "holder_name": ""})["holder_name"] == ""


@pytest.mark.parametrize(
    ("name", "masked"),
    [
        ("某某有限公司", "某****司"),  # six characters: the person rule
        ("某某某有限公司", "某某*有限公司"),  # seven and more: first two and last four
        ("某市某某有限公司", "某市**有限公司"),
        ("深圳市前海能源有限公司", "深圳*****有限公司"),
        ("  前海能源有限公司  ", "前海**有限公司"),
    ],
)
def test_mask_organisation(name: str, masked: str) -> None:
    assert _mask_organisation(name) == masked


FIRM = {
    "holder_kind": "enterprise",
    "holder_name": "深圳市前海能源有限公司",
    "holder_code": "91440300MA5F12342Q",
}


@pytest.mark.parametrize(
    "claimed",
    [
        "深圳市前海能源有限公司",
        " 深圳市 前海能源有限公司 ",
        "91440300MA5F12342Q",
        "91440300ma5f12342q",
        "９１４４０３００ＭＡ５Ｆ１２３４２Ｑ",  # full-width, as a phone keyboard may type it
    ],
)
def test_holder_check_passes_for_the_name_or_code_as_printed(claimed: str) -> None:
    result = holder_check(FIRM, claimed)
    assert (result.check, result.verdict.value, result.code) == (Check.HOLDER, "pass", "holder_matches")
    assert result.reason_zh == "所填持证主体与登记一致。"
    assert result.reason_en == "The holder given is the registered holder of this licence."


@pytest.mark.parametrize(
    ("face", "claimed"),
    [
        (FIRM, "深圳市前海能源"),  # a part is not the holder
        (FIRM, "91440300MA5F12342"),
        (FIRM, ""),
        (FIRM, "   "),
        (None, "深圳市前海能源有限公司"),  # no registered face
        ({"holder_kind": "enterprise", "holder_name": "", "holder_code": ""}, ""),
        ({"holder_kind": "enterprise"}, "None"),
        ({"holder_kind": "enterprise", "holder_name": "", "holder_code": ""}, "XXXX"),
    ],
)
def test_holder_check_fails_for_anything_else(face: dict[str, str] | None, claimed: str) -> None:
    result = holder_check(face, claimed)
    assert (result.check, result.verdict.value, result.code) == (Check.HOLDER, "fail", "holder_mismatch")
    assert result.reason_zh.startswith("所填持证主体（名称或代码）与该证照的登记不一致")
    assert result.reason_en.startswith(
        "The holder given (name or code) is not this licence's registered holder."
    )


def test_a_long_personal_name_is_masked_as_a_persons() -> None:
    """Only the first and last character of a person's name, however long (not an organisation's
    first two and last four)."""
    person = {"holder_kind": "person", "holder_name": "阿卜杜热合曼买买提"}
    assert masked_face(person)["holder_name"] == "阿*******提"
    firm = {"holder_kind": "enterprise", "holder_name": "阿卜杜热合曼买买提"}
    assert masked_face(firm)["holder_name"] == "阿卜***曼买买提"
    assert masked_face({"holder_name": "阿卜杜热合曼买买提"})["holder_name"] == "阿卜***曼买买提"


def test_face_compared_with_a_masked_registry_face_in_masked_form() -> None:
    registered = masked_face({**FIRM, "licence_id": "L"})
    assert _face_mismatch({**FIRM, "licence_id": "L"}, registered) == []
    other = {**FIRM, "licence_id": "L", "holder_code": "91440300MA5F99342Q"}
    assert _face_mismatch(other, registered) == []  # the masked code hides the middle: the hash decides
    renamed = {**FIRM, "licence_id": "L", "holder_code": "81440300MA5F12342Q"}
    assert _face_mismatch(renamed, registered) == ["holder_code"]
    person = {"holder_kind": "person", "holder_name": "张三丰", "holder_code": "11010519491231002X"}
    assert _face_mismatch(person, masked_face(person)) == []
    # a holder's code is masked alike whatever its kind (the name is not compared)
    assert _face_mismatch({**person, "holder_kind": "enterprise"}, masked_face(person)) == []
    assert _face_mismatch(FIRM, dict(FIRM)) == []
    assert _face_mismatch({**FIRM, "holder_name": "别的公司"}, dict(FIRM)) == []  # the name is not compared
    assert _face_mismatch({**FIRM, "holder_code": "x"}, dict(FIRM)) == ["holder_code"]


# ----------------------------------------------------------------------------- registry entry


def entry(**changes: object) -> RegistryEntry:
    values: dict[str, object] = {
        "licence_id": "L",
        "status": LicenceStatus.SUPERSEDED,
        "status_since": datetime(2025, 6, 1, 3, 0, tzinfo=UTC),
        "pdf_sha256": "ab" * 32,
        "superseded_by": "L2",
        "face": {"holder_kind": "person", "holder_name": "张三丰"},
    }
    values.update(changes)
    return RegistryEntry(**values)  # type: ignore[arg-type]


def test_public_entry_exactly() -> None:
    assert entry().public(masked=True) == {
        "licence_id": "L",
        "status": LicenceStatus.SUPERSEDED.value,
        "status_zh": LicenceStatus.SUPERSEDED.zh,
        "status_en": LicenceStatus.SUPERSEDED.en,
        "status_since": "2025-06-01T03:00:00+00:00",
        "pdf_sha256": "ab" * 32,
        "superseded_by": "L2",
        "licence": {"holder_kind": "person", "holder_name": "张*丰", "masked": True},
    }
    assert entry().public(masked=False)["licence"] == {"holder_kind": "person", "holder_name": "张三丰"}
    assert entry(status_since=None).public(masked=True)["status_since"] is None


def test_public_entry_round_trips() -> None:
    original = entry()
    public = original.public(masked=False)
    again = RegistryEntry.from_public({**public, "licence": public["licence"]})
    assert again == original
    bare = RegistryEntry.from_public({"licence_id": "L", "status": LicenceStatus.VALID.value})
    assert (bare.status_since, bare.superseded_by, bare.pdf_sha256, dict(bare.face)) == (None, None, None, {})


def test_registry_unavailable_keeps_300_characters_of_the_error() -> None:
    result = registry_unavailable("x" * 301)
    assert result.details == {"error": "x" * 300}
    assert result.code == "registry_unavailable"


# ----------------------------------------------------------------------------- reports


def test_status_report_as_dict_exactly() -> None:
    at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    checks = (passed(Check.IDENTIFIER, "identifier_ok", "z", "e"), failed(Check.STATUS, "s", "z", "e"))
    report = StatusReport("L", checks, {"a": 1}, {"b": 2}, at)
    assert report.as_dict() == {
        "licence_id": "L",
        "valid": False,
        "summary": summary(report.checks),
        "checks": [c.as_dict() for c in report.checks],
        "licence": {"a": 1},
        "registry": {"b": 2},
        "checked_at": "2026-01-02T03:04:05+00:00",
    }
    naive = StatusReport("L", checks, None, None, datetime(2026, 1, 2))
    assert naive.as_dict()["checked_at"] == "2026-01-02T00:00:00+00:00"
    assert naive.as_dict()["licence"] is None
    assert naive.as_dict()["registry"] is None


def test_verification_report_from_dict_defaults() -> None:
    d: dict[str, Any] = {
        "checks": [unknown(Check.STATUS, "c", "z", "e").as_dict()],
        "checked_at": "2026-01-02T00:00:00+00:00",
    }
    report = VerificationReport.from_dict(d)
    assert (report.size, report.sha256, dict(report.licence)) == (0, None, {})
    assert CheckResult.from_dict({**d["checks"][0], "details": None}).details == {}


def test_summary_names_every_failing_check_in_order() -> None:
    checks = [failed(Check.STATUS, "s", "", ""), failed(Check.INTEGRITY, "i", "", "")]
    ordered = VerificationReport(tuple(checks), {}, None, 0, datetime(2026, 1, 1, tzinfo=UTC)).checks
    assert summary(ordered)["en"] == "Not verified: the document integrity and licence status checks failed."
    assert summary([unknown(Check.ISSUER, "x", "", "")])["en"] == (
        "Not fully verified: the issuer check could not be made."
    )


# ----------------------------------------------------------------------------- structural details


def test_refusal_details_carry_the_counts() -> None:
    limits = StructureLimits()
    assert too_many_timestamps(7, limits).details == {"timestamps": 7}
    assert too_many_fields(9, limits).details == {"signature_fields": 9}
    assert contents_too_large(40_000, limits).details == {"contents_bytes": 40_000}
    revisions = cap_problem(b"%PDF-1.7\n" + b"startxref\n" * 9 + b"%%EOF", limits)
    assert revisions is not None
    assert revisions.details == {"revisions": 9}
    stamps = cap_problem(b"%PDF-1.7\n" + b"/DocTimeStamp\n" * 6 + b"%%EOF", limits)
    assert stamps is not None
    assert stamps.details == {"timestamps": 6}
    fields = cap_problem(b"%PDF-1.7\n" + b"/ByteRange\n" * 10 + b"%%EOF", limits)
    assert fields is not None
    assert fields.details == {"signature_fields": 10}


@pytest.mark.parametrize(
    ("hex_string", "tail", "size"),
    [
        (b"0" * 130, b">", 65),  # (130 digits + "<") // 2, measured to the closing ">"
        (b"AB" * 65, b"> % later > >", 65),  # upper-case hex; the first ">" after the string counts
        (b"0" * 131, b"", None),  # unterminated: measured to the end of the file
    ],
)
def test_long_hex_string_size(hex_string: bytes, tail: bytes, size: int | None) -> None:
    data = b"%PDF-1.7\n<< /A 1 >>\n<" + hex_string + tail  # a ">" before the string is not its end
    found = cap_problem(data, StructureLimits(max_contents_bytes=64))
    assert found is not None
    assert found.code == "contents_too_large"
    expected = size if size is not None else (len(data) - data.rindex(b"<")) // 2
    assert found.details == {"contents_bytes": expected}


@pytest.mark.parametrize("token", [b" obj", b"xref", b"trailer", b"endstream"])
def test_each_token_of_a_partial_update_is_a_damaged_file(token: bytes) -> None:
    tail = b"\n1 0" + token + b"\n"
    found = trailing_problem(b"%PDF-1.7\n%%EOF" + tail)
    assert found is not None
    assert (found.code, found.details) == ("pdf_damaged", {"trailing_bytes": len(tail)})


def test_appended_bytes_are_counted() -> None:
    found = trailing_problem(b"%PDF-1.7\n%%EOF\nhello")
    assert found is not None
    assert (found.code, found.details) == ("data_after_eof", {"trailing_bytes": 6})


# ----------------------------------------------------------------------------- seal rules


def _cert(
    subject: x509.Name,
    usage: x509.KeyUsage | None,
    eku: list[x509.ObjectIdentifier] | None = None,
) -> x509.Certificate:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
    )
    if usage is not None:
        builder = builder.add_extension(usage, critical=True)
    if eku is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage(eku), critical=False)
    return builder.sign(key, hashes.SHA256())


def _usage(**on: bool) -> x509.KeyUsage:
    flags = dict.fromkeys(
        (
            "digital_signature",
            "content_commitment",
            "key_encipherment",
            "data_encipherment",
            "key_agreement",
            "key_cert_sign",
            "crl_sign",
            "encipher_only",
            "decipher_only",
        ),
        False,
    )
    flags.update(on)
    return x509.KeyUsage(**flags)


SEAL_USAGE = {"digital_signature": True, "content_commitment": True}
ORG_CN = x509.Name(
    [x509.NameAttribute(NameOID.ORGANIZATION_NAME, "机构"), x509.NameAttribute(NameOID.COMMON_NAME, "通用名")]
)
CN_ONLY = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "通用名")])
COUNTRY_ONLY = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "CN")])


def test_names_of_a_certificate() -> None:
    assert organisation(to_asn1(_cert(ORG_CN, None))) == "机构"
    assert organisation(to_asn1(_cert(CN_ONLY, None))) == "通用名"
    assert organisation(to_asn1(_cert(COUNTRY_ONLY, None))) == name_of(to_asn1(_cert(COUNTRY_ONLY, None)))
    assert name_of(to_asn1(_cert(ORG_CN, None))) == "Common Name: 通用名, Organization: 机构"
    assert name_of(object()) == "?"


def test_usage_rules() -> None:
    seal = to_asn1(_cert(ORG_CN, _usage(**SEAL_USAGE)))
    assert key_usage(seal) == {"digital_signature", "non_repudiation"}
    assert extended_key_usage(seal) is None
    assert usage_problem(seal, {}) is None
    missing = usage_problem(to_asn1(_cert(ORG_CN, _usage(digital_signature=True))), {"x": 1})
    assert missing is not None
    assert (missing.code, missing.details) == ("key_usage", {"key_usage": ["digital_signature"], "x": 1})
    none = usage_problem(to_asn1(_cert(ORG_CN, None)), {})
    assert none is not None
    assert none.details == {"key_usage": []}
    tsa = to_asn1(_cert(ORG_CN, _usage(**SEAL_USAGE), [ExtendedKeyUsageOID.TIME_STAMPING]))
    assert extended_key_usage(tsa) == {"1.3.6.1.5.5.7.3.8"}  # id-kp-timeStamping
    wrong = usage_problem(tsa, {})
    assert wrong is not None
    assert (wrong.code, wrong.details) == (
        "extended_key_usage",
        {"extended_key_usage": ["1.3.6.1.5.5.7.3.8"]},
    )
    tls = usage_problem(to_asn1(_cert(ORG_CN, _usage(**SEAL_USAGE), [ExtendedKeyUsageOID.SERVER_AUTH])), {})
    assert tls is not None
    assert tls.code == "extended_key_usage"
    for oid in ("1.3.6.1.5.5.7.3.36", "1.2.840.113583.1.1.5", "1.3.6.1.4.1.311.10.3.12"):
        signing = to_asn1(_cert(ORG_CN, _usage(**SEAL_USAGE), [x509.ObjectIdentifier(oid)]))
        assert usage_problem(signing, {}) is None, oid
    for purpose in (ExtendedKeyUsageOID.EMAIL_PROTECTION, ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE):
        assert usage_problem(to_asn1(_cert(ORG_CN, _usage(**SEAL_USAGE), [purpose])), {}) is None


def test_publication_rules() -> None:
    pki = S.make_pki()
    seal, root = to_asn1(pki.seal_cert), to_asn1(pki.root_cert)
    assert publication_problem(seal, TrustAnchors(roots=(root,), seals=(seal,)), {}) is None
    roots_only = publication_problem(seal, TrustAnchors(roots=(root,)), {"a": 1})
    assert roots_only is not None
    assert (roots_only.verdict.value, roots_only.code, roots_only.details) == (
        "unknown",
        "seal_publication_not_checked",
        {"a": 1},
    )
    other = publication_problem(seal, TrustAnchors(roots=(root,), seals=(root,)), {})
    assert other is not None
    assert (other.verdict.value, other.code) == ("fail", "unpublished_seal")
    assert known_names(TrustAnchors(roots=(root,), seals=(seal,))) == {
        "深圳市商务局",
        "深圳市商务局电子证照根证书",
    }


# ----------------------------------------------------------------------------- names


def test_names() -> None:
    assert strip_invisible("深\u200b圳\u202e市\ufeff\u3164") == "深圳市"
    assert visual("\u202e局务商\u202c市圳深") == "商务局市圳深"
    assert visual("\u202e局务商") == "商务局"
    assert skeleton(" 深圳市商務局 ") == skeleton("深圳市商务局")
    assert skeleton("ＳＨＥＮＺＨＥＮ") == skeleton("shenzhen")
    assert confusable_with("", ["深圳市商务局"]) is None
    assert confusable_with("深圳市商务局", ["深圳市商务局"]) is None  # the name itself is not an imitation
    assert confusable_with("深圳市商務局", ["", "广州市商务局", "深圳市商务局"]) == "深圳市商务局"


def test_skeletons_exactly(monkeypatch: pytest.MonkeyPatch) -> None:
    assert skeleton(" Ａｂ\u200b ") == "ab"  # NFKC, zero-width space gone, trimmed, case folded
    assert skeleton("深圳市商務局") == "深圳市商务局"  # traditional to simplified
    import onestop.verification.names as names

    def missing_data() -> object:
        raise RuntimeError("OpenCC data missing")

    monkeypatch.setattr(names, "_t2s", missing_data)
    assert skeleton("深圳市商務局") == "深圳市商務局"  # compared without the mapping, not an error


# ----------------------------------------------------------------------------- result shapes


def test_check_result_as_dict_exactly() -> None:
    result = unknown(Check.ISSUER, "c", "原因", "reason", k=1)
    assert (result.verdict.value, result.reason_zh, result.reason_en) == ("unknown", "原因", "reason")
    assert result.as_dict() == {
        "check": "issuer",
        "name": {"zh": "签发机关", "en": "Issuer"},
        "verdict": "unknown",
        "code": "c",
        "reason_zh": "原因",
        "reason_en": "reason",
        "details": {"k": 1},
    }


def test_verification_report_as_dict_exactly() -> None:
    checks = (passed(Check.INTEGRITY, "i", "z", "e"), passed(Check.STATUS, "s", "z", "e"))
    report = VerificationReport(checks, {"a": 1}, "ab" * 32, 42, datetime(2026, 1, 2, tzinfo=UTC))
    assert report.as_dict() == {
        "valid": True,
        "summary": {"zh": "核验通过：各项检查均通过。", "en": "Verified: every check passed."},
        "checks": [c.as_dict() for c in report.checks],
        "licence": {"a": 1},
        "file": {"sha256": "ab" * 32, "size": 42},
        "checked_at": "2026-01-02T00:00:00+00:00",
    }


@pytest.fixture
def beijing_machine(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The machine's own time zone is UTC+8 for the test."""
    import time

    monkeypatch.setenv("TZ", "Asia/Shanghai")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.usefixtures("beijing_machine")
def test_checked_at_is_utc_whatever_the_machines_zone() -> None:
    checks = (passed(Check.STATUS, "s", "z", "e"),)
    aware = datetime(2026, 1, 2, 8, 0, tzinfo=timezone(timedelta(hours=8)))
    naive = datetime(2026, 1, 2, 8, 0)  # taken as UTC
    for at, expected in ((aware, "2026-01-02T00:00:00+00:00"), (naive, "2026-01-02T08:00:00+00:00")):
        assert VerificationReport(checks, {}, None, 0, at).as_dict()["checked_at"] == expected
        assert StatusReport("L", checks, None, None, at).as_dict()["checked_at"] == expected


def test_summaries_exactly() -> None:
    three = [
        failed(Check.INTEGRITY, "i", "", ""),
        failed(Check.ISSUER, "s", "", ""),
        failed(Check.STATUS, "t", "", ""),
    ]
    assert summary(three) == {
        "zh": "核验未通过：文件完整性、签发机关、证照状态检查未通过。",
        "en": "Not verified: the document integrity, issuer and licence status checks failed.",
    }
    assert summary([unknown(Check.ISSUER, "x", "", ""), unknown(Check.STATUS, "y", "", "")]) == {
        "zh": "无法完成核验：签发机关、证照状态暂时无法确认。",
        "en": "Not fully verified: the issuer and licence status checks could not be made.",
    }


# ----------------------------------------------------------------------------- seal rules, exactly


def test_seal_rule_outcomes_are_issuer_checks_with_their_details() -> None:
    details = {"signer": "S"}
    missing = usage_problem(to_asn1(_cert(ORG_CN, _usage(digital_signature=True))), details)
    tsa = usage_problem(
        to_asn1(_cert(ORG_CN, _usage(**SEAL_USAGE), [ExtendedKeyUsageOID.TIME_STAMPING])), details
    )
    pki = S.make_pki()
    seal, root = to_asn1(pki.seal_cert), to_asn1(pki.root_cert)
    roots_only = publication_problem(seal, TrustAnchors(roots=(root,)), details)
    unpublished = publication_problem(seal, TrustAnchors(roots=(root,), seals=(root,)), details)
    for result in (missing, tsa, roots_only, unpublished):
        assert result is not None
        assert result.check is Check.ISSUER
        assert result.details["signer"] == "S"
    assert tsa is not None
    assert tsa.details == {"extended_key_usage": ["1.3.6.1.5.5.7.3.8"], "signer": "S"}
    assert unpublished is not None
    assert unpublished.details == {"signer": "S"}
    sealed_by = bureau_seal(seal, details)
    assert (sealed_by.check, sealed_by.verdict.value, sealed_by.code) == (Check.ISSUER, "pass", "bureau_seal")
    assert sealed_by.details == details
    assert sealed_by.reason_en.startswith("Sealed by 深圳市商务局: ")
    assert sealed_by.reason_zh.startswith("由深圳市商务局的电子印章签发")


def test_known_names_are_organisations_and_common_names() -> None:
    root = to_asn1(_cert(ORG_CN, None))
    other = to_asn1(
        _cert(x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "另一机构")]), _usage(**SEAL_USAGE))
    )
    assert known_names(TrustAnchors(roots=(root,), seals=(other,))) == {"机构", "通用名", "另一机构"}
