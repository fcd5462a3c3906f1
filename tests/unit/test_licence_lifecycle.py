"""Lifecycle: status changes with reason, actor and audit; illegal transitions are 409s; renew and
change issue a new sealed version and supersede the old one atomically."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from onestop.errors import Conflict, InvalidInput, NotFound
from onestop.identifiers.licence_id import parse_licence_id
from onestop.licences.issuance import issue_licence
from onestop.licences.lifecycle import (
    LicenceChanges,
    change_licence,
    change_status,
    get_licence,
    latest_version,
    renew_licence,
)
from onestop.licences.models import Action, LicenceRecord, LicenceStatus
from onestop.licences.pki import DevPki, make_dev_pki, to_asn1
from onestop.licences.signers import LocalKeySigner
from pypdf import PdfReader

from tests.unit.test_licence_support import (
    APPROVED_AT,
    BUREAU,
    ISSUER,
    OIL_LICENCE,
    MemoryBlobStore,
    MemoryRegistry,
    RecordingPublisher,
    approval,
    assert_pyhanko_trusted,
    pyhanko_status,
)

LATER = APPROVED_AT + timedelta(days=30)


@pytest.fixture(scope="module")
def pki() -> DevPki:
    return make_dev_pki(BUREAU)


class World:
    def __init__(self, pki: DevPki) -> None:
        self.registry = MemoryRegistry()
        self.store = MemoryBlobStore()
        self.publisher = RecordingPublisher()
        self.signer = LocalKeySigner.from_dev_pki(pki)
        self.licence = issue_licence(
            approval(),
            licence_type=OIL_LICENCE,
            issuer=ISSUER,
            registry=self.registry,
            store=self.store,
            signer=self.signer,
            publisher=self.publisher,
            now=APPROVED_AT,
        )
        self.publisher.events.clear()

    @property
    def lid(self) -> str:
        return self.licence.licence_id

    def status(self, **kw: Any) -> dict[str, Any]:
        return {"registry": self.registry, "publisher": self.publisher, "now": LATER, **kw}

    def version(self, **kw: Any) -> dict[str, Any]:
        base = {
            "issuer": ISSUER,
            "registry": self.registry,
            "store": self.store,
            "signer": self.signer,
            "publisher": self.publisher,
            "now": LATER,
        }
        return {**base, **kw}


@pytest.fixture
def world(pki: DevPki) -> World:
    return World(pki)


def test_suspend_then_reinstate_with_audit(world: World) -> None:
    suspended = change_status(
        Action.SUSPEND, world.lid, actor="reviewer-wang", reason="安全检查不合格，限期整改", **world.status()
    )
    assert suspended.status is LicenceStatus.SUSPENDED
    last = suspended.history[-1]
    assert (last.action, last.actor, last.from_status, last.to_status) == (
        Action.SUSPEND,
        "reviewer-wang",
        LicenceStatus.VALID,
        LicenceStatus.SUSPENDED,
    )
    assert last.reason == "安全检查不合格，限期整改"
    assert (world.lid, last) in world.registry.audit
    back = change_status(
        Action.REINSTATE, world.lid, actor="reviewer-wang", reason="整改完成", **world.status()
    )
    assert back.status is LicenceStatus.VALID
    changes = [
        (e["from_status"], e["to_status"], e["actor"]) for e in world.publisher.of("LicenceStatusChanged")
    ]
    assert changes == [("01", "02", "reviewer-wang"), ("02", "01", "reviewer-wang")]


@pytest.mark.parametrize(
    ("action", "status"),
    [
        (Action.REVOKE, LicenceStatus.REVOKED),
        (Action.CANCEL, LicenceStatus.CANCELLED),
        (Action.WITHDRAW, LicenceStatus.WITHDRAWN),
    ],
)
def test_terminal_changes(world: World, action: Action, status: LicenceStatus) -> None:
    record = change_status(
        action, world.lid, actor="admin-zhao", reason="依法处理", reason_code="law", **world.status()
    )
    assert record.status is status
    assert record.history[-1].reason_code == "law"
    with pytest.raises(Conflict) as err:
        change_status(Action.REINSTATE, world.lid, actor="admin-zhao", reason="误操作", **world.status())
    assert err.value.extra["current_status"] == status.value
    assert status.zh in err.value.zh
    with pytest.raises(Conflict):
        change_status(Action.SUSPEND, world.lid, actor="admin-zhao", reason="再次暂扣", **world.status())


def test_illegal_transitions_are_conflicts(world: World) -> None:
    with pytest.raises(Conflict) as err:
        change_status(Action.REINSTATE, world.lid, actor="r", reason="无暂扣可恢复", **world.status())
    assert err.value.code == "licence_illegal_transition"
    assert err.value.extra == {"licence_id": world.lid, "current_status": "01", "action": "reinstate"}
    change_status(Action.SUSPEND, world.lid, actor="r1", reason="暂扣", **world.status())
    with pytest.raises(Conflict):  # a different reviewer suspending again is not a retry
        change_status(Action.SUSPEND, world.lid, actor="r2", reason="再暂扣", **world.status())
    assert len(world.publisher.of("LicenceStatusChanged")) == 1


def test_repeating_the_same_request_is_idempotent(world: World) -> None:
    first = change_status(Action.SUSPEND, world.lid, actor="r1", reason="暂扣", **world.status())
    again = change_status(Action.SUSPEND, world.lid, actor="r1", reason="暂扣", **world.status())
    assert again.history == first.history
    assert len(world.publisher.of("LicenceStatusChanged")) == 2  # re-announced, not re-applied


def test_reason_is_required(world: World) -> None:
    with pytest.raises(InvalidInput) as err:
        change_status(Action.REVOKE, world.lid, actor="r", reason="  ", **world.status())
    assert err.value.code == "licence_reason_required"
    assert world.registry.get(world.lid).status is LicenceStatus.VALID  # type: ignore[union-attr]


def test_unknown_licence_is_not_found(world: World) -> None:
    with pytest.raises(NotFound):
        change_status(
            Action.SUSPEND,
            world.lid.replace("20250000001", "20250000099"),
            actor="r",
            reason="x",
            **world.status(),
        )


def _pdf_text(world: World, record: LicenceRecord) -> str:
    assert record.pdf is not None
    body = world.store.get(record.pdf.key, record.pdf.version_id).body
    return PdfReader(io.BytesIO(body)).pages[0].extract_text()


def test_renew_issues_a_new_version_with_extended_validity(world: World, pki: DevPki) -> None:
    old = world.licence
    new = renew_licence(
        world.lid, validity_years=5, actor="reviewer-li", reason="延续申请已批准", **world.version()
    )
    assert parse_licence_id(new.licence_id).version == 2
    assert parse_licence_id(new.licence_id).serial == parse_licence_id(old.licence_id).serial
    assert new.metadata.valid_from == date(2030, 3, 14)
    assert new.metadata.valid_until == date(2035, 3, 13)
    assert new.supersedes == old.licence_id
    assert new.status is LicenceStatus.VALID
    superseded = world.registry.get(old.licence_id)
    assert superseded is not None
    assert superseded.status is LicenceStatus.SUPERSEDED
    assert superseded.superseded_by == new.licence_id
    assert superseded.history[-1].actor == "reviewer-li"
    assert latest_version(world.registry, old.licence_id).licence_id == new.licence_id
    assert "Version 002" in _pdf_text(world, new)
    assert new.pdf is not None
    assert_pyhanko_trusted(pyhanko_status(world.store.get(new.pdf.key).body, [to_asn1(pki.root_cert)]))
    assert [e["licence_id"] for e in world.publisher.of("LicenceIssued")] == [new.licence_id]
    with pytest.raises(Conflict):  # the old version cannot be renewed again
        renew_licence(world.lid, validity_years=5, actor="reviewer-li", reason="再次延续", **world.version())


def test_renew_after_expiry_starts_today(world: World) -> None:
    much_later = datetime(2031, 6, 1, 4, 0, tzinfo=UTC)
    assert world.licence.effective_status(date(2031, 6, 1)) is LicenceStatus.EXPIRED
    new = renew_licence(
        world.lid, validity_years=5, actor="r", reason="逾期后延续", **world.version(now=much_later)
    )
    assert new.metadata.valid_from == date(2031, 6, 1)
    assert new.metadata.valid_until == date(2036, 5, 31)


def test_change_issues_a_new_version_with_the_new_particulars(world: World) -> None:
    new = change_licence(
        world.lid,
        changes=LicenceChanges(holder_name="深圳市鹏城新能源有限公司"),
        actor="reviewer-li",
        reason="企业名称变更",
        **world.version(),
    )
    assert new.metadata.holder_name == "深圳市鹏城新能源有限公司"
    assert new.metadata.valid_until == world.licence.metadata.valid_until
    assert new.metadata.valid_from == date(2025, 4, 13)
    assert "深圳市鹏城新能源有限公司" in _pdf_text(world, new)
    assert get_licence(world.registry, world.lid).status is LicenceStatus.SUPERSEDED
    with pytest.raises(InvalidInput):
        change_licence(
            new.licence_id, changes=LicenceChanges(), actor="r", reason="无变更", **world.version()
        )


def test_suspended_licence_cannot_be_renewed(world: World) -> None:
    change_status(Action.SUSPEND, world.lid, actor="r", reason="暂扣", **world.status())
    with pytest.raises(Conflict) as err:
        renew_licence(world.lid, validity_years=5, actor="r", reason="延续", **world.version())
    assert err.value.extra["current_status"] == "02"


def test_interrupted_change_is_finished_by_the_retry(world: World) -> None:
    world.registry.fail_complete = 1
    kwargs = world.version()
    with pytest.raises(RuntimeError):
        change_licence(
            world.lid,
            changes=LicenceChanges(holder_name="新名称有限公司"),
            actor="r",
            reason="变更",
            **kwargs,
        )
    assert get_licence(world.registry, world.lid).status is LicenceStatus.VALID  # old one untouched
    new = change_licence(
        world.lid, changes=LicenceChanges(holder_name="新名称有限公司"), actor="r", reason="变更", **kwargs
    )
    assert new.status is LicenceStatus.VALID
    assert world.store.puts == 2  # v1 of the original, one PDF for version 2 reused on retry
