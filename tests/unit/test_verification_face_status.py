"""Face data read from a licence and the status verdict, pinned value by value: what the file says
(from hand-written /Info dictionaries and from a genuine licence whose metadata the test chose), and
every outcome of `status_check` with its details."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from onestop.errors import InvalidInput
from onestop.identifiers.licence_id import parse_licence_id
from onestop.licences.models import CHINA_TZ, Action, AuditEntry, LicenceStatus
from onestop.verification import Check, RegistryEntry
from onestop.verification.face import face_from_info, read_face, read_face_authenticated
from onestop.verification.status import (
    face_of,
    identifier_check,
    identifier_unreadable,
    status_check,
    status_offline,
    status_unreadable,
)
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.reader import PdfFileReader

from tests.unit import test_verification_support as S

ID = "1.2.156.3005.2.B"


@pytest.fixture(scope="module")
def licence() -> S.Licence:
    return S.make_licence(S.make_pki())


def expected_face(lic: S.Licence) -> dict[str, object]:
    m = lic.meta
    return {
        "source": "pdf",
        "licence_id": m.licence_id,
        "number": m.number,
        "holder_code": m.holder_code,
        "name_zh": m.name_zh,
        "issuer_name": m.issuer_name,
    }


def test_face_of_a_genuine_licence(licence: S.Licence) -> None:
    reader = PdfFileReader(io.BytesIO(licence.sealed), strict=True)
    assert read_face(reader, reader.xrefs.total_revisions - 1) == expected_face(licence)
    assert read_face_authenticated(licence.sealed) == expected_face(licence)


def _info(**entries: str) -> generic.DictionaryObject:
    return generic.DictionaryObject(
        {generic.NameObject(f"/{k}"): generic.TextStringObject(v) for k, v in entries.items()}
    )


def test_face_from_info_rules() -> None:
    assert face_from_info(
        _info(Subject=ID, Keywords=f"{ID}, 440300-1, 91X", Title="证书 440300-1", Author="局")
    ) == {
        "source": "pdf",
        "licence_id": ID,
        "number": "440300-1",
        "holder_code": "91X",
        "name_zh": "证书",
        "issuer_name": "局",
    }
    # No subject: the identifier is the first keyword.
    assert face_from_info(_info(Keywords=f"{ID}, 440300-1, 91X"))["licence_id"] == ID
    # A subject that is not an identifier does not count.
    assert face_from_info(_info(Subject="hello"))["licence_id"] is None
    # Empty keyword slots are None; a title not ending with the number is kept whole.
    assert face_from_info(_info(Subject=ID, Keywords=f"{ID}, , ", Title="证书 9")) == {
        "source": "pdf",
        "licence_id": ID,
        "number": None,
        "holder_code": None,
        "name_zh": "证书 9",
    }
    # Without an identifier the keywords are not read as number and holder.
    assert face_from_info(_info(Keywords="a, b, c")) == {"source": "pdf", "licence_id": None}
    assert face_from_info(generic.ArrayObject()) == {}
    assert face_from_info(_info(Subject="  " + ID + "  "))["licence_id"] == ID
    assert face_from_info(_info(Title="x" * 600))["name_zh"] == "x" * 500


def _file(*revisions: bytes) -> bytes:
    return b"%PDF-1.7\n" + b"".join(revisions)


FIRST = (
    b"1 0 obj\n<< /Subject (1.2.156.3005.2.A) >>\nendobj\n"
    b"2 0 obj\n<< /Subject (1.2.156.3005.2.A) >>\nendobj\n"
    b"trailer\n<< /Info 1 0 R >>\n%%EOF\n"
)
SECOND = (
    b"2 0 obj\n<< /Subject (1.2.156.3005.2.B) /Keywords (1.2.156.3005.2.B, N1, H1) /Title (Name N1) "
    b"/Author (Bureau) >>\nendobj\ntrailer\n<< /Info 2 0 R /Prev 9 >>\n%%EOF\n"
)


def test_authenticated_face_reads_the_last_trailer_and_the_last_definition() -> None:
    assert read_face_authenticated(_file(FIRST, SECOND)) == {
        "source": "pdf",
        "licence_id": ID,
        "number": "N1",
        "holder_code": "H1",
        "name_zh": "Name",
        "issuer_name": "Bureau",
    }


def test_authenticated_face_follows_object_number_and_generation() -> None:
    data = _file(
        b"12 0 obj\n<< /Subject (1.2.156.3005.2.A) >>\nendobj\n",
        b"3 12 obj\n<< /Subject (1.2.156.3005.2.C) >>\nendobj\n",
        b"12 3 obj\n<< /Subject (1.2.156.3005.2.B) >>\nendobj\ntrailer\n<< /Info 12 3 R >>\n%%EOF\n",
    )
    face = read_face_authenticated(data)
    assert face is not None
    assert face["licence_id"] == ID


@pytest.mark.parametrize(
    "data",
    [
        _file(b"1 0 obj\n<< >>\nendobj\n%%EOF\n"),  # no trailer
        _file(b"trailer\n<< /Root 1 0 R >>\n%%EOF\n"),  # no /Info
        _file(b"trailer\n<< /Info 1 0 R >>\n%%EOF\n"),  # /Info not defined
        _file(b"1 0 obj\n[ 1 2 ]\nendobj\ntrailer\n<< /Info 1 0 R >>\n%%EOF\n"),  # not a dictionary
    ],
)
def test_authenticated_face_gives_up_on_other_shapes(data: bytes) -> None:
    assert read_face_authenticated(data) is None


def test_info_at_the_very_start_is_found() -> None:
    data = b"\n1 0 obj\n<< /Subject (1.2.156.3005.2.B) >>\nendobj\ntrailer\n<< /Info 1 0 R >>\n%%EOF\n"
    face = read_face_authenticated(data)
    assert face is not None
    assert face["licence_id"] == ID


def _long_info(size: int) -> bytes:
    """A file whose /Info takes exactly `size` bytes after its `1 0 obj` header."""
    head, tail = b"\n<< /Subject (1.2.156.3005.2.B) /Producer (", b") >>"
    body = head + b"x" * (size - len(head) - len(tail)) + tail
    assert len(body) == size
    return b"%PDF-1.7\n1 0 obj" + body + b"\nendobj\ntrailer\n<< /Info 1 0 R >>\n%%EOF\n"


def test_info_is_read_directly_within_16_kib() -> None:
    """16 KiB after its header are read; a longer /Info is left to pyHanko's reader (None). (Cut one byte
    short, the dictionary still reads: pyHanko's object reader does not insist on the second ">".)"""
    face = read_face_authenticated(_long_info(16384))
    assert face is not None
    assert face["licence_id"] == ID
    assert read_face_authenticated(_long_info(16386)) is None


def test_info_values_in_other_objects_are_left_to_the_full_reader() -> None:
    data = _file(
        b"4 0 obj\n(Real title)\nendobj\n",
        b"3 0 obj\n<< /Title 4 0 R /Subject (1.2.156.3005.2.B) >>\nendobj\n",
        b"trailer\n<< /Info 3 0 R >>\n%%EOF\n",
    )
    assert read_face_authenticated(data) is None


def test_read_face_reads_the_revision_asked_for() -> None:
    """Revision 0 of a sealed licence whose sealing revision rewrote /Author (and /Title, as an object of
    its own: resolved, not printed as a reference)."""
    from tests.unit import verification_seals as V

    lic = S.make_licence(S.make_pki())
    title = f"新名称 {lic.meta.number}"
    data = V.pyhanko_seal(
        lic, V.make_pki(), info={"Author": "盖章时", "Title": title}, indirect_info=True, reserve=None
    )
    reader = PdfFileReader(io.BytesIO(data), strict=True)
    assert reader.xrefs.total_revisions == 2
    assert read_face(reader, 0) == expected_face(lic)
    assert read_face(reader, -1) == expected_face(lic)  # before the first: the first
    assert read_face(reader, 1) == {**expected_face(lic), "name_zh": "新名称", "issuer_name": "盖章时"}


def test_trailer_first_in_the_file_is_found() -> None:
    data = b"trailer\n<< /Info 1 0 R >>\n1 0 obj\n<< /Subject (1.2.156.3005.2.B) >>\nendobj\n"
    face = read_face_authenticated(data)
    assert face is not None
    assert face["licence_id"] == ID


# ----------------------------------------------------------------------------- registry face and status


def test_face_of_a_registry_record(licence: S.Licence) -> None:
    m = licence.meta
    assert face_of(S.record_for(licence)) == {
        "source": "registry",
        "licence_id": m.licence_id,
        "number": m.number,
        "name_zh": m.name_zh,
        "name_en": m.name_en,
        "holder_name": m.holder_name,
        "holder_code": m.holder_code,
        "holder_kind": m.holder_kind.value,
        "issuer_name": m.issuer_name,
        "issuer_name_en": m.issuer_name_en,
        "issuer_code": m.issuer_code,
        "item_name": m.item_name,
        "issue_date": m.issue_date.isoformat(),
        "valid_from": m.valid_from.isoformat(),
        "valid_until": m.valid_until.isoformat() if m.valid_until else None,
        "version": m.version,
    }


SINCE = datetime(2025, 3, 3, 2, 0, tzinfo=UTC)
SHA = "ab" * 32


def entry(status: LicenceStatus = LicenceStatus.VALID, **changes: object) -> RegistryEntry:
    values: dict[str, object] = {
        "licence_id": "L",
        "status": status,
        "status_since": SINCE,
        "pdf_sha256": SHA,
        "superseded_by": None,
        "face": {"licence_id": "L", "number": "N", "holder_code": "H", "name_zh": "名", "issuer_name": "局"},
    }
    values.update(changes)
    return RegistryEntry(**values)  # type: ignore[arg-type]


BASE = {
    "licence_id": "L",
    "status": LicenceStatus.VALID.value,
    "status_zh": LicenceStatus.VALID.zh,
    "status_en": LicenceStatus.VALID.en,
    "status_since": "2025-03-03T02:00:00+00:00",
}


def test_the_exact_issued_file() -> None:
    result = status_check("L", entry(), SHA.upper())
    assert (result.verdict.value, result.code) == ("pass", "valid")
    assert result.details == {**BASE, "registered_sha256": SHA, "file_sha256": SHA.upper()}
    assert "issued original" in result.reason_en


def test_the_sealed_revision_followed_by_validation_updates() -> None:
    result = status_check("L", entry(), "cd" * 32, SHA, None, 2)
    assert (result.check, result.verdict.value, result.code) == (
        Check.STATUS,
        "pass",
        "valid_with_validation_updates",
    )
    assert result.details == {
        **BASE,
        "registered_sha256": SHA,
        "file_sha256": "cd" * 32,
        "sealed_sha256": SHA,
        "validation_updates": 2,
    }
    assert "followed by 2 validation update(s)" in result.reason_en
    eol = status_check("L", entry(), "cd" * 32, SHA)
    assert eol.details["validation_updates"] == 0
    assert "end-of-line" in eol.reason_en


def test_sealed_fingerprint_equal_to_the_file_is_not_repeated() -> None:
    result = status_check("L", entry(), SHA, SHA)
    assert "sealed_sha256" not in result.details
    assert result.code == "valid"


@pytest.mark.parametrize(
    ("registered", "file", "sealed"),
    [(SHA, "cd" * 32, None), (SHA, "cd" * 32, "ef" * 32), (None, SHA, SHA), ("", SHA, None)],
)
def test_not_the_issued_file(registered: str | None, file: str, sealed: str | None) -> None:
    result = status_check("L", entry(pdf_sha256=registered), file, sealed)
    assert (result.verdict.value, result.code) == ("fail", "not_issued_file")
    assert result.details["registered_sha256"] == registered


def test_without_a_file_no_fingerprint_is_compared() -> None:
    result = status_check("L", entry(), None)
    assert (result.code, result.details) == ("valid", BASE)
    assert result.reason_en == "The licence is registered and valid."


def test_face_data_must_agree_with_the_registry() -> None:
    face = {"licence_id": "L", "number": "N", "holder_code": "OTHER", "name_zh": None, "issuer_name": "局"}
    result = status_check("L", entry(), SHA, None, face)
    assert (result.verdict.value, result.code) == ("fail", "face_mismatch")
    assert result.details["mismatched"] == ["holder_code"]
    agreeing = {"licence_id": "L", "number": "N", "holder_code": "H", "name_zh": "名", "issuer_name": "局"}
    assert status_check("L", entry(), SHA, None, agreeing).code == "valid"


def test_no_identifier_and_unknown_identifier() -> None:
    none = status_check(None, entry(), SHA)
    assert (none.check, none.verdict.value, none.code, dict(none.details)) == (
        Check.STATUS,
        "fail",
        "no_identifier",
        {},
    )
    missing = status_check("L", None, SHA)
    assert (missing.verdict.value, missing.code, dict(missing.details)) == (
        "fail",
        "licence_not_found",
        {"licence_id": "L"},
    )


def test_a_status_without_a_date() -> None:
    result = status_check("L", entry(LicenceStatus.REVOKED, status_since=None), None)
    assert result.details["status_since"] is None
    assert result.code == "status_revoked"


def test_offline_status() -> None:
    result = status_offline()
    assert (result.verdict.value, result.code, dict(result.details)) == ("unknown", "status_not_checked", {})


def test_identifier_check_details(licence: S.Licence) -> None:
    m = licence.meta
    result = identifier_check(m.licence_id)
    assert (result.verdict.value, result.code) == ("pass", "identifier_ok")
    assert result.details == {
        "licence_id": m.licence_id,
        "issuer_code": S.BUREAU_USCC,
        "type_code": S.TYPE_CODE,
        "serial": "20250000001",
        "version": 1,
    }
    wrong = m.licence_id[:-1] + ("A" if m.licence_id[-1] != "A" else "B")
    bad = identifier_check(wrong)
    assert (bad.verdict.value, bad.code) == ("fail", "licence_id_check_failed")
    assert bad.details["licence_id"] == wrong
    assert [p["code"] for p in bad.details["problems"]] == ["licence_check_char"]
    assert identifier_check("").code == "no_identifier"
    assert identifier_check(None).code == "no_identifier"


# ----------------------------------------------------------------------------- registry entries


NOW = datetime(2026, 1, 1, tzinfo=UTC)


def test_a_record_without_its_pdf_has_no_registered_fingerprint(licence: S.Licence) -> None:
    record = replace(S.record_for(licence), pdf=None)
    assert RegistryEntry.from_record(record, NOW).pdf_sha256 is None
    assert RegistryEntry.from_record(S.record_for(licence), NOW).pdf_sha256 == licence.sha256


def test_a_licence_without_an_end_date(licence: S.Licence) -> None:
    record = S.record_for(licence)
    open_ended = replace(record, metadata=replace(record.metadata, valid_until=None))
    assert face_of(open_ended)["valid_until"] is None


@pytest.mark.parametrize(
    ("at", "since"),
    [
        (datetime(2025, 3, 3, 2, 0), datetime(2025, 3, 3, 2, 0, tzinfo=UTC)),  # naive: UTC
        (datetime(2025, 3, 3, 10, 0, tzinfo=CHINA_TZ), datetime(2025, 3, 3, 10, 0, tzinfo=CHINA_TZ)),
    ],
)
def test_status_since_is_the_history_entrys_moment(licence: S.Licence, at: datetime, since: datetime) -> None:
    record = S.record_for(licence)
    entry = AuditEntry(
        at, "onestop:issue", Action.ISSUE, LicenceStatus.ISSUING, LicenceStatus.VALID, "issued"
    )
    status_since = RegistryEntry.from_record(replace(record, history=(entry,)), NOW).status_since
    assert status_since == since
    assert status_since is not None
    assert status_since.utcoffset() == since.utcoffset()


# ----------------------------------------------------------------------------- every outcome, exactly


def test_an_identifier_with_two_problems_names_both() -> None:
    malformed = "1.2.156.3005.2.11440300MB2D03151D00.11440300MB2D03151E.20250000001.01.N"
    result = identifier_check(malformed)
    with pytest.raises(InvalidInput) as raised:
        parse_licence_id(malformed)
    exc = raised.value
    assert len(exc.details) == 2
    assert result.reason_zh == exc.zh + exc.details[0].zh + exc.details[1].zh
    assert result.reason_en == f"{exc.en} {exc.details[0].en} {exc.details[1].en}"
    assert (result.check, result.verdict.value, result.code) == (
        Check.IDENTIFIER,
        "fail",
        "licence_id_malformed",
    )


def test_unreadable_file_outcomes() -> None:
    identifier, status = identifier_unreadable(), status_unreadable()
    assert (identifier.check, identifier.verdict.value, identifier.code) == (
        Check.IDENTIFIER,
        "unknown",
        "identifier_unreadable",
    )
    assert (status.check, status.verdict.value, status.code) == (
        Check.STATUS,
        "unknown",
        "status_not_checked",
    )
    assert dict(identifier.details) == dict(status.details) == {}
    assert (
        identifier.reason_en
        == "The file could not be analysed, so its e-licence identifier could not be read."
    )
    assert status.reason_en.startswith("The file could not be analysed")


def test_not_the_issued_file_exactly() -> None:
    result = status_check("L", entry(), "cd" * 32, "ef" * 32)
    assert (result.check, result.verdict.value, result.code) == (Check.STATUS, "fail", "not_issued_file")
    assert result.details == {
        **BASE,
        "registered_sha256": SHA,
        "file_sha256": "cd" * 32,
        "sealed_sha256": "ef" * 32,
    }
    mismatch = status_check("L", entry(), SHA, None, {"holder_code": "OTHER"})
    assert (mismatch.check, mismatch.verdict.value, mismatch.code) == (Check.STATUS, "fail", "face_mismatch")
    assert mismatch.details == {
        **BASE,
        "registered_sha256": SHA,
        "file_sha256": SHA,
        "mismatched": ["holder_code"],
    }


def test_valid_reasons_with_and_without_a_file() -> None:
    with_file = status_check("L", entry(), SHA)
    assert with_file.reason_zh == "证照已登记，状态有效，且此文件即为签发原件。"
    without = status_check("L", entry(), None)
    assert without.reason_zh == "证照已登记，状态有效。"


def test_superseded_with_and_without_a_successor() -> None:
    since = "（自2025年3月3日起）"
    alone = status_check("L", entry(LicenceStatus.SUPERSEDED), None)
    assert alone.reason_zh == f"此版本已被新版本替代{since}，请向持证人索取新版证照。"
    assert alone.reason_en == (
        "This version was superseded by a newer one on 2025-03-03; ask the holder for the new version."
    )
    named = status_check("L", entry(LicenceStatus.SUPERSEDED, superseded_by="L2"), None)
    assert named.reason_zh == f"此版本已被新版本替代{since}，新版本标识为 L2，请向持证人索取新版证照。"
    assert named.reason_en == (
        "This version was superseded by a newer one on 2025-03-03; the new version is L2; "
        "ask the holder for the new version."
    )
    assert named.details["superseded_by"] == "L2"


def test_a_status_without_a_date_says_no_date() -> None:
    result = status_check("L", entry(LicenceStatus.REVOKED, status_since=None), None)
    assert result.reason_zh == f"证照状态为“{LicenceStatus.REVOKED.zh}”，目前不是有效证照。"
    assert result.reason_en == f"The licence is {LicenceStatus.REVOKED.en}; it is not currently valid."
