"""The event models: one per detail type, the wire format as it was (plus `schema_version`), details
stored before the version existed still read, and the owed-event helper's two failure policies."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from onestop.errors import Reason
from onestop.events import (
    EVENT_TYPES,
    SCHEMA_VERSION,
    ApplicationApproved,
    EventReason,
    LicenceStatusChanged,
    MaterialCatalogued,
    parse_time,
)
from onestop.licences.issuer import EVENT_ROUTES
from onestop.outbox import OwedEvent, deliver, drain
from pydantic import ValidationError

ROOT = Path(__file__).resolve().parents[2]


def test_every_detail_type_has_its_model() -> None:
    assert sorted(EVENT_TYPES) == [
        "ApplicationAccepted",
        "ApplicationApproved",
        "ApplicationClockChanged",
        "ApplicationCorrectionRequested",
        "ApplicationEscalated",
        "ApplicationRejected",
        "ApplicationSubmitted",
        "DeadlineAtRisk",
        "DeadlineOverdue",
        "LicenceIssued",
        "LicenceStatusChanged",
        "LicenceVersionRequested",
        "MaterialCatalogued",
        "MaterialRejected",
    ]
    assert all(name == cls.DETAIL_TYPE for name, cls in EVENT_TYPES.items())


def test_the_issue_functions_rules_deliver_exactly_the_routed_detail_types() -> None:
    class Loader(yaml.SafeLoader):
        pass

    Loader.add_multi_constructor("!", lambda loader, suffix, node: None)
    template = yaml.load((ROOT / "template.yaml").read_text(encoding="utf-8"), Loader=Loader)
    matched: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            matched.extend(node.get("detail-type") or [])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(template["Resources"]["IssueFunction"])
    assert sorted(matched) == sorted(EVENT_ROUTES)
    assert set(matched) <= set(EVENT_TYPES)


def test_a_detail_without_a_schema_version_reads_as_version_1() -> None:
    approved = ApplicationApproved.parse(
        {
            "application_id": "a",
            "item_code": "i",
            "applicant": {"kind": "person", "code": "c", "name": "n"},
            "approved_at": "2025-03-14T02:30:00Z",
            "unknown_later_field": 1,
        }
    )
    assert approved.schema_version == SCHEMA_VERSION == 1
    assert approved.approved_by is None
    with pytest.raises(ValidationError):
        ApplicationApproved.parse({"application_id": "a"})


def test_fields_only_some_producers_write_are_left_out_when_absent() -> None:
    upload = MaterialCatalogued(application_id="a", slot="s", upload_id="u", status="catalogued").detail()
    assert "source" not in upload
    assert "licence_id" not in upload
    assert upload["material_type"] is None  # always written, even when None
    lifecycle = LicenceStatusChanged(
        licence_id="L", action="suspend", to_status="02", actor="r", reason="x", at="t", version=1
    ).detail()
    assert "superseded_by" not in lifecycle
    assert lifecycle["version"] == 1
    assert EventReason.of(Reason("c", "z", "e")).model_dump() == {"code": "c", "zh": "z", "en": "e"}
    assert EventReason.of(Reason("c", "z", "e", "f")).model_dump()["field"] == "f"


def test_both_spellings_of_utc_read_alike() -> None:
    assert parse_time("2025-03-14T02:30:00Z") == parse_time("2025-03-14T02:30:00+00:00")


class Bus:
    def __init__(self, fail: int = 0) -> None:
        self.fail = fail
        self.sent: list[tuple[str, dict[str, Any]]] = []

    def publish(self, detail_type: str, detail: Any) -> None:
        if self.fail:
            self.fail -= 1
            raise RuntimeError("bus down")
        self.sent.append((detail_type, dict(detail)))


class Outbox:
    def __init__(self, *owed: OwedEvent) -> None:
        self.owed = list(owed)
        self.fail_clear = 0

    def pending_outbox(self, limit: int = 100) -> list[OwedEvent]:
        return self.owed[:limit]

    def clear_owed(self, owed: OwedEvent) -> None:
        if self.fail_clear:
            self.fail_clear -= 1
            raise RuntimeError("table down")
        self.owed.remove(owed)


def test_deliver_keeps_the_event_owed_on_failure_or_raises_when_retried() -> None:
    owed = OwedEvent("X", {"a": 1}, owner="o")
    cleared: list[int] = []
    bus = Bus(fail=1)
    assert deliver(bus, owed, lambda: cleared.append(1)) is False
    assert cleared == []
    assert deliver(bus, owed, lambda: cleared.append(1)) is True
    assert (bus.sent, cleared) == ([("X", {"a": 1})], [1])
    with pytest.raises(RuntimeError):
        deliver(Bus(fail=1), owed, lambda: cleared.append(1), retried=True)
    assert cleared == [1]

    def broken_clear() -> None:
        raise RuntimeError("table down")

    assert deliver(Bus(), owed, broken_clear) is True  # it went out; the marker only costs a duplicate
    with pytest.raises(RuntimeError):
        deliver(Bus(), owed, broken_clear, retried=True)


def test_deliver_sends_several_in_order_and_clears_once() -> None:
    bus, cleared = Bus(), []
    first, second = OwedEvent("A", {}), OwedEvent("B", {})
    assert deliver(bus, [first, second], lambda: cleared.append(1))
    assert [t for t, _ in bus.sent] == ["A", "B"]
    assert cleared == [1]


def test_drain_republishes_and_forgets_what_went_out() -> None:
    one, two = OwedEvent("A", {"n": 1}, "o1"), OwedEvent("B", {"n": 2}, "o2", "k")
    outbox, bus = Outbox(one, two), Bus(fail=1)
    result = drain(outbox, bus)
    assert (result.republished, result.still_owed) == (1, 1)
    assert outbox.owed == [one]
    outbox.fail_clear = 1
    assert drain(outbox, bus).republished == 1
    assert outbox.owed == [one]  # published, not cleared: sent again next time (at least once)
    assert drain(outbox, bus).republished == 1
    assert outbox.owed == []
    assert [t for t, _ in bus.sent] == ["B", "A", "A"]
