"""Binding requests in the one table: `BIND#<id>` / `META`; the pending ones in the status index
(`GSI1PK = BINDINGS#pending`, oldest first) and each requester's in the owner index under its own
partition (`GSI3PK = BINDOWNER#<sub>`, never mixed with the applications listed by owner)."""

from __future__ import annotations

from typing import Any

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from onestop.applications.models import Page
from onestop.errors import Conflict
from onestop.observability import traced
from onestop.paging import decode_cursor, key_cursor_check
from onestop.parties.bindings import BindingRequest, BindingStatus

from .dynamo import META, DynamoAdapter, condition_failed, next_cursor
from .dynamo_values import from_dynamo, to_dynamo

PENDING_PK = "BINDINGS#pending"
_PENDING_KEY = ("PK", "SK", "GSI1PK", "GSI1SK")
_OWNER_KEY = ("PK", "SK", "GSI3PK", "GSI3SK")


def binding_key(request_id: str) -> dict[str, str]:
    return {"PK": f"BIND#{request_id}", "SK": META}


def requester_pk(sub: str) -> str:
    return f"BINDOWNER#{sub}"


class DynamoBindingStore(DynamoAdapter):
    """`onestop.parties.bindings.BindingStore` over DynamoDB."""

    def _item(self, request: BindingRequest) -> dict[str, Any]:
        item: dict[str, Any] = {
            **binding_key(request.id),
            "type": "binding_request",
            "GSI3PK": requester_pk(request.requester_sub),
            "GSI3SK": f"{request.created_at.isoformat()}#{request.id}",
            **to_dynamo(request.model_dump(mode="json")),
        }
        if request.status is BindingStatus.PENDING:
            item["GSI1PK"] = PENDING_PK
            item["GSI1SK"] = f"{request.created_at.isoformat()}#{request.id}"
        return item

    @staticmethod
    def _request(item: dict[str, Any]) -> BindingRequest:
        fields = set(BindingRequest.model_fields)
        return BindingRequest.model_validate({k: v for k, v in from_dynamo(item).items() if k in fields})

    @traced
    def create(self, request: BindingRequest) -> None:
        self.table.put_item(Item=self._item(request), ConditionExpression="attribute_not_exists(PK)")

    @traced
    def get(self, request_id: str) -> BindingRequest | None:
        item = self.table.get_item(Key=binding_key(request_id), ConsistentRead=True).get("Item")
        return self._request(item) if item else None

    @traced
    def list_by_requester(self, sub: str, *, limit: int, cursor: str | None) -> Page[BindingRequest]:
        return self._page(
            "ByOwner", "GSI3PK", requester_pk(sub), _OWNER_KEY, limit, cursor, newest_first=True
        )

    @traced
    def list_pending(self, *, limit: int, cursor: str | None) -> Page[BindingRequest]:
        return self._page(
            "ByStatusDeadline", "GSI1PK", PENDING_PK, _PENDING_KEY, limit, cursor, newest_first=False
        )

    @traced
    def replace(self, before: BindingRequest, after: BindingRequest) -> None:
        try:
            self.table.put_item(
                Item=self._item(after),
                ConditionExpression="version = :v",
                ExpressionAttributeValues={":v": before.version},
            )
        except ClientError as exc:
            if condition_failed(exc):
                raise Conflict(
                    "binding_changed",
                    "该绑定申请已被他人处理，请刷新后再看。",
                    "Someone else decided on this binding request meanwhile; reload it.",
                ) from exc
            raise

    def _page(
        self,
        index: str,
        index_pk: str,
        partition: str,
        key_attrs: tuple[str, ...],
        limit: int,
        cursor: str | None,
        *,
        newest_first: bool,
    ) -> Page[BindingRequest]:
        kwargs: dict[str, Any] = {
            "IndexName": index,
            "KeyConditionExpression": Key(index_pk).eq(partition),
            "ScanIndexForward": not newest_first,
            "Limit": limit,
        }
        if cursor:
            kwargs["ExclusiveStartKey"] = decode_cursor(
                cursor, key_cursor_check(key_attrs, index_pk, partition)
            )
        reply = self.table.query(**kwargs)
        items = [self._request(i) for i in reply.get("Items", [])]
        return Page[BindingRequest](items=items, next_cursor=next_cursor(reply))
