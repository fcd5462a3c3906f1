"""What the licence service needs from the registry (implemented by `onestop.aws.licence_registry`).

Every method that changes state is conditional: reserving twice, completing twice, or a transition
from the wrong status never overwrites; it raises (`AlreadyReserved`, or `onestop.errors.Conflict`
carrying the current status).
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from .models import AuditEntry, LicenceRecord, LicenceStatus, StoredPdf


class AlreadyReserved(Exception):
    """The application (or the licence id) already has a record; `licence_id` names it."""

    def __init__(self, licence_id: str) -> None:
        super().__init__(f"already reserved as {licence_id}")
        self.licence_id = licence_id


class LicenceRegistry(Protocol):
    """The e-licence registry."""

    def next_serial(self, year: int) -> int:
        """An atomic per-year counter (1, 2, 3, …); gaps are allowed, repeats never."""
        ...

    def licence_for_application(self, application_id: str) -> str | None:
        """The licence id issued (or being issued) for an approved application, if any."""
        ...

    def reserve(self, record: LicenceRecord, *, guard_application: bool) -> None:
        """Create `record` (status issuing) unless it exists; with `guard_application`, also claim
        the record's application so that it never gets a second licence. Raises `AlreadyReserved`."""
        ...

    def get(self, licence_id: str) -> LicenceRecord | None:
        """The record in any status, including the internal `issuing`."""
        ...

    def complete(
        self,
        licence_id: str,
        *,
        pdf: StoredPdf,
        seal_cert_sha256: str,
        issued_at: datetime,
        entry: AuditEntry,
        supersede: tuple[str, AuditEntry] | None = None,
    ) -> LicenceRecord:
        """issuing → valid with the stored PDF; with `supersede=(old id, entry)`, atomically mark the
        old version superseded by this one (old must be valid). Raises Conflict otherwise."""
        ...

    def transition(
        self, licence_id: str, *, allowed_from: frozenset[LicenceStatus], entry: AuditEntry
    ) -> LicenceRecord:
        """Set `entry.to_status` if the current status is in `allowed_from`; append `entry` to the
        history and the audit trail. Raises NotFound, or Conflict with the current status."""
        ...

    def mark_published(self, licence_id: str) -> None:
        """Remember that LicenceIssued went out for this record."""
        ...

    def by_holder(self, holder_code: str) -> list[LicenceRecord]:
        """Visible licences of a holder, newest first."""
        ...

    def next_status_index(self, list_name: str) -> int:
        """An atomic per-status-list counter from 0 (the QR credential's index); gaps are allowed,
        repeats never. `reserve` of a record carrying the index also claims it, conditionally."""
        ...

    def status_entries(self, list_name: str) -> dict[int, LicenceStatus]:
        """index -> current status of every reserved licence version holding an index in `list_name`."""
        ...

    def status_list_names(self) -> list[str]:
        """The status lists that have handed out at least one index (one per licence type)."""
        ...
