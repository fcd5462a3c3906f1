"""Status and identifier checks: registry states, dates, fingerprints, masking, look-up by number."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest
from onestop.errors import InvalidInput
from onestop.licences.models import LicenceStatus
from onestop.verification import Check, RegistryEntry, StatusReport, Verdict, verify_licence_id, verify_pdf
from onestop.verification.report import VerificationReport, summary
from onestop.verification.status import identifier_check, masked_face, status_check

from tests.unit import test_verification_support as S

NOW = datetime(2026, 1, 10, 8, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def licence() -> S.Licence:
    return S.make_licence(S.make_pki())


def status_of(licence: S.Licence, *records: S.LicenceRecord, data: bytes | None = None) -> VerificationReport:
    return verify_pdf(
        data if data is not None else licence.sealed,
        trust=licence.anchors,
        registry_lookup=S.registry(*records),
        now=max(NOW, datetime.now(UTC)),
    )


def test_revoked_licence_is_intact_but_revoked_with_the_date(licence: S.Licence) -> None:
    revoked = S.record_for(licence, LicenceStatus.REVOKED, changed_at=datetime(2025, 6, 1, 3, 0, tzinfo=UTC))
    report = status_of(licence, revoked)
    assert report.result(Check.INTEGRITY).passed
    assert report.result(Check.ISSUER).passed
    status = report.result(Check.STATUS)
    assert (status.verdict, status.code) == (Verdict.FAIL, "status_revoked")
    assert "撤销" in status.reason_zh
    assert "2025年6月1日" in status.reason_zh
    assert "revoked on 2025-06-01" in status.reason_en
    assert status.details["status"] == "03"
    assert status.details["status_since"].startswith("2025-06-01T03:00")
    assert not report.valid


def test_superseded_licence_names_its_successor(licence: S.Licence) -> None:
    newer = S.metadata(version=2).licence_id
    record = S.record_for(licence, LicenceStatus.SUPERSEDED, superseded_by=newer)
    status = status_of(licence, record).result(Check.STATUS)
    assert (status.verdict, status.code) == (Verdict.FAIL, "superseded")
    assert newer in status.reason_zh
    assert newer in status.reason_en
    assert "superseded" in status.reason_en
    assert status.details["superseded_by"] == newer


@pytest.mark.parametrize(
    ("status", "code", "zh"),
    [
        (LicenceStatus.SUSPENDED, "status_suspended", "暂扣"),
        (LicenceStatus.CANCELLED, "status_cancelled", "注销"),
        (LicenceStatus.WITHDRAWN, "status_withdrawn", "吊销"),
    ],
)
def test_other_statuses_fail_with_their_name(
    licence: S.Licence, status: LicenceStatus, code: str, zh: str
) -> None:
    result = status_of(licence, S.record_for(licence, status)).result(Check.STATUS)
    assert (result.verdict, result.code) == (Verdict.FAIL, code)
    assert zh in result.reason_zh


def test_expired_is_derived_from_the_validity(licence: S.Licence) -> None:
    record = S.record_for(licence)
    expired = replace(record, metadata=replace(record.metadata, valid_until=date(2025, 12, 31)))
    result = status_of(licence, expired).result(Check.STATUS)
    assert (result.verdict, result.code) == (Verdict.FAIL, "status_expired")
    assert result.details["status"] == "05"
    assert result.details["status_since"].startswith("2026-01-01T00:00:00+08:00")
    assert "2026年1月1日" in result.reason_zh


def test_unregistered_licence_fails_status(licence: S.Licence) -> None:
    result = status_of(licence).result(Check.STATUS)
    assert (result.verdict, result.code) == (Verdict.FAIL, "licence_not_found")


def test_record_still_being_issued_counts_as_absent(licence: S.Licence) -> None:
    issuing = replace(S.record_for(licence), status=LicenceStatus.ISSUING)
    assert status_of(licence, issuing).result(Check.STATUS).code == "licence_not_found"


def test_a_copy_with_another_fingerprint_is_not_the_issued_file(licence: S.Licence) -> None:
    other = S.record_for(licence, sha256="0" * 64)
    result = status_of(licence, other).result(Check.STATUS)
    assert (result.verdict, result.code) == (Verdict.FAIL, "not_issued_file")
    assert result.details["file_sha256"] == licence.sha256


def test_registry_outage_makes_status_unknown_not_failed(licence: S.Licence) -> None:
    def broken(_: str) -> None:
        raise ConnectionError("dynamodb down")

    report = verify_pdf(licence.sealed, trust=licence.anchors, registry_lookup=broken)
    status = report.result(Check.STATUS)
    assert (status.verdict, status.code) == (Verdict.UNKNOWN, "registry_unavailable")
    assert not report.valid
    assert report.as_dict()["summary"]["en"].startswith("Not fully verified")


def test_identifier_with_a_wrong_check_character_fails() -> None:
    good = S.metadata().licence_id
    bad = good[:-1] + ("A" if good[-1] != "A" else "B")
    assert identifier_check(good).passed
    result = identifier_check(bad)
    assert (result.verdict, result.code) == (Verdict.FAIL, "licence_id_check_failed")
    assert "校验位" in result.reason_zh
    assert identifier_check(None).code == "no_identifier"
    assert identifier_check("1.2.156.3005.2.X").code == "licence_id_malformed"


def test_status_check_without_a_file_compares_no_fingerprint(licence: S.Licence) -> None:
    entry = RegistryEntry.from_record(S.record_for(licence), NOW)
    result = status_check(licence.meta.licence_id, entry, None)
    assert result.passed
    assert "file_sha256" not in result.details


# ----------------------------------------------------------------------------- look-up by number


def test_lookup_by_number_reports_status_and_face(licence: S.Licence) -> None:
    revoked = S.record_for(licence, LicenceStatus.REVOKED)
    report = verify_licence_id(licence.meta.licence_id.lower(), registry_lookup=S.registry(revoked), now=NOW)
    assert isinstance(report, StatusReport)
    assert report.licence_id == licence.meta.licence_id
    assert [c.check for c in report.checks] == [Check.STATUS, Check.IDENTIFIER]
    assert report.result(Check.IDENTIFIER).passed
    assert report.result(Check.STATUS).code == "status_revoked"
    body = report.as_dict()
    assert body["registry"]["status"] == "03"
    assert body["registry"]["status_zh"] == "撤销"
    assert body["registry"]["pdf_sha256"] == licence.sha256
    assert body["licence"]["masked"] is True  # anyone may look a number up: the holder is masked
    assert body["licence"]["holder_name"][:2] == licence.meta.holder_name[:2]
    assert body["licence"]["valid_until"] == "2030-03-02"


def test_lookup_masks_a_natural_persons_name_and_id() -> None:
    person = S.make_licence(S.make_pki(), S.metadata("20250000077", person=True))
    report = verify_licence_id(
        person.meta.licence_id, registry_lookup=S.registry(S.record_for(person)), now=NOW
    )
    face = report.as_dict()["licence"]
    assert face["holder_name"] == "张*丰"
    assert face["holder_code"] == "1101**********002X"
    assert face["masked"] is True
    # The holder of the PDF sees the face as printed: verifying the file itself is not masked.
    full = verify_pdf(person.sealed, trust=person.anchors, registry_lookup=S.registry(S.record_for(person)))
    assert full.licence["holder_name"] == "张三丰"


def test_lookup_of_an_unknown_number_is_a_failed_status(licence: S.Licence) -> None:
    report = verify_licence_id(licence.meta.licence_id, registry_lookup=S.registry(), now=NOW)
    assert report.result(Check.STATUS).code == "licence_not_found"
    assert report.licence is None
    assert report.registry is None
    assert not report.valid


@pytest.mark.parametrize("text", ["", "hello", "1.2.156.3005.2.1.2.3.4.5", "x" * 500])
def test_lookup_of_a_malformed_number_raises_invalid_input(text: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        verify_licence_id(text, registry_lookup=S.registry(), now=NOW)
    assert caught.value.http_status == 422
    assert caught.value.zh
    assert caught.value.en


def test_lookup_with_a_wrong_check_character_raises_invalid_input() -> None:
    good = S.metadata().licence_id
    with pytest.raises(InvalidInput) as caught:
        verify_licence_id(
            good[:-1] + ("A" if good[-1] != "A" else "B"), registry_lookup=S.registry(), now=NOW
        )
    assert caught.value.code == "licence_id_check_failed"


def test_registry_entry_round_trips_through_its_public_form(licence: S.Licence) -> None:
    entry = RegistryEntry.from_record(S.record_for(licence, LicenceStatus.SUSPENDED), NOW)
    again = RegistryEntry.from_public(entry.public(masked=False))
    assert again == entry
    assert masked_face({"holder_kind": "enterprise", "holder_name": "某公司"})["holder_name"] == "某*司"


def test_lookup_masks_an_enterprise_holder_unless_the_asker_names_it(licence: S.Licence) -> None:
    """Issue 13: sequential numbers made the public look-up a directory of enterprise holders."""
    lookup = S.registry(S.record_for(licence))
    anonymous = verify_licence_id(licence.meta.licence_id, registry_lookup=lookup, now=NOW)
    assert anonymous.licence is not None
    assert anonymous.licence["masked"] is True
    assert anonymous.licence["holder_name"] != licence.meta.holder_name
    assert anonymous.licence["holder_code"] != licence.meta.holder_code
    assert [c.check for c in anonymous.checks] == [Check.STATUS, Check.IDENTIFIER]
    for named in (licence.meta.holder_name, f"  {licence.meta.holder_code.lower()} "):
        report = verify_licence_id(licence.meta.licence_id, registry_lookup=lookup, now=NOW, holder=named)
        assert report.valid
        assert report.result(Check.HOLDER).code == "holder_matches"
        assert report.licence is not None
        assert report.licence["holder_name"] == licence.meta.holder_name
        assert "masked" not in report.licence
    wrong = verify_licence_id(licence.meta.licence_id, registry_lookup=lookup, now=NOW, holder="别的公司")
    assert not wrong.valid
    assert wrong.result(Check.HOLDER).code == "holder_mismatch"
    assert wrong.licence is not None
    assert wrong.licence["masked"] is True
    empty = verify_licence_id(licence.meta.licence_id, registry_lookup=lookup, now=NOW, holder="")
    assert empty.result(Check.HOLDER).code == "holder_mismatch"
    unknown = verify_licence_id(licence.meta.licence_id, registry_lookup=S.registry(), now=NOW, holder="x")
    assert unknown.result(Check.HOLDER).code == "holder_mismatch"
    assert unknown.licence is None


def test_report_round_trips_and_summarises(licence: S.Licence) -> None:
    report = status_of(licence, S.record_for(licence))
    again = VerificationReport.from_dict(report.as_dict())
    assert again.as_dict() == report.as_dict()
    assert summary(report.checks)["zh"].startswith("核验通过")
    failed = status_of(licence, S.record_for(licence, LicenceStatus.REVOKED))
    assert "证照状态" in failed.as_dict()["summary"]["zh"]
