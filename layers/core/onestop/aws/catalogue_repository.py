"""Catalogue versions in the table (`onestop.catalogue.versions.CatalogueRepository`).

Partition `CATALOGUE`: `CURRENT` holds the current version's number; `V#<10 digits>` one immutable
version each, its audit in attributes and its data as zlib-compressed JSON (a catalogue of the
bureau's 116 items stays far below DynamoDB's 400 KB per item). A new version is one transaction:
the version written only if absent, the pointer moved only from the version the change was made from.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from onestop.catalogue.versions import Changes, VersionConflict, VersionRecord

from .dynamo import (
    CATALOGUE_PK,
    CATALOGUE_VERSION_PREFIX,
    DynamoAdapter,
    catalogue_current_key,
    catalogue_version_key,
    condition_failed,
)

# Every audit attribute but the data (some are reserved words: all go by name).
_AUDIT_NAMES = {
    f"#{n}": n for n in ("version", "created_at", "actor", "actor_role", "changes", "base", "comment")
}


def _record(item: Mapping[str, Any]) -> VersionRecord:
    base = item.get("base")
    return VersionRecord(
        version=int(item["version"]),
        created_at=datetime.fromisoformat(str(item["created_at"])) if item.get("created_at") else None,
        actor=str(item["actor"]),
        actor_role=str(item["actor_role"]),
        changes=Changes.from_dict(json.loads(str(item.get("changes") or "{}"))),
        base=None if base is None else int(base),
        comment=item.get("comment"),
    )


def _item(record: VersionRecord, data: Mapping[str, Any]) -> dict[str, Any]:
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()
    item: dict[str, Any] = {
        **catalogue_version_key(record.version),
        "version": record.version,
        "actor": record.actor,
        "actor_role": record.actor_role,
        "changes": json.dumps(record.changes.as_dict(), ensure_ascii=False),
        "data": zlib.compress(body, 9),
    }
    if record.created_at is not None:
        item["created_at"] = record.created_at.isoformat()
    if record.base is not None:
        item["base"] = record.base
    if record.comment:
        item["comment"] = record.comment
    return item


class DynamoCatalogueRepository(DynamoAdapter):
    """Catalogue versions in the single table."""

    def current_version(self) -> int | None:
        reply = self.table.get_item(Key=catalogue_current_key(), ConsistentRead=True)
        item = reply.get("Item")
        return None if item is None else int(item["version"])

    def get(self, version: int) -> tuple[VersionRecord, dict[str, Any]] | None:
        item = self.table.get_item(Key=catalogue_version_key(version), ConsistentRead=True).get("Item")
        if item is None:
            return None
        raw = item["data"]
        data = json.loads(zlib.decompress(bytes(getattr(raw, "value", raw))))
        return _record(item), data

    def records(self) -> list[VersionRecord]:
        items = self._query(
            KeyConditionExpression="PK = :pk AND begins_with(SK, :v)",
            ExpressionAttributeValues={":pk": CATALOGUE_PK, ":v": CATALOGUE_VERSION_PREFIX},
            ProjectionExpression=", ".join(_AUDIT_NAMES),
            ExpressionAttributeNames=_AUDIT_NAMES,
            ConsistentRead=True,
        )
        return [_record(i) for i in items]

    def put(
        self,
        record: VersionRecord,
        data: Mapping[str, Any],
        *,
        seed: tuple[VersionRecord, Mapping[str, Any]] | None = None,
    ) -> None:
        name = self.table_name
        transact: list[dict[str, Any]] = []
        if seed is not None:
            transact.append(
                {
                    "Put": {
                        "TableName": name,
                        "Item": _item(*seed),
                        "ConditionExpression": "attribute_not_exists(PK)",
                    }
                }
            )
        transact.append(
            {
                "Put": {
                    "TableName": name,
                    "Item": _item(record, data),
                    "ConditionExpression": "attribute_not_exists(PK)",
                }
            }
        )
        base = record.base or 1
        # From version 1 there is no pointer yet (or, if version 1 was stored, it reads 1).
        condition = "#version = :base" if base > 1 else "attribute_not_exists(PK) OR #version = :base"
        transact.append(
            {
                "Update": {
                    "TableName": name,
                    "Key": catalogue_current_key(),
                    "UpdateExpression": "SET #version = :new",
                    "ConditionExpression": condition,
                    "ExpressionAttributeNames": {"#version": "version"},
                    "ExpressionAttributeValues": {":base": base, ":new": record.version},
                }
            }
        )
        try:
            self.table.meta.client.transact_write_items(TransactItems=transact)
        except ClientError as exc:
            if condition_failed(exc):
                raise VersionConflict(self.current_version() or 1) from None
            raise
