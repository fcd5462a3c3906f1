"""What the applications service needs from storage and from the clock (`onestop.aws` implements storage)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from onestop.outbox import OwedEvent

from .models import Application, ApplicationStatus, AuditEvent, Material, Page


@dataclass(frozen=True)
class ApplicationBundle:
    """An application with everything stored under it, read together."""

    application: Application
    materials: list[Material]
    events: list[AuditEvent]


@dataclass(frozen=True)
class QueueSlice:
    """Applications in one status ordered by due time; each with the cursor that resumes after it."""

    entries: list[tuple[Application, str]]
    next_cursor: str | None


class ApplicationRepository(Protocol):
    """Persistence of applications, materials and audit events.

    Every state change is conditional on the status and version the caller read: a transition that
    lost a race or is no longer legal raises `onestop.errors.Conflict` carrying the current state.
    """

    def create(self, application: Application, event: AuditEvent) -> None: ...

    def get(self, application_id: str) -> Application | None: ...

    def load(self, application_id: str) -> ApplicationBundle | None: ...

    def list_materials(self, application_id: str) -> list[Material]: ...

    def transition(
        self,
        before: Application,
        after: Application,
        event: AuditEvent,
        outbox: Mapping[str, Mapping[str, Any]] | None = None,
        owed: Sequence[OwedEvent] = (),
    ) -> None: ...

    def add_material(
        self,
        application: Application,
        material: Material,
        event: AuditEvent | None = None,
        owed: OwedEvent | None = None,
    ) -> None:
        """Add `material` while the application is editable and unchanged; with `event` and the event
        it `owed` the bus (kept in the outbox until cleared), in the same write."""
        ...

    def remove_material(self, application: Application, material: Material, event: AuditEvent) -> None: ...

    def apply_correction(
        self,
        before: Application,
        after: Application,
        material_before: Material,
        material_after: Material,
        event: AuditEvent,
    ) -> None:
        """A reviewer's correction (`applications.corrections`): the material, the application (version
        moved on, pinned evidence listing the correction) and the audit event in one write, only if
        the application and the material are still as read (Conflict otherwise)."""
        ...

    def clear_owed(self, owed: OwedEvent) -> None:
        """`owed` was published: forget it (and, for a transition's, its `pending_events` marker)."""
        ...

    def pending_outbox(self, limit: int = 100) -> list[OwedEvent]: ...

    def list_by_owner(self, owner_sub: str, *, limit: int, cursor: str | None) -> Page[Application]: ...

    def list_window_by_party(
        self, kind: str, code: str, *, limit: int, cursor: str | None
    ) -> Page[Application]:
        """Applications made at the service window for the party (`applications.window`), newest first."""
        ...

    def take_quota(self, owner_sub: str, counter: str, limit: int, *, expires_at: datetime | None) -> bool:
        """Add one to the account's `counter` if it is below `limit` (one conditional write); False,
        and nothing written, when it is not. `expires_at`: when the counter may be forgotten."""
        ...

    def give_back_quota(self, owner_sub: str, counter: str) -> None:
        """Take one off the account's `counter` (the write it was taken for did not happen)."""
        ...

    def list_by_status(
        self,
        status: ApplicationStatus,
        *,
        limit: int,
        cursor: str | None,
        due_before: datetime | None = None,
    ) -> QueueSlice: ...


class Deadline(Protocol):
    """What `WorkingDayClock.add_working_days` returns."""

    @property
    def due(self) -> datetime: ...
    @property
    def working_days(self) -> int: ...
    @property
    def calendar_known(self) -> bool: ...
    @property
    def note_zh(self) -> str | None: ...
    @property
    def note_en(self) -> str | None: ...


class Clock(Protocol):
    """Working-day arithmetic (`onestop.applications.clock.WorkingDayClock`)."""

    def add_working_days(self, start: datetime, days: int) -> Deadline: ...

    def working_days_between(self, start: datetime, end: datetime) -> int: ...

    def calendar_known(self, year: int) -> bool: ...

    # The clock's own `Deadline` in and out (`applications.pauses`).
    def extend_for_pause(self, deadline: Any, paused_from: datetime, resumed_at: datetime) -> Any: ...

    def extend(self, deadline: Any, days: int, reason: str) -> Any: ...

    def is_at_risk(self, due: datetime, now: datetime) -> bool: ...

    def at_risk_horizon(self, now: datetime) -> datetime: ...
