"""Link an issued licence to its application item (DynamoDB)."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from onestop.errors import NotFound

from .clients import dynamodb_table


class DynamoApplicationLinker:
    """Sets `licence_id` on `APP#<id>`/`META`, bumping `version` so no stale writer can drop it."""

    def __init__(self, table_name: str, table: Any | None = None) -> None:
        self._table_name = table_name
        self._table = table

    def link_licence(self, application_id: str, licence_id: str) -> None:
        table = self._table if self._table is not None else dynamodb_table(self._table_name)
        try:
            table.update_item(
                Key={"PK": f"APP#{application_id}", "SK": "META"},
                UpdateExpression="SET licence_id = :l, version = if_not_exists(version, :zero) + :one",
                ConditionExpression=(
                    "attribute_exists(PK) AND (attribute_not_exists(licence_id) OR licence_id = :l)"
                ),
                ExpressionAttributeValues={":l": licence_id, ":zero": 0, ":one": 1},
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            raise NotFound(
                "application_not_found",
                f"申请 {application_id} 不存在或已关联其他证照。",
                f"Application {application_id} does not exist or is linked to another licence.",
            ) from exc
