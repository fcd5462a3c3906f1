"""Link an issued licence to its application item (DynamoDB)."""

from __future__ import annotations

from botocore.exceptions import ClientError

from onestop.errors import NotFound
from onestop.observability import traced

from .dynamo import DynamoAdapter, application_key, condition_failed


class DynamoApplicationLinker(DynamoAdapter):
    """Sets `licence_id` on `APP#<id>`/`META`, bumping `version` so no stale writer can drop it."""

    @traced
    def link_licence(self, application_id: str, licence_id: str) -> None:
        try:
            self.table.update_item(
                Key=application_key(application_id),
                UpdateExpression="SET licence_id = :l, version = if_not_exists(version, :zero) + :one",
                ConditionExpression=(
                    "attribute_exists(PK) AND (attribute_not_exists(licence_id) OR licence_id = :l)"
                ),
                ExpressionAttributeValues={":l": licence_id, ":zero": 0, ":one": 1},
            )
        except ClientError as exc:
            if not condition_failed(exc):
                raise
            raise NotFound(
                "application_not_found",
                f"申请 {application_id} 不存在或已关联其他证照。",
                f"Application {application_id} does not exist or is linked to another licence.",
            ) from exc
