"""Catalogue versions without AWS: one validation for files, edits and YAML; the diff the audit
records; the YAML round trip; the book's caching, pointer TTL and conflict (issue 18 item 1)."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import pytest
from onestop.catalogue import load_catalogue
from onestop.catalogue.coverage import catalogue_coverage
from onestop.catalogue.editing import Editor, add_item, edit_item, import_yaml, retire_item
from onestop.catalogue.loader import (
    CatalogueError,
    catalogue_data,
    catalogue_yaml,
    parse_catalogue_yaml,
    validate_catalogue,
)
from onestop.catalogue.versions import CatalogueBook, VersionConflict, VersionRecord, diff
from onestop.errors import Conflict, Forbidden, InvalidInput, NotFound

NOW = datetime(2026, 6, 1, 9, tzinfo=UTC)
ADMIN = Editor(label="admin-1", role="admin", is_admin=True)
REVIEWER = Editor(label="reviewer-1", role="reviewer", is_admin=False)
ITEM = "outbound-investment-filing"


class MemoryRepository:
    """The repository port in memory, with the same conditional write as the table's."""

    def __init__(self) -> None:
        self.versions: dict[int, tuple[VersionRecord, dict[str, Any]]] = {}
        self.pointer: int | None = None
        self.pointer_reads = 0
        self.gets = 0

    def current_version(self) -> int | None:
        self.pointer_reads += 1
        return self.pointer

    def get(self, version: int) -> tuple[VersionRecord, dict[str, Any]] | None:
        self.gets += 1
        found = self.versions.get(version)
        return None if found is None else (found[0], copy.deepcopy(found[1]))

    def records(self) -> list[VersionRecord]:
        return [r for r, _ in self.versions.values()]

    def put(
        self,
        record: VersionRecord,
        data: Mapping[str, Any],
        *,
        seed: tuple[VersionRecord, Mapping[str, Any]] | None = None,
    ) -> None:
        if (self.pointer or 1) != record.base or record.version in self.versions:
            raise VersionConflict(self.pointer or 1)
        if seed is not None:
            self.versions[1] = (seed[0], dict(seed[1]))
        self.versions[record.version] = (record, copy.deepcopy(dict(data)))
        self.pointer = record.version


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def book_with(repository: MemoryRepository, clock: Clock | None = None) -> CatalogueBook:
    return CatalogueBook(repository=repository, monotonic=clock or Clock())


def item_data(code: str = ITEM) -> dict[str, Any]:
    return copy.deepcopy(next(i for i in catalogue_data(load_catalogue())["items"] if i["code"] == code))


# ----------------------------------------------------------------------------- validation, YAML


def test_the_shipped_catalogue_round_trips_through_data_and_yaml() -> None:
    shipped = load_catalogue()
    assert validate_catalogue(catalogue_data(shipped)) == shipped
    text = catalogue_yaml(shipped)
    assert parse_catalogue_yaml(text) == shipped
    assert catalogue_yaml(parse_catalogue_yaml(text)) == text


def test_the_bureau_lists_116_items_in_five_categories() -> None:
    coverage = catalogue_coverage(load_catalogue(), 1)
    listed = {c.category: c.listed for c in coverage.by_category}
    assert listed == {
        "administrative_licensing": 20,
        "administrative_inspection": 3,
        "administrative_confirmation": 1,
        "public_service": 87,
        "other_power": 14,
    }
    assert (coverage.catalogued, coverage.listed) == (len(load_catalogue().items), 116)
    assert coverage.rate == round(len(load_catalogue().items) / 116, 4)
    assert sum(c.catalogued for c in coverage.by_category) == coverage.catalogued


def test_more_catalogued_than_the_bureau_lists_is_refused() -> None:
    data = catalogue_data(load_catalogue())
    data["authority"]["service_items"]["administrative_inspection"] = 0
    inspection = [i for i in data["items"] if i["category"] == "administrative_inspection"]
    if not inspection:
        item = item_data()
        item.update(code="an-inspection", category="administrative_inspection")
        item.pop("licence", None)
        data["items"].append(item)
    with pytest.raises(CatalogueError, match="lists only 0"):
        validate_catalogue(data)


def test_yaml_problems_name_their_line() -> None:
    text = catalogue_yaml(load_catalogue())
    lines = text.splitlines()
    n = next(i for i, line in enumerate(lines) if line.strip().startswith("promised_limit_days:"))
    lines[n] = lines[n].split(":")[0] + ": 999"
    with pytest.raises(CatalogueError) as exc:
        parse_catalogue_yaml("\n".join(lines))
    assert [p.line for p in exc.value.problems if "promised_limit_days" in p.where] == [n + 1]

    with pytest.raises(CatalogueError) as broken:
        parse_catalogue_yaml("items:\n  - code: a\n    code: b\n")
    assert broken.value.problems[0].line == 3  # the duplicate key


def test_diff_names_items_and_fields() -> None:
    before = load_catalogue()
    data = catalogue_data(before)
    changed = next(i for i in data["items"] if i["code"] == ITEM)
    changed["fee"] = "10 元"
    last = max(n for n, i in enumerate(data["items"]) if i["code"] != ITEM)
    removed = data["items"].pop(last)["code"]
    added = item_data()
    added["code"] = "a-new-item"
    added.pop("licence", None)
    data["items"].append(added)
    changes = diff(before, validate_catalogue(data))
    assert changes.added == ("a-new-item",)
    assert changes.removed == (removed,)
    assert changes.changed == ((ITEM, ("fee",)),)
    zh, en = changes.summary()
    assert "a-new-item" in zh
    assert removed in en
    assert "fee" in en


# ----------------------------------------------------------------------------- the book


def test_without_a_change_version_1_is_the_shipped_catalogue_and_nothing_is_stored() -> None:
    repository = MemoryRepository()
    book = book_with(repository)
    assert book.current_version() == 1
    assert book.current() == load_catalogue()
    assert [r.version for r in book.records()] == [1]
    assert repository.versions == {}
    with pytest.raises(NotFound):
        book.at(2)


def test_a_change_stores_version_1_and_2_and_pins_stay_readable() -> None:
    repository = MemoryRepository()
    book = book_with(repository)
    item = item_data()
    item["promised_limit_days"] = 1
    record, catalogue = edit_item(book, ADMIN, 1, ITEM, item, NOW, "短一点")
    assert (record.version, record.base, record.actor, record.actor_role) == (2, 1, "admin-1", "admin")
    assert record.changes.changed == ((ITEM, ("promised_limit_days",)),)
    assert record.comment == "短一点"
    assert sorted(repository.versions) == [1, 2]
    assert catalogue.item(ITEM).promised_limit_days == 1
    assert book.at(1).item(ITEM).promised_limit_days == load_catalogue().item(ITEM).promised_limit_days
    assert book.current_version() == 2

    # Another process reads the stored versions (validated as at load) and caches them for good.
    other = book_with(repository)
    assert other.at(2) == catalogue
    gets = repository.gets
    assert other.at(2) is other.at(2)
    assert repository.gets == gets


def test_the_pointer_is_reread_after_its_ttl_and_fresh_when_it_must_be() -> None:
    repository = MemoryRepository()
    clock = Clock()
    reader = book_with(repository, clock)
    writer = book_with(repository)
    assert reader.current_version() == 1
    edit_item(writer, ADMIN, 1, ITEM, {**item_data(), "fee": "1 元"}, NOW, None)
    assert reader.current_version() == 1  # within the TTL
    assert reader.current_version_fresh() == 2  # a new application's pin reads it now
    clock.t = 100.0
    edit_item(writer, ADMIN, 2, ITEM, {**item_data(), "fee": "2 元"}, NOW, None)
    clock.t = 100.0 + reader.pointer_ttl
    assert reader.current_version() == 3


def test_two_changes_from_the_same_base_the_second_is_a_conflict() -> None:
    repository = MemoryRepository()
    first, second = book_with(repository), book_with(repository)
    first.current_version()
    second.current_version()
    edit_item(first, ADMIN, 1, ITEM, {**item_data(), "fee": "1 元"}, NOW, None)
    with pytest.raises(Conflict) as exc:
        edit_item(second, ADMIN, 1, ITEM, {**item_data(), "fee": "2 元"}, NOW, None)
    assert exc.value.extra == {"current_version": 2}
    assert exc.value.zh
    assert exc.value.en
    assert repository.versions[2][1]["items"] == catalogue_data(first.at(2))["items"]


def test_a_race_lost_inside_the_write_is_a_conflict_too() -> None:
    repository = MemoryRepository()
    book = book_with(repository)

    class Racing(MemoryRepository):
        def put(self, record: VersionRecord, data: Mapping[str, Any], **kw: Any) -> None:
            raise VersionConflict(5)

    racing = Racing()
    book = book_with(racing)
    with pytest.raises(Conflict) as exc:
        edit_item(book, ADMIN, 1, ITEM, {**item_data(), "fee": "1 元"}, NOW, None)
    assert exc.value.extra == {"current_version": 5}
    assert repository.versions == {}


def test_invalid_changes_are_422_per_problem_and_nothing_is_stored() -> None:
    repository = MemoryRepository()
    book = book_with(repository)
    item = item_data()
    item["statutory_limit_days"] = 0
    item["materials"] = []
    with pytest.raises(InvalidInput) as exc:
        edit_item(book, ADMIN, 1, ITEM, item, NOW, None)
    fields = [d.field or "" for d in exc.value.details]
    assert any(f.endswith("statutory_limit_days") for f in fields)
    assert any(f.endswith("materials") for f in fields)
    assert all(d.zh and d.en for d in exc.value.details)
    assert repository.versions == {}


def test_only_admins_change_the_catalogue() -> None:
    book = book_with(MemoryRepository())
    with pytest.raises(Forbidden):
        edit_item(book, REVIEWER, 1, ITEM, item_data(), NOW, None)
    with pytest.raises(Forbidden):
        import_yaml(book, REVIEWER, 1, catalogue_yaml(load_catalogue()), NOW, None)


def test_add_retire_and_import() -> None:
    book = book_with(MemoryRepository())
    new = item_data()
    new["code"] = "brand-new"
    new.pop("licence", None)
    record, _ = add_item(book, ADMIN, 1, new, NOW, None)
    assert record.changes.added == ("brand-new",)
    with pytest.raises(Conflict):
        add_item(book, ADMIN, 2, new, NOW, None)
    record, catalogue = retire_item(book, ADMIN, 2, "brand-new", NOW, None)
    assert record.changes.removed == ("brand-new",)
    assert catalogue == load_catalogue()
    record, again = import_yaml(book, ADMIN, 3, catalogue_yaml(book.at(2)), NOW, None)
    assert record.changes.added == ("brand-new",)
    assert again == book.at(2)
    with pytest.raises(NotFound):
        retire_item(book, ADMIN, 4, "no-such-item", NOW, None)


def test_public_reads_survive_an_unreadable_store_but_pins_do_not() -> None:
    repository = MemoryRepository()
    clock = Clock()
    book = book_with(repository, clock)
    edit_item(book_with(repository), ADMIN, 1, ITEM, {**item_data(), "fee": "1 元"}, NOW, None)
    assert book.current_or_last_known().item(ITEM).fee == "1 元"

    def down() -> int | None:
        raise ConnectionError("table unreachable")

    repository.current_version = down  # type: ignore[method-assign]
    clock.t = 1000.0
    assert book.current_or_last_known().item(ITEM).fee == "1 元"  # the last version it knew
    assert CatalogueBook(repository=repository).current_or_last_known() == load_catalogue()
    with pytest.raises(ConnectionError):
        book.current_version_fresh()  # a new application's pin is never guessed


def test_an_alias_bomb_is_refused_before_validation() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 10)}]" for n in range(1, 9)]  # 10^9 values
    lines.append("items: *a8")
    with pytest.raises(CatalogueError) as exc:
        parse_catalogue_yaml("\n".join(lines))
    assert "aliases" in exc.value.problems[0].message


def test_at_most_50_problems_are_listed() -> None:
    data = catalogue_data(load_catalogue())
    data["items"] = [{"code": f"Bad Code {n}"} for n in range(100)]
    with pytest.raises(CatalogueError) as exc:
        validate_catalogue(data)
    assert len(exc.value.problems) == 51
    assert exc.value.problems[-1].where == "(more)"
