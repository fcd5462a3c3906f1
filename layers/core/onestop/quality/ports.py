"""What the quality package needs from storage (`onestop.aws.quality_repository` implements it all)."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from onestop.applications.models import Application, ApplicationStatus, Page

from .models import DeadlineFlag, FlagLevel, RectificationCase, Review, SweepCandidate


class ApplicationReader(Protocol):
    """Reads one application (`DynamoApplicationRepository` satisfies it)."""

    def get(self, application_id: str) -> Application | None: ...


class ReviewStore(Protocol):
    """Reviews (PK `APP#<id>`, SK `REVIEW`) and rectification cases (PK `CASE#<id>`, SK `META`)."""

    def get_review(self, application_id: str) -> Review | None: ...

    def create_review(self, review: Review, case: RectificationCase | None) -> None:
        """Store the review (and its case) only if the application has none yet; Conflict otherwise."""
        ...

    def get_case(self, case_id: str) -> RectificationCase | None: ...

    def list_cases(self, status: str, *, limit: int, cursor: str | None) -> Page[RectificationCase]: ...

    def unclosed_cases(self) -> list[RectificationCase]: ...

    def update_case(self, before: RectificationCase, after: RectificationCase) -> None:
        """Write `after` only if the stored case still has `before`'s status and version (else Conflict)."""
        ...


class SweepStore(Protocol):
    """Applications by status and due time, and the flag the sweep leaves on them."""

    def due_before(self, status: ApplicationStatus, before: datetime) -> Iterable[SweepCandidate]:
        """Applications in `status` whose due time is before `before`, earliest first (an index query)."""
        ...

    def set_flag(
        self, candidate: SweepCandidate, flag: DeadlineFlag, replaces: Collection[FlagLevel]
    ) -> bool:
        """Set the flag if the application is still in the same status with the same due time and has no
        flag for this due time, or only one of a level in `replaces`. False when it already had one."""
        ...

    def mark_published(self, application_id: str, flag: DeadlineFlag) -> None: ...


class KpiSource(Protocol):
    """The reads the KPI report needs."""

    def applications(
        self, status: ApplicationStatus, *, updated_since: datetime | None
    ) -> Iterable[Application]:
        """Every application in `status` (changed at or after `updated_since` when given)."""
        ...

    def correction_times(self, application_id: str) -> list[datetime]:
        """When the application was returned for correction (its `request_correction` audit events)."""
        ...

    def reviews_between(self, start: datetime, end: datetime) -> Iterable[Review]:
        """Reviews created in [start, end)."""
        ...

    def unclosed_cases(self) -> list[RectificationCase]: ...

    def issued_licences(self, applications: Sequence[Application]) -> set[str]:
        """Ids of those applications whose licence has been issued (sealed and registered)."""
        ...


class CorrectionSource(Protocol):
    """The materials catalogued in a period, with their reviewers' corrections (`quality.corrections`)."""

    def materials_between(self, start: datetime, end: datetime) -> Iterable[Mapping[str, Any]]:
        """Material records (classification, corrections, status) catalogued in [start, end)."""
        ...
