"""DynamoDB access for the quality package: deadline flags, reviews, rectification cases, KPI reads.

Items (the one table; see DESIGN.md):
- review:  PK `APP#<application id>`, SK `REVIEW`; index keys GSI1PK `REVIEWS#<yyyy-mm>` (the month in
  Asia/Shanghai) and GSI1SK `<created ISO>#<application id>`, so the reviews of a period are one
  query per month;
- case:    PK `CASE#<case id>`, SK `META`; index keys GSI1PK `CASES#<case status>` and GSI1SK
  `<due ISO>#<case id>`, so the cases of a status come out by deadline;
- the sweep's flag is the attribute `deadline_flag` = {level, due, status, kind, flagged_at,
  published} on the application item (PK `APP#<id>`, SK `META`).
Reviews and cases share the `ByStatusDeadline` index with applications under their own partition
prefixes (`REVIEWS#`, `CASES#`), which never collide with the applications' `STATUS#`.

Nothing here scans. Every write is conditional; a failed condition becomes Conflict (or, for the
sweep's flag, "already flagged").
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from boto3.dynamodb.conditions import Attr, Key
from botocore.exceptions import ClientError

from onestop.applications.clock import SHANGHAI
from onestop.applications.models import Application, ApplicationStatus, Page, iso
from onestop.errors import Conflict, NotFound
from onestop.observability import traced
from onestop.paging import decode_cursor, key_cursor_check
from onestop.quality.models import (
    UNCLOSED_CASE_STATUSES,
    CaseStatus,
    DeadlineFlag,
    FlagLevel,
    RectificationCase,
    Review,
    SweepCandidate,
)
from onestop.quality.reviews import case_conflict

from .dynamo import (
    EVENT_PREFIX,
    DynamoAdapter,
    app_pk,
    application_id_of,
    application_key,
    case_key,
    cases_pk,
    condition_failed,
    licence_claim_key,
    licence_id_of,
    licence_key,
    materials_pk,
    next_cursor,
    review_key,
    reviews_pk,
    status_pk,
)
from .dynamo_values import from_dynamo, to_dynamo

INDEX = "ByStatusDeadline"
_INDEX_KEYS = ("PK", "SK", "GSI1PK", "GSI1SK")
_NOT_MODEL = {"PK", "SK", "GSI1PK", "GSI1SK", "GSI2PK", "GSI2SK", "GSI3PK", "GSI3SK", "type", "deadline_flag"}
_BATCH = 100  # BatchGetItem's limit


def review_partition(moment: datetime) -> str:
    return reviews_pk(moment.astimezone(SHANGHAI))


def case_partition(status: CaseStatus | str) -> str:
    return cases_pk(CaseStatus(status).value)


def _months(start: datetime, end: datetime) -> list[str]:
    """The `REVIEWS#<yyyy-mm>` partitions covering [start, end)."""
    first = start.astimezone(SHANGHAI).date().replace(day=1)
    last = (end - timedelta(microseconds=1)).astimezone(SHANGHAI).date()
    out: list[str] = []
    month = first
    while month <= last:
        out.append(reviews_pk(month))
        month = (month + timedelta(days=32)).replace(day=1)
    return out


def _plain(item: Mapping[str, Any]) -> dict[str, Any]:
    return {k: from_dynamo(v) for k, v in item.items() if k not in _NOT_MODEL}


def _parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


class DynamoQualityRepository(DynamoAdapter):
    """Implements `SweepStore`, `ReviewStore` and `KpiSource` on the one onestop table."""

    # ----------------------------------------------------------------- sweep

    @traced
    def due_before(self, status: ApplicationStatus, before: datetime) -> Iterator[SweepCandidate]:
        # Sort keys start with the due time, so "due before" is a key condition: the query reads
        # only what is due soon or late, whatever the size of the status.
        condition = Key("GSI1PK").eq(status_pk(ApplicationStatus(status).value)) & Key("GSI1SK").lt(
            iso(before)
        )
        for item in self._query(IndexName=INDEX, KeyConditionExpression=condition):
            yield SweepCandidate(
                application=Application.model_validate(_plain(item)),
                sort_key=str(item["GSI1SK"]),
                flag=DeadlineFlag.from_item(item.get("deadline_flag")),
            )

    @traced
    def set_flag(
        self, candidate: SweepCandidate, flag: DeadlineFlag, replaces: Collection[FlagLevel]
    ) -> bool:
        names = {"#status": "status", "#flag": "deadline_flag", "#due": "due"}
        values: dict[str, Any] = {
            ":status": flag.status.value,
            ":sk": candidate.sort_key,
            ":flag": flag.as_item(),
            ":due": flag.due,
        }
        allowed = ["attribute_not_exists(#flag)", "#flag.#due <> :due"]
        if replaces:
            names["#level"] = "level"
            placeholders = []
            for i, level in enumerate(sorted(replaces)):
                values[f":r{i}"] = level.value
                placeholders.append(f":r{i}")
            allowed.append(f"#flag.#level IN ({', '.join(placeholders)})")
        return self._update_if(
            Key=application_key(candidate.application.id),
            UpdateExpression="SET #flag = :flag",
            # Still in this status under this due time, and not flagged (this high) for it yet.
            ConditionExpression=f"#status = :status AND GSI1SK = :sk AND ({' OR '.join(allowed)})",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )

    @traced
    def mark_published(self, application_id: str, flag: DeadlineFlag) -> None:
        try:
            self.table.update_item(
                Key=application_key(application_id),
                UpdateExpression="SET #flag.published = :yes",
                ConditionExpression="#flag.#due = :due AND #flag.#level = :level",
                ExpressionAttributeNames={"#flag": "deadline_flag", "#due": "due", "#level": "level"},
                ExpressionAttributeValues={":yes": True, ":due": flag.due, ":level": flag.level.value},
            )
        except ClientError as exc:
            if not condition_failed(exc):  # replaced by a newer flag meanwhile: nothing to mark
                raise

    # ----------------------------------------------------------------- reviews and cases

    @staticmethod
    def _review_item(review: Review) -> dict[str, Any]:
        return {
            **review_key(review.application_id),
            "type": "review",
            "GSI1PK": review_partition(review.created_at),
            "GSI1SK": f"{iso(review.created_at)}#{review.application_id}",
            **to_dynamo(review.model_dump(mode="json")),
        }

    @staticmethod
    def _case_item(case: RectificationCase) -> dict[str, Any]:
        return {
            **case_key(case.id),
            "type": "rectification_case",
            "GSI1PK": case_partition(case.status),
            "GSI1SK": f"{iso(case.deadline.due)}#{case.id}",
            **to_dynamo(case.model_dump(mode="json")),
        }

    @traced
    def get_review(self, application_id: str) -> Review | None:
        reply = self.table.get_item(Key=review_key(application_id), ConsistentRead=True)
        item = reply.get("Item")
        return Review.model_validate(_plain(item)) if item else None

    @traced
    def create_review(self, review: Review, case: RectificationCase | None) -> None:
        transact: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self.table_name,
                    "Item": self._review_item(review),
                    "ConditionExpression": "attribute_not_exists(PK)",  # once per application
                }
            }
        ]
        if case is not None:
            transact.append(
                {
                    "Put": {
                        "TableName": self.table_name,
                        "Item": self._case_item(case),
                        "ConditionExpression": "attribute_not_exists(PK)",
                    }
                }
            )
        try:
            self.table.meta.client.transact_write_items(TransactItems=transact)
        except ClientError as exc:
            if not condition_failed(exc):
                raise
            raise Conflict(
                "already_reviewed",
                "该申请已经评价过，每件申请只能评价一次。",
                "This application has already been rated; each application can be rated once.",
            ) from exc

    @traced
    def get_case(self, case_id: str) -> RectificationCase | None:
        reply = self.table.get_item(Key=case_key(case_id), ConsistentRead=True)
        item = reply.get("Item")
        return RectificationCase.model_validate(_plain(item)) if item else None

    @traced
    def list_cases(self, status: str, *, limit: int, cursor: str | None) -> Page[RectificationCase]:
        partition = case_partition(status)
        kwargs: dict[str, Any] = {
            "IndexName": INDEX,
            "KeyConditionExpression": Key("GSI1PK").eq(partition),
            "ScanIndexForward": True,  # earliest deadline first
            "Limit": limit,
        }
        if cursor:
            kwargs["ExclusiveStartKey"] = decode_cursor(
                cursor, key_cursor_check(_INDEX_KEYS, "GSI1PK", partition)
            )
        reply = self.table.query(**kwargs)
        cases = [RectificationCase.model_validate(_plain(i)) for i in reply.get("Items", [])]
        return Page[RectificationCase](items=cases, next_cursor=next_cursor(reply))

    @traced
    def unclosed_cases(self) -> list[RectificationCase]:
        out: list[RectificationCase] = []
        for status in UNCLOSED_CASE_STATUSES:
            condition = Key("GSI1PK").eq(case_partition(status))
            out.extend(
                RectificationCase.model_validate(_plain(i))
                for i in self._query(IndexName=INDEX, KeyConditionExpression=condition)
            )
        return out

    @traced
    def update_case(self, before: RectificationCase, after: RectificationCase) -> None:
        if after.version != before.version + 1 or after.id != before.id:
            raise ValueError("a case step moves exactly one version forward on the same case")
        item = self._case_item(after)
        try:
            self.table.put_item(
                Item=item,
                ConditionExpression="#status = :status AND #version = :version",
                ExpressionAttributeNames={"#status": "status", "#version": "version"},
                ExpressionAttributeValues={":status": before.status.value, ":version": before.version},
            )
        except ClientError as exc:
            if not condition_failed(exc):
                raise
            current = self.get_case(before.id)
            if current is None:
                raise NotFound("case_not_found", "整改工单不存在。", "No such rectification case.") from exc
            step = after.steps[-1].step if after.steps else None
            if step is None:
                raise
            raise case_conflict(current, step) from exc

    # ----------------------------------------------------------------- KPI reads

    @traced
    def applications(
        self, status: ApplicationStatus, *, updated_since: datetime | None
    ) -> Iterator[Application]:
        # One status partition of the index, page by page. Finished statuses grow for ever, so they
        # are filtered to recently changed applications (the filter saves transfer, not reads); a
        # per-month index of decisions would make this proportional to the period instead.
        kwargs: dict[str, Any] = {
            "IndexName": INDEX,
            "KeyConditionExpression": Key("GSI1PK").eq(status_pk(ApplicationStatus(status).value)),
        }
        if updated_since is not None:
            kwargs["FilterExpression"] = Attr("updated_at").gte(iso(updated_since))
        for item in self._query(**kwargs):
            yield Application.model_validate(_plain(item))

    @traced
    def correction_times(self, application_id: str) -> list[datetime]:
        condition = Key("PK").eq(app_pk(application_id)) & Key("SK").begins_with(EVENT_PREFIX)
        items = self._query(
            KeyConditionExpression=condition,
            FilterExpression=Attr("action").eq("request_correction"),
            ProjectionExpression="#at",
            ExpressionAttributeNames={"#at": "at"},
        )
        return [_parse_time(str(i["at"])) for i in items if i.get("at")]

    @traced
    def reviews_between(self, start: datetime, end: datetime) -> Iterator[Review]:
        for partition in _months(start, end):
            condition = Key("GSI1PK").eq(partition) & Key("GSI1SK").between(iso(start), iso(end))
            for item in self._query(IndexName=INDEX, KeyConditionExpression=condition):
                yield Review.model_validate(_plain(item))

    def _batch_get(
        self, keys: list[dict[str, str]], projection: str, names: dict[str, str]
    ) -> list[dict[str, Any]]:
        # The table resource's client (de)serialises attribute values itself, as for transactions.
        client = self.table.meta.client
        out: list[dict[str, Any]] = []
        for start in range(0, len(keys), _BATCH):
            request: dict[str, Any] = {
                self.table_name: {
                    "Keys": keys[start : start + _BATCH],
                    "ProjectionExpression": projection,
                    "ExpressionAttributeNames": names,
                }
            }
            while request:
                reply = client.batch_get_item(RequestItems=request)
                out.extend(reply.get("Responses", {}).get(self.table_name, []))
                request = reply.get("UnprocessedKeys") or {}
        return out

    @traced
    def materials_between(self, start: datetime, end: datetime) -> Iterator[dict[str, Any]]:
        """Materials catalogued in [start, end): one query per month of the `MATERIALS#` index
        partitions (`dynamo.catalogued_index`), only what the correction figures read."""
        low = start.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        high = end.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        first = start.astimezone(SHANGHAI).date().replace(day=1)
        last = (end - timedelta(microseconds=1)).astimezone(SHANGHAI).date()
        month = first
        while month <= last:
            condition = Key("GSI1PK").eq(materials_pk(month)) & Key("GSI1SK").between(low, high)
            for item in self._query(
                IndexName=INDEX,
                KeyConditionExpression=condition,
                ProjectionExpression="#s, classification, corrections, slot, application_id",
                ExpressionAttributeNames={"#s": "status"},
            ):  # keys are "<stamp>#…": one stamped exactly `high` sorts after it, so is left out
                yield _plain(item)
            month = (month + timedelta(days=32)).replace(day=1)

    @traced
    def issued_licences(self, applications: Sequence[Application]) -> set[str]:
        licence_of: dict[str, str] = {a.id: a.licence_id for a in applications if a.licence_id}
        missing = [a.id for a in applications if not a.licence_id]
        if missing:
            # The issue function claims one licence per application under PK APP#<id>, SK LICENCE.
            claims = self._batch_get(
                [licence_claim_key(i) for i in missing],
                "#pk, #lid",
                {"#pk": "PK", "#lid": "licence_id"},
            )
            for claim in claims:
                if claim.get("licence_id"):
                    licence_of[application_id_of(str(claim["PK"]))] = str(claim["licence_id"])
        if not licence_of:
            return set()
        records = self._batch_get(
            [licence_key(lid) for lid in sorted(set(licence_of.values()))],
            "#pk, #status, #issued",
            {"#pk": "PK", "#status": "status", "#issued": "issued_at"},
        )
        issued = {
            licence_id_of(str(r["PK"]))
            for r in records
            if r.get("issued_at") and r.get("status") != "issuing"
        }
        return {app_id for app_id, lid in licence_of.items() if lid in issued}
