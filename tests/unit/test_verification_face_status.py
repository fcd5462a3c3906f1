"""Face data read from a licence and the status verdict, pinned value by value: what the file says
(from hand-written /Info dictionaries and from a genuine licence whose metadata the test chose), and
every outcome of `status_check` with its details."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
from onestop.licences.models import LicenceStatus
from onestop.verification import Check, RegistryEntry
from onestop.verification.face import face_from_info, read_face, read_face_authenticated
from onestop.verification.status import face_of, identifier_check, status_check, status_offline
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


FIRST = b"1 0 obj\n<< /Subject (1.2.156.3005.2.A) >>\nendobj\ntrailer\n<< /Info 1 0 R >>\n%%EOF\n"
SECOND = (
    b"1 0 obj\n<< /Subject (1.2.156.3005.2.B) /Keywords (1.2.156.3005.2.B, N1, H1) /Title (Name N1) "
    b"/Author (Bureau) >>\nendobj\ntrailer\n<< /Info 1 0 R /Prev 9 >>\n%%EOF\n"
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
    assert (result.verdict.value, result.code) == ("pass", "valid_with_validation_updates")
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
