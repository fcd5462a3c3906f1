"""Notifications (issue 18 item 2): what each event says in zh and en, the preference rules, and the
notifier's once-per-event delivery over an in-memory store (the DynamoDB store and the real SNS / SES
adapters are exercised with moto in tests/integration/test_notify_handler.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from onestop.applications.models import (
    Applicant,
    Application,
    ApplicationStatus,
    Contact,
    DeadlineInfo,
    Page,
)
from onestop.errors import InvalidInput
from onestop.notifications.messages import HANDLED_EVENTS, Links, applicant_notices, local_time, render
from onestop.notifications.models import (
    Channel,
    DeliveryKey,
    DeliveryState,
    InboxItem,
    Preferences,
    Recipient,
    Text,
)
from onestop.notifications.ports import PermanentDeliveryError
from onestop.notifications.service import (
    DeliveryFailed,
    Envelope,
    Notifier,
    channels_for,
    choose_preferences,
    phone_e164,
)

NOW = datetime(2026, 12, 3, 6, 30, tzinfo=UTC)
LINKS = Links("https://portal.example.gov.cn")
APP_ID = "a" * 32


def application(**changes: Any) -> Application:
    base = Application(
        id=APP_ID,
        item_code="SZ-SW-001",
        item_name_zh="成品油零售经营资格审批",
        item_name_en="Approval of retail fuel business",
        owner_sub="owner-1",
        applicant=Applicant(kind="enterprise", code="91440300MA5FQ1P38N", name="示例公司"),
        contact=Contact(name="赵", phone="13800138000", email="zhao@example.cn"),
        status=ApplicationStatus.ACCEPTED,
        created_at=NOW,
        updated_at=NOW,
        deadline=DeadlineInfo(
            due=datetime(2026, 12, 31, 9, 30, tzinfo=UTC), working_days=20, calendar_known=True
        ),
    )
    return base.model_copy(update=changes)


def slot_name(app: Application, slot: str) -> Text:
    return Text("营业执照", "Business licence") if slot == "business_licence" else Text(slot, slot)


CORRECTION = {
    "application_id": APP_ID,
    "item_code": "SZ-SW-001",
    "requested_at": "2026-12-03T06:30:00Z",
    "requested_by": "reviewer-1",
    "applicant": {"kind": "enterprise", "code": "91440300MA5FQ1P38N", "name": "示例公司"},
    "reasons": [
        {"code": "r1", "zh": "营业执照已过期", "en": "The business licence has expired"},
        {"code": "r2", "zh": "缺少消防验收意见", "en": "The fire-safety approval is missing"},
    ],
}
ACCEPTED = {
    "application_id": APP_ID,
    "item_code": "SZ-SW-001",
    "accepted_at": "2026-12-03T06:30:00Z",
    "deadline": "2026-12-31T09:30:00Z",
    "working_days": 20,
}


# ----------------------------------------------------------------------------- messages


def test_the_correction_notice_lists_every_reason_at_once_in_both_languages() -> None:
    (notice,) = applicant_notices(
        "ApplicationCorrectionRequested", CORRECTION, application(), LINKS, slot_name
    )
    out = render(notice, "both")
    zh, en = out.text.split("----------------")
    assert "一次性告知" in zh
    assert "1. 营业执照已过期" in zh
    assert "2. 缺少消防验收意见" in zh
    assert "one-time notice" in en
    assert "2. The fire-safety approval is missing" in en
    assert zh.index("申请编号：" + APP_ID) < zh.index("下一步：")
    assert f"{LINKS.base}/web/portal/index.html#app={APP_ID}" in en
    assert out.subject.startswith("申请需要补正")
    assert "/" in out.subject


def test_acceptance_states_the_deadline_in_beijing_time() -> None:
    (notice,) = applicant_notices("ApplicationAccepted", ACCEPTED, application(), LINKS, slot_name)
    zh = render(notice, "zh")
    en = render(notice, "en")
    # 09:30 UTC is 17:30 in Shanghai.
    assert "决定期限：2026年12月31日 17:30（北京时间）" in zh.text
    assert "Decision due by: 31 Dec 2026 17:30 (Beijing time, UTC+8)" in en.text
    assert "20 个工作日" in zh.text
    assert "English" not in zh.text
    assert "申请" not in en.text
    assert "17:30" in zh.sms
    assert zh.sms.endswith(notice.link or "")


def test_the_stored_deadline_wins_over_the_events() -> None:
    later = datetime(2027, 1, 15, 9, 30, tzinfo=UTC)  # the clock moved it after the event was sent
    app = application(deadline=DeadlineInfo(due=later, working_days=25, calendar_known=True))
    (notice,) = applicant_notices("ApplicationAccepted", ACCEPTED, app, LINKS, slot_name)
    assert notice.deadline == later


def test_a_decision_brings_the_invitation_to_rate_by_inbox_and_email_only() -> None:
    rejected = {
        **{k: CORRECTION[k] for k in ("application_id", "item_code", "applicant")},
        "rejected_at": "2026-12-03T06:30:00Z",
        "rejected_by": "reviewer-1",
        "reasons": [{"code": "x", "zh": "选址不符合规划", "en": "The site does not fit the plan"}],
    }
    decision, invitation = applicant_notices("ApplicationRejected", rejected, application(), LINKS, slot_name)
    assert decision.kind == "rejected"
    assert "选址不符合规划" in render(decision, "zh").text
    assert "行政复议" in render(decision, "zh").text
    assert invitation.kind == "rate_invitation"
    assert invitation.sms is False
    assert "好差评" in render(invitation, "zh").text
    assert channels_for(invitation, Recipient("s", "+8613800138000", "a@b.cn"), Preferences()) == [
        Channel.EMAIL
    ]


def test_material_events() -> None:
    rejected = {
        "application_id": APP_ID,
        "slot": "business_licence",
        "upload_id": "u1",
        "status": "rejected",
        "reason": {"code": "unreadable", "zh": "文件无法识别", "en": "The file cannot be read"},
    }
    (notice,) = applicant_notices("MaterialRejected", rejected, application(), LINKS, slot_name)
    assert "「营业执照」" in notice.headline.zh
    assert "'Business licence'" in notice.headline.en
    catalogued = {**rejected, "status": "catalogued", "problems": []}
    catalogued.pop("reason")
    assert applicant_notices("MaterialCatalogued", catalogued, application(), LINKS, slot_name) == []
    attention = {
        **catalogued,
        "status": "needs_attention",
        "problems": [{"code": "field_uncertain", "zh": "名称不清", "en": "Name unclear"}],
    }
    (flagged,) = applicant_notices("MaterialCatalogued", attention, application(), LINKS, slot_name)
    assert flagged.kind == "material_needs_attention"
    assert "名称不清" in render(flagged, "zh").text


@pytest.mark.parametrize(
    ("action", "zh", "en"),
    [("suspend", "暂扣", "suspended"), ("revoke", "撤销", "revoked"), ("reinstate", "恢复", "reinstated")],
)
def test_licence_status_changes(action: str, zh: str, en: str) -> None:
    changed = {
        "licence_id": "1.2.156.3005.2.X",
        "action": action,
        "to_status": "x",
        "actor": "admin-1",
        "reason": "现场检查发现问题",
        "at": "2026-12-03T06:30:00+00:00",
        "application_id": APP_ID,
    }
    (notice,) = applicant_notices("LicenceStatusChanged", changed, application(), LINKS, slot_name)
    assert zh in notice.headline.zh
    assert en in notice.headline.en
    superseded = {**changed, "action": "supersede"}
    assert applicant_notices("LicenceStatusChanged", superseded, application(), LINKS, slot_name) == []


def test_clock_changes_show_the_new_deadline() -> None:
    clock = {
        "application_id": APP_ID,
        "item_code": "SZ-SW-001",
        "change": "extended",
        "procedure": "extension",
        "reason": {"code": "complex", "zh": "案情复杂", "en": "Complex case"},
        "at": "2026-12-03T06:30:00Z",
        "due": "2027-01-14T09:30:00Z",
        "working_days_added": 10,
        "actor": "admin-1",
    }
    (notice,) = applicant_notices("ApplicationClockChanged", clock, application(), LINKS, slot_name)
    text = render(notice, "both").text
    assert "办理时限已延长" in text
    assert "延长 10 个工作日" in text
    assert "2027年01月14日 17:30" in text
    assert "Extended by 10 working days" in text


def test_sms_is_short_and_keeps_the_link() -> None:
    many = {
        **CORRECTION,
        "reasons": [{"code": f"r{i}", "zh": "很长的理由" * 20, "en": "long" * 30} for i in range(9)],
    }
    (notice,) = applicant_notices("ApplicationCorrectionRequested", many, application(), LINKS, slot_name)
    sms = render(notice, "both").sms
    assert len(sms) <= 280
    assert sms.endswith(notice.link or "")


def test_local_time_is_beijing() -> None:
    assert local_time(datetime(2026, 12, 31, 16, 0, tzinfo=UTC)).zh == "2027年01月01日 00:00（北京时间）"


# ----------------------------------------------------------------------------- preferences


def test_preferences_default_and_rules() -> None:
    defaults = Preferences()
    assert defaults.channels == {Channel.SMS, Channel.EMAIL}
    assert defaults.language == "both"
    (notice,) = applicant_notices("ApplicationAccepted", ACCEPTED, application(), LINKS, slot_name)
    both = Recipient("s", "+8613800138000", "a@b.cn")
    assert channels_for(notice, both, defaults) == [Channel.SMS, Channel.EMAIL]
    assert channels_for(notice, Recipient("s", None, "a@b.cn"), defaults) == [Channel.EMAIL]
    email_only = choose_preferences(["email"], "en", NOW)
    assert channels_for(notice, both, email_only) == [Channel.EMAIL]
    assert channels_for(notice, both, choose_preferences([], "zh", NOW)) == []  # inbox only
    with pytest.raises(InvalidInput) as refused:
        choose_preferences(["fax"], "fr", NOW)
    assert {d.code for d in refused.value.details} == {"unknown_channel", "unknown_language"}


def test_phone_numbers_become_e164() -> None:
    assert phone_e164("138 0013 8000") == "+8613800138000"
    assert phone_e164("+86 138-0013-8000") == "+8613800138000"
    assert phone_e164("0086 13800138000") == "+8613800138000"
    assert phone_e164("0755-8888") == "07558888"  # not E.164: SNS refuses it, recorded as failed
    assert phone_e164(None) is None


# ----------------------------------------------------------------------------- the notifier


@dataclass
class MemoryStore:
    """The store's contract (ports.NotificationStore) over dicts, as the DynamoDB store keeps it."""

    prefs: dict[str, Preferences] = field(default_factory=dict)
    inboxes: dict[str, dict[str, InboxItem]] = field(default_factory=dict)
    records: dict[DeliveryKey, dict[str, Any]] = field(default_factory=dict)
    markers: set[tuple[str, str, str]] = field(default_factory=set)

    def preferences(self, sub: str) -> Preferences | None:
        return self.prefs.get(sub)

    def save_preferences(self, sub: str, preferences: Preferences) -> None:
        self.prefs[sub] = preferences

    def add_to_inbox(self, sub: str, item: InboxItem, event_key: str) -> bool:
        box = self.inboxes.setdefault(sub, {})
        if (event_key, sub, item.kind) in self.markers:
            return False
        self.markers.add((event_key, sub, item.kind))
        box[item.id] = item
        return True

    def inbox(self, sub: str, *, limit: int, cursor: str | None) -> Page[InboxItem]:
        items = sorted(self.inboxes.get(sub, {}).values(), key=lambda i: i.id, reverse=True)
        return Page[InboxItem](items=items[:limit])

    def unread(self, sub: str) -> int:
        return sum(1 for i in self.inboxes.get(sub, {}).values() if i.read_at is None)

    def mark_read(self, sub: str, item_id: str, at: datetime) -> InboxItem | None:
        return None

    def claim(self, key: DeliveryKey, now: datetime, lease_seconds: int) -> bool:
        record = self.records.get(key)
        if record is not None and not (
            record["state"] == DeliveryState.RETRY
            or (record["state"] == DeliveryState.SENDING and record["lease_until"] < now)
        ):
            return False
        self.records[key] = {
            "state": DeliveryState.SENDING,
            "lease_until": now + timedelta(seconds=lease_seconds),
        }
        return True

    def finish(self, key: DeliveryKey, *, sent: bool, detail: str, at: datetime) -> None:
        self.records[key] = {"state": DeliveryState.SENT if sent else DeliveryState.FAILED, "detail": detail}

    def release(self, key: DeliveryKey, error: str, at: datetime) -> None:
        self.records[key] = {"state": DeliveryState.RETRY, "error": error}


@dataclass
class Provider:
    """Records sends; fails as told (a test double of the provider, not of the notifier)."""

    sent: list[tuple[str, str]] = field(default_factory=list)
    fail: Exception | None = None

    def send_sms(self, phone: str, text: str) -> str:
        return self._send(phone, text)

    def send_email(self, to: str, subject: str, text: str) -> str:
        return self._send(to, subject)

    def _send(self, to: str, what: str) -> str:
        if self.fail is not None:
            raise self.fail
        self.sent.append((to, what))
        return f"m{len(self.sent)}"


@dataclass
class Apps:
    apps: dict[str, Application]

    def get(self, application_id: str) -> Application | None:
        return self.apps.get(application_id)


def notifier(store: MemoryStore, sms: Provider, email: Provider, app: Application | None = None) -> Notifier:
    return Notifier(
        store=store,
        applications=Apps({APP_ID: app or application()}),
        sms=sms,
        email=email,
        links=LINKS,
        slot_name=slot_name,
        now=lambda: NOW,
    )


def envelope(
    detail_type: str = "ApplicationCorrectionRequested", detail: dict[str, Any] | None = None, id: str = "e1"
) -> Envelope:
    return Envelope(id=id, detail_type=detail_type, time=NOW, detail=detail or CORRECTION)


def test_a_duplicated_event_sends_nothing_twice() -> None:
    store, sms, email = MemoryStore(), Provider(), Provider()
    first = notifier(store, sms, email).handle(envelope())
    again = notifier(store, sms, email).handle(envelope())
    assert (first.inbox, sorted(first.sent)) == (
        1,
        ["correction_requested:email", "correction_requested:sms"],
    )
    assert (again.inbox, again.sent, len(again.skipped)) == (0, [], 2)
    assert sms.sent == [("+8613800138000", sms.sent[0][1])]
    assert len(email.sent) == 1
    assert len(store.inboxes["owner-1"]) == 1


def test_a_republished_owed_event_is_the_same_event() -> None:
    """The scheduler re-publishes an owed event whose marker was not cleared: same detail, new
    EventBridge id and time. The applicant is not told twice."""
    store, sms, email = MemoryStore(), Provider(), Provider()
    notifier(store, sms, email).handle(envelope(id="e1"))
    later = Envelope(
        id="e2",
        detail_type="ApplicationCorrectionRequested",
        time=NOW + timedelta(hours=1),
        detail=CORRECTION,
    )
    again = notifier(store, sms, email).handle(later)
    assert (again.inbox, again.sent) == (0, [])
    assert (len(sms.sent), len(email.sent), len(store.inboxes["owner-1"])) == (1, 1, 1)
    other = Envelope(
        id="e3",
        detail_type="ApplicationCorrectionRequested",
        time=NOW,
        detail={**CORRECTION, "requested_at": "2026-12-04T01:00:00Z"},
    )
    assert notifier(store, sms, email).handle(other).inbox == 1  # a second request is news


def test_recipients_come_from_the_application_never_the_event() -> None:
    store, sms, email = MemoryStore(), Provider(), Provider()
    forged = {
        **CORRECTION,
        "contact": {"email": "attacker@evil.example", "phone": "+15550000000"},
        "owner_sub": "attacker",
    }
    notifier(store, sms, email).handle(envelope(detail=forged))
    assert [to for to, _ in sms.sent + email.sent] == ["+8613800138000", "zhao@example.cn"]
    assert set(store.inboxes) == {"owner-1"}


def test_a_refused_address_is_recorded_and_not_retried() -> None:
    store, sms, email = (
        MemoryStore(),
        Provider(fail=PermanentDeliveryError("InvalidParameter: not E.164")),
        Provider(),
    )
    outcome = notifier(store, sms, email).handle(envelope())
    assert outcome.failed == ["correction_requested:sms"]
    assert outcome.sent == ["correction_requested:email"]
    failed = [r for r in store.records.values() if r["state"] == DeliveryState.FAILED]
    assert failed == [{"state": DeliveryState.FAILED, "detail": "InvalidParameter: not E.164"}]
    assert notifier(store, sms, email).handle(envelope()).failed == []  # a redelivery does not loop


def test_a_provider_outage_raises_for_a_retry_that_sends_only_what_failed() -> None:
    store, sms, email = MemoryStore(), Provider(), Provider(fail=ConnectionError("SES down"))
    with pytest.raises(DeliveryFailed, match="correction_requested:email"):
        notifier(store, sms, email).handle(envelope())
    assert len(sms.sent) == 1
    assert email.sent == []
    email.fail = None
    retried = notifier(store, sms, email).handle(envelope())
    assert retried.sent == ["correction_requested:email"]
    assert len(sms.sent) == 1


def test_a_crash_mid_send_is_taken_again_after_the_lease() -> None:
    store, sms, email = MemoryStore(), Provider(), Provider()
    key = DeliveryKey(envelope().key, "owner-1", Channel.SMS, "correction_requested")
    store.claim(key, NOW - timedelta(hours=1), 300)  # a sender that died an hour ago
    assert notifier(store, sms, email).handle(envelope()).sent == [
        "correction_requested:sms",
        "correction_requested:email",
    ]
    store2 = MemoryStore()
    store2.claim(key, NOW, 300)  # a sender at work right now
    assert "correction_requested:sms" in notifier(store2, Provider(), Provider()).handle(envelope()).skipped


def test_preferences_and_language_are_the_applicants() -> None:
    store, sms, email = MemoryStore(), Provider(), Provider()
    store.save_preferences("owner-1", choose_preferences(["email"], "en", NOW))
    outcome = notifier(store, sms, email).handle(envelope())
    assert outcome.sent == ["correction_requested:email"]
    assert sms.sent == []
    assert email.sent[0][1].startswith("Your application needs corrections")
    assert outcome.inbox == 1  # the inbox is always on


def test_unknown_application_and_unhandled_types() -> None:
    store, sms, email = MemoryStore(), Provider(), Provider()
    lost = {**CORRECTION, "application_id": "b" * 32}
    assert notifier(store, sms, email).handle(envelope(detail=lost)).as_dict()["inbox"] == 0
    with pytest.raises(ValueError, match="does not handle"):
        notifier(store, sms, email).handle(envelope("ApplicationSubmitted"))
    assert "ApplicationEscalated" in HANDLED_EVENTS


def test_escalations_go_to_the_admins() -> None:
    @dataclass
    class Admins:
        def admins(self) -> list[Recipient]:
            return [Recipient("admin-sub", None, "chief@bureau.gov.cn")]

    store, sms, email = MemoryStore(), Provider(), Provider()
    n = notifier(store, sms, email)
    n.admins = Admins()
    escalated = {
        "application_id": APP_ID,
        "item_code": "SZ-SW-001",
        "item_name_zh": "成品油零售经营资格审批",
        "item_name_en": "Approval of retail fuel business",
        "level": "overdue",
        "due": "2026-12-02T09:30:00Z",
        "working_days_left": 0,
        "escalated_at": "2026-12-03T06:30:00Z",
    }
    outcome = n.handle(envelope("ApplicationEscalated", escalated))
    assert outcome.sent == ["escalated_overdue:email"]
    assert email.sent[0][0] == "chief@bureau.gov.cn"
    assert set(store.inboxes) == {"admin-sub"}  # not the applicant
    (item,) = store.inboxes["admin-sub"].values()
    assert item.link == f"{LINKS.base}/web/desk/index.html#app={APP_ID}"
    assert item.title_zh == "申请已超期"


def test_a_licence_event_without_its_application_finds_it_through_the_registry() -> None:
    store, sms, email = MemoryStore(), Provider(), Provider()
    n = notifier(store, sms, email)
    n.licence_application = {"LIC-1": APP_ID}.get
    revoked = {
        "licence_id": "LIC-1",
        "action": "revoke",
        "to_status": "revoked",
        "actor": "admin-1",
        "reason": "以欺骗手段取得",
        "at": "2026-12-03T06:30:00+00:00",
    }
    outcome = n.handle(envelope("LicenceStatusChanged", revoked))
    assert outcome.sent == ["licence_revoke:sms", "licence_revoke:email"]
    (item,) = store.inboxes["owner-1"].values()
    assert "以欺骗手段取得" in item.body_zh


def test_slot_names_come_from_the_applications_catalogue_version() -> None:
    from onestop.catalogue import load_catalogue
    from onestop.notifications.service import slot_names

    shipped = load_catalogue()
    item = shipped.items[0]
    slot = item.materials[0]
    app = application(item_code=item.code)
    assert slot_names(lambda _app: shipped)(app, slot.slot) == Text(slot.name_zh, slot.name_en)

    def broken(_app: Application) -> Any:
        raise RuntimeError("version store unavailable")

    assert slot_names(broken)(app, slot.slot) == Text(slot.slot, slot.slot)


def test_the_email_greets_the_contact_and_says_it_is_automatic() -> None:
    store, sms = MemoryStore(), Provider()

    @dataclass
    class Mailbox(Provider):
        texts: list[str] = field(default_factory=list)

        def send_email(self, to: str, subject: str, text: str) -> str:
            self.texts.append(text)
            return "m"

    mailbox = Mailbox()
    notifier(store, sms, mailbox).handle(envelope())
    (text,) = mailbox.texts
    assert text.startswith("尊敬的赵：")
    assert "Dear 赵," in text
    assert "请勿直接回复" in text
    (item,) = store.inboxes["owner-1"].values()
    assert not item.body_zh.startswith("尊敬的")  # the inbox holds the notice itself
