"""The DynamoDB licence registry against moto: conditional writes, one licence per application,
atomic supersede, illegal transitions as 409s carrying the current status, the holder index."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws
from onestop.aws.clients import reset_clients
from onestop.aws.licence_registry import DynamoLicenceRegistry
from onestop.errors import Conflict, NotFound
from onestop.licences.models import (
    TRANSITIONS,
    Action,
    AuditEntry,
    LicenceRecord,
    LicenceStatus,
    StoredPdf,
)
from onestop.licences.registry import AlreadyReserved

from tests.integration.api_helpers import TABLE, create_table
from tests.unit.test_licence_support import HOLDER_USCC, sample_metadata

AT = datetime(2025, 3, 14, 2, 0, tzinfo=UTC)
PDF = StoredPdf("licences", "licences/x.pdf", "v1", "ab" * 32, 1000)


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch) -> Iterator[DynamoLicenceRegistry]:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    reset_clients()
    with mock_aws():
        create_table(boto3.resource("dynamodb"))
        yield DynamoLicenceRegistry(TABLE)
    reset_clients()


def _record(licence_id: str, application_id: str = "app-1", **changes: Any) -> LicenceRecord:
    meta = sample_metadata(licence_id=licence_id, number="440300-1", application_id=application_id)
    entry = AuditEntry(AT, "onestop:issue", Action.RESERVE, None, LicenceStatus.ISSUING, "approved")
    base = LicenceRecord(metadata=meta, status=LicenceStatus.ISSUING, reserved_at=AT, history=(entry,))
    return replace(base, **changes)


def _issue_entry(at: datetime = AT) -> AuditEntry:
    return AuditEntry(at, "onestop:issue", Action.ISSUE, LicenceStatus.ISSUING, LicenceStatus.VALID, "sealed")


def _complete(
    registry: DynamoLicenceRegistry,
    licence_id: str,
    at: datetime = AT + timedelta(seconds=1),
    supersede: tuple[str, AuditEntry] | None = None,
) -> LicenceRecord:
    return registry.complete(
        licence_id,
        pdf=PDF,
        seal_cert_sha256="cd" * 32,
        issued_at=at,
        entry=_issue_entry(at),
        supersede=supersede,
    )


def test_counter_is_per_year_and_atomic(registry: DynamoLicenceRegistry) -> None:
    assert [registry.next_serial(2025) for _ in range(3)] == [1, 2, 3]
    assert registry.next_serial(2026) == 1


def test_one_application_one_licence(registry: DynamoLicenceRegistry) -> None:
    registry.reserve(_record("L1"), guard_application=True)
    assert registry.licence_for_application("app-1") == "L1"
    with pytest.raises(AlreadyReserved) as err:
        registry.reserve(_record("L2"), guard_application=True)
    assert err.value.licence_id == "L1"
    assert registry.get("L2") is None  # the transaction wrote nothing
    with pytest.raises(AlreadyReserved) as err:
        registry.reserve(_record("L1", application_id="app-9"), guard_application=False)
    assert err.value.licence_id == "L1"
    got = registry.get("L1")
    assert got == _record("L1")


def test_complete_is_conditional_and_sets_the_holder_index(registry: DynamoLicenceRegistry) -> None:
    registry.reserve(_record("L1"), guard_application=True)
    assert registry.by_holder(HOLDER_USCC) == []  # an issuing record is not listed
    done = _complete(registry, "L1")
    assert done.status is LicenceStatus.VALID
    assert done.pdf == PDF
    assert [e.action for e in done.history] == [Action.RESERVE, Action.ISSUE]
    assert [r.licence_id for r in registry.by_holder(HOLDER_USCC)] == ["L1"]
    with pytest.raises(Conflict) as err:
        _complete(registry, "L1")
    assert err.value.extra["current_status"] == "01"
    registry.mark_published("L1")
    assert registry.get("L1").event_published  # type: ignore[union-attr]


def test_transitions_are_conditional(registry: DynamoLicenceRegistry) -> None:
    registry.reserve(_record("L1"), guard_application=True)
    with pytest.raises(NotFound):  # a record still being issued does not exist for anyone else
        registry.transition("L1", allowed_from=TRANSITIONS[Action.SUSPEND][0], entry=_entry(Action.SUSPEND))
    _complete(registry, "L1")
    suspended = registry.transition(
        "L1", allowed_from=TRANSITIONS[Action.SUSPEND][0], entry=_entry(Action.SUSPEND)
    )
    assert suspended.status is LicenceStatus.SUSPENDED
    revoked = registry.transition(
        "L1", allowed_from=TRANSITIONS[Action.REVOKE][0], entry=_entry(Action.REVOKE)
    )
    assert revoked.status is LicenceStatus.REVOKED
    with pytest.raises(Conflict) as err:
        registry.transition(
            "L1", allowed_from=TRANSITIONS[Action.REINSTATE][0], entry=_entry(Action.REINSTATE)
        )
    assert err.value.extra["current_status"] == "03"
    assert "撤销" in err.value.zh
    with pytest.raises(NotFound):
        registry.transition("nope", allowed_from=TRANSITIONS[Action.SUSPEND][0], entry=_entry(Action.SUSPEND))
    actions = [item["action"] for item in registry.audit_trail("L1")]
    assert actions == ["reserve", "issue", "suspend", "revoke"]


def _entry(action: Action, at: datetime | None = None) -> AuditEntry:
    allowed, to = TRANSITIONS[action]
    at = at or AT + timedelta(minutes=list(Action).index(action))  # suspend < reinstate < revoke
    return AuditEntry(at, "reviewer-li", action, next(iter(allowed)), to, f"reason for {action.value}")


def test_supersede_is_atomic(registry: DynamoLicenceRegistry) -> None:
    registry.reserve(_record("L1"), guard_application=True)
    _complete(registry, "L1")
    registry.reserve(_record("L1v2", supersedes="L1"), guard_application=False)
    supersede = AuditEntry(AT, "r", Action.SUPERSEDE, LicenceStatus.VALID, LicenceStatus.SUPERSEDED, "change")
    # the old version is suspended meanwhile: nothing may change
    registry.transition("L1", allowed_from=TRANSITIONS[Action.SUSPEND][0], entry=_entry(Action.SUSPEND))
    with pytest.raises(Conflict) as err:
        _complete(registry, "L1v2", supersede=("L1", supersede))
    assert err.value.extra["licence_id"] == "L1"
    assert err.value.extra["current_status"] == "02"
    assert registry.get("L1v2").status is LicenceStatus.ISSUING  # type: ignore[union-attr]
    registry.transition("L1", allowed_from=TRANSITIONS[Action.REINSTATE][0], entry=_entry(Action.REINSTATE))
    later = AT + timedelta(hours=1)
    new = _complete(registry, "L1v2", at=later, supersede=("L1", supersede))
    old = registry.get("L1")
    assert new.status is LicenceStatus.VALID
    assert old is not None
    assert old.status is LicenceStatus.SUPERSEDED
    assert old.superseded_by == "L1v2"
    assert [r.licence_id for r in registry.by_holder(HOLDER_USCC)] == ["L1v2", "L1"]  # newest first
