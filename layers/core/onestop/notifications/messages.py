"""What each event tells its recipient, in zh and en, and how a notice reads as e-mail and SMS.

Everything shown comes from the stored application (item names, deadline) or from the event's own
facts about the change (reasons, licence number); addresses never come from the event.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from onestop.applications.models import Application
from onestop.events import (
    ApplicationAccepted,
    ApplicationClockChanged,
    ApplicationCorrectionRequested,
    ApplicationEscalated,
    ApplicationRejected,
    EventReason,
    LicenceIssued,
    LicenceStatusChanged,
    MaterialCatalogued,
    MaterialRejected,
    parse_time,
)

from .models import Language, Notice, Rendered, Text

SHANGHAI = ZoneInfo("Asia/Shanghai")
SITE = Text("一站式政务服务", "One-stop government services")
SMS_MAX = 280  # characters: a few SMS segments at most; the rest is in the inbox and e-mail

# The events the notifier handles (template.yaml's NotifyFunction rules deliver exactly these).
APPLICANT_EVENTS = (
    "MaterialRejected",
    "MaterialCatalogued",
    "ApplicationCorrectionRequested",
    "ApplicationAccepted",
    "ApplicationApproved",
    "ApplicationRejected",
    "LicenceIssued",
    "LicenceStatusChanged",
    "ApplicationClockChanged",
)
ADMIN_EVENTS = ("ApplicationEscalated",)
HANDLED_EVENTS = APPLICANT_EVENTS + ADMIN_EVENTS

# Lifecycle actions the holder is told of (a version superseded by its renewal is told by LicenceIssued).
LICENCE_ACTIONS: Mapping[str, Text] = {
    "suspend": Text("已被暂扣", "has been suspended"),
    "reinstate": Text("已恢复有效", "is valid again (reinstated)"),
    "revoke": Text("已被撤销", "has been revoked"),
    "cancel": Text("已被注销", "has been cancelled"),
    "withdraw": Text("已被吊销", "has been withdrawn"),
}
CLOCK_CHANGES: Mapping[str, Text] = {
    "paused": Text("办理时限暂停计算", "the decision clock is paused"),
    "resumed": Text("办理时限恢复计算", "the decision clock runs again"),
    "extension_requested": Text("已申请延长办理时限", "an extension of the time limit was requested"),
    "extended": Text("办理时限已延长", "the time limit was extended"),
    "extension_refused": Text("延长办理时限的申请未获批准", "the extension was refused"),
}
PROCEDURES: Mapping[str, Text] = {
    "correction": Text("补正", "correction"),
    "hearing": Text("听证", "hearing"),
    "expert_review": Text("专家评审", "expert review"),
    "onsite_inspection": Text("现场核查", "on-site inspection"),
    "extension": Text("延期", "extension"),
}


@dataclass(frozen=True)
class Links:
    """Where the pages are (template.yaml: PortalOrigin): the applicant's portal and the bureau's desk."""

    base: str

    def portal(self, application_id: str) -> str:
        return f"{self.base.rstrip('/')}/web/portal/index.html#app={application_id}"

    def desk(self, application_id: str) -> str:
        return f"{self.base.rstrip('/')}/web/desk/index.html#app={application_id}"


SlotName = Callable[[Application, str], Text]


def _reasons(reasons: Sequence[EventReason]) -> tuple[Text, ...]:
    return tuple(Text(f"{i}. {r.zh}", f"{i}. {r.en}") for i, r in enumerate(reasons, 1))


def applicant_notices(
    detail_type: str, detail: Mapping[str, Any], app: Application, links: Links, slot_name: SlotName
) -> list[Notice]:
    """The notices an applicant gets for one event (none for an event that tells them nothing)."""
    item = Text(app.item_name_zh, app.item_name_en)
    base: dict[str, Any] = {"application_id": app.id, "item": item, "link": links.portal(app.id)}
    if detail_type == "MaterialRejected":
        rejected = MaterialRejected.parse(detail)
        slot = slot_name(app, rejected.slot)
        return [
            Notice(
                kind="material_rejected",
                headline=Text(f"材料「{slot.zh}」未通过检查", f"The material '{slot.en}' was not accepted"),
                lines=(Text(rejected.reason.zh, rejected.reason.en),),
                action=Text("请在门户中重新上传该材料。", "Upload this material again in the portal."),
                **base,
            )
        ]
    if detail_type == "MaterialCatalogued":
        catalogued = MaterialCatalogued.parse(detail)
        if catalogued.status != "needs_attention":
            return []
        slot = slot_name(app, catalogued.slot)
        return [
            Notice(
                kind="material_needs_attention",
                headline=Text(f"材料「{slot.zh}」需要核对", f"The material '{slot.en}' needs attention"),
                lines=_reasons(catalogued.problems),
                action=Text(
                    "请在门户中查看识别结果；如有误，可上传更清晰的文件。",
                    "Check what was read in the portal; if it is wrong, upload a clearer copy.",
                ),
                **base,
            )
        ]
    if detail_type == "ApplicationCorrectionRequested":
        asked = ApplicationCorrectionRequested.parse(detail)
        paused = (
            (Text("补正期间办理时限暂停计算。", "The decision clock is paused until you resubmit."),)
            if asked.clock_paused
            else ()
        )
        return [
            Notice(
                kind="correction_requested",
                headline=Text(
                    "申请需要补正（一次性告知）", "Your application needs corrections (one-time notice)"
                ),
                lines=_reasons(asked.reasons) + paused,
                action=Text(
                    "请按以上全部事项一次补正后重新提交。",
                    "Correct everything listed above, then submit the application again.",
                ),
                **base,
            )
        ]
    if detail_type == "ApplicationAccepted":
        accepted = ApplicationAccepted.parse(detail)
        due = app.deadline.due if app.deadline is not None else parse_time(accepted.deadline)
        return [
            Notice(
                kind="accepted",
                headline=Text("申请已受理", "Your application was accepted"),
                lines=(
                    Text(
                        f"承诺办理时限：{accepted.working_days} 个工作日。",
                        f"Promised time limit: {accepted.working_days} working days.",
                    ),
                ),
                action=Text("无需操作，请等待审批决定。", "Nothing to do: wait for the decision."),
                deadline=due,
                deadline_label=Text("决定期限", "Decision due by"),
                **base,
            )
        ]
    if detail_type in ("ApplicationApproved", "ApplicationRejected"):
        return [_decision(detail_type, detail, base), _rating_invitation(app, base)]
    if detail_type == "LicenceIssued":
        issued = LicenceIssued.parse(detail)
        until = f"，有效期至 {issued.valid_until[:10]}" if issued.valid_until else ""
        until_en = f", valid until {issued.valid_until[:10]}" if issued.valid_until else ""
        return [
            Notice(
                kind="licence_issued",
                headline=Text("电子证照已签发", "Your e-licence has been issued"),
                lines=(
                    Text(
                        f"证照标识：{issued.licence_id}{until}", f"Licence id: {issued.licence_id}{until_en}"
                    ),
                ),
                action=Text("请在门户中下载电子证照。", "Download the e-licence in the portal."),
                **base,
            )
        ]
    if detail_type == "LicenceStatusChanged":
        changed = LicenceStatusChanged.parse(detail)
        what = LICENCE_ACTIONS.get(changed.action)
        if what is None:
            return []
        return [
            Notice(
                kind=f"licence_{changed.action}",
                headline=Text(f"电子证照{what.zh}", f"Your e-licence {what.en}"),
                lines=(
                    Text(f"证照标识：{changed.licence_id}", f"Licence id: {changed.licence_id}"),
                    Text(f"原因：{changed.reason}", f"Reason: {changed.reason}"),
                ),
                action=Text(
                    "如有疑问，请联系发证机关。", "If you have questions, contact the issuing authority."
                ),
                **base,
            )
        ]
    if detail_type == "ApplicationClockChanged":
        clock = ApplicationClockChanged.parse(detail)
        change = CLOCK_CHANGES.get(clock.change, Text(clock.change, clock.change))
        procedure = PROCEDURES.get(clock.procedure, Text(clock.procedure, clock.procedure))
        lines = [
            Text(f"程序：{procedure.zh}", f"Procedure: {procedure.en}"),
            Text(f"原因：{clock.reason.zh}", f"Reason: {clock.reason.en}"),
        ]
        if clock.working_days_added:
            n = clock.working_days_added
            lines.append(Text(f"延长 {n} 个工作日。", f"Extended by {n} working days."))
        return [
            Notice(
                kind=f"clock_{clock.change}",
                headline=Text(f"办理时限变更：{change.zh}", f"Time limit: {change.en}"),
                lines=tuple(lines),
                action=Text("无需操作。", "Nothing to do.")
                if clock.change != "paused" or clock.procedure != "correction"
                else Text("请按补正通知补正后重新提交。", "Correct as asked and submit again."),
                deadline=parse_time(clock.due) if clock.due else None,
                deadline_label=Text("决定期限", "Decision due by"),
                **base,
            )
        ]
    return []


def _decision(detail_type: str, detail: Mapping[str, Any], base: dict[str, Any]) -> Notice:
    if detail_type == "ApplicationApproved":
        return Notice(
            kind="approved",
            headline=Text("准予许可", "Your application was approved"),
            action=Text(
                "电子证照签发后将另行通知，届时可在门户中下载。",
                "You will be told when the e-licence is issued; download it in the portal.",
            ),
            **base,
        )
    rejected = ApplicationRejected.parse(detail)
    return Notice(
        kind="rejected",
        headline=Text("不予许可", "Your application was rejected"),
        lines=_reasons(rejected.reasons),
        action=Text(
            "如不服本决定，可依法申请行政复议或者提起行政诉讼。",
            "If you disagree, you may apply for administrative reconsideration or bring a lawsuit.",
        ),
        **base,
    )


def _rating_invitation(app: Application, base: dict[str, Any]) -> Notice:
    return Notice(
        kind="rate_invitation",
        headline=Text("请评价本次服务（好差评）", "Please rate this service (好差评)"),
        lines=(
            Text(
                "您的评价将帮助我们改进服务；差评会在期限内核实、整改并反馈。",
                "Your rating helps us improve; a bad rating is verified, rectified and answered in time.",
            ),
        ),
        action=Text("请打开链接，在申请页面底部评价。", "Open the link and rate at the bottom of the page."),
        sms=False,  # not urgent: inbox and e-mail only
        **base,
    )


def admin_notices(detail_type: str, detail: Mapping[str, Any], links: Links) -> list[Notice]:
    """What the bureau's admins are told (escalations of at-risk and overdue applications)."""
    if detail_type != "ApplicationEscalated":
        return []
    up = ApplicationEscalated.parse(detail)
    overdue = up.level == "overdue"
    who = Text(up.assignee or "未分配", up.assignee or "unassigned")
    return [
        Notice(
            kind=f"escalated_{up.level}",
            application_id=up.application_id,
            item=Text(up.item_name_zh, up.item_name_en),
            headline=Text(
                "申请已超期" if overdue else "申请临近期限",
                "Application overdue" if overdue else "Application at risk",
            ),
            lines=(
                Text(f"剩余 {up.working_days_left} 个工作日。", f"{up.working_days_left} working days left."),
                Text(f"承办人：{who.zh}", f"Assigned to: {who.en}"),
            ),
            action=Text("请在审批工作台指派或督办。", "Assign or chase it on the reviewer desk."),
            deadline=parse_time(up.due),
            deadline_label=Text("期限", "Due by"),
            link=links.desk(up.application_id),
        )
    ]


# ----------------------------------------------------------------------------- rendering


def local_time(moment: datetime) -> Text:
    """A deadline as the bureau states it: Beijing time."""
    t = moment.astimezone(SHANGHAI)
    return Text(f"{t:%Y年%m月%d日 %H:%M}（北京时间）", f"{t:%d %b %Y %H:%M} (Beijing time, UTC+8)")


def _lines(notice: Notice, zh: bool) -> list[str]:
    pick = (lambda t: t.zh) if zh else (lambda t: t.en)
    out = [pick(notice.headline)]
    if notice.item is not None:
        out.append(("事项：" if zh else "Service: ") + pick(notice.item))
    if notice.application_id:
        out.append(("申请编号：" if zh else "Application: ") + notice.application_id)
    out.extend(pick(line) for line in notice.lines)
    if notice.deadline is not None:
        label = notice.deadline_label or Text("期限", "Due by")
        out.append(f"{pick(label)}{'：' if zh else ': '}{pick(local_time(notice.deadline))}")
    if notice.action is not None:
        out.append(("下一步：" if zh else "Next: ") + pick(notice.action))
    if notice.link:
        out.append(("查看详情：" if zh else "Details: ") + notice.link)
    return out


def body(notice: Notice, zh: bool) -> str:
    """The notice's full text in one language (the inbox keeps both)."""
    return "\n".join(_lines(notice, zh))


def _letter(notice: Notice, zh: bool, name: str | None) -> str:
    """The e-mail's text: greeting, the notice, and that it was sent automatically."""
    if zh:
        greeting = f"尊敬的{name}：" if name else "您好："
        footer = f"此邮件由{SITE.zh}系统自动发送，请勿直接回复。"
    else:
        greeting = f"Dear {name}," if name else "Hello,"
        footer = f"This message was sent automatically by {SITE.en}; please do not reply to it."
    return f"{greeting}\n\n{body(notice, zh)}\n\n{footer}"


def render(notice: Notice, language: Language, name: str | None = None) -> Rendered:
    """The e-mail and SMS for a language choice: "both" is Chinese with English below."""
    zh_text, en_text = _letter(notice, True, name), _letter(notice, False, name)
    zh_sms = f"【{SITE.zh}】{notice.headline.zh}" + (f"（{notice.item.zh}）" if notice.item else "")
    en_sms = f"[{SITE.en}] {notice.headline.en}" + (f" ({notice.item.en})" if notice.item else "")
    if notice.deadline is not None:
        due = local_time(notice.deadline)
        zh_sms += f"，期限 {due.zh}"
        en_sms += f", due {due.en}"
    link = f" {notice.link}" if notice.link else ""
    if language == "zh":
        subject, text, sms = f"{notice.headline.zh} - {SITE.zh}", zh_text, zh_sms + link
    elif language == "en":
        subject, text, sms = f"{notice.headline.en} - {SITE.en}", en_text, en_sms + link
    else:
        subject = f"{notice.headline.zh} / {notice.headline.en}"
        text = f"{zh_text}\n\n----------------\n\n{en_text}"
        sms = f"{zh_sms} / {en_sms}{link}"
    if len(sms) > SMS_MAX:  # the link stays whole: it is what the SMS is for
        keep = SMS_MAX - len(link) - 1
        sms = sms[: max(keep, 0)].rstrip() + "…" + link
    return Rendered(subject=subject, text=text, sms=sms)
