"""DynamoDB implementation of the applications repository (the one table; see the item layout in DESIGN.md).

Every state change is a transaction: the application item is updated only if its `status` and
`version` are still what the caller read, and the audit event is written in the same transaction,
so a change is never recorded without its event or the other way round. Listings use the GSIs
(`ByOwner`, `ByStatusDeadline`) and partition queries; nothing scans.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from onestop.applications.channels import Channel
from onestop.applications.models import (
    EDITABLE_STATUSES,
    Application,
    ApplicationStatus,
    AuditEvent,
    Material,
    MaterialStatus,
    Page,
    iso,
    iso_precise,
)
from onestop.applications.ports import ApplicationBundle, QueueSlice
from onestop.applications.quotas import OPEN_DRAFTS
from onestop.applications.state import conflict
from onestop.errors import NotFound
from onestop.observability import traced
from onestop.outbox import OwedEvent
from onestop.paging import decode_cursor, encode_cursor, key_cursor_check

from .dynamo import (
    EVENT_PREFIX,
    MATERIAL_PREFIX,
    META,
    OUTBOX_PK,
    DynamoAdapter,
    app_pk,
    application_key,
    catalogued_index,
    condition_failed,
    material_key,
    next_cursor,
    outbox_key,
    owner_pk,
    quota_key,
    status_pk,
)
from .dynamo_values import from_dynamo, to_dynamo

_KEY_ATTRS = ("PK", "SK", "GSI1PK", "GSI1SK", "GSI2PK", "GSI2SK", "GSI3PK", "GSI3SK", "type")
_NO_DUE = "9999"
_QUEUE_KEY = ("PK", "SK", "GSI1PK", "GSI1SK")
_OWNER_KEY = ("PK", "SK", "GSI3PK", "GSI3SK")
_PARTY_KEY = ("PK", "SK", "GSI2PK", "GSI2SK")


def window_party_pk(kind: str, code: str) -> str:
    """The `ByHolder` partition of the window applications of a party (licences use `HOLDER#`)."""
    return f"WINDOW#{kind}#{code}"


def _outbox_item(owed: OwedEvent) -> dict[str, Any]:
    item = {
        **outbox_key(owed.owner, owed.detail_type, owed.key),
        "application_id": owed.owner,
        "detail_type": owed.detail_type,
        # JSON text: the detail keeps its exact shape (floats, nulls) for the re-publish.
        "detail": json.dumps(owed.detail, ensure_ascii=False, default=str),
    }
    if owed.key:
        item["owed_key"] = owed.key
    return item


def event_sk(event: AuditEvent) -> str:
    sk = f"{EVENT_PREFIX}{iso(event.at)}#{event.n:06d}"
    return f"{sk}#{event.tag}" if event.tag else sk


def status_sort_key(application: Application) -> str:
    due = application.queue_due()
    return f"{iso(due) if due else _NO_DUE}#{application.id}"


class DynamoApplicationRepository(DynamoAdapter):
    """Applications, materials and audit events in the one onestop table."""

    # ----------------------------------------------------------------- items

    def _application_item(self, application: Application) -> dict[str, Any]:
        data = application.model_dump(mode="json", exclude={"pending_events"})
        item: dict[str, Any] = {
            **application_key(application.id),
            "type": "application",
            "GSI1PK": status_pk(application.status),
            "GSI1SK": status_sort_key(application),
            "GSI3PK": owner_pk(application.owner_sub),
            "GSI3SK": f"{iso_precise(application.created_at)}#{application.id}",
            **to_dynamo(data),
        }
        if application.channel == Channel.SERVICE_WINDOW.value:
            # The applicant follows it online: listed by party for the accounts bound to it.
            item["GSI2PK"] = window_party_pk(application.applicant.kind, application.applicant.code)
            item["GSI2SK"] = item["GSI3SK"]
        if application.pending_events:
            item["pending_events"] = set(application.pending_events)
        return item

    @staticmethod
    def _material_item(material: Material) -> dict[str, Any]:
        return {
            **material_key(material.application_id, material.slot, material.upload_id),
            "type": "material",
            **to_dynamo(material.model_dump(mode="json")),
        }

    @staticmethod
    def _event_item(event: AuditEvent) -> dict[str, Any]:
        return {
            "PK": app_pk(event.application_id),
            "SK": event_sk(event),
            "type": "event",
            **to_dynamo(event.model_dump(mode="json")),
        }

    @staticmethod
    def _plain(item: Mapping[str, Any]) -> dict[str, Any]:
        return {k: from_dynamo(v) for k, v in item.items() if k not in _KEY_ATTRS}

    def _to_application(self, item: Mapping[str, Any]) -> Application:
        return Application.model_validate(self._plain(item))

    def _to_material(self, item: Mapping[str, Any]) -> Material:
        return Material.model_validate(self._plain(item))

    def _to_event(self, item: Mapping[str, Any]) -> AuditEvent:
        return AuditEvent.model_validate(self._plain(item))

    # ----------------------------------------------------------------- reads

    @traced
    def get(self, application_id: str) -> Application | None:
        reply = self.table.get_item(Key=application_key(application_id), ConsistentRead=True)
        item = reply.get("Item")
        return self._to_application(item) if item else None

    @traced
    def load(self, application_id: str) -> ApplicationBundle | None:
        # One partition query reads the application with its materials and events consistently.
        application: Application | None = None
        materials: list[Material] = []
        events: list[AuditEvent] = []
        for item in self._query(
            KeyConditionExpression=Key("PK").eq(app_pk(application_id)), ConsistentRead=True
        ):
            sk = item["SK"]
            if sk == META:
                application = self._to_application(item)
            elif sk.startswith(MATERIAL_PREFIX):
                materials.append(self._to_material(item))
            elif sk.startswith(EVENT_PREFIX):
                events.append(self._to_event(item))
        if application is None:
            return None
        return ApplicationBundle(application, materials, events)

    @traced
    def list_materials(self, application_id: str) -> list[Material]:
        condition = Key("PK").eq(app_pk(application_id)) & Key("SK").begins_with(MATERIAL_PREFIX)
        return [
            self._to_material(i) for i in self._query(KeyConditionExpression=condition, ConsistentRead=True)
        ]

    @traced
    def list_events(self, application_id: str) -> list[AuditEvent]:
        condition = Key("PK").eq(app_pk(application_id)) & Key("SK").begins_with(EVENT_PREFIX)
        return [self._to_event(i) for i in self._query(KeyConditionExpression=condition, ConsistentRead=True)]

    @traced
    def list_by_owner(self, owner_sub: str, *, limit: int, cursor: str | None) -> Page[Application]:
        partition = owner_pk(owner_sub)
        kwargs: dict[str, Any] = {
            "IndexName": "ByOwner",
            "KeyConditionExpression": Key("GSI3PK").eq(partition),
            "ScanIndexForward": False,  # newest first
            "Limit": limit,
        }
        if cursor:
            kwargs["ExclusiveStartKey"] = decode_cursor(
                cursor, key_cursor_check(_OWNER_KEY, "GSI3PK", partition)
            )
        reply = self.table.query(**kwargs)
        items = [self._to_application(i) for i in reply.get("Items", [])]
        return Page[Application](items=items, next_cursor=next_cursor(reply))

    @traced
    def list_window_by_party(
        self, kind: str, code: str, *, limit: int, cursor: str | None
    ) -> Page[Application]:
        partition = window_party_pk(kind, code)
        kwargs: dict[str, Any] = {
            "IndexName": "ByHolder",
            "KeyConditionExpression": Key("GSI2PK").eq(partition),
            "ScanIndexForward": False,  # newest first
            "Limit": limit,
        }
        if cursor:
            check = key_cursor_check(_PARTY_KEY, "GSI2PK", partition)
            kwargs["ExclusiveStartKey"] = decode_cursor(cursor, check)
        reply = self.table.query(**kwargs)
        items = [self._to_application(i) for i in reply.get("Items", [])]
        return Page[Application](items=items, next_cursor=next_cursor(reply))

    @traced
    def list_by_status(
        self,
        status: ApplicationStatus,
        *,
        limit: int,
        cursor: str | None,
        due_before: datetime | None = None,
    ) -> QueueSlice:
        partition = status_pk(status.value)
        condition: Any = Key("GSI1PK").eq(partition)
        if due_before is not None:
            # Sort keys start with the due time, so "due before" is a key condition, not a filter.
            condition = condition & Key("GSI1SK").lt(iso(due_before))
        kwargs: dict[str, Any] = {
            "IndexName": "ByStatusDeadline",
            "KeyConditionExpression": condition,
            "ScanIndexForward": True,  # earliest due first
            "Limit": limit,
        }
        if cursor:
            kwargs["ExclusiveStartKey"] = decode_cursor(
                cursor, key_cursor_check(_QUEUE_KEY, "GSI1PK", partition)
            )
        reply = self.table.query(**kwargs)
        entries = [
            (self._to_application(i), encode_cursor({k: i[k] for k in _QUEUE_KEY}))
            for i in reply.get("Items", [])
        ]
        return QueueSlice(entries=entries, next_cursor=next_cursor(reply))

    # ----------------------------------------------------------------- writes

    def _transact(self, items: list[dict[str, Any]], *, application_id: str, action: str) -> None:
        try:
            self.table.meta.client.transact_write_items(TransactItems=items)
        except ClientError as exc:
            if not condition_failed(exc):
                raise
            current = self.get(application_id)
            if current is None:
                raise NotFound("application_not_found", "申请不存在。", "No such application.") from exc
            raise conflict(ApplicationStatus(current.status), current.version, action) from exc

    @traced
    def create(self, application: Application, event: AuditEvent) -> None:
        self._transact(
            [
                {
                    "Put": {
                        "TableName": self.table_name,
                        "Item": self._application_item(application),
                        "ConditionExpression": "attribute_not_exists(PK)",
                    }
                },
                {
                    "Put": {
                        "TableName": self.table_name,
                        "Item": self._event_item(event),
                        "ConditionExpression": "attribute_not_exists(PK)",
                    }
                },
            ],
            application_id=application.id,
            action="create",
        )

    @traced
    def transition(
        self,
        before: Application,
        after: Application,
        event: AuditEvent,
        outbox: Mapping[str, Mapping[str, Any]] | None = None,
        owed: Sequence[OwedEvent] = (),
    ) -> None:
        """Write `after` over `before` only if the stored status and version are still `before`'s.

        `outbox` (detail type → detail) is written in the same transaction: the events the transition
        owes survive a failed publish or a crash, and the scheduler re-publishes what is left.
        `owed`: further owed events with their own keys (several of one type may be owed at once,
        e.g. the clock's changes, `applications.clock_changes`).
        """
        if after.version != before.version + 1 or after.id != before.id:
            raise ValueError("a transition moves exactly one version forward on the same application")
        if (after.channel, after.clerk) != (before.channel, before.clerk):
            raise ValueError("the channel and the clerk of an application are fixed when it is created")
        old = before.model_dump(mode="json", exclude={"pending_events"})
        new = after.model_dump(mode="json", exclude={"pending_events"})
        names: dict[str, str] = {"#status": "status", "#version": "version"}
        values: dict[str, Any] = {
            ":from_status": ApplicationStatus(before.status).value,
            ":from_version": before.version,
            ":gsi1pk": status_pk(after.status),
            ":gsi1sk": status_sort_key(after),
        }
        sets = ["GSI1PK = :gsi1pk", "GSI1SK = :gsi1sk"]
        removes: list[str] = []
        for i, (name, value) in enumerate(sorted(new.items())):
            if old.get(name) == value and name not in {"status", "version"}:
                continue  # only what changed: attributes other functions own stay untouched
            names[f"#a{i}"] = name
            if value is None:
                removes.append(f"#a{i}")
            else:
                sets.append(f"#a{i} = :v{i}")
                values[f":v{i}"] = to_dynamo(value)
        expression = "SET " + ", ".join(sets)
        if removes:
            expression += " REMOVE " + ", ".join(removes)
        added = set(after.pending_events) - set(before.pending_events)
        if added:
            names["#pending"] = "pending_events"
            values[":pending"] = added
            expression += " ADD #pending :pending"
        self._transact(
            [
                {
                    "Update": {
                        "TableName": self.table_name,
                        "Key": application_key(before.id),
                        "UpdateExpression": expression,
                        "ConditionExpression": "#status = :from_status AND #version = :from_version",
                        "ExpressionAttributeNames": names,
                        "ExpressionAttributeValues": values,
                    }
                },
                {
                    "Put": {
                        "TableName": self.table_name,
                        "Item": self._event_item(event),
                        "ConditionExpression": "attribute_not_exists(SK)",
                    }
                },
                *(
                    {
                        "Put": {
                            "TableName": self.table_name,
                            "Item": _outbox_item(OwedEvent(kind, detail, before.id)),
                        }
                    }
                    for kind, detail in (outbox or {}).items()
                ),
                *({"Put": {"TableName": self.table_name, "Item": _outbox_item(o)}} for o in owed),
                *self._draft_place_freed(before, after),
            ],
            application_id=before.id,
            action=event.action,
        )

    def _draft_place_freed(self, before: Application, after: Application) -> list[dict[str, Any]]:
        # A draft that is submitted or withdrawn frees its owner's open-draft place, in the same
        # transaction as the move, so the count never drifts from the drafts there are. (An account
        # with drafts from before the quota existed goes below zero: it gets that many extra places.)
        if before.status != ApplicationStatus.DRAFT or after.status == ApplicationStatus.DRAFT:
            return []
        return [{"Update": self._quota_update(before.owner_sub, OPEN_DRAFTS, -1)}]

    def _quota_update(self, owner_sub: str, counter: str, delta: int) -> dict[str, Any]:
        return {
            "TableName": self.table_name,
            "Key": quota_key(owner_sub, counter),
            "UpdateExpression": "ADD #n :delta SET #type = :type",
            "ExpressionAttributeNames": {"#n": "n", "#type": "type"},
            "ExpressionAttributeValues": {":delta": delta, ":type": "quota"},
        }

    @traced
    def take_quota(self, owner_sub: str, counter: str, limit: int, *, expires_at: datetime | None) -> bool:
        update = self._quota_update(owner_sub, counter, 1)
        # One conditional write: the check and the increment cannot be split by a parallel request.
        update["ConditionExpression"] = "attribute_not_exists(#n) OR #n < :limit"
        update["ExpressionAttributeValues"][":limit"] = limit
        if expires_at is not None:
            # The table's TTL attribute (template.yaml): a day's counter is removed once it is over.
            update["UpdateExpression"] += ", #expires = :expires"
            update["ExpressionAttributeNames"]["#expires"] = "expires"
            update["ExpressionAttributeValues"][":expires"] = int(expires_at.timestamp())
        del update["TableName"]
        return self._update_if(**update)

    @traced
    def give_back_quota(self, owner_sub: str, counter: str) -> None:
        update = self._quota_update(owner_sub, counter, -1)
        del update["TableName"]
        self.table.update_item(**update)

    def _editable_check(self, application: Application) -> dict[str, Any]:
        # Materials change only while the application is editable and unchanged since it was read.
        values: dict[str, Any] = {":version": application.version}
        placeholders = []
        for i, status in enumerate(sorted(s.value for s in EDITABLE_STATUSES)):
            values[f":s{i}"] = status
            placeholders.append(f":s{i}")
        return {
            "ConditionCheck": {
                "TableName": self.table_name,
                "Key": application_key(application.id),
                "ConditionExpression": f"#status IN ({', '.join(placeholders)}) AND #version = :version",
                "ExpressionAttributeNames": {"#status": "status", "#version": "version"},
                "ExpressionAttributeValues": values,
            }
        }

    @traced
    def add_material(
        self,
        application: Application,
        material: Material,
        event: AuditEvent | None = None,
        owed: OwedEvent | None = None,
    ) -> None:
        items: list[dict[str, Any]] = [
            self._editable_check(application),
            {
                "Put": {
                    "TableName": self.table_name,
                    "Item": self._material_item(material),
                    "ConditionExpression": "attribute_not_exists(SK)",
                }
            },
        ]
        if event is not None:
            items.append(
                {
                    "Put": {
                        "TableName": self.table_name,
                        "Item": self._event_item(event),
                        "ConditionExpression": "attribute_not_exists(SK)",
                    }
                }
            )
        if owed is not None:
            items.append({"Put": {"TableName": self.table_name, "Item": _outbox_item(owed)}})
        self._transact(items, application_id=application.id, action=event.action if event else "upload")

    @traced
    def remove_material(self, application: Application, material: Material, event: AuditEvent) -> None:
        self._transact(
            [
                self._editable_check(application),
                {
                    "Delete": {
                        "TableName": self.table_name,
                        "Key": material_key(application.id, material.slot, material.upload_id),
                    }
                },
                {
                    "Put": {
                        "TableName": self.table_name,
                        "Item": self._event_item(event),
                        "ConditionExpression": "attribute_not_exists(SK)",
                    }
                },
            ],
            application_id=application.id,
            action="remove material",
        )

    @traced
    def apply_correction(
        self,
        before: Application,
        after: Application,
        material_before: Material,
        material_after: Material,
        event: AuditEvent,
    ) -> None:
        """A reviewer's correction: one transaction, conditional on the application's status and
        version and on the material's status and number of corrections as read (a replayed or
        concurrent correction loses and is answered 409)."""
        if after.version != before.version + 1 or after.id != before.id:
            raise ValueError("a correction moves the application exactly one version forward")
        done = len(material_before.corrections)
        stored = material_after.model_dump(mode="json")
        names = {"#status": "status", "#reason": "reason", "#fields": "fields", "#corrections": "corrections"}
        values: dict[str, Any] = {
            ":before_status": MaterialStatus(material_before.status).value,
            ":status": MaterialStatus(material_after.status).value,
            ":fields": to_dynamo(stored["fields"]),
            ":as_read": to_dynamo(stored["fields_as_read"] or {}),
            ":corrections": to_dynamo(stored["corrections"]),
            ":problems": to_dynamo(stored["problems"]),
            ":resolved": to_dynamo(stored["resolved_problems"]),
            ":updated": stored["updated_at"],
        }
        sets = [
            "#status = :status",
            "#fields = :fields",
            "fields_as_read = :as_read",
            "#corrections = :corrections",
            "problems = :problems",
            "resolved_problems = :resolved",
            "updated_at = :updated",
        ]
        if stored["classification"] is not None:
            sets.append("classification = :classification")
            values[":classification"] = to_dynamo(stored["classification"])
        # A material catalogued before the correction-rate index, or a rejection overridden, joins the
        # index now (`catalogued_index`); one already in it keeps its month.
        index = catalogued_index(before.id, material_before.slot, material_before.upload_id, event.at)
        for name, key in index.items():
            sets.append(f"{name} = if_not_exists({name}, :{name})")
            values[f":{name}"] = key
        expression = "SET " + ", ".join(sets)
        if stored["reason"] is None:
            expression += " REMOVE #reason"
        else:
            expression += ", #reason = :reason"
            values[":reason"] = to_dynamo(stored["reason"])
        condition = "#status = :before_status AND "
        if done:
            condition += "size(#corrections) = :done"
            values[":done"] = done
        else:
            condition += "(attribute_not_exists(#corrections) OR size(#corrections) = :zero)"
            values[":zero"] = 0
        application = after.model_dump(mode="json", include={"version", "updated_at", "evidence"})
        self._transact(
            [
                {
                    "Update": {
                        "TableName": self.table_name,
                        "Key": application_key(before.id),
                        "UpdateExpression": "SET #version = :version, updated_at = :at, evidence = :evidence",
                        "ConditionExpression": "#status = :from_status AND #version = :from_version",
                        "ExpressionAttributeNames": {"#status": "status", "#version": "version"},
                        "ExpressionAttributeValues": {
                            ":version": application["version"],
                            ":at": application["updated_at"],
                            ":evidence": to_dynamo(application["evidence"]),
                            ":from_status": ApplicationStatus(before.status).value,
                            ":from_version": before.version,
                        },
                    }
                },
                {
                    "Update": {
                        "TableName": self.table_name,
                        "Key": material_key(before.id, material_before.slot, material_before.upload_id),
                        "UpdateExpression": expression,
                        "ConditionExpression": condition,
                        "ExpressionAttributeNames": names,
                        "ExpressionAttributeValues": values,
                    }
                },
                {
                    "Put": {
                        "TableName": self.table_name,
                        "Item": self._event_item(event),
                        "ConditionExpression": "attribute_not_exists(SK)",
                    }
                },
            ],
            application_id=before.id,
            action=event.action,
        )

    @traced
    def clear_owed(self, owed: OwedEvent) -> None:
        if not owed.key:  # a transition's: also marked on the application
            self.table.update_item(
                Key=application_key(owed.owner),
                UpdateExpression="DELETE #pending :done",
                ExpressionAttributeNames={"#pending": "pending_events"},
                ExpressionAttributeValues={":done": {owed.detail_type}},
            )
        self.table.delete_item(Key=outbox_key(owed.owner, owed.detail_type, owed.key))

    @traced
    def pending_outbox(self, limit: int = 100) -> list[OwedEvent]:
        """Events owed by committed writes and not yet published."""
        reply = self.table.query(
            KeyConditionExpression="PK = :pk", ExpressionAttributeValues={":pk": OUTBOX_PK}, Limit=limit
        )
        return [
            OwedEvent(
                detail_type=str(item["detail_type"]),
                detail=json.loads(str(item["detail"])),
                owner=str(item["application_id"]),
                key=str(item.get("owed_key", "")),
            )
            for item in reply.get("Items", [])
        ]
