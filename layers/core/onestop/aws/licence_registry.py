"""DynamoDB implementation of `onestop.licences.registry.LicenceRegistry` (the one table).

Items:
- record:  PK ``LIC#<licence id>``  SK ``META``; GSI2 (ByHolder) keys are set only once the licence
  is valid, so the holder index never shows a record still being issued;
- claim:   PK ``APP#<application id>``  SK ``LICENCE`` (licence_id): one approval, one licence;
- audit:   PK ``LIC#<licence id>``  SK ``EVT#<ISO time>#<action>`` (actor, action, from/to, reason);
- counter: PK ``SEQ#licence``  SK ``<yyyy>`` (n), the per-year serial;
- counter: PK ``SEQ#status-list``  SK ``<list name>`` (n), status-list indexes handed out;
- index:   PK ``SLIST#<list name>``  SK ``IDX#<index>`` (licence_id): written with the reservation,
  conditionally, so an index is never held by two licences; the status list is built from these.

Every state change is a conditional write (inside a transaction together with its audit item), so
that a duplicate or stale request fails instead of overwriting.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from onestop.errors import NotFound
from onestop.licences.models import (
    Action,
    AuditEntry,
    LicenceRecord,
    LicenceStatus,
    StoredPdf,
    illegal_transition,
)
from onestop.licences.registry import AlreadyReserved
from onestop.observability import traced

from .dynamo import (
    EVENT_PREFIX,
    STATUS_INDEX_PK,
    STATUS_LIST_PK,
    DynamoAdapter,
    cancellation_codes,
    holder_pk,
    licence_claim_key,
    licence_key,
    licence_pk,
    serial_key,
    status_index_key,
)


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat()


def _holder_keys(record: LicenceRecord) -> dict[str, str]:
    issued = record.issued_at or record.reserved_at
    return {"GSI2PK": holder_pk(record.holder_code), "GSI2SK": f"{_iso(issued)}#{record.licence_id}"}


class DynamoLicenceRegistry(DynamoAdapter):
    """The licence registry in the single onestop table."""

    def _transact(self, items: list[dict[str, Any]]) -> None:
        for item in items:
            next(iter(item.values()))["TableName"] = self.table_name
        self.table.meta.client.transact_write_items(TransactItems=items)

    def _audit_put(self, licence_id: str, entry: AuditEntry, seq: int) -> dict[str, Any]:
        """The audit item of the `seq`-th history entry (seq keeps equal timestamps in order)."""
        return {
            "Put": {
                "Item": {
                    "PK": licence_pk(licence_id),
                    "SK": f"{EVENT_PREFIX}{_iso(entry.at)}#{seq:03d}",
                    "seq": seq,
                    "entity": "licence_event",
                    "licence_id": licence_id,
                    **entry.as_dict(),
                }
            }
        }

    # --- reads -------------------------------------------------------------------------------

    @traced
    def get(self, licence_id: str) -> LicenceRecord | None:
        reply = self.table.get_item(Key=licence_key(licence_id), ConsistentRead=True)
        item = reply.get("Item")
        return LicenceRecord.from_dict(item) if item else None

    @traced
    def licence_for_application(self, application_id: str) -> str | None:
        reply = self.table.get_item(Key=licence_claim_key(application_id), ConsistentRead=True)
        item = reply.get("Item")
        return str(item["licence_id"]) if item else None

    @traced
    def by_holder(self, holder_code: str) -> list[LicenceRecord]:
        items = self._query(
            IndexName="ByHolder",
            KeyConditionExpression="GSI2PK = :h",
            ExpressionAttributeValues={":h": holder_pk(holder_code)},
            ScanIndexForward=False,
        )
        return [r for r in map(LicenceRecord.from_dict, items) if r.visible]

    @traced
    def audit_trail(self, licence_id: str) -> list[Mapping[str, Any]]:
        """The audit items of a licence, oldest first."""
        reply = self.table.query(
            KeyConditionExpression="PK = :pk AND begins_with(SK, :evt)",
            ExpressionAttributeValues={":pk": licence_pk(licence_id), ":evt": EVENT_PREFIX},
        )
        items: list[Mapping[str, Any]] = reply.get("Items", [])
        return items

    # --- writes ------------------------------------------------------------------------------

    @traced
    def next_serial(self, year: int) -> int:
        reply = self.table.update_item(
            Key=serial_key(year),
            UpdateExpression="ADD #n :one SET entity = :entity",
            ExpressionAttributeNames={"#n": "n"},
            ExpressionAttributeValues={":one": 1, ":entity": "counter"},
            ReturnValues="UPDATED_NEW",
        )
        return int(reply["Attributes"]["n"])

    @traced
    def next_status_index(self, list_name: str) -> int:
        reply = self.table.update_item(
            Key={"PK": STATUS_INDEX_PK, "SK": list_name},
            UpdateExpression="ADD #n :one SET entity = :entity",
            ExpressionAttributeNames={"#n": "n"},
            ExpressionAttributeValues={":one": 1, ":entity": "counter"},
            ReturnValues="UPDATED_NEW",
        )
        return int(reply["Attributes"]["n"]) - 1

    @traced
    def status_list_names(self) -> list[str]:
        items = self._query(
            KeyConditionExpression="PK = :pk", ExpressionAttributeValues={":pk": STATUS_INDEX_PK}
        )
        return sorted(str(item["SK"]) for item in items)

    @traced
    def status_entries(self, list_name: str) -> dict[int, LicenceStatus]:
        holders = {
            int(str(item["SK"])[4:]): str(item["licence_id"])
            for item in self._query(
                KeyConditionExpression="PK = :pk AND begins_with(SK, :idx)",
                ExpressionAttributeValues={":pk": f"{STATUS_LIST_PK}{list_name}", ":idx": "IDX#"},
                ConsistentRead=True,
            )
        }
        found: dict[str, tuple[str, int | None]] = {}
        ids = sorted(set(holders.values()))
        # The resource's client: boto3 converts plain values to and from DynamoDB's typed ones on it.
        client = self.table.meta.client
        for start in range(0, len(ids), 100):  # BatchGetItem takes 100 keys a call
            request: dict[str, Any] = {
                self.table_name: {
                    "Keys": [licence_key(i) for i in ids[start : start + 100]],
                    "ProjectionExpression": "licence_id, #s, status_index",
                    "ExpressionAttributeNames": {"#s": "status"},
                    "ConsistentRead": True,
                }
            }
            while request:
                reply = client.batch_get_item(RequestItems=request)
                for item in reply.get("Responses", {}).get(self.table_name, []):
                    index = item.get("status_index")
                    found[str(item["licence_id"])] = (
                        str(item["status"]),
                        int(index) if index is not None else None,
                    )
                request = reply.get("UnprocessedKeys") or {}
        out: dict[int, LicenceStatus] = {}
        for index, licence_id in holders.items():
            status, held = found.get(licence_id, (None, None))
            if status is not None and held == index:  # an index whose reservation lost a race stays 0
                out[index] = LicenceStatus(status)
        return out

    @traced
    def reserve(self, record: LicenceRecord, *, guard_application: bool) -> None:
        item = {
            **licence_key(record.licence_id),
            "entity": "licence",
            "application_id": record.application_id,
            "holder_code": record.holder_code,
            "updated_at": _iso(record.reserved_at),
            **record.as_dict(),
        }
        items: list[dict[str, Any]] = []
        if guard_application:
            items.append(
                {
                    "Put": {
                        "Item": {
                            **licence_claim_key(record.application_id),
                            "entity": "licence_claim",
                            "application_id": record.application_id,
                            "licence_id": record.licence_id,
                            "created_at": _iso(record.reserved_at),
                        },
                        "ConditionExpression": "attribute_not_exists(PK)",
                    }
                }
            )
        items.append({"Put": {"Item": item, "ConditionExpression": "attribute_not_exists(PK)"}})
        if record.status_index is not None:
            index_item = {
                **status_index_key(record.metadata.type_code, record.status_index),
                "entity": "status_index",
                "licence_id": record.licence_id,
            }
            items.append({"Put": {"Item": index_item, "ConditionExpression": "attribute_not_exists(PK)"}})
        items.extend(self._audit_put(record.licence_id, e, i) for i, e in enumerate(record.history))
        try:
            self._transact(items)
        except ClientError as exc:
            codes = cancellation_codes(exc)
            if codes is None:
                raise
            if guard_application and (not codes or codes[0] == "ConditionalCheckFailed"):
                existing = self.licence_for_application(record.application_id)
                if existing:
                    raise AlreadyReserved(existing) from exc
            if self.get(record.licence_id) is not None:
                raise AlreadyReserved(record.licence_id) from exc
            raise

    @traced
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
        current = self.get(licence_id)
        if current is None:
            raise NotFound("licence_not_found", "未找到该电子证照。", "No such e-licence.")
        holder = _holder_keys(current.with_entry(entry, issued_at=issued_at))
        items: list[dict[str, Any]] = [
            {
                "Update": {
                    "Key": licence_key(licence_id),
                    "UpdateExpression": (
                        "SET #s = :valid, pdf = :pdf, seal_cert_sha256 = :seal, issued_at = :iat, "
                        "history = list_append(history, :e), event_published = :false, "
                        "GSI2PK = :g2pk, GSI2SK = :g2sk, updated_at = :iat"
                    ),
                    "ConditionExpression": "#s = :issuing",
                    "ExpressionAttributeNames": {"#s": "status"},
                    "ExpressionAttributeValues": {
                        ":valid": LicenceStatus.VALID.value,
                        ":issuing": LicenceStatus.ISSUING.value,
                        ":pdf": pdf.as_dict(),
                        ":seal": seal_cert_sha256,
                        ":iat": _iso(issued_at),
                        ":e": [entry.as_dict()],
                        ":false": False,
                        ":g2pk": holder["GSI2PK"],
                        ":g2sk": holder["GSI2SK"],
                    },
                }
            },
            self._audit_put(licence_id, entry, len(current.history)),
        ]
        if supersede is not None:
            old_id, old_entry = supersede
            old = self.get(old_id)
            if old is None:
                raise NotFound("licence_not_found", "未找到该电子证照。", "No such e-licence.")
            items.append(
                {
                    "Update": {
                        "Key": licence_key(old_id),
                        "UpdateExpression": (
                            "SET #s = :superseded, superseded_by = :new, "
                            "history = list_append(history, :e), updated_at = :at"
                        ),
                        "ConditionExpression": "#s = :valid",
                        "ExpressionAttributeNames": {"#s": "status"},
                        "ExpressionAttributeValues": {
                            ":superseded": LicenceStatus.SUPERSEDED.value,
                            ":valid": LicenceStatus.VALID.value,
                            ":new": licence_id,
                            ":e": [old_entry.as_dict()],
                            ":at": _iso(old_entry.at),
                        },
                    }
                }
            )
            items.append(self._audit_put(old_id, old_entry, len(old.history)))
        try:
            self._transact(items)
        except ClientError as exc:
            if cancellation_codes(exc) is None:
                raise
            now_record = self.get(licence_id)
            if now_record is not None and now_record.status is not LicenceStatus.ISSUING:
                raise illegal_transition(licence_id, Action.ISSUE, now_record.status) from exc
            if supersede is not None:
                old = self.get(supersede[0])
                if old is not None and old.status is not LicenceStatus.VALID:
                    raise illegal_transition(supersede[0], Action.SUPERSEDE, old.status) from exc
            raise
        done = self.get(licence_id)
        assert done is not None
        return done

    @traced
    def transition(
        self, licence_id: str, *, allowed_from: frozenset[LicenceStatus], entry: AuditEntry
    ) -> LicenceRecord:
        allowed = sorted(s.value for s in allowed_from)
        placeholders = [f":from{i}" for i in range(len(allowed))]
        # Optimistic lock on the history length: two concurrent changes that are both allowed from
        # the statuses they read cannot both land on the same history position.
        for _attempt in range(3):
            current = self.get(licence_id)
            if current is None or not current.visible:
                raise NotFound(
                    "licence_not_found",
                    "未找到该电子证照。",
                    "No such e-licence.",
                    extra={"licence_id": licence_id},
                )
            if current.status.value not in allowed:
                raise illegal_transition(licence_id, entry.action, current.status)
            values: dict[str, Any] = dict(zip(placeholders, allowed, strict=True))
            values.update(
                {
                    ":to": entry.to_status.value,
                    ":e": [entry.as_dict()],
                    ":at": _iso(entry.at),
                    ":n": len(current.history),
                }
            )
            update = {
                "Key": licence_key(licence_id),
                "UpdateExpression": "SET #s = :to, history = list_append(history, :e), updated_at = :at",
                "ConditionExpression": f"#s IN ({', '.join(placeholders)}) AND size(history) = :n",
                "ExpressionAttributeNames": {"#s": "status"},
                "ExpressionAttributeValues": values,
            }
            try:
                self._transact([{"Update": update}, self._audit_put(licence_id, entry, len(current.history))])
            except ClientError as exc:
                if cancellation_codes(exc) is None:
                    raise
                continue  # someone else changed it between our read and write: look again
            done = self.get(licence_id)
            assert done is not None
            return done
        current = self.get(licence_id)
        raise illegal_transition(licence_id, entry.action, current.status if current else LicenceStatus.OTHER)

    @traced
    def mark_published(self, licence_id: str) -> None:
        self.table.update_item(
            Key=licence_key(licence_id),
            UpdateExpression="SET event_published = :true",
            ConditionExpression="attribute_exists(PK)",
            ExpressionAttributeValues={":true": True},
        )
