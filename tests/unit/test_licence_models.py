"""Licence model: status codes, legal transitions, derived expiry, validity arithmetic, round trips."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from onestop.errors import Conflict
from onestop.licences.models import (
    TRANSITIONS,
    Action,
    AuditEntry,
    HolderKind,
    LicenceMetadata,
    LicenceRecord,
    LicenceStatus,
    StoredPdf,
    china_date,
    next_status,
    validity_end,
)

from tests.unit.test_licence_support import HOLDER_USCC, TYPE_CODE


def _meta(valid_until: date | None = date(2030, 3, 13)) -> LicenceMetadata:
    return LicenceMetadata(
        licence_id="1.2.156.3005.2.X",
        number="440300-20250000001",
        name_zh="成品油零售经营批准证书",
        name_en="Refined oil retail",
        type_code=TYPE_CODE,
        version=1,
        issuer_name="深圳市商务局",
        issuer_name_en="Shenzhen Municipal Commerce Bureau",
        issuer_code="11440300MB2D03151D",
        definer_name="深圳市商务局",
        division_code="440300",
        issue_date=date(2025, 3, 14),
        valid_from=date(2025, 3, 14),
        valid_until=valid_until,
        holder_name="深圳市鹏城能源有限公司",
        holder_code=HOLDER_USCC,
        holder_kind=HolderKind.ENTERPRISE,
        item_code="refined-oil-retail-qualification",
        item_name="成品油零售经营资格审批",
        application_id="app-1",
        extra=(("经营地址", "深圳市南山区"),),
    )


def test_status_codes_follow_the_national_profile() -> None:
    assert [s.value for s in LicenceStatus][:8] == ["01", "02", "03", "04", "05", "06", "07", "99"]
    assert (LicenceStatus.SUSPENDED.zh, LicenceStatus.REVOKED.zh, LicenceStatus.CANCELLED.zh) == (
        "暂扣",
        "撤销",
        "注销",
    )
    assert LicenceStatus.EXPIRED.en == "expired"


@pytest.mark.parametrize("action", list(TRANSITIONS))
@pytest.mark.parametrize("current", list(LicenceStatus))
def test_every_transition_is_either_allowed_or_a_conflict(action: Action, current: LicenceStatus) -> None:
    allowed_from, to = TRANSITIONS[action]
    if current in allowed_from:
        assert next_status("L", action, current) is to
    else:
        with pytest.raises(Conflict) as err:
            next_status("L", action, current)
        assert err.value.extra["current_status"] == current.value
        assert err.value.http_status == 409
        assert current.zh in err.value.zh
        assert current.en in err.value.en


def test_terminal_statuses_allow_nothing() -> None:
    for terminal in (
        LicenceStatus.REVOKED,
        LicenceStatus.CANCELLED,
        LicenceStatus.WITHDRAWN,
        LicenceStatus.SUPERSEDED,
    ):
        assert all(terminal not in allowed for allowed, _ in TRANSITIONS.values())


def test_expiry_is_derived_at_read_time() -> None:
    record = LicenceRecord(
        metadata=_meta(), status=LicenceStatus.VALID, reserved_at=datetime(2025, 3, 14, tzinfo=UTC)
    )
    assert record.effective_status(date(2030, 3, 13)) is LicenceStatus.VALID
    assert record.effective_status(date(2030, 3, 14)) is LicenceStatus.EXPIRED
    suspended = LicenceRecord(
        metadata=_meta(), status=LicenceStatus.SUSPENDED, reserved_at=record.reserved_at
    )
    assert suspended.effective_status(date(2031, 1, 1)) is LicenceStatus.SUSPENDED
    long_term = LicenceRecord(
        metadata=_meta(None), status=LicenceStatus.VALID, reserved_at=record.reserved_at
    )
    assert long_term.effective_status(date(2099, 1, 1)) is LicenceStatus.VALID


def test_issuing_records_are_invisible() -> None:
    record = LicenceRecord(metadata=_meta(), status=LicenceStatus.ISSUING, reserved_at=datetime.now(UTC))
    assert not record.visible
    assert LicenceRecord(
        metadata=_meta(), status=LicenceStatus.REVOKED, reserved_at=datetime.now(UTC)
    ).visible


def test_validity_end_and_leap_days() -> None:
    assert validity_end(date(2025, 3, 14), 5) == date(2030, 3, 13)
    assert validity_end(date(2024, 2, 29), 1) == date(2025, 2, 27)
    assert validity_end(date(2025, 1, 1), None) is None


def test_china_date_uses_beijing_time() -> None:
    assert china_date(datetime(2025, 3, 13, 16, 30, tzinfo=UTC)) == date(2025, 3, 14)
    assert china_date(datetime(2025, 3, 13, 15, 59, tzinfo=UTC)) == date(2025, 3, 13)


def test_record_round_trips_through_its_dict() -> None:
    at = datetime(2025, 3, 14, 2, 0, tzinfo=UTC)
    entry = AuditEntry(
        at, "reviewer-li", Action.SUSPEND, LicenceStatus.VALID, LicenceStatus.SUSPENDED, "整改", "r1"
    )
    record = LicenceRecord(
        metadata=_meta(),
        status=LicenceStatus.SUSPENDED,
        reserved_at=at,
        issued_at=at,
        pdf=StoredPdf("b", "licences/x.pdf", "v1", "ab" * 32, 1234),
        seal_cert_sha256="cd" * 32,
        supersedes="old",
        event_published=True,
        history=(entry,),
    )
    assert LicenceRecord.from_dict(record.as_dict()) == record
    view = record.public_view(date(2025, 4, 1))
    assert view["status"] == "02"
    assert view["status_zh"] == "暂扣"
    assert "pdf" not in view
    assert view["pdf_sha256"] == "ab" * 32
