"""What every DynamoDB adapter shares: the base adapter, the one conditional-failure check, the key
layout of the single table, and the tracing of adapter calls.

The key builders spell the layout of docs/architecture.md ("Data"): every partition key and fixed
sort key of the table is written here, once. Sort keys that carry a time or a sequence (audit
events, index sort keys) stay with their adapter.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from botocore.exceptions import ClientError

from onestop.paging import encode_cursor

from .clients import dynamodb_table

META = "META"
MATERIAL_PREFIX = "MAT#"
EVENT_PREFIX = "EVT#"
LICENCE_CLAIM_SK = "LICENCE"
REVIEW_SK = "REVIEW"
OUTBOX_PK = "OUTBOX"
SERIAL_PK = "SEQ#licence"
STATUS_INDEX_PK = "SEQ#status-list"  # SK: list name, n: indexes handed out
STATUS_LIST_PK = "SLIST#"
_APP = "APP#"
SHANGHAI = ZoneInfo("Asia/Shanghai")  # the bureau's calendar (as `applications.clock`)
_LIC = "LIC#"


# ----------------------------------------------------------------- keys


def app_pk(application_id: str) -> str:
    return f"{_APP}{application_id}"


def application_id_of(pk: str) -> str:
    """The application id of an `APP#<id>` partition key."""
    return pk.removeprefix(_APP)


def application_key(application_id: str) -> dict[str, str]:
    return {"PK": app_pk(application_id), "SK": META}


def material_sk(slot: str, upload_id: str) -> str:
    return f"{MATERIAL_PREFIX}{slot}#{upload_id}"


def material_key(application_id: str, slot: str, upload_id: str) -> dict[str, str]:
    return {"PK": app_pk(application_id), "SK": material_sk(slot, upload_id)}


def status_pk(status: str) -> str:
    return f"STATUS#{status}"


def owner_pk(owner_sub: str) -> str:
    return f"OWNER#{owner_sub}"


def quota_key(owner_sub: str, counter: str) -> dict[str, str]:
    """An account's quota counter (`applications.quotas`): open drafts, a day's upload tickets."""
    return {"PK": f"QUOTA#{owner_sub}", "SK": counter}


def outbox_key(application_id: str, detail_type: str, key: str = "") -> dict[str, str]:
    """An owed event: `<application id>#<detail type>` (a transition's: one per type), or with the
    owed event's `#<key>` (an attached e-licence's: one per material)."""
    sk = f"{application_id}#{detail_type}"
    return {"PK": OUTBOX_PK, "SK": f"{sk}#{key}" if key else sk}


def licence_pk(licence_id: str) -> str:
    return f"{_LIC}{licence_id}"


def licence_id_of(pk: str) -> str:
    """The licence id of a `LIC#<id>` partition key."""
    return pk.removeprefix(_LIC)


def licence_key(licence_id: str) -> dict[str, str]:
    return {"PK": licence_pk(licence_id), "SK": META}


def licence_claim_key(application_id: str) -> dict[str, str]:
    """The one-licence-per-application claim."""
    return {"PK": app_pk(application_id), "SK": LICENCE_CLAIM_SK}


def serial_key(year: int) -> dict[str, str]:
    return {"PK": SERIAL_PK, "SK": str(year)}


def status_index_key(list_name: str, index: int) -> dict[str, str]:
    """The claim of one status-list index (licences/status_list.py): written once, never reused."""
    return {"PK": f"{STATUS_LIST_PK}{list_name}", "SK": f"IDX#{index:010d}"}


def holder_pk(holder_code: str) -> str:
    return f"HOLDER#{holder_code}"


def review_key(application_id: str) -> dict[str, str]:
    return {"PK": app_pk(application_id), "SK": REVIEW_SK}


def reviews_pk(month: date) -> str:
    """The reviews of `month` (its year and month, in whatever zone the caller chose)."""
    return f"REVIEWS#{month:%Y-%m}"


def materials_pk(month: date) -> str:
    """The materials catalogued in `month` (Asia/Shanghai), for the correction rate (ByStatusDeadline)."""
    return f"MATERIALS#{month:%Y-%m}"


def catalogued_index(application_id: str, slot: str, upload_id: str, at: datetime) -> dict[str, str]:
    """Index keys of a catalogued material: its month's partition, in time order, so the materials
    of a period (and their corrections) are one query per month (`quality_repository`)."""
    stamp = at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return {
        "GSI1PK": materials_pk(at.astimezone(SHANGHAI).date()),
        "GSI1SK": f"{stamp}#{application_id}#{slot}#{upload_id}",
    }


CATALOGUE_PK = "CATALOGUE"  # the catalogue's versions (catalogue_repository)
CATALOGUE_VERSION_PREFIX = "V#"


def catalogue_current_key() -> dict[str, str]:
    """The current catalogue version's number."""
    return {"PK": CATALOGUE_PK, "SK": "CURRENT"}


def catalogue_version_key(version: int) -> dict[str, str]:
    """One immutable catalogue version (its audit and data)."""
    return {"PK": CATALOGUE_PK, "SK": f"{CATALOGUE_VERSION_PREFIX}{version:010d}"}


def case_pk(case_id: str) -> str:
    return f"CASE#{case_id}"


def case_key(case_id: str) -> dict[str, str]:
    return {"PK": case_pk(case_id), "SK": META}


def cases_pk(status: str) -> str:
    return f"CASES#{status}"


# ----------------------------------------------------------------- errors


def cancellation_codes(exc: ClientError) -> list[str] | None:
    """The per-item reason codes of a cancelled transaction (`"None"` for an item that passed), or
    None when `exc` is not a cancelled transaction."""
    if exc.response.get("Error", {}).get("Code") != "TransactionCanceledException":
        return None
    return [str(r.get("Code", "None")) for r in exc.response.get("CancellationReasons") or []]


def condition_failed(exc: ClientError) -> bool:
    """A write refused by its condition: a single write's ConditionalCheckFailedException, or a
    transaction cancelled because at least one of its conditions failed."""
    if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
        return True
    return "ConditionalCheckFailed" in (cancellation_codes(exc) or [])


# ----------------------------------------------------------------- adapter


def next_cursor(reply: Mapping[str, Any]) -> str | None:
    """The cursor of the page after a query's reply, or None on the last page."""
    last = reply.get("LastEvaluatedKey")
    return encode_cursor(last) if last else None


class DynamoAdapter:
    """An adapter over the one table: named at construction, the Table resource built on first use
    (shared per process; `clients.reset_clients()` drops it). Tests may hand in a table."""

    def __init__(self, table_name: str, table: Any | None = None) -> None:
        self.table_name = table_name
        self._table = table

    @property
    def table(self) -> Any:
        return self._table if self._table is not None else dynamodb_table(self.table_name)

    def _update_if(self, **update: Any) -> bool:
        """`update_item` under its ConditionExpression: False (nothing written) when the condition
        does not hold; any other error propagates."""
        try:
            self.table.update_item(**update)
        except ClientError as exc:
            if condition_failed(exc):
                return False
            raise
        return True

    def _query(self, **kwargs: Any) -> Iterator[dict[str, Any]]:
        """Every item of a query, page after page."""
        while True:
            reply = self.table.query(**kwargs)
            yield from reply.get("Items", [])
            if "LastEvaluatedKey" not in reply:
                return
            kwargs["ExclusiveStartKey"] = reply["LastEvaluatedKey"]
