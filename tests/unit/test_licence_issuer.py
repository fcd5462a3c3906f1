"""The licence office: the issue function's events routed by detail type (an unknown one fails, so
EventBridge retries and dead-letters it), approvals and version requests read as the typed events,
and the use cases over the one set of dependencies."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
from onestop.catalogue import load_catalogue
from onestop.errors import Conflict, InvalidInput, Reason
from onestop.events import ApplicationApproved, EventApplicant, parse_time
from onestop.licences import issuer as issuer_module
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
    assert sorted(EVENT_ROUTES) == [
        "ApplicationApproved",
        "LicenceIssued",  # republish the status list (issue 17)
        "LicenceStatusChanged",
        "LicenceVersionRequested",
    ]


@pytest.mark.parametrize("detail_type", ["ApplicationSubmitted", "ApplicationRejected", "Whatever", ""])
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
            "requested_by": "admin-wang",
            "requested_role": "admin",
        },
    )
    latest = office.get(changed["licence_id"])
    assert (latest.metadata.version, latest.metadata.holder_name) == (3, "深圳市鹏城新能源有限公司")
    assert (latest.history[0].actor, latest.history[0].actor_role) == ("admin-wang", "admin")
    assert new.history[0].actor_role is None  # requested_role absent
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
        licence_id, action="change", actor="admin-li", reason="更名", holder_name="新名称", actor_role="admin"
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
        "requested_by": "admin-li",
        "requested_role": "admin",
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


# --- What callers read from the office's refusals, events, records and metrics, exactly. ---


def _reason_of(err: InvalidInput) -> Reason:
    [reason] = err.details
    return reason


def test_a_bad_approval_time_is_refused_with_the_parsers_words(office: LicenceOffice) -> None:
    with pytest.raises(ValueError, match="yesterday") as parsing:
        parse_time("yesterday")
    with pytest.raises(InvalidInput) as err:
        office.handle("ApplicationApproved", approved() | {"approved_at": "yesterday"})
    assert (err.value.code, err.value.zh, err.value.en) == (
        "approval_event_malformed",
        "批准事件内容不完整，无法发证。",
        "The approval event is incomplete; no licence can be issued.",
    )
    said = str(parsing.value)
    assert _reason_of(err.value) == Reason("approval_event_malformed", said, said)
    assert err.value.as_dict()["details"] == [{"code": "approval_event_malformed", "zh": said, "en": said}]


def test_an_incomplete_approval_names_what_the_schema_refused(office: LicenceOffice) -> None:
    with pytest.raises(InvalidInput) as err:
        office.handle("ApplicationApproved", approved() | {"application_id": None})
    assert (err.value.zh, err.value.en) == (
        "批准事件内容不完整，无法发证。",
        "The approval event is incomplete; no licence can be issued.",
    )
    reason = _reason_of(err.value)
    assert reason.code == "approval_event_malformed"
    assert reason.zh == reason.en
    assert "validation error" in reason.en
    assert "application_id" in reason.en


def test_an_incomplete_version_request_names_what_the_schema_refused(office: LicenceOffice) -> None:
    with pytest.raises(InvalidInput) as err:
        office.handle("LicenceVersionRequested", {"action": "renew", "reason": "x"})
    assert (err.value.code, err.value.zh, err.value.en) == (
        "version_request_malformed",
        "换发请求内容不完整。",
        "The renewal or change request is incomplete.",
    )
    reason = _reason_of(err.value)
    assert reason.code == "version_request_malformed"
    assert reason.zh == reason.en
    assert "validation error" in reason.en
    assert "licence_id" in reason.en


def test_an_unrouted_event_names_the_routes(office: LicenceOffice) -> None:
    with pytest.raises(UnroutedEvent) as err:
        office.handle("ApplicationRejected", {})
    assert err.value.extra == {
        "detail_type": "ApplicationRejected",
        "routed": ["ApplicationApproved", "LicenceIssued", "LicenceStatusChanged", "LicenceVersionRequested"],
    }


@dataclass
class Metrics:
    added: list[tuple[str, str, float]] = field(default_factory=list)

    def add_metric(self, *, name: str, unit: str, value: float) -> None:
        self.added.append((name, unit, value))


@pytest.fixture
def metrics(monkeypatch: pytest.MonkeyPatch) -> Metrics:
    recorder = Metrics()
    monkeypatch.setattr(issuer_module, "metrics", recorder)
    return recorder


def test_each_issued_licence_and_version_is_counted_once(office: LicenceOffice, metrics: Metrics) -> None:
    office.handle("ApplicationApproved", approved(item_code=FILING))
    assert metrics.added == []  # nothing issued, nothing counted
    licence_id = office.handle("ApplicationApproved", approved())["licence_id"]
    assert metrics.added == [("LicenceIssued", "Count", 1)]
    office.handle("LicenceVersionRequested", {"licence_id": licence_id, "action": "renew", "reason": "延续"})
    assert metrics.added == [("LicenceIssued", "Count", 1), ("LicenceVersionIssued", "Count", 1)]


AT = datetime(2025, 4, 1, 1, 2, 3, tzinfo=UTC)


def test_the_use_cases_are_dated_by_the_time_they_are_given(office: LicenceOffice) -> None:
    issued = office.issue(ApplicationApproved.parse(approved()), now=AT)
    assert issued is not None
    assert issued.issued_at == AT
    assert issued.history[-1].at == AT
    suspended = office.change_status(Action.SUSPEND, issued.licence_id, actor="r", reason="暂扣", now=AT)
    assert suspended.history[-1].at == AT
    office.change_status(Action.REINSTATE, issued.licence_id, actor="r", reason="恢复")
    later = datetime(2025, 5, 6, 7, 8, 9, tzinfo=UTC)
    changed = office.change(
        issued.licence_id, changes=LicenceChanges(holder_name="新名称"), actor="r", reason="更名", now=later
    )
    assert changed.issued_at == later
    renewed = office.renew(changed.licence_id, validity_years=None, actor="r", reason="延续", now=AT)
    assert renewed.issued_at == AT


def test_the_type_is_defined_by_the_catalogues_authority_not_the_sealer(pki: DevPki) -> None:
    other = replace(ISSUER, name_zh="某市数据局")
    office = LicenceOffice(
        catalogue=load_catalogue(),
        issuer=other,
        registry=MemoryRegistry(),
        store=MemoryBlobStore(),
        publisher=RecordingPublisher(),
        applications=Linker(),
        signer=lambda: LocalKeySigner.from_dev_pki(pki),
    )
    record = office.issue(ApplicationApproved.parse(approved()))
    assert record is not None
    assert record.metadata.definer_name == load_catalogue().authority.name_zh == "深圳市商务局"


def test_a_change_without_a_new_value_names_the_field(office: LicenceOffice) -> None:
    licence_id = office.handle("ApplicationApproved", approved())["licence_id"]
    publisher_of(office).events.clear()
    for holder_name in (None, ""):
        with pytest.raises(InvalidInput) as err:
            office.request_new_version(
                licence_id, action="change", actor="r", reason="变更", holder_name=holder_name
            )
        assert err.value.as_dict() == {
            "code": "licence_change_empty",
            "message": {
                "zh": "变更申请未包含任何变更内容（例如新的持证主体名称）。",
                "en": "The change does not alter anything (give, for example, the holder's new name).",
            },
            "details": [
                {
                    "code": "licence_change_empty",
                    "zh": "请填写变更后的内容。",
                    "en": "Give the new value.",
                    "field": "holder_name",
                }
            ],
        }
    assert publisher_of(office).events == []


def test_a_renewal_request_asks_for_the_term_given(office: LicenceOffice) -> None:
    licence_id = office.handle("ApplicationApproved", approved())["licence_id"]
    publisher_of(office).events.clear()
    record = office.request_new_version(
        licence_id, action="renew", actor="reviewer-li", reason="延续", validity_years=3
    )
    assert record == office.get(licence_id)  # the licence as it stands: nothing sealed yet
    [requested] = publisher_of(office).of("LicenceVersionRequested")
    del requested["requested_at"]
    assert requested == {
        "schema_version": 1,
        "licence_id": licence_id,
        "action": "renew",
        "reason": "延续",
        "validity_years": 3,
        "holder_name": None,
        "requested_by": "reviewer-li",
        "requested_role": None,
    }


class _Clock(datetime):
    """`datetime` on a host whose local clock is UTC-10: naive local time would be a Beijing day early."""

    instant: datetime = AT

    @classmethod
    def now(cls, tz: Any = None) -> Any:
        if tz is None:
            return (cls.instant - timedelta(hours=10)).replace(tzinfo=None)
        return cls.instant.astimezone(tz)


def test_a_licence_past_its_last_beijing_day_gets_no_new_version(
    office: LicenceOffice, monkeypatch: pytest.MonkeyPatch
) -> None:
    licence_id = office.handle("ApplicationApproved", approved())["licence_id"]
    until = office.get(licence_id).metadata.valid_until
    assert until is not None
    publisher_of(office).events.clear()
    # 17:00 UTC on the last day is 01:00 the next day in Beijing: expired.
    monkeypatch.setattr(_Clock, "instant", datetime.combine(until, time(17), UTC))
    monkeypatch.setattr(issuer_module, "datetime", _Clock)
    with pytest.raises(Conflict) as err:
        office.request_new_version(licence_id, action="renew", actor="r", reason="延续")
    assert err.value.code == "licence_illegal_transition"
    assert err.value.extra == {"licence_id": licence_id, "current_status": "05", "action": "supersede"}
    assert publisher_of(office).events == []
    # 15:59 UTC on the last day is 23:59 in Beijing: still valid, so the request goes out.
    monkeypatch.setattr(_Clock, "instant", datetime.combine(until, time(15, 59), UTC))
    office.request_new_version(licence_id, action="renew", actor="r", reason="延续")
    [requested] = publisher_of(office).of("LicenceVersionRequested")
    assert requested["requested_at"] == _Clock.instant.isoformat()
