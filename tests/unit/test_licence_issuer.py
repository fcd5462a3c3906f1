"""The licence office: the issue function's events routed by detail type (an unknown one fails, so
EventBridge retries and dead-letters it), approvals and version requests read as the typed events,
and the use cases over the one set of dependencies."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from onestop.catalogue import load_catalogue
from onestop.errors import Conflict, InvalidInput
from onestop.events import ApplicationApproved, EventApplicant
from onestop.licences.issuer import EVENT_ROUTES, LicenceOffice, UnroutedEvent
from onestop.licences.lifecycle import LicenceChanges
from onestop.licences.models import Action, LicenceStatus
from onestop.licences.pki import DevPki, make_dev_pki
from onestop.licences.signers import LocalKeySigner

from tests.conftest import Logs
from tests.unit.test_licence_support import (
    BUREAU,
    HOLDER_USCC,
    ISSUER,
    MemoryBlobStore,
    MemoryRegistry,
    RecordingPublisher,
)

QUALIFICATION = "refined-oil-retail-qualification"
FILING = "prepaid-card-issuer-filing"  # issues no licence


@pytest.fixture(scope="module")
def pki() -> DevPki:
    return make_dev_pki(BUREAU)


@dataclass
class Linker:
    links: list[tuple[str, str]] = field(default_factory=list)

    def link_licence(self, application_id: str, licence_id: str) -> None:
        self.links.append((application_id, licence_id))


@pytest.fixture
def office(pki: DevPki) -> LicenceOffice:
    return LicenceOffice(
        catalogue=load_catalogue(),
        issuer=ISSUER,
        registry=MemoryRegistry(),
        store=MemoryBlobStore(),
        publisher=RecordingPublisher(),
        applications=Linker(),
        signer=lambda: LocalKeySigner.from_dev_pki(pki),
    )


def approved(application_id: str = "app-1", item_code: str = QUALIFICATION) -> dict[str, Any]:
    """An ApplicationApproved detail as the api function publishes it."""
    return ApplicationApproved(
        application_id=application_id,
        item_code=item_code,
        applicant=EventApplicant(kind="enterprise", code=HOLDER_USCC, name="深圳市鹏城能源有限公司"),
        approved_at="2025-03-14T02:30:00Z",
        approved_by="reviewer-li",
    ).detail()


def publisher_of(office: LicenceOffice) -> RecordingPublisher:
    assert isinstance(office.publisher, RecordingPublisher)
    return office.publisher


def test_the_routes_are_the_issue_functions_rules() -> None:
    assert sorted(EVENT_ROUTES) == ["ApplicationApproved", "LicenceVersionRequested"]


@pytest.mark.parametrize("detail_type", ["ApplicationSubmitted", "LicenceIssued", "Whatever", ""])
def test_an_unrouted_detail_type_fails_and_nothing_is_issued(office: LicenceOffice, detail_type: str) -> None:
    with pytest.raises(UnroutedEvent) as err:
        office.handle(detail_type, approved())  # an approval's detail under another name
    assert err.value.code == "event_type_unrouted"
    assert err.value.extra["detail_type"] == detail_type
    assert isinstance(office.registry, MemoryRegistry)
    assert office.registry.records == {}
    assert publisher_of(office).events == []


def test_an_approval_is_issued_once_and_linked(office: LicenceOffice) -> None:
    first = office.handle("ApplicationApproved", approved())
    assert first["issued"] is True
    assert first["status"] == "01"
    again = office.handle("ApplicationApproved", approved())
    assert again == first
    assert isinstance(office.applications, Linker)
    assert office.applications.links == [("app-1", first["licence_id"])] * 2
    [issued] = publisher_of(office).of("LicenceIssued")
    assert (issued["licence_id"], issued["application_id"]) == (first["licence_id"], "app-1")
    record = office.get(first["licence_id"])
    assert record.metadata.issue_date.isoformat() == "2025-03-14"  # dated by the approval
    assert record.history[0].reason.endswith("application approved by reviewer-li")


def test_an_approval_stored_before_schema_versions_still_issues(office: LicenceOffice) -> None:
    detail = approved()
    del detail["schema_version"]
    detail["approved_at"] = "2025-03-14T02:30:00+00:00"
    del detail["approved_by"]
    result = office.handle("ApplicationApproved", detail)
    assert result["issued"] is True
    assert office.get(result["licence_id"]).history[0].reason.endswith("approved by reviewer")


def test_an_item_without_a_licence_issues_nothing(office: LicenceOffice) -> None:
    assert office.handle("ApplicationApproved", approved(item_code=FILING)) == {"issued": False}
    assert publisher_of(office).events == []


@pytest.mark.parametrize(
    "broken",
    [
        {"applicant": None},
        {"applicant": {"kind": "robot", "code": HOLDER_USCC, "name": "x"}},
        {"approved_at": "yesterday"},
        {"application_id": None},
    ],
    ids=["no-applicant", "unknown-kind", "bad-time", "no-id"],
)
def test_a_malformed_approval_is_refused(office: LicenceOffice, broken: dict[str, Any]) -> None:
    with pytest.raises(InvalidInput) as err:
        office.handle("ApplicationApproved", approved() | broken)
    assert err.value.code == "approval_event_malformed"
    assert publisher_of(office).events == []


def test_version_requests_renew_and_change(office: LicenceOffice) -> None:
    licence_id = office.handle("ApplicationApproved", approved())["licence_id"]
    renewed = office.handle(
        "LicenceVersionRequested",
        {"licence_id": licence_id, "action": "renew", "reason": "延续", "validity_years": 3},
    )
    assert renewed["issued"] is True
    assert renewed["supersedes"] == licence_id
    new = office.get(renewed["licence_id"])
    assert new.metadata.version == 2
    assert new.history[0].actor == "reviewer"  # requested_by absent
    assert new.metadata.valid_until is not None
    assert new.metadata.valid_from is not None
    assert new.metadata.valid_until.year - new.metadata.valid_from.year == 3
    changed = office.handle(
        "LicenceVersionRequested",
        {
            "licence_id": renewed["licence_id"],
            "action": "change",
            "reason": "更名",
            "holder_name": "深圳市鹏城新能源有限公司",
            "requested_by": "reviewer-wang",
        },
    )
    latest = office.get(changed["licence_id"])
    assert (latest.metadata.version, latest.metadata.holder_name) == (3, "深圳市鹏城新能源有限公司")
    assert latest.history[0].actor == "reviewer-wang"
    assert office.get(licence_id).status is LicenceStatus.SUPERSEDED


@pytest.mark.parametrize(
    ("detail", "code"),
    [
        ({"action": "renew", "reason": "x"}, "version_request_malformed"),
        ({"licence_id": "L", "reason": "x"}, "version_request_malformed"),
        ({"licence_id": "L", "action": "transfer", "reason": "x"}, "version_action_unknown"),
    ],
)
def test_a_malformed_version_request_is_refused(
    office: LicenceOffice, detail: dict[str, Any], code: str
) -> None:
    with pytest.raises(InvalidInput) as err:
        office.handle("LicenceVersionRequested", detail)
    assert err.value.code == code


def test_status_changes_and_requests_through_the_office(office: LicenceOffice) -> None:
    licence_id = office.handle("ApplicationApproved", approved())["licence_id"]
    publisher_of(office).events.clear()
    suspended = office.change_status(Action.SUSPEND, licence_id, actor="r", reason="暂扣", reason_code="c")
    assert suspended.status is LicenceStatus.SUSPENDED
    [changed] = publisher_of(office).of("LicenceStatusChanged")
    assert (changed["action"], changed["reason_code"], changed["version"]) == ("suspend", "c", 1)
    with pytest.raises(Conflict):  # only a valid licence gets a new version
        office.request_new_version(licence_id, action="renew", actor="r", reason="延续")
    office.change_status(Action.REINSTATE, licence_id, actor="r", reason="恢复")
    with pytest.raises(InvalidInput) as empty:
        office.request_new_version(licence_id, action="change", actor="r", reason="变更")
    assert empty.value.code == "licence_change_empty"
    record = office.request_new_version(
        licence_id, action="change", actor="reviewer-li", reason="更名", holder_name="新名称"
    )
    assert record.licence_id == licence_id
    [requested] = publisher_of(office).of("LicenceVersionRequested")
    at = requested.pop("requested_at")
    assert abs(datetime.fromisoformat(at) - datetime.now(UTC)).total_seconds() < 60
    assert requested == {
        "schema_version": 1,
        "licence_id": licence_id,
        "action": "change",
        "reason": "更名",
        "validity_years": None,
        "holder_name": "新名称",
        "requested_by": "reviewer-li",
    }


@pytest.mark.parametrize("action", [Action.ISSUE, Action.RESERVE, Action.SUPERSEDE])
def test_change_status_takes_only_status_changes(office: LicenceOffice, action: Action) -> None:
    licence_id = office.handle("ApplicationApproved", approved())["licence_id"]
    with pytest.raises(ValueError, match="not a status change"):
        office.change_status(action, licence_id, actor="r", reason="x")
    assert office.get(licence_id).status is LicenceStatus.VALID


def test_renew_and_change_seal_with_the_signer_asked_each_time(office: LicenceOffice, pki: DevPki) -> None:
    asked: list[int] = []

    def signer() -> Any:
        asked.append(1)
        return LocalKeySigner.from_dev_pki(pki)

    counting = LicenceOffice(**{**office.__dict__, "signer": signer})
    licence_id = counting.handle("ApplicationApproved", approved())["licence_id"]
    counting.change_status(Action.SUSPEND, licence_id, actor="r", reason="暂扣")
    counting.change_status(Action.REINSTATE, licence_id, actor="r", reason="恢复")
    assert asked == [1]  # status changes never ask for the seal
    new = counting.change(licence_id, changes=LicenceChanges(holder_name="新名称"), actor="r", reason="更名")
    counting.renew(new.licence_id, validity_years=None, actor="r", reason="延续")
    assert asked == [1, 1, 1]


class _Context:
    function_name = "onestop-issue"
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:cn-north-1:123456789012:function:onestop-issue"
    aws_request_id = "unit"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


def test_the_issue_function_fails_on_an_unrouted_event(monkeypatch: pytest.MonkeyPatch, logs: Logs) -> None:
    """Before this, every detail type but LicenceVersionRequested was taken for an approval."""
    from onestop.aws import composition
    from onestop.settings import reset_settings

    for name in ("TABLE_NAME", "IDEMPOTENCY_TABLE_NAME", "UPLOADS_BUCKET", "MATERIALS_BUCKET"):
        monkeypatch.setenv(name, "t")
    monkeypatch.setenv("LICENCES_BUCKET", "l")
    monkeypatch.setenv("EVENT_BUS_NAME", "b")
    reset_settings()
    composition.reset()
    try:
        from functions.issue.app import lambda_handler

        event = {
            "version": "0",
            "id": "e1",
            "detail-type": "ApplicationSubmitted",
            "source": "onestop",
            "account": "123456789012",
            "time": "2025-03-14T02:30:00Z",
            "region": "cn-north-1",
            "resources": [],
            "detail": approved(),
        }
        logs()
        with pytest.raises(UnroutedEvent):
            lambda_handler(event, _Context())
        # Logged with the ids an operator searches by, which the next event does not inherit.
        (line,) = [x for x in logs() if x["message"] == "event type not routed"]
        assert (line["detail_type"], line["event_id"], line["application_id"]) == (
            "ApplicationSubmitted",
            "e1",
            "app-1",
        )
        from onestop.observability import logger

        logger.info("after")
        (after,) = [x for x in logs() if x["message"] == "after"]
        assert "event_id" not in after
        assert "application_id" not in after
    finally:
        composition.reset()
        reset_settings()
