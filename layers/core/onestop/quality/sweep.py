"""The deadline sweep: flags applications at risk (≤ 1 working day left) or overdue, once per due time.

Access pattern: for each status that has a running clock — `submitted` (the acceptance notice period)
and `accepted` (the promised decision limit) — one query on the `ByStatusDeadline` index with the key
condition `GSI1SK < <end of the second working day from now>`. Sort keys start with the due time, so
the query reads only applications due soon or already late, never the whole status, and never scans.
(`correction_requested` is filed under "9999": the clock waits for the applicant; so is an accepted
application whose clock a hearing, expert review or on-site inspection holds, `applications.pauses`.
Their due time is the effective one: pauses given back and the extension added.)

Idempotence: a flag is a conditional update of `deadline_flag` = {level, due, …} on the application,
which succeeds only if the application is still in that status under that due time and has no flag
for that due time yet (an at-risk flag may still be raised to overdue). Only a successful update
publishes DeadlineAtRisk / DeadlineOverdue, so a second run flags nothing new and publishes nothing
new. A new due time (extension, a fresh acceptance) may be flagged again. If the bus fails after the
flag is written, the flag stays `published: false` and the next run publishes it.

Escalation (issue 18 item 5): each application at risk or overdue is also escalated to the admins by
`applications.assignment.escalate`, once per due time and level by its own conditional write, with
ApplicationEscalated owed in the outbox (the drain at the start of every run retries it).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime
from functools import partial
from typing import Protocol

from onestop.applications.assignment import AssignmentStore, escalate
from onestop.applications.clock import SHANGHAI, WorkingDayClock
from onestop.applications.models import Application, ApplicationStatus, iso
from onestop.applications.pauses import is_paused
from onestop.events import DeadlineAtRisk, DeadlineFlagged, DeadlineOverdue
from onestop.observability import logger, metrics
from onestop.outbox import OwedEvent, deliver
from onestop.ports import EventPublisher

from .models import DeadlineFlag, DeadlineKind, FlagLevel, RectificationCase, SweepCandidate
from .ports import SweepStore

FLAG_EVENTS: dict[FlagLevel, type[DeadlineFlagged]] = {
    FlagLevel.AT_RISK: DeadlineAtRisk,
    FlagLevel.OVERDUE: DeadlineOverdue,
}

# Statuses whose clock is running, and which deadline it is.
SWEPT_STATUSES: dict[ApplicationStatus, DeadlineKind] = {
    ApplicationStatus.SUBMITTED: DeadlineKind.ACCEPTANCE,
    ApplicationStatus.ACCEPTED: DeadlineKind.DECISION,
}


@dataclass(frozen=True)
class SweepResult:
    """What one sweep saw and did."""

    examined: int = 0  # applications read from the index
    at_risk: int = 0  # at risk now (flagged in this run or before)
    overdue: int = 0  # overdue now
    newly_at_risk: int = 0  # flags raised in this run
    newly_overdue: int = 0
    events_published: int = 0  # includes retries of flags whose event did not go out before
    events_failed: int = 0
    cases_open: int = 0  # rectification cases not closed
    cases_overdue: int = 0  # … past their deadline
    escalated: int = 0  # escalated to the admins in this run (once per due time and level)

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


class CaseReader(Protocol):
    """What the sweep needs to count rectification cases (`ReviewStore` satisfies it)."""

    def unclosed_cases(self) -> list[RectificationCase]: ...


def classify(clock: WorkingDayClock, due: datetime, now: datetime) -> FlagLevel | None:
    """Overdue once past `due`; at risk with at most one working day left after today; else None."""
    if clock.is_overdue(due, now):
        return FlagLevel.OVERDUE
    if clock.is_at_risk(due, now):
        return FlagLevel.AT_RISK
    return None


def horizon(clock: WorkingDayClock, now: datetime) -> datetime:
    """A due time at or after which nothing can be at risk: the end of the second working day from now.

    `remaining` counts working days after today up to the due day, so a due day on or after the
    second working day from today leaves at least two.
    """
    return clock.at_risk_horizon(now)


def _replaceable(level: FlagLevel) -> tuple[FlagLevel, ...]:
    # An at-risk flag may be raised to overdue for the same due time; nothing is ever lowered.
    return (FlagLevel.AT_RISK,) if level is FlagLevel.OVERDUE else ()


class DeadlineSweep:
    """Runs the sweep over the store; publishes one event per new flag."""

    def __init__(
        self,
        store: SweepStore,
        publisher: EventPublisher,
        clock: WorkingDayClock,
        *,
        cases: CaseReader | None = None,
        escalations: AssignmentStore | None = None,
    ) -> None:
        self.store = store
        self.publisher = publisher
        self.clock = clock
        self.cases = cases
        self.escalations = escalations

    def run(self, now: datetime) -> SweepResult:
        """Sweep as of `now` (timezone-aware); returns the counts and emits them as metrics."""
        if now.tzinfo is None:
            raise ValueError("the sweep needs a timezone-aware now")
        until = horizon(self.clock, now)
        counts = dict.fromkeys(SweepResult.__dataclass_fields__, 0)
        for status, kind in SWEPT_STATUSES.items():
            self._sweep(self.store.due_before(status, until), status, kind, now, counts)
        if self.cases is not None:
            unclosed = self.cases.unclosed_cases()
            counts["cases_open"] = len(unclosed)
            counts["cases_overdue"] = sum(1 for c in unclosed if c.overdue(now))
        result = SweepResult(**counts)
        self._emit(result)
        logger.info("deadline sweep", extra={"as_of": now.isoformat(), **result.as_dict()})
        return result

    def _sweep(
        self,
        candidates: Iterable[SweepCandidate],
        status: ApplicationStatus,
        kind: DeadlineKind,
        now: datetime,
        counts: dict[str, int],
    ) -> None:
        for candidate in candidates:
            counts["examined"] += 1
            application = candidate.application
            due = application.queue_due()
            if due is None or ApplicationStatus(application.status) != status or is_paused(application):
                continue  # a paused clock is never late (an index read before the pause began)
            level = classify(self.clock, due, now)
            if level is None:
                continue
            counts[level.value] += 1
            if self.escalations is not None and escalate(
                self.escalations,
                self.publisher,
                application,
                sort_key=candidate.sort_key,
                level=level.value,
                due=due,
                working_days_left=self.clock.remaining(due, now),
                now=now,
            ):
                counts["escalated"] += 1
            flag = DeadlineFlag(level=level, due=iso(due), status=status, kind=kind, flagged_at=iso(now))
            existing = candidate.flag
            if existing is not None and existing.due == flag.due and existing.level == level:
                if not existing.published:  # flagged before, but the event never went out
                    self._publish(application, existing, now, counts)
                continue
            if (
                existing is not None
                and existing.due == flag.due
                and existing.level not in _replaceable(level)
            ):
                continue  # already flagged at a higher level for this due time
            if not self.store.set_flag(candidate, flag, _replaceable(level)):
                continue  # another run flagged it, or it moved on since the index was read
            counts[f"newly_{level.value}"] += 1
            self._publish(application, flag, now, counts)

    def _publish(
        self, application: Application, flag: DeadlineFlag, now: datetime, counts: dict[str, int]
    ) -> None:
        due = datetime.fromisoformat(flag.due.replace("Z", "+00:00"))
        event = FLAG_EVENTS[flag.level](
            application_id=application.id,
            item_code=application.item_code,
            item_name_zh=application.item_name_zh,
            item_name_en=application.item_name_en,
            status=flag.status.value,
            deadline_kind=flag.kind.value,
            level=flag.level.value,
            due=flag.due,
            due_local_date=due.astimezone(SHANGHAI).date().isoformat(),
            working_days_left=self.clock.remaining(due, now),
            flagged_at=flag.flagged_at,
        )
        # Owed since the flag was written `published: false`; a failure leaves it for the next run.
        owed = OwedEvent.of(event, owner=application.id)
        if deliver(self.publisher, owed, partial(self.store.mark_published, application.id, flag)):
            counts["events_published"] += 1
        else:
            counts["events_failed"] += 1

    @staticmethod
    def _emit(result: SweepResult) -> None:
        # Gauges (the dashboard and the "zero overdue" alarm read their Maximum) and this run's flags.
        metrics.add_metric(name="ApplicationsOverdue", unit="Count", value=result.overdue)
        metrics.add_metric(name="ApplicationsAtRisk", unit="Count", value=result.at_risk)
        metrics.add_metric(
            name="DeadlineFlagsRaised", unit="Count", value=result.newly_at_risk + result.newly_overdue
        )
        metrics.add_metric(name="DeadlineEventsFailed", unit="Count", value=result.events_failed)
        metrics.add_metric(name="BadReviewCasesOpen", unit="Count", value=result.cases_open)
        metrics.add_metric(name="BadReviewCasesOverdue", unit="Count", value=result.cases_overdue)
