"""DynamoDB side of work assignment (`onestop.applications.assignment`): conditional updates of the
application item's `assignee`, `assignee_name`, `assignee_until` and `escalated`, each in one
transaction with its audit events (and, for an escalation, the owed ApplicationEscalated).

The lease end is stored as UTC ISO text to the second with `Z` (`iso`), so "expired" is a string
comparison in the condition: `assignee_until < :now`. None of these writes touches `version`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from onestop.applications.assignment import CLAIMABLE
from onestop.applications.models import Application, AuditEvent, Escalation, iso
from onestop.observability import traced
from onestop.outbox import OwedEvent

from .application_repository import DynamoApplicationRepository, _outbox_item
from .dynamo import application_key, condition_failed

_CLAIMABLE_VALUES = {f":s{i}": s.value for i, s in enumerate(sorted(CLAIMABLE))}
_IN_QUEUE = f"#status IN ({', '.join(_CLAIMABLE_VALUES)})"


class DynamoAssignmentStore(DynamoApplicationRepository):
    """Assignment writes on the one onestop table (the application repository's items, events and
    outbox; `clear_owed` is the repository's)."""

    def _write(self, update: dict[str, Any], events: Sequence[AuditEvent], *extra: dict[str, Any]) -> bool:
        items: list[dict[str, Any]] = [
            {"Update": {"TableName": self.table_name, "Key": application_key(update.pop("id")), **update}},
            *(
                {
                    "Put": {
                        "TableName": self.table_name,
                        "Item": self._event_item(e),
                        "ConditionExpression": "attribute_not_exists(SK)",
                    }
                }
                for e in events
            ),
            *extra,
        ]
        try:
            self.table.meta.client.transact_write_items(TransactItems=items)
        except ClientError as exc:
            if condition_failed(exc):
                return False
            raise
        return True

    @traced
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
        names = {"#status": "status", "#a": "assignee", "#n": "assignee_name", "#u": "assignee_until"}
        values: dict[str, Any] = {
            ":me": assignee,
            ":until": iso(until),
            ":now": iso(now),
            **_CLAIMABLE_VALUES,
        }
        sets = "#a = :me, #u = :until"
        if name:
            sets += ", #n = :name"
            values[":name"] = name
        update = {
            "id": application.id,
            "UpdateExpression": f"SET {sets}" + ("" if name else " REMOVE #n"),
            # In the queue, and free (never claimed, released, lapsed) or already the caller's.
            "ConditionExpression": f"attribute_exists(PK) AND {_IN_QUEUE} AND "
            "(attribute_not_exists(#u) OR #u < :now OR #a = :me)",
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }
        return self._write(update, events)

    @traced
    def release(self, application: Application, *, assignee: str, event: AuditEvent) -> bool:
        update = {
            "id": application.id,
            "UpdateExpression": "REMOVE #a, #n, #u",
            "ConditionExpression": "#a = :me",
            "ExpressionAttributeNames": {"#a": "assignee", "#n": "assignee_name", "#u": "assignee_until"},
            "ExpressionAttributeValues": {":me": assignee},
        }
        return self._write(update, [event])

    @traced
    def reassign(
        self,
        application: Application,
        *,
        assignee: str,
        name: str | None,
        until: datetime,
        event: AuditEvent,
    ) -> bool:
        names = {"#status": "status", "#a": "assignee", "#n": "assignee_name", "#u": "assignee_until"}
        values: dict[str, Any] = {":to": assignee, ":until": iso(until), **_CLAIMABLE_VALUES}
        # The assignment as the admin read it: a claim that landed meanwhile is not overwritten unseen.
        if application.assignee is None:
            as_read = "attribute_not_exists(#a)"
        else:
            as_read = "#a = :before"
            values[":before"] = application.assignee
        sets = "#a = :to, #u = :until"
        if name:
            sets += ", #n = :name"
            values[":name"] = name
        update = {
            "id": application.id,
            "UpdateExpression": f"SET {sets}" + ("" if name else " REMOVE #n"),
            "ConditionExpression": f"{_IN_QUEUE} AND {as_read}",
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }
        return self._write(update, [event])

    @traced
    def record(self, event: AuditEvent) -> None:
        self.table.put_item(Item=self._event_item(event), ConditionExpression="attribute_not_exists(SK)")

    @traced
    def escalate(
        self,
        application: Application,
        *,
        sort_key: str,
        escalation: Escalation,
        event: AuditEvent,
        owed: OwedEvent,
    ) -> bool:
        names = {"#status": "status", "#e": "escalated", "#due": "due"}
        values: dict[str, Any] = {
            ":status": application.status.value,
            ":sk": sort_key,
            ":e": {"level": escalation.level, "due": iso(escalation.due), "at": iso(escalation.at)},
            ":due": iso(escalation.due),
        }
        fresh = ["attribute_not_exists(#e)", "#e.#due <> :due"]
        if escalation.level == "overdue":  # an at-risk escalation may still be raised to overdue
            values[":at_risk"] = "at_risk"
            names["#level"] = "level"
            fresh.append("#e.#level = :at_risk")
        update = {
            "id": application.id,
            "UpdateExpression": "SET #e = :e",
            # Still in this status under this due time, and not escalated (this high) for it yet.
            "ConditionExpression": f"#status = :status AND GSI1SK = :sk AND ({' OR '.join(fresh)})",
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }
        return self._write(
            update, [event], {"Put": {"TableName": self.table_name, "Item": _outbox_item(owed)}}
        )
