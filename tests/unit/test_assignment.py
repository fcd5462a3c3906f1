"""Work assignment rules without AWS (issue 18 item 5): the lease read on every read (no sweep), the
queue filter, the escalation per due time, and what an action on a claimed application does (the
store here only records the conditional writes the use case asks for; moto runs the real ones in
tests/integration/test_api_assignment.py)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from onestop.applications import assignment
from onestop.applications.deps import ApplicationDeps
from onestop.applications.identity import Principal, Role
from onestop.applications.models import (
    Applicant,
    Application,
    ApplicationStatus,
    AuditEvent,
    DeadlineInfo,
    Escalation,
)
from onestop.errors import Conflict

NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
DUE = datetime(2026, 3, 3, 15, 59, 59, 999999, tzinfo=UTC)


def application(**changes: Any) -> Application:
    base = Application(
        id="a" * 32,
        item_code="x",
        item_name_zh="事项",
        item_name_en="Item",
        owner_sub="alice",
        applicant=Applicant(kind="enterprise", code="91440300MA5F00011X", name="公司"),
        status=ApplicationStatus.ACCEPTED,
        version=3,
        created_at=NOW - timedelta(days=3),
        updated_at=NOW - timedelta(days=1),
        submitted_at=NOW - timedelta(days=3),
        accepted_at=NOW - timedelta(days=2),
        deadline=DeadlineInfo(due=DUE, working_days=20, calendar_known=True),
    )
    return base.model_copy(update=changes)


def reviewer(sub: str, *roles: Role) -> Principal:
    return Principal(sub=sub, name=sub, roles=frozenset(roles or (Role.REVIEWER,)), username=sub)


@dataclass
class RecordingStore:
    """Answers each conditional write as the condition would, from the application it was given."""

    claims: list[tuple[str, datetime, list[str]]] = field(default_factory=list)
    recorded: list[AuditEvent] = field(default_factory=list)

    def claim(
        self,
        application: Application,
        *,
        assignee: str,
        name: str | None,
        until: datetime,
        now: datetime,
        events: Sequence[AuditEvent],
    ) -> bool:
        held = assignment.holder(application, now)
        if held not in (None, assignee):
            return False
        self.claims.append((assignee, until, [e.action for e in events]))
        return True

    def record(self, event: AuditEvent) -> None:
        self.recorded.append(event)


def deps(store: RecordingStore) -> ApplicationDeps:
    return ApplicationDeps(
        repository=None,  # type: ignore[arg-type]  # the rules below read no storage
        catalogue=None,  # type: ignore[arg-type]
        uploads=None,  # type: ignore[arg-type]
        publisher=None,  # type: ignore[arg-type]
        clock=None,  # type: ignore[arg-type]
        assignments=store,  # type: ignore[arg-type]
        now=lambda: NOW,
    )


def test_a_lease_is_read_against_the_clock_without_any_sweep() -> None:
    held = application(assignee="rev-a", assignee_until=NOW + timedelta(seconds=1))
    assert assignment.holder(held, NOW) == "rev-a"
    assert assignment.holder(held, NOW + timedelta(seconds=1)) is None  # ends exactly at its time
    assert assignment.holder(application(), NOW) is None


@pytest.mark.parametrize(
    ("assignee", "until", "mine", "unassigned"),
    [
        (None, None, False, True),
        ("rev-a", NOW + timedelta(hours=1), True, False),
        ("rev-b", NOW + timedelta(hours=1), False, False),
        ("rev-a", NOW - timedelta(seconds=1), False, True),  # lapsed: nobody's
    ],
)
def test_the_queue_filter(assignee: str | None, until: datetime | None, mine: bool, unassigned: bool) -> None:
    app = application(assignee=assignee, assignee_until=until)
    me = reviewer("rev-a")
    assert assignment.matches(app, me, "any", NOW)
    assert assignment.matches(app, me, "mine", NOW) is mine
    assert assignment.matches(app, me, "unassigned", NOW) is unassigned


def test_escalated_only_for_the_due_time_it_runs_under() -> None:
    stored_due = DUE.replace(microsecond=0)  # as the store keeps it: to the second
    app = application(escalated=Escalation(level="at_risk", due=stored_due, at=NOW))
    assert assignment.is_escalated(app)
    extended = app.model_copy(
        update={"deadline": DeadlineInfo(due=DUE + timedelta(days=10), working_days=30, calendar_known=True)}
    )
    assert not assignment.is_escalated(extended)
    assert not assignment.is_escalated(application())


def test_an_action_over_another_reviewers_claim_is_refused_naming_the_owner() -> None:
    store = RecordingStore()
    app = application(assignee="rev-a", assignee_name="审批员甲", assignee_until=NOW + timedelta(hours=1))
    with pytest.raises(Conflict) as refused:
        assignment.before_action(deps(store), reviewer("rev-b"), app, "approve")
    assert refused.value.code == "claimed_by_other"
    assert "审批员甲" in refused.value.zh
    assert "审批员甲" in refused.value.en
    assert refused.value.extra["assignee"] == "rev-a"
    assert store.claims == []


def test_an_admin_acts_over_a_claim_and_it_is_recorded() -> None:
    store = RecordingStore()
    app = application(assignee="rev-a", assignee_until=NOW + timedelta(hours=1))
    assignment.before_action(deps(store), reviewer("boss", Role.ADMIN), app, "approve")
    [event] = store.recorded
    assert (event.action, event.actor, event.actor_role) == ("admin_override", "boss", "admin")
    assert store.claims == []  # the claim stays with its owner


def test_acting_claims_an_unclaimed_application_and_renews_ones_own_quietly() -> None:
    store = RecordingStore()
    assignment.before_action(deps(store), reviewer("rev-a"), application(), "accept")
    own = application(assignee="rev-a", assignee_until=NOW + timedelta(minutes=5))
    assignment.before_action(deps(store), reviewer("rev-a"), own, "approve")
    lease = timedelta(seconds=4 * 3600)
    assert store.claims == [("rev-a", NOW + lease, ["claim"]), ("rev-a", NOW + lease, [])]


def test_acting_over_a_lapsed_claim_records_the_expiry_then_claims() -> None:
    store = RecordingStore()
    lapsed = application(assignee="rev-a", assignee_until=NOW - timedelta(minutes=1))
    assignment.before_action(deps(store), reviewer("rev-b"), lapsed, "approve")
    assert store.claims == [("rev-b", NOW + timedelta(hours=4), ["assignment_expired", "claim"])]


def test_a_repeated_escalation_is_skipped_before_any_write() -> None:
    class NoWrites:
        def escalate(self, *args: Any, **kwargs: Any) -> bool:
            raise AssertionError("no write for an escalation already made")

    stored_due = DUE.replace(microsecond=0)
    for done, asked in (("at_risk", "at_risk"), ("overdue", "overdue"), ("overdue", "at_risk")):
        app = application(escalated=Escalation(level=done, due=stored_due, at=NOW))  # type: ignore[arg-type]
        assert not assignment.escalate(
            NoWrites(),  # type: ignore[arg-type]
            None,  # type: ignore[arg-type]
            app,
            sort_key="k",
            level=asked,
            due=DUE,
            working_days_left=0,
            now=NOW,
        )
