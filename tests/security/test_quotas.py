"""Issue 13 item 5/6, per-account quotas: what an outsider did (100 drafts in 8 s, upload tickets
without end) is refused, with a reason and, where waiting helps, 429 and Retry-After.

Driven through the real api handler against moto; the quotas are set small through the settings.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from onestop.applications.channels import Channel
from onestop.applications.clock import WorkingDayClock
from onestop.applications.identity import principal_from_claims
from onestop.applications.quotas import Quotas
from onestop.applications.service import ApplicantInput, ApplicationService, ServiceConfig
from onestop.aws.application_repository import DynamoApplicationRepository
from onestop.aws.events import EventBridgePublisher
from onestop.catalogue import load_catalogue
from onestop.errors import Conflict

from tests.integration.api_helpers import (
    BUS,
    REGION,
    TABLE,
    USCC_A,
    Aws,
    Client,
    claims,
    moto_aws,
    new_application,
    upload_ticket,
)

OPEN_DRAFTS = 3
PER_DAY = 6
PER_SLOT_PER_DAY = 3
# 10:00 in Beijing on a Monday: 14 hours to the Beijing midnight that renews the daily quotas.
T0 = datetime(2025, 6, 9, 2, 0, tzinfo=UTC)
TO_MIDNIGHT = 14 * 3600


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    monkeypatch.setenv("QUOTA_OPEN_DRAFTS", str(OPEN_DRAFTS))
    monkeypatch.setenv("QUOTA_UPLOAD_TICKETS_PER_DAY", str(PER_DAY))
    monkeypatch.setenv("QUOTA_UPLOAD_TICKETS_PER_SLOT_PER_DAY", str(PER_SLOT_PER_DAY))
    with moto_aws(monkeypatch) as stack:
        at(T0)
        yield stack


def _client(sub: str) -> Client:
    client = Client(sub)
    assert client.claims is not None
    client.claims["custom:uscc"] = USCC_A  # bound to the enterprise it applies for
    return client


alice = _client("alice-sub")
bob = _client("bob-sub")


def at(moment: datetime) -> None:
    """Set the service's clock (the API's "now")."""
    from onestop.http.context import application_service

    application_service().now = lambda: moment


def _create(client: Client) -> Any:
    from tests.integration.api_helpers import enterprise_body

    return client.post("/applications", body=enterprise_body())


# ----------------------------------------------------------------------------- open drafts


def test_open_drafts_are_capped_per_account(aws: Aws) -> None:
    created = [_create(alice) for _ in range(OPEN_DRAFTS)]
    assert [r.status for r in created] == [201] * OPEN_DRAFTS
    refused = _create(alice)
    assert refused.status == 409, refused.body
    assert refused.body["code"] == "too_many_open_drafts"
    assert str(OPEN_DRAFTS) in refused.body["message"]["zh"]
    assert str(OPEN_DRAFTS) in refused.body["message"]["en"]
    assert "withdraw" in refused.body["message"]["en"]
    # Waiting does not free a draft, so no Retry-After invites a client to loop.
    assert "retry-after" not in refused.headers
    # Only alice's: bob opens his own.
    assert _create(bob).status == 201
    # Withdrawing (or submitting) a draft frees its place.
    first = created[0].body["id"]
    assert alice.post(f"/applications/{first}/withdraw", body={}).status == 200
    assert _create(alice).status == 201
    assert _create(alice).status == 409


def test_a_refused_draft_is_not_stored(aws: Aws) -> None:
    for _ in range(OPEN_DRAFTS + 5):
        _create(alice)
    page = alice.get("/applications", query={"limit": "100"})
    assert len(page.body["items"]) == OPEN_DRAFTS


class _RacingRepository(DynamoApplicationRepository):
    """Every creator reaches the quota at the same moment."""

    def __init__(self, barrier: threading.Barrier) -> None:
        super().__init__(TABLE, table=boto3.resource("dynamodb", region_name=REGION).Table(TABLE))
        self.barrier = barrier

    def take_quota(self, *args: Any, **kwargs: Any) -> bool:
        self.barrier.wait(timeout=20)
        return super().take_quota(*args, **kwargs)


def test_parallel_creates_cannot_overshoot_the_cap(aws: Aws) -> None:
    n = 12
    barrier = threading.Barrier(n)
    outcomes: list[Any] = []
    lock = threading.Lock()

    def create() -> None:
        service = ApplicationService(
            _RacingRepository(barrier),
            load_catalogue(),
            uploads=None,  # type: ignore[arg-type]  # not used by create
            publisher=EventBridgePublisher(BUS, "onestop", events=boto3.client("events", region_name=REGION)),
            clock=WorkingDayClock(),
            config=ServiceConfig(quotas=Quotas(open_drafts=OPEN_DRAFTS)),
        )
        principal = principal_from_claims(
            {**claims("racer"), "custom:uscc": USCC_A}, {"portal-client": Channel.WEB_PORTAL}
        )
        try:
            result: Any = service.create(
                principal,
                "outbound-investment-filing",
                ApplicantInput(kind="enterprise", name="示例公司", uscc=USCC_A),
            )
        except Conflict as exc:
            result = exc
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=create) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(outcomes) == n
    refused = [o for o in outcomes if isinstance(o, Conflict)]
    assert len(refused) == n - OPEN_DRAFTS
    assert {o.code for o in refused} == {"too_many_open_drafts"}
    stored = aws.table.query(
        IndexName="ByOwner",
        KeyConditionExpression="GSI3PK = :pk",
        ExpressionAttributeValues={":pk": "OWNER#racer"},
    )["Items"]
    assert len(stored) == OPEN_DRAFTS


# ----------------------------------------------------------------------------- upload tickets


def _ticket_then_remove(client: Client, application_id: str, slot: str = "application") -> Any:
    """A ticket, then the file taken out again: the slot's live count stays 0, the tickets mount."""
    reply = upload_ticket(client, application_id, slot)
    if reply.status == 201:
        removed = client.delete(
            f"/applications/{application_id}/materials/{slot}/uploads/{reply.body['upload_id']}"
        )
        assert removed.status == 204, removed.body
    return reply


def test_upload_tickets_per_slot_per_day(aws: Aws) -> None:
    app = new_application(alice)
    replies = [_ticket_then_remove(alice, app["id"]) for _ in range(PER_SLOT_PER_DAY + 1)]
    assert [r.status for r in replies] == [201] * PER_SLOT_PER_DAY + [429], replies[-1].body
    refused = replies[-1]
    assert refused.body["code"] == "upload_quota_slot"
    assert refused.headers["retry-after"] == str(TO_MIDNIGHT)
    assert refused.body["retry_after"] == TO_MIDNIGHT
    assert [d["field"] for d in refused.body["details"]] == ["slot"]
    assert str(PER_SLOT_PER_DAY) in refused.body["message"]["zh"]
    assert str(PER_SLOT_PER_DAY) in refused.body["message"]["en"]
    # Another slot of the same application still takes files.
    assert upload_ticket(alice, app["id"], "business_licence").status == 201
    # The next Beijing day renews the quota.
    at(T0 + timedelta(seconds=TO_MIDNIGHT))
    assert _ticket_then_remove(alice, app["id"]).status == 201


def test_upload_tickets_per_account_per_day(aws: Aws) -> None:
    apps = [new_application(alice) for _ in range(OPEN_DRAFTS)]
    statuses = []
    for i in range(PER_DAY + 1):
        app = apps[i % len(apps)]
        statuses.append(_ticket_then_remove(alice, app["id"]))
    assert [r.status for r in statuses] == [201] * PER_DAY + [429], statuses[-1].body
    refused = statuses[-1]
    assert refused.body["code"] == "upload_quota_account"
    assert refused.headers["retry-after"] == str(TO_MIDNIGHT)
    assert str(PER_DAY) in refused.body["message"]["en"]
    # Only alice's quota: bob uploads.
    assert upload_ticket(bob, new_application(bob)["id"], "application").status == 201


def test_a_refused_ticket_leaves_no_material_and_counts_nothing(aws: Aws) -> None:
    app = new_application(alice)
    for _ in range(PER_SLOT_PER_DAY):
        _ticket_then_remove(alice, app["id"])
    before = aws.table.scan()["Count"]
    for _ in range(3):
        assert upload_ticket(alice, app["id"], "application").status == 429
    after = aws.table.scan()["Count"]
    assert after == before  # no material, no counter moved past the cap


def test_the_service_defaults_are_the_settings_defaults() -> None:
    from onestop.settings import Settings

    fields = Settings.model_fields
    assert Quotas() == Quotas(
        open_drafts=fields["quota_open_drafts"].default,
        upload_tickets_per_day=fields["quota_upload_tickets_per_day"].default,
        upload_tickets_per_slot_per_day=fields["quota_upload_tickets_per_slot_per_day"].default,
    )
