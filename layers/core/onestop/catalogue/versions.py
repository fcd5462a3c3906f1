"""Catalogue versions: every change makes a new immutable version; applications pin the one they were
created with.

Version 1 is the shipped catalogue (``items.yaml``, ``material_types.yaml``) until an admin first
changes it; that first change stores version 1 beside version 2, so later deploys of other YAML do
not alter what version 1 meant. A change is validated exactly as at load (`validate_catalogue`),
written only if the current version is still the one it was made from (else `VersionConflict`: no
lost update), and audited with who, when, in which role and what changed.

Reads: a stored version never changes, so each is cached for the life of the process; the current
version's number is re-read at most every `pointer_ttl` seconds (5 s by default: another container's
edit shows on the public catalogue within that; this container's own edit at once). What must be
exact reads it afresh (`current_version_fresh`): a new application's pin, a change's base check.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from onestop.errors import Conflict, NotFound, Reason
from onestop.observability import logger

from .loader import catalogue_data, load_catalogue, validate_catalogue
from .models import Catalogue

SHIPPED = 1
# How long a container trusts the current version's number before reading it again (seconds).
POINTER_TTL_SECONDS = 5.0


@dataclass(frozen=True)
class Changes:
    """What a version changed against its base: item codes added, changed (with the fields that
    changed) and removed, and the other sections (authority, material types, blank words) changed."""

    added: tuple[str, ...] = ()
    changed: tuple[tuple[str, tuple[str, ...]], ...] = ()
    removed: tuple[str, ...] = ()
    sections: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.added or self.changed or self.removed or self.sections)

    def summary(self) -> tuple[str, str]:
        """One line in Chinese and in English."""
        zh: list[str] = []
        en: list[str] = []
        if self.added:
            zh.append("新增事项 " + "、".join(self.added))
            en.append("added " + ", ".join(self.added))
        if self.changed:
            zh.append("修改事项 " + "、".join(f"{c}（{'、'.join(f)}）" for c, f in self.changed))
            en.append("changed " + ", ".join(f"{c} ({', '.join(f)})" for c, f in self.changed))
        if self.removed:
            zh.append("移除事项 " + "、".join(self.removed))
            en.append("removed " + ", ".join(self.removed))
        if self.sections:
            zh.append("修改 " + "、".join(self.sections))
            en.append("changed " + ", ".join(self.sections))
        return ("；".join(zh) or "无变化", "; ".join(en) or "no change")

    def as_dict(self) -> dict[str, Any]:
        return {
            "added": list(self.added),
            "changed": [{"code": c, "fields": list(f)} for c, f in self.changed],
            "removed": list(self.removed),
            "sections": list(self.sections),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Changes:
        return cls(
            added=tuple(data.get("added") or ()),
            changed=tuple((c["code"], tuple(c["fields"])) for c in data.get("changed") or ()),
            removed=tuple(data.get("removed") or ()),
            sections=tuple(data.get("sections") or ()),
        )


def diff(before: Catalogue, after: Catalogue) -> Changes:
    """What `after` changed against `before` (items by code, fields by name)."""
    old = {i.code: i for i in before.items}
    new = {i.code: i for i in after.items}
    changed = []
    for code, item in new.items():
        if code in old and old[code] != item:
            a, b = old[code].model_dump(), item.model_dump()
            changed.append((code, tuple(k for k in b if a.get(k) != b.get(k))))
    sections = tuple(
        name
        for name in ("authority", "material_types", "blank_words")
        if getattr(before, name) != getattr(after, name)
    )
    return Changes(
        added=tuple(c for c in new if c not in old),
        changed=tuple(changed),
        removed=tuple(c for c in old if c not in new),
        sections=sections,
    )


@dataclass(frozen=True)
class VersionRecord:
    """The audit of one version: who made it from which base, when, in which role, what changed."""

    version: int
    created_at: datetime | None  # None: the shipped catalogue (made by no one, at no recorded time)
    actor: str
    actor_role: str
    changes: Changes
    base: int | None = None
    comment: str | None = None

    @property
    def summary(self) -> tuple[str, str]:
        if self.base is None:
            return ("随系统发布的事项目录", "the catalogue shipped with the system")
        return self.changes.summary()


def shipped_record() -> VersionRecord:
    """Version 1's audit: the shipped catalogue, not made by anyone."""
    return VersionRecord(
        version=SHIPPED,
        created_at=None,
        actor="system",
        actor_role="system",
        changes=Changes(),
    )


class VersionConflict(Exception):
    """The current version moved on since the change's base (another admin's change came first)."""

    def __init__(self, current: int) -> None:
        super().__init__(f"the current catalogue version is {current}")
        self.current = current


class CatalogueRepository(Protocol):
    """Where versions are kept (`onestop.aws.catalogue_repository` in the table)."""

    def current_version(self) -> int | None:
        """The current version's number; None when no version was ever stored."""

    def get(self, version: int) -> tuple[VersionRecord, dict[str, Any]] | None:
        """A stored version's audit and data; None when not stored."""

    def records(self) -> list[VersionRecord]:
        """Every stored version's audit, oldest first."""

    def put(
        self,
        record: VersionRecord,
        data: Mapping[str, Any],
        *,
        seed: tuple[VersionRecord, Mapping[str, Any]] | None = None,
    ) -> None:
        """Store `record.version` and make it current, only if the current version is still
        `record.base` (and, with `seed`, store version 1 too: nothing stored yet); else raise
        `VersionConflict` with the current number."""


def conflict(current: int, base: int) -> Conflict:
    """The 409 of a change made from an old version."""
    return Conflict(
        "catalogue_version_conflict",
        f"事项目录已被修改：当前版本为 {current}，您的修改基于版本 {base}。请刷新后重新修改。",
        f"The catalogue changed meanwhile: the current version is {current}, your change was made "
        f"from version {base}. Reload and make the change again.",
        [
            Reason(
                "catalogue_version_conflict",
                f"当前版本：{current}",
                f"Current version: {current}",
                "base_version",
            )
        ],
        extra={"current_version": current},
    )


def _not_found(version: int) -> NotFound:
    return NotFound(
        "catalogue_version_not_found",
        f"事项目录没有版本 {version}。",
        f"The catalogue has no version {version}.",
    )


@dataclass
class CatalogueBook:
    """The catalogue's versions as the use cases read them: the current one, any pinned one, the audit.

    Without a repository (unit tests, tools) there is only version 1, the shipped catalogue (or the
    one given as `seed`)."""

    repository: CatalogueRepository | None = None
    seed: Callable[[], Catalogue] = load_catalogue
    pointer_ttl: float = POINTER_TTL_SECONDS
    monotonic: Callable[[], float] = time.monotonic
    _versions: dict[int, Catalogue] = field(default_factory=dict, repr=False)
    _pointer: tuple[int, float] | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def fixed(cls, catalogue: Catalogue) -> CatalogueBook:
        """A book of one version: `catalogue`."""
        return cls(repository=None, seed=lambda: catalogue)

    # ----------------------------------------------------------------- reading

    def current_version(self) -> int:
        """The current version's number (re-read after `pointer_ttl` seconds)."""
        if self.repository is None:
            return SHIPPED
        now = self.monotonic()
        pointer = self._pointer
        if pointer is not None and now - pointer[1] < self.pointer_ttl:
            return pointer[0]
        version = self.repository.current_version() or SHIPPED
        self._pointer = (version, now)
        return version

    def current(self) -> Catalogue:
        return self.at(self.current_version())

    def current_or_last_known(self) -> Catalogue:
        """The current version for public reading: if the versions cannot be read (the table is
        unreachable), the last version this container knew (the shipped one if none), logged. Never
        used for a pin or a change: those read the table or fail."""
        try:
            return self.current()
        except Exception:  # any failure of the store; the pins and changes still raise
            logger.warning("catalogue versions unreadable; serving the last known", exc_info=True)
            pointer = self._pointer
            known = self._versions.get(pointer[0]) if pointer is not None else None
            return known if known is not None else self.seed()

    def at(self, version: int | None) -> Catalogue:
        """Version `version` (None: an application from before versions, i.e. version 1); cached."""
        number = SHIPPED if version is None else version
        found = self._versions.get(number)
        if found is not None:
            return found
        with self._lock:
            found = self._versions.get(number)
            if found is None:
                found = self._load(number)
                self._versions[number] = found
        return found

    def of(self, application: Any) -> Catalogue:
        """The version an application pinned (its `catalogue_version`)."""
        return self.at(getattr(application, "catalogue_version", None))

    def item(self, code: str) -> Any:
        """An item of the current version (`Catalogue.item`)."""
        return self.current().item(code)

    @property
    def items(self) -> list[Any]:
        return self.current().items

    @property
    def material_types(self) -> list[Any]:
        return self.current().material_types

    @property
    def authority(self) -> Any:
        return self.current().authority

    def _load(self, version: int) -> Catalogue:
        stored = self.repository.get(version) if self.repository is not None else None
        if stored is not None:
            return validate_catalogue(stored[1], source=f"catalogue version {version}")
        if version == SHIPPED:
            return self.seed()
        raise _not_found(version)

    def records(self) -> list[VersionRecord]:
        """Every version's audit, newest first (version 1 the shipped one when not stored)."""
        stored = self.repository.records() if self.repository is not None else []
        if not any(r.version == SHIPPED for r in stored):
            stored = [shipped_record(), *stored]
        return sorted(stored, key=lambda r: r.version, reverse=True)

    def record(self, version: int) -> VersionRecord:
        stored = self.repository.get(version) if self.repository is not None else None
        if stored is not None:
            return stored[0]
        if version == SHIPPED:
            return shipped_record()
        raise _not_found(version)

    # ----------------------------------------------------------------- changing

    def change(
        self,
        base: int,
        data: Mapping[str, Any],
        *,
        actor: str,
        actor_role: str,
        now: datetime,
        comment: str | None = None,
    ) -> tuple[VersionRecord, Catalogue]:
        """Validate `data` as at load and store it as version `base + 1`; `Conflict` (409) when the
        current version is no longer `base`, `InvalidInput` via `CatalogueError` when invalid."""
        if self.repository is None:
            raise RuntimeError("this catalogue book has no repository to store versions in")
        catalogue = validate_catalogue(data, source="change")
        current = self.current_version_fresh()
        if current != base:
            raise conflict(current, base)
        before = self.at(base)
        changes = diff(before, catalogue)
        record = VersionRecord(
            version=base + 1,
            created_at=now,
            actor=actor,
            actor_role=actor_role,
            changes=changes,
            base=base,
            comment=comment,
        )
        seed = None
        if base == SHIPPED and self.repository.get(SHIPPED) is None:
            seed = (shipped_record(), catalogue_data(before))
        try:
            self.repository.put(record, catalogue_data(catalogue), seed=seed)
        except VersionConflict as exc:
            self._pointer = (exc.current, self.monotonic())
            raise conflict(exc.current, base) from None
        self._versions[record.version] = catalogue
        self._pointer = (record.version, self.monotonic())
        return record, catalogue

    def current_version_fresh(self) -> int:
        """The current version's number read now (no TTL): what a change is checked against."""
        self._pointer = None
        return self.current_version()
