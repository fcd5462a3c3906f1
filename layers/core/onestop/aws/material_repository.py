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

from onestop.applications.models import Applicant
from onestop.errors import Reason
from onestop.materials.service import MaterialContext, MaterialRef, MaterialResult
from onestop.materials.status import OPEN_STATUSES, MaterialStatus
from onestop.observability import traced

from .dynamo import DynamoAdapter, application_key, material_key
from .dynamo_values import to_dynamo

# Only a material that is not finished may be (re)processed or marked failed.
_STILL_OPEN = "attribute_not_exists(PK) OR #status IN (:awaiting, :processing, :failed)"


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
            expected_material_type=str(expected) if expected else None,
            declared=declared if isinstance(declared, Mapping) else None,
            status=item.get("status"),
        )

    @traced
    def begin_processing(self, ref: MaterialRef, original: Mapping[str, Any]) -> bool:
        now = _now()
        condition = _STILL_OPEN
        values: dict[str, Any] = {
            ":awaiting": MaterialStatus.AWAITING_UPLOAD.value,
            ":processing": MaterialStatus.PROCESSING.value,
            ":failed": MaterialStatus.FAILED.value,
        }
        version = original.get("version_id")
        if version:
            # A new version of the object under the same key is new work.
            condition += " OR attribute_not_exists(#original.#version) OR #original.#version <> :version"
            values[":version"] = version
        values.update(
            {
                ":app": ref.application_id,
                ":slot": ref.slot,
                ":upload": ref.upload_id,
                ":source": "upload",
                ":now": now,
                ":original": to_dynamo(dict(original)),
            }
        )
        return self._update_if(
            Key=self.key(ref),
            UpdateExpression=(
                "SET #status = :processing, application_id = :app, slot = :slot, upload_id = :upload, "
                "#source = if_not_exists(#source, :source), "
                "created_at = if_not_exists(created_at, :now), "
                "updated_at = :now, #original = :original REMOVE #reason"
            ),
            ConditionExpression=condition,
            ExpressionAttributeNames={
                "#status": "status",
                "#source": "source",
                "#original": "original",
                "#reason": "reason",
                **({"#version": "version_id"} if version else {}),
            },
            ExpressionAttributeValues=values,
        )

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
                ":failed": MaterialStatus.FAILED.value,
                ":awaiting": MaterialStatus.AWAITING_UPLOAD.value,
                ":processing": MaterialStatus.PROCESSING.value,
                ":reason": _reason(reason),
                ":app": ref.application_id,
                ":slot": ref.slot,
                ":upload": ref.upload_id,
                ":source": "upload",
                ":now": now,
            },
        )
