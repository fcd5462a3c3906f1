"""issue_licence: one licence per approval however often called; a crash anywhere leaves nothing
visible and the retry completes without a second PDF version; the sealed PDF validates."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from onestop.errors import Conflict, InvalidInput
from onestop.identifiers.licence_id import parse_licence_id
from onestop.licences.issuance import ApprovalFacts, LicenceType, issue_licence, pdf_key
from onestop.licences.lifecycle import get_licence
from onestop.licences.models import HolderKind, LicenceRecord, LicenceStatus
from onestop.licences.pki import DevPki, cert_pem, make_dev_pki, sha256_fingerprint, to_asn1
from onestop.licences.signers import LocalKeySigner

from tests.unit.test_licence_support import (
    APPROVED_AT,
    BUREAU,
    BUREAU_USCC,
    ISSUER,
    OIL_LICENCE,
    PERSON_ID,
    TYPE_CODE,
    MemoryBlobStore,
    MemoryRegistry,
    RecordingPublisher,
    approval,
    assert_pdfsig_trusted,
    assert_pyhanko_trusted,
    pyhanko_status,
)


@pytest.fixture(scope="module")
def pki() -> DevPki:
    return make_dev_pki(BUREAU)


class Ports:
    def __init__(self, pki: DevPki) -> None:
        self.registry = MemoryRegistry()
        self.store = MemoryBlobStore()
        self.publisher = RecordingPublisher()
        self.signer = LocalKeySigner.from_dev_pki(pki)

    def issue(
        self, facts: ApprovalFacts | None = None, licence_type: LicenceType = OIL_LICENCE, **kw: Any
    ) -> LicenceRecord:
        return issue_licence(
            facts or approval(),
            licence_type=licence_type,
            issuer=ISSUER,
            registry=self.registry,
            store=self.store,
            signer=kw.pop("signer", self.signer),
            publisher=self.publisher,
            now=APPROVED_AT,
            **kw,
        )


@pytest.fixture
def ports(pki: DevPki) -> Ports:
    return Ports(pki)


class FailingSigner(LocalKeySigner):
    """Stands in for KMS being unavailable mid-issue."""

    async def async_sign_raw(self, data: bytes, digest_algorithm: str, dry_run: bool = False) -> bytes:
        if dry_run:
            return await super().async_sign_raw(data, digest_algorithm, dry_run)
        raise RuntimeError("KMS unavailable")


def test_issue_registers_a_valid_sealed_licence(ports: Ports, pki: DevPki) -> None:
    record = ports.issue()
    assert record.status is LicenceStatus.VALID
    lid = parse_licence_id(record.licence_id)
    assert (lid.type_code, lid.issuer_uscc, lid.version) == (TYPE_CODE, BUREAU_USCC, 1)
    assert lid.serial == "20250000001"  # year + per-year counter
    assert record.metadata.number == "440300-20250000001"
    assert record.metadata.valid_from.isoformat() == "2025-03-14"
    assert record.metadata.valid_until is not None
    assert record.metadata.valid_until.isoformat() == "2030-03-13"
    assert record.pdf is not None
    assert record.pdf.key == pdf_key(record.licence_id)
    stored = ports.store.get(record.pdf.key, record.pdf.version_id)
    assert hashlib.sha256(stored.body).hexdigest() == record.pdf.sha256
    assert record.seal_cert_sha256 == sha256_fingerprint(pki.seal_cert)
    assert [e.action.value for e in record.history] == ["reserve", "issue"]
    assert_pyhanko_trusted(pyhanko_status(stored.body, [to_asn1(pki.root_cert)]))
    assert_pdfsig_trusted(stored.body, cert_pem(pki.root_cert))
    events = ports.publisher.of("LicenceIssued")
    assert len(events) == 1
    assert events[0]["licence_id"] == record.licence_id
    assert events[0]["pdf"]["sha256"] == record.pdf.sha256
    assert ports.registry.get(record.licence_id).event_published  # type: ignore[union-attr]


def test_issuing_twice_gives_one_licence_one_pdf_one_event(ports: Ports) -> None:
    first = ports.issue()
    second = ports.issue()
    third = ports.issue(replace(approval(), holder_name="另一个名字"))  # same application id
    assert first.licence_id == second.licence_id == third.licence_id
    assert second.pdf == first.pdf
    assert ports.store.puts == 1
    assert len(ports.publisher.of("LicenceIssued")) == 1
    assert ports.registry.counters == {2025: 1}


def test_different_applications_get_different_serials(ports: Ports) -> None:
    a = ports.issue(approval("app-a"))
    b = ports.issue(approval("app-b"))
    assert a.licence_id != b.licence_id
    assert parse_licence_id(b.licence_id).serial == "20250000002"
    assert {r.licence_id for r in ports.registry.by_holder(a.holder_code)} == {a.licence_id, b.licence_id}


def test_kms_failure_leaves_nothing_visible_and_the_retry_completes(ports: Ports, pki: DevPki) -> None:
    with pytest.raises(Exception, match="KMS unavailable"):
        ports.issue(signer=FailingSigner(pki.seal_cert, pki.seal_key, [pki.root_cert]))
    lid = ports.registry.licence_for_application("app-0001")
    assert lid is not None
    pending = ports.registry.get(lid)
    assert pending is not None
    assert pending.status is LicenceStatus.ISSUING
    assert not pending.visible
    with pytest.raises(Exception, match="licence_not_found"):
        get_licence(ports.registry, lid)
    assert ports.store.puts == 0
    assert ports.publisher.events == []

    done = ports.issue()
    assert done.licence_id == lid  # the reserved number is completed, not a new one
    assert done.status is LicenceStatus.VALID
    assert ports.store.puts == 1
    assert len(ports.publisher.of("LicenceIssued")) == 1


def test_crash_after_storing_the_pdf_reuses_it_on_retry(ports: Ports) -> None:
    ports.registry.fail_complete = 1
    with pytest.raises(RuntimeError, match="registry unavailable"):
        ports.issue()
    assert ports.store.puts == 1
    lid = ports.registry.licence_for_application("app-0001")
    assert ports.registry.get(lid).status is LicenceStatus.ISSUING  # type: ignore[arg-type,union-attr]
    done = ports.issue()
    assert ports.store.puts == 1  # no second version of the PDF
    assert done.pdf is not None
    assert done.pdf.version_id == "v1"


def test_tampered_leftover_pdf_is_not_reused(ports: Ports) -> None:
    ports.registry.fail_complete = 1
    with pytest.raises(RuntimeError):
        ports.issue()
    lid = ports.registry.licence_for_application("app-0001")
    key = pdf_key(lid)  # type: ignore[arg-type]
    version, body, ctype, meta = ports.store.versions[key][-1]
    ports.store.versions[key][-1] = (version, body + b"%garbage", ctype, meta)
    done = ports.issue()
    assert ports.store.puts == 2
    assert done.pdf is not None
    assert done.pdf.version_id == "v2"


def test_crash_before_publishing_publishes_on_retry(ports: Ports) -> None:
    ports.publisher.fail_next = 1
    with pytest.raises(RuntimeError, match="event bus down"):
        ports.issue()
    lid = ports.registry.licence_for_application("app-0001")
    record = ports.registry.get(lid)  # type: ignore[arg-type]
    assert record is not None
    assert record.status is LicenceStatus.VALID
    assert not record.event_published
    again = ports.issue()
    assert again.event_published
    assert len(ports.publisher.of("LicenceIssued")) == 1
    assert ports.store.puts == 1


def test_a_concurrent_winner_is_returned(ports: Ports, monkeypatch: pytest.MonkeyPatch) -> None:
    winner = ports.issue()
    # a second worker that read "no claim yet" before the winner reserved
    monkeypatch.setattr(ports.registry, "licence_for_application", lambda _app: None)
    loser = ports.issue()
    assert loser.licence_id == winner.licence_id
    assert ports.store.puts == 1


def test_invalid_holder_code_is_refused(ports: Ports) -> None:
    with pytest.raises(InvalidInput) as err:
        ports.issue(approval(holder_code="91440300MA5F00010X"))
    assert err.value.code == "invalid_uscc"
    assert ports.registry.records == {}


def test_person_holder(ports: Ports) -> None:
    record = ports.issue(approval(holder_kind=HolderKind.PERSON, holder_code=PERSON_ID, holder_name="李小明"))
    assert record.metadata.holder_code_type == "111"


def test_long_term_licence(ports: Ports) -> None:
    record = ports.issue(licence_type=replace(OIL_LICENCE, validity_years=None))
    assert record.metadata.valid_until is None


def test_new_version_item_supersedes_the_holders_current_licence(ports: Ports) -> None:
    first = ports.issue(approval("app-new"))
    change_type = LicenceType.from_spec(replace(OIL_LICENCE, issues="new_version"))
    assert change_type.issues == "new_version"
    second = ports.issue(
        approval("app-change", extra=(("经营地址", "深圳市福田区福华路1号"),)), licence_type=change_type
    )
    assert second.supersedes == first.licence_id
    assert parse_licence_id(second.licence_id).version == 2
    assert parse_licence_id(second.licence_id).serial == parse_licence_id(first.licence_id).serial
    assert second.metadata.valid_until == first.metadata.valid_until
    assert second.metadata.application_id == "app-change"
    old = ports.registry.get(first.licence_id)
    assert old is not None
    assert old.status is LicenceStatus.SUPERSEDED
    assert old.superseded_by == second.licence_id
    changed = ports.publisher.of("LicenceStatusChanged")
    assert [(e["licence_id"], e["to_status"]) for e in changed] == [(first.licence_id, "superseded")]
    # and the change approval is idempotent too
    assert ports.issue(approval("app-change"), licence_type=change_type).licence_id == second.licence_id
    assert ports.store.puts == 2


def test_new_version_without_a_current_licence_is_a_conflict(ports: Ports) -> None:
    with pytest.raises(Conflict) as err:
        ports.issue(licence_type=replace(OIL_LICENCE, issues="new_version"))
    assert err.value.code == "licence_predecessor_missing"


def test_the_licence_is_dated_by_the_approval_not_by_a_late_retry(ports: Ports) -> None:
    late = datetime(2025, 3, 20, 1, 0, tzinfo=UTC)
    record = issue_licence(
        approval(approved_at=datetime(2025, 3, 13, 17, 0, tzinfo=UTC)),  # 14 March, 01:00 in Beijing
        licence_type=OIL_LICENCE,
        issuer=ISSUER,
        registry=ports.registry,
        store=ports.store,
        signer=ports.signer,
        publisher=ports.publisher,
        now=late,
    )
    assert record.metadata.issue_date.isoformat() == "2025-03-14"
    assert record.metadata.valid_from.isoformat() == "2025-03-14"
    assert record.issued_at == late
