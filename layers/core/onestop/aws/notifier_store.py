"""`NotificationStore` over the one table: preferences, inbox items and per-send delivery records.

| item | PK | SK |
|---|---|---|
| preferences | `USER#<sub>` | `NOTIFY#PREFERENCES` |
| inbox item | `INBOX#<sub>` | `MSG#<id>` (id starts with the event time: newest first is a reverse query) |
| delivery | `NOTIFY#<event id>` | `<recipient digest>#<channel>#<notice kind>` (expires after 30 days) |

A delivery is claimed by a conditional put, so two deliveries of the same event (EventBridge's
at-least-once) never both send: only a record to be retried, or one whose sender's lease ran out, can
be taken again.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from onestop.applications.models import Page, iso_precise
from onestop.notifications.models import DeliveryKey, DeliveryState, InboxItem, Preferences
from onestop.observability import traced
from onestop.paging import decode_cursor, key_cursor_check

from .dynamo import DynamoAdapter, condition_failed, next_cursor
from .dynamo_values import from_dynamo, to_dynamo

PREFERENCES_SK = "NOTIFY#PREFERENCES"
DELIVERY_TTL = timedelta(days=30)  # beyond the rules' 24 h of retries and the DLQ's 14 days
_INBOX_KEY = ("PK", "SK")


def preferences_key(sub: str) -> dict[str, str]:
    return {"PK": f"USER#{sub}", "SK": PREFERENCES_SK}


def unread_key(sub: str) -> dict[str, str]:
    """The count of `sub`'s unread inbox items (kept with each insert and first read)."""
    return {"PK": f"USER#{sub}", "SK": "NOTIFY#UNREAD"}


def inbox_pk(sub: str) -> str:
    return f"INBOX#{sub}"


def inbox_key(sub: str, item_id: str) -> dict[str, str]:
    return {"PK": inbox_pk(sub), "SK": f"MSG#{item_id}"}


def delivery_key(key: DeliveryKey) -> dict[str, str]:
    # The recipient as a digest: the record is about a send, and needs no account id in clear.
    who = hashlib.sha256(key.recipient.encode()).hexdigest()[:24]
    channel = key.channel.value if key.channel is not None else "inbox"
    return {"PK": f"NOTIFY#{key.event_id}", "SK": f"{who}#{channel}#{key.kind}"}


class DynamoNotificationStore(DynamoAdapter):
    """Preferences, inbox and delivery records in the single table."""

    @traced
    def preferences(self, sub: str) -> Preferences | None:
        item = self.table.get_item(Key=preferences_key(sub)).get("Item")
        if not item:
            return None
        return Preferences.model_validate(
            from_dynamo({k: v for k, v in item.items() if k not in ("PK", "SK")})
        )

    @traced
    def save_preferences(self, sub: str, preferences: Preferences) -> None:
        stored = preferences.model_dump(mode="json")
        stored["channels"] = sorted(stored["channels"])
        self.table.put_item(Item={**preferences_key(sub), **to_dynamo(stored)})

    @traced
    def add_to_inbox(self, sub: str, item: InboxItem, event_key: str) -> bool:
        # The item and its marker under the event (one per recipient and notice kind) in one
        # transaction: a re-published event, with another id and time, finds the marker.
        marker = {
            **delivery_key(DeliveryKey(event_key, sub, None, item.kind)),
            "channel": "inbox",
            "kind": item.kind,
            "expires": int((item.created_at + DELIVERY_TTL).timestamp()),
        }
        try:
            self.table.meta.client.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self.table_name,
                            "Item": marker,
                            "ConditionExpression": "attribute_not_exists(PK)",
                        }
                    },
                    {
                        "Put": {
                            "TableName": self.table_name,
                            "Item": {**inbox_key(sub, item.id), **to_dynamo(item.model_dump(mode="json"))},
                            "ConditionExpression": "attribute_not_exists(PK)",
                        }
                    },
                    {
                        "Update": {
                            "TableName": self.table_name,
                            "Key": unread_key(sub),
                            "UpdateExpression": "ADD unread :one",
                            "ExpressionAttributeValues": {":one": 1},
                        }
                    },
                ]
            )
        except ClientError as exc:
            if condition_failed(exc):
                return False  # a redelivered event: the item is there (and may have been read)
            raise
        return True

    @traced
    def inbox(self, sub: str, *, limit: int, cursor: str | None) -> Page[InboxItem]:
        partition = inbox_pk(sub)
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": Key("PK").eq(partition) & Key("SK").begins_with("MSG#"),
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if cursor:
            # A cursor names its partition: one cannot page into another account's inbox.
            kwargs["ExclusiveStartKey"] = decode_cursor(cursor, key_cursor_check(_INBOX_KEY, "PK", partition))
        reply = self.table.query(**kwargs)
        items = [InboxItem.model_validate(from_dynamo(i)) for i in reply.get("Items", [])]
        return Page[InboxItem](items=items, next_cursor=next_cursor(reply))

    @traced
    def unread(self, sub: str) -> int:
        item = self.table.get_item(Key=unread_key(sub)).get("Item") or {}
        return max(int(item.get("unread", 0)), 0)

    @traced
    def mark_read(self, sub: str, item_id: str, at: datetime) -> InboxItem | None:
        # The first read sets read_at and takes one off the unread count, together; a second read
        # (another tab, a retry) changes neither.
        key = inbox_key(sub, item_id)
        try:
            self.table.meta.client.transact_write_items(
                TransactItems=[
                    {
                        "Update": {
                            "TableName": self.table_name,
                            "Key": key,
                            "UpdateExpression": "SET read_at = :at",
                            "ConditionExpression": "attribute_exists(PK) AND attribute_not_exists(read_at)",
                            "ExpressionAttributeValues": {":at": at.isoformat()},
                        }
                    },
                    {
                        "Update": {
                            "TableName": self.table_name,
                            "Key": unread_key(sub),
                            "UpdateExpression": "ADD unread :minus",
                            "ExpressionAttributeValues": {":minus": -1},
                        }
                    },
                ]
            )
        except ClientError as exc:
            if not condition_failed(exc):
                raise
        stored = self.table.get_item(Key=key, ConsistentRead=True).get("Item")
        return InboxItem.model_validate(from_dynamo(stored)) if stored else None

    @traced
    def claim(self, key: DeliveryKey, now: datetime, lease_seconds: int) -> bool:
        try:
            self.table.put_item(
                Item={
                    **delivery_key(key),
                    "state": DeliveryState.SENDING.value,
                    "channel": key.channel.value if key.channel is not None else "inbox",
                    "kind": key.kind,
                    "claimed_at": iso_precise(now),
                    "lease_until": iso_precise(now + timedelta(seconds=lease_seconds)),
                    "expires": int((now + DELIVERY_TTL).timestamp()),
                },
                ConditionExpression=(
                    "attribute_not_exists(PK) OR #s = :retry OR (#s = :sending AND lease_until < :now)"
                ),
                ExpressionAttributeNames={"#s": "state"},
                ExpressionAttributeValues={
                    ":retry": DeliveryState.RETRY.value,
                    ":sending": DeliveryState.SENDING.value,
                    ":now": iso_precise(now),
                },
            )
        except ClientError as exc:
            if condition_failed(exc):
                return False
            raise
        return True

    @traced
    def finish(self, key: DeliveryKey, *, sent: bool, detail: str, at: datetime) -> None:
        state = DeliveryState.SENT if sent else DeliveryState.FAILED
        self.table.update_item(
            Key=delivery_key(key),
            UpdateExpression="SET #s = :state, finished_at = :at, "
            + ("provider_id" if sent else "reason")
            + " = :d",
            ExpressionAttributeNames={"#s": "state"},
            ExpressionAttributeValues={":state": state.value, ":at": iso_precise(at), ":d": detail},
        )

    @traced
    def release(self, key: DeliveryKey, error: str, at: datetime) -> None:
        self.table.update_item(
            Key=delivery_key(key),
            UpdateExpression="SET #s = :retry, last_error = :e, released_at = :at ADD attempts :one",
            ExpressionAttributeNames={"#s": "state"},
            ExpressionAttributeValues={
                ":retry": DeliveryState.RETRY.value,
                ":e": error,
                ":at": iso_precise(at),
                ":one": 1,
            },
        )

    @traced
    def deliveries(self, event_id: str) -> list[dict[str, Any]]:
        """The delivery records of an event (operators and tests read them)."""
        reply = self.table.query(
            KeyConditionExpression=Key("PK").eq(f"NOTIFY#{event_id}"), ConsistentRead=True
        )
        return [from_dynamo(i) for i in reply.get("Items", [])]
