"""DynamoDB implementation of `materials.service.MaterialRepository` (the one-table material items).

Item: PK `APP#<application id>`, SK `MAT#<slot>#<upload id>`. Every write is conditional, so a
duplicated or replayed S3 event never processes an object version twice and never overwrites a
finished material with `failed`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from onestop.applications.models import Applicant, AuditEvent
from onestop.errors import Reason
from onestop.materials.gate import EDITABLE, Target, Ticket, UploadClaim
from onestop.materials.service import MaterialContext, MaterialRef, MaterialResult
from onestop.materials.status import OPEN_STATUSES, MaterialStatus
from onestop.observability import traced

from .application_repository import event_sk
from .dynamo import (
    DynamoAdapter,
    app_pk,
    application_key,
    catalogued_index,
    condition_failed,
    material_key,
)
from .dynamo_values import to_dynamo

# Only an existing material that is not finished may be marked failed or refused: a record is made by
# an upload ticket (the api function), never by ingest for a key nobody asked for.
_STILL_OPEN = "#status IN (:awaiting, :processing, :failed)"
_OPEN_VALUES = {
    ":awaiting": MaterialStatus.AWAITING_UPLOAD.value,
    ":processing": MaterialStatus.PROCESSING.value,
    ":failed": MaterialStatus.FAILED.value,
}


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _reason(reason: Reason) -> dict[str, str]:
    return {"code": reason.code, "zh": reason.zh, "en": reason.en}


def _problem(reason: Reason) -> dict[str, str]:
    out = {"code": reason.code, "zh": reason.zh, "en": reason.en}
    if reason.field:
        out["field"] = reason.field
    return out


class DynamoMaterialRepository(DynamoAdapter):
    """Material records in the onestop table."""

    @staticmethod
    def key(ref: MaterialRef) -> dict[str, str]:
        return material_key(ref.application_id, ref.slot, ref.upload_id)

    @traced
    def get(self, ref: MaterialRef) -> dict[str, Any] | None:
        item: dict[str, Any] | None = self.table.get_item(Key=self.key(ref), ConsistentRead=True).get("Item")
        return item

    @traced
    def context(self, ref: MaterialRef) -> MaterialContext:
        item = self.get(ref) or {}
        app = self.table.get_item(Key=application_key(ref.application_id)).get("Item") or {}
        applicant = None
        if isinstance(app.get("applicant"), Mapping):
            try:
                applicant = Applicant.model_validate(app["applicant"])
            except ValueError:
                applicant = None
        expected = item.get("material_type") or item.get("expected_material_type")
        declared = item.get("declared")
        if isinstance(declared, Mapping) and "size" in declared:
            declared = {**declared, "size": int(declared["size"])}
        return MaterialContext(
            applicant=applicant,
            item_code=app.get("item_code"),
            catalogue_version=int(app["catalogue_version"]) if app.get("catalogue_version") else None,
            expected_material_type=str(expected) if expected else None,
            declared=declared if isinstance(declared, Mapping) else None,
            status=item.get("status"),
        )

    @traced
    def claim(self, ref: MaterialRef) -> UploadClaim:
        item = self.get(ref)
        app = self.table.get_item(Key=application_key(ref.application_id), ConsistentRead=True).get("Item")
        target = None
        if app is not None:
            target = Target(
                status=str(app.get("status")),
                version=int(app.get("version", 0)),
                item_code=app.get("item_code"),
            )
        ticket = None
        if item is not None:
            original = item.get("original") if isinstance(item.get("original"), Mapping) else {}
            formats = item.get("formats")
            ticket = Ticket(
                key=item.get("key"),
                status=str(item.get("status")),
                source=str(item.get("source") or "upload"),
                max_bytes=int(item["max_bytes"]) if item.get("max_bytes") is not None else None,
                formats=tuple(str(f) for f in formats) if formats else None,
                claimed_version=(original or {}).get("version_id"),
                owner_sub=app.get("owner_sub") if app else None,
            )
        return UploadClaim(application=target, ticket=ticket)

    @traced
    def begin_processing(self, ref: MaterialRef, original: Mapping[str, Any]) -> bool:
        update: dict[str, Any] = {
            "Key": self.key(ref),
            "UpdateExpression": (
                "SET #status = :processing, updated_at = :now, #original = :original REMOVE #reason"
            ),
            "ExpressionAttributeNames": {"#status": "status", "#original": "original", "#reason": "reason"},
            "ExpressionAttributeValues": {
                ":processing": MaterialStatus.PROCESSING.value,
                ":now": _now(),
                ":original": to_dynamo(dict(original)),
            },
        }
        # The first object for a ticket: the ticket still awaits its upload and the application can
        # still change, both checked in the one write (a submit in between loses or wins as a whole).
        first = {
            **update,
            "TableName": self.table_name,
            "ConditionExpression": "#status = :awaiting",
            "ExpressionAttributeValues": {
                **update["ExpressionAttributeValues"],
                ":awaiting": MaterialStatus.AWAITING_UPLOAD.value,
            },
        }
        try:
            self.table.meta.client.transact_write_items(
                TransactItems=[self._editable_check(ref.application_id), {"Update": first}]
            )
            return True
        except ClientError as exc:
            if not condition_failed(exc):
                raise
        # Else only a retry of the object version that already claimed the ticket (or of an attempt
        # that failed before recording one).
        version = original.get("version_id")
        condition = "#status IN (:processing, :failed)"
        values = {**update["ExpressionAttributeValues"], ":failed": MaterialStatus.FAILED.value}
        if version:
            condition += " AND (attribute_not_exists(#original.#version) OR #original.#version = :version)"
            values[":version"] = version
            update["ExpressionAttributeNames"]["#version"] = "version_id"
        return self._update_if(
            **{**update, "ConditionExpression": condition, "ExpressionAttributeValues": values}
        )

    def _editable_check(self, application_id: str) -> dict[str, Any]:
        values = {f":e{i}": s for i, s in enumerate(sorted(EDITABLE))}
        return {
            "ConditionCheck": {
                "TableName": self.table_name,
                "Key": application_key(application_id),
                "ConditionExpression": f"#status IN ({', '.join(values)})",
                "ExpressionAttributeNames": {"#status": "status"},
                "ExpressionAttributeValues": values,
            }
        }

    @traced
    def refuse(
        self,
        ref: MaterialRef,
        reason: Reason,
        original: Mapping[str, Any],
        announcement: tuple[str, Mapping[str, Any]] | None = None,
    ) -> bool:
        """The applicant's own ticket: `rejected` with the reason (only while it is not finished)."""
        names = {"#status": "status", "#reason": "reason", "#original": "original"}
        values: dict[str, Any] = {
            **_OPEN_VALUES,
            ":rejected": MaterialStatus.REJECTED.value,
            ":reason": _reason(reason),
            ":original": to_dynamo(dict(original)),
            ":now": _now(),
        }
        expression = "SET #status = :rejected, #reason = :reason, #original = :original, updated_at = :now"
        if announcement is not None:
            kind, detail = announcement
            expression += ", announcement = :announcement"
            values[":announcement"] = json.dumps(
                {"detail_type": kind, "detail": dict(detail)}, ensure_ascii=False, default=str
            )
        return self._update_if(
            Key=self.key(ref),
            UpdateExpression=expression,
            ConditionExpression=_STILL_OPEN,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )

    @traced
    def audit(self, event: AuditEvent) -> None:
        """An audit event on the application (a refused upload: nothing else changes with it)."""
        item = {"PK": app_pk(event.application_id), "SK": event_sk(event), "type": "event"}
        self.table.put_item(Item={**item, **to_dynamo(event.model_dump(mode="json"))})

    @traced
    def complete(self, ref: MaterialRef, result: MaterialResult) -> bool:
        names = {"#status": "status", "#original": "original", "#fields": "fields", "#reason": "reason"}
        values: dict[str, Any] = {
            ":status": result.status,
            ":processing": MaterialStatus.PROCESSING.value,
            ":now": _now(),
            ":original": to_dynamo(dict(result.original)),
            ":fields": to_dynamo(dict(result.fields)),
            ":problems": [_problem(p) for p in result.problems],
        }
        sets = [
            "#status = :status",
            "updated_at = :now",
            "#original = :original",
            "#fields = :fields",
            "problems = :problems",
        ]
        if result.field_readings:
            sets.append("field_readings = :readings")
            values[":readings"] = to_dynamo(dict(result.field_readings))
        if result.status != MaterialStatus.REJECTED.value:
            for name, key in catalogued_index(
                ref.application_id, ref.slot, ref.upload_id, datetime.now(UTC)
            ).items():
                sets.append(f"{name} = :{name}")
                values[f":{name}"] = key
        if result.announcement is not None:
            # The owed event, as JSON text (exact shape for the re-send), until mark_announced.
            kind, detail = result.announcement
            sets.append("announcement = :announcement")
            values[":announcement"] = json.dumps(
                {"detail_type": kind, "detail": detail}, ensure_ascii=False, default=str
            )
        removes = []
        for name, value in (
            ("classification", result.classification),
            ("normalised", result.normalised),
            ("manifest_key", result.manifest_key),
        ):
            if value is None:
                removes.append(name)
            else:
                sets.append(f"{name} = :{name}")
                values[f":{name}"] = to_dynamo(value)
        if result.reason is None:
            removes.append("#reason")
        else:
            sets.append("#reason = :reason")
            values[":reason"] = _reason(result.reason)
        expression = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
        return self._update_if(
            Key=self.key(ref),
            UpdateExpression=expression,
            ConditionExpression="#status = :processing",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )

    @traced
    def unannounced(self, ref: MaterialRef) -> tuple[str, dict[str, Any]] | None:
        item = self.get(ref) or {}
        text = item.get("announcement")
        if not text or item.get("status") in OPEN_STATUSES:
            return None
        owed = json.loads(str(text))
        return str(owed["detail_type"]), dict(owed["detail"])

    @traced
    def mark_announced(self, ref: MaterialRef) -> None:
        self.table.update_item(Key=self.key(ref), UpdateExpression="REMOVE announcement")

    @traced
    def mark_failed(self, ref: MaterialRef, reason: Reason, reference: str) -> bool:
        now = _now()
        return self._update_if(
            Key=self.key(ref),
            UpdateExpression=(
                "SET #status = :failed, #reason = :reason, application_id = :app, slot = :slot, "
                "upload_id = :upload, #source = if_not_exists(#source, :source), "
                "created_at = if_not_exists(created_at, :now), updated_at = :now"
            ),
            ConditionExpression=_STILL_OPEN,
            ExpressionAttributeNames={"#status": "status", "#reason": "reason", "#source": "source"},
            ExpressionAttributeValues={
                **_OPEN_VALUES,
                ":reason": _reason(reason),
                ":app": ref.application_id,
                ":slot": ref.slot,
                ":upload": ref.upload_id,
                ":source": "upload",
                ":now": now,
            },
        )
