"""The notify function's handler over moto's DynamoDB, SNS and SES (issue 18 item 2): the events the
API really publishes are delivered to it; a duplicated delivery sends once; an SES failure raises for
EventBridge's retry; a refused number is recorded and not retried; the decision never waits for it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses import ses_backends
from moto.sns import sns_backends
from onestop.aws import composition
from onestop.notifications.service import DeliveryFailed, event_of

from .api_helpers import (
    SMALL_ITEM,
    USCC_A,
    Aws,
    Client,
    LambdaContext,
    catalogued,
    enterprise_body,
    moto_aws,
)

SENDER = "noreply@onestop.example.gov.cn"
MAIL_REGION = "ap-southeast-1"
alice = Client("alice-sub")
mallory = Client("mallory-sub")
reviewer = Client("reviewer-1", ("reviewer",))


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    monkeypatch.setenv("NOTIFY_SENDER", SENDER)
    monkeypatch.setenv("PORTAL_ORIGIN", "https://portal.example.gov.cn")
    monkeypatch.setenv("NOTIFY_REGION", MAIL_REGION)  # SES is not offered in cn-north-1
    with moto_aws(monkeypatch) as stack:
        boto3.client("ses", region_name=MAIL_REGION).verify_email_identity(EmailAddress=SENDER)
        yield stack


def sent_mail() -> list[Any]:
    return list(ses_backends[DEFAULT_ACCOUNT_ID][MAIL_REGION].sent_messages)


def sent_sms() -> list[tuple[str, str]]:
    return list(sns_backends[DEFAULT_ACCOUNT_ID][MAIL_REGION].sms_messages.values())


def handle(event: dict[str, Any]) -> dict[str, Any]:
    from functions.notify.app import lambda_handler

    result: dict[str, Any] = lambda_handler(event, LambdaContext())
    return result


def correction_event(aws: Aws, phone: str = "138 0013 8000") -> tuple[str, dict[str, Any]]:
    """An application with a contact, submitted, then asked for correction by a reviewer (over the
    API); the ApplicationCorrectionRequested event as the bus delivered it."""
    body = {
        **enterprise_body(SMALL_ITEM),
        "contact": {"name": "赵", "phone": phone, "email": "zhao@example.cn"},
    }
    created = alice.post("/applications", body=body)
    assert created.status == 201, created.body
    app_id = created.body["id"]
    catalogued(aws, alice, app_id, "application", "application_form")
    catalogued(aws, alice, app_id, "business_licence", "business_licence", {"uscc": USCC_A})
    assert alice.post(f"/applications/{app_id}/submit").status == 200
    reply = reviewer.post(
        f"/applications/{app_id}/decision",
        body={
            "action": "request_correction",
            "reasons": [
                {"zh": "营业执照已过期", "en": "The business licence has expired"},
                {"zh": "缺少申请表签章"},
            ],
        },
    )
    assert reply.status == 200, reply.body
    (event,) = [e for e in aws.bus_events() if e["detail-type"] == "ApplicationCorrectionRequested"]
    return app_id, event


def test_the_correction_request_is_published_with_the_one_time_notice(aws: Aws) -> None:
    app_id, event = correction_event(aws)
    detail = event["detail"]
    assert detail["application_id"] == app_id
    assert [r["zh"] for r in detail["reasons"]] == ["营业执照已过期", "缺少申请表签章"]
    assert detail["requested_by"] == "reviewer-1"


def test_a_duplicated_event_sends_one_sms_and_one_email(aws: Aws) -> None:
    app_id, event = correction_event(aws)
    first = handle(event)
    again = handle(event)  # EventBridge delivers at least once
    assert sorted(first["sent"]) == ["correction_requested:email", "correction_requested:sms"]
    assert (again["sent"], again["inbox"]) == ([], 0)
    (mail,) = sent_mail()
    assert mail.destinations["ToAddresses"] == ["zhao@example.cn"]
    assert mail.source == SENDER
    assert "营业执照已过期" in mail.body
    assert "The business licence has expired" in mail.body
    assert f"https://portal.example.gov.cn/web/portal/index.html#app={app_id}" in mail.body
    ((number, text),) = sent_sms()
    assert number == "+8613800138000"
    assert text.startswith("【一站式政务服务】申请需要补正")
    # ... and the applicant's inbox holds it once, over the API.
    inbox = alice.get("/me/inbox")
    assert inbox.status == 200, inbox.body
    (item,) = inbox.body["items"]
    assert (item["application_id"], item["kind"], item["read"]) == (app_id, "correction_requested", False)


def test_a_republished_event_under_a_new_id_sends_nothing(aws: Aws) -> None:
    """The scheduler's drain re-publishes an owed event whose marker was not cleared (at least once):
    EventBridge gives it a new id and time, the detail is as stored."""
    _, event = correction_event(aws)
    handle(event)
    again = handle({**event, "id": "another-id", "time": "2030-01-01T00:00:00Z"})
    assert (again["sent"], again["inbox"]) == ([], 0)
    assert (len(sent_mail()), len(sent_sms()), len(alice.get("/me/inbox").body["items"])) == (1, 1, 1)


def test_an_ses_failure_raises_for_a_retry_that_sends_only_the_email(aws: Aws) -> None:
    _, event = correction_event(aws)
    ses = boto3.client("ses", region_name=MAIL_REGION)
    ses.delete_identity(Identity=SENDER)  # the sender is refused: MessageRejected
    with pytest.raises(DeliveryFailed, match="correction_requested:email"):
        handle(event)
    assert len(sent_sms()) == 1  # the SMS went; only the e-mail is retried
    assert sent_mail() == []
    ses.verify_email_identity(EmailAddress=SENDER)  # fixed; EventBridge's retry delivers again
    retried = handle(event)
    assert retried["sent"] == ["correction_requested:email"]
    assert (len(sent_mail()), len(sent_sms())) == (1, 1)


def test_a_refused_number_is_recorded_as_failed_and_not_retried(aws: Aws) -> None:
    _, event = correction_event(aws, phone="0755-8888")  # a landline: not a number SNS can text
    outcome = handle(event)
    assert outcome["failed"] == ["correction_requested:sms"]
    assert outcome["sent"] == ["correction_requested:email"]
    key = event_of(event["id"], event["detail-type"], event["time"], event["detail"]).key
    records = composition.notification_store().deliveries(key)
    failed = [r for r in records if r.get("state") == "failed"]
    assert len(failed) == 1
    assert failed[0]["channel"] == "sms"
    assert "E164" in failed[0]["reason"]
    assert handle(event)["failed"] == []  # a redelivery does not try again
    assert sent_sms() == []


def test_the_inbox_is_ones_own(aws: Aws) -> None:
    _, event = correction_event(aws)
    handle(event)
    (item,) = alice.get("/me/inbox").body["items"]
    assert mallory.get("/me/inbox").body["items"] == []
    stolen = mallory.post(f"/me/inbox/{item['id']}/read")
    assert stolen.status == 404, stolen.body
    assert stolen.body["code"] == "inbox_item_not_found"
    assert alice.get("/me/inbox").body["items"][0]["read"] is False
    assert (alice.get("/me/inbox").body["unread"], mallory.get("/me/inbox").body["unread"]) == (1, 0)
    read = alice.post(f"/me/inbox/{item['id']}/read")
    assert (read.status, read.body["read"]) == (200, True)
    again = alice.post(f"/me/inbox/{item['id']}/read")  # another tab: nothing changes
    assert (again.status, again.body["read_at"]) == (200, read.body["read_at"])
    assert alice.get("/me/inbox").body["unread"] == 0


def test_preferences_choose_the_channels_and_language(aws: Aws) -> None:
    assert alice.get("/me/notification-preferences").body["channels"] == ["email", "sms"]
    put = alice.request("PUT", "/me/notification-preferences", body={"channels": ["email"], "language": "en"})
    assert put.status == 200, put.body
    bad = alice.request("PUT", "/me/notification-preferences", body={"channels": ["fax"], "language": "en"})
    assert bad.status == 422
    _, event = correction_event(aws)
    assert handle(event)["sent"] == ["correction_requested:email"]
    (mail,) = sent_mail()
    assert mail.subject.startswith("Your application needs corrections")
    assert sent_sms() == []


def test_a_failing_notifier_does_not_fail_the_decision(aws: Aws) -> None:
    """The decision is stored and announced by the API alone; the notify function runs later, from the
    bus, and its failure changes nothing about the application."""
    boto3.client("ses", region_name=MAIL_REGION).delete_identity(Identity=SENDER)
    app_id, event = correction_event(aws)  # the decision answered 200 (asserted inside)
    with pytest.raises(DeliveryFailed):
        handle(event)
    assert alice.get(f"/applications/{app_id}").body["status"] == "correction_requested"


def test_escalations_reach_the_admin_groups_members(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> None:
    """ApplicationEscalated goes to the user pool's admin group (their verified e-mail and inbox), not
    to the applicant, and not to members of other groups."""
    from onestop.settings import reset_settings

    cognito = boto3.client("cognito-idp", region_name=MAIL_REGION)  # a pool id names its region
    pool = cognito.create_user_pool(PoolName="onestop-test")["UserPool"]["Id"]
    for group in ("admin", "reviewer"):
        cognito.create_group(GroupName=group, UserPoolId=pool)
    for username, email, group in (
        ("chief", "chief@bureau.gov.cn", "admin"),
        ("rev", "rev@bureau.gov.cn", "reviewer"),
    ):
        cognito.admin_create_user(
            UserPoolId=pool,
            Username=username,
            UserAttributes=[{"Name": "email", "Value": email}, {"Name": "email_verified", "Value": "true"}],
            MessageAction="SUPPRESS",
        )
        cognito.admin_add_user_to_group(UserPoolId=pool, Username=username, GroupName=group)
    chief_sub = next(
        a["Value"]
        for a in cognito.admin_get_user(UserPoolId=pool, Username="chief")["UserAttributes"]
        if a["Name"] == "sub"
    )
    monkeypatch.setenv("USER_POOL_ID", pool)
    reset_settings()
    composition.reset()
    app_id, _ = correction_event(aws)
    escalated = {
        "version": "0",
        "id": "esc-1",
        "detail-type": "ApplicationEscalated",
        "source": "onestop",
        "account": "123456789012",
        "time": "2026-12-03T06:30:00Z",
        "region": "cn-north-1",
        "resources": [],
        "detail": {
            "application_id": app_id,
            "item_code": SMALL_ITEM,
            "item_name_zh": "境外投资备案",
            "item_name_en": "Outbound investment filing",
            "level": "at_risk",
            "due": "2026-12-04T09:30:00Z",
            "working_days_left": 1,
            "escalated_at": "2026-12-03T06:30:00Z",
        },
    }
    outcome = handle(escalated)
    assert outcome["sent"] == ["escalated_at_risk:email"]
    (mail,) = sent_mail()
    assert mail.destinations["ToAddresses"] == ["chief@bureau.gov.cn"]
    assert mail.subject.startswith("申请临近期限")
    assert f"/web/desk/index.html#app={app_id}" in mail.body
    assert sent_sms() == []
    assert alice.get("/me/inbox").body["items"] == []  # not the applicant's business
    chief = Client(chief_sub, ("admin",))
    (item,) = chief.get("/me/inbox").body["items"]
    assert item["kind"] == "escalated_at_risk"


def test_a_refused_upload_names_the_material_as_the_applications_catalogue_version_does(aws: Aws) -> None:
    from onestop.catalogue import load_catalogue

    app_id, _ = correction_event(aws)
    slot = next(m for m in load_catalogue().item(SMALL_ITEM).materials if m.slot == "business_licence")
    rejected = {
        "version": "0",
        "id": "rej-1",
        "detail-type": "MaterialRejected",
        "source": "onestop",
        "account": "123456789012",
        "time": "2026-12-03T06:30:00Z",
        "region": "cn-north-1",
        "resources": [],
        "detail": {
            "application_id": app_id,
            "slot": "business_licence",
            "upload_id": "u-1",
            "status": "rejected",
            "reason": {"code": "not_a_document", "zh": "不是证件或文书", "en": "Not a document"},
        },
    }
    assert handle(rejected)["inbox"] == 1
    (item,) = [i for i in alice.get("/me/inbox").body["items"] if i["kind"] == "material_rejected"]
    assert slot.name_zh in item["title"]["zh"]
    assert slot.name_en in item["title"]["en"]
    assert "不是证件或文书" in item["body"]["zh"]
