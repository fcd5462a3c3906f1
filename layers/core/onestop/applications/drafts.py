"""The applicant's side of an application's life: create a draft, list, submit, withdraw."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from onestop.catalogue import ServiceItem
from onestop.errors import DomainError, InvalidInput, NotFound, Reason
from onestop.identifiers.resident_id import validate_resident_id
from onestop.identifiers.uscc import validate_uscc
from onestop.observability import metrics
from onestop.parties.rules import require_acts_for

from . import pauses, quotas, window
from .access import owned
from .channels import Channel
from .completeness import check_completeness, notice
from .deps import ApplicationDeps
from .identity import Principal
from .models import Applicant, Application, ApplicationStatus, AuditEvent, Contact, Page, pin_evidence
from .state import Action, next_status
from .transitions import apply_action, deadline_info

# Online depths at which an application can be made online (III: online application with
# pre-review; IV: fully online, zero visits). I and II only publish guidance and forms.
ONLINE_DEPTHS = frozenset({"III", "IV"})
_CODE_FIELD = {"enterprise": "uscc", "person": "id_number"}


@dataclass(frozen=True)
class ApplicantInput:
    """The applicant as typed into the portal (validated by `create`)."""

    kind: str
    name: str
    uscc: str | None = None
    id_number: str | None = None


def create(
    deps: ApplicationDeps,
    principal: Principal,
    item_code: str,
    applicant: ApplicantInput,
    contact: Contact | None = None,
) -> Application:
    """A new draft application; every problem with the input is reported at once. The channel is the
    caller's app client's (`channels`); at the service window a clerk applies on the applicant's behalf
    (`window`), for items of any online depth."""
    channel = principal.require_authenticated().require_channel()  # 401 before 403
    at_window = channel == Channel.SERVICE_WINDOW
    # Acting as the applicant, or as the window's clerk (the audit's role).
    principal = window.require_clerk(principal) if at_window else principal.require_applicant()
    assert principal.sub is not None
    problems: list[Reason] = []
    # Pinned: the application reads its item and material list from this version for good. Read now,
    # not within the public pages' few seconds of caching: an application made after a change gets it.
    catalogue_version = deps.catalogue.current_version_fresh()
    item = _item_for_new_application(
        deps, item_code, problems, at_window=at_window, version=catalogue_version
    )
    checked = _check_applicant(applicant, problems)
    if item is not None and applicant.kind not in item.applicant_kinds:
        kinds_zh = "、".join({"enterprise": "企业", "person": "个人"}[k] for k in item.applicant_kinds)
        problems.append(
            Reason(
                "applicant_kind_not_accepted",
                f"事项「{item.name_zh}」只受理以下申请人：{kinds_zh}。",
                f"'{item.name_en}' accepts applications only from: {', '.join(item.applicant_kinds)}.",
                "applicant.kind",
            )
        )
    if problems or item is None or checked is None:
        raise InvalidInput(
            "invalid_application",
            "申请信息有误，请按提示修改。",
            "The application has errors; correct the fields listed.",
            problems,
        )
    if not at_window:  # the window identified the applicant from their papers at the counter
        code_field = f"applicant.{_CODE_FIELD[checked.kind]}"
        require_acts_for(principal, checked.kind, checked.code, field=code_field)
    now = deps.now()
    application = Application(
        id=deps.new_id(),
        item_code=item.code,
        item_name_zh=item.name_zh,
        item_name_en=item.name_en,
        catalogue_version=catalogue_version,
        owner_sub=principal.sub,
        owner_name=principal.name,
        applicant=checked,
        contact=contact,
        status=ApplicationStatus.DRAFT,
        version=1,
        created_at=now,
        updated_at=now,
        channel=channel.value,
        clerk=principal.sub if at_window else None,
    )
    event = AuditEvent(
        application_id=application.id,
        at=now,
        n=1,
        actor=principal.label,
        actor_role=principal.primary_role,
        action="create",
        from_status=None,
        to_status=ApplicationStatus.DRAFT,
    )
    with quotas.open_draft(deps, principal):  # 409 when the account holds too many drafts
        deps.repository.create(application, event)
    metrics.add_metric(name="ApplicationCreated", unit="Count", value=1)
    return application


def list_mine(
    deps: ApplicationDeps, principal: Principal, *, limit: int = 20, cursor: str | None = None
) -> Page[Application]:
    """The caller's own applications, newest first."""
    principal.require_authenticated()
    assert principal.sub is not None
    return deps.repository.list_by_owner(principal.sub, limit=limit, cursor=cursor)


def submit(deps: ApplicationDeps, principal: Principal, application_id: str) -> Application:
    """Submit (or resubmit after correction); an incomplete set raises the one-time notice."""
    application = owned(deps, principal, application_id)
    next_status(ApplicationStatus(application.status), Action.SUBMIT, application.version)
    # Bound when the draft was opened is not enough: a binding withdrawn since (or a draft from before
    # bindings were checked) must not carry an application to a decision for a party one cannot act for.
    # At the window the clerk (`owned` checked it is theirs, through the window client) vouches instead.
    principal = window.owner_actor(principal, application)
    if not window.is_window_application(application):
        require_acts_for(principal, application.applicant.kind, application.applicant.code, field="applicant")
    item = deps.catalogue.of(application).item(application.item_code)
    materials = deps.repository.list_materials(application.id)
    reasons = check_completeness(item, application.applicant, materials)
    if reasons:
        text = notice(item, reasons)
        metrics.add_metric(name="OneTimeNotice", unit="Count", value=1)
        raise InvalidInput(
            "materials_incomplete",
            f"申请材料不齐全或有误，共 {len(reasons)} 项，请一次性补齐后再提交。",
            f"The materials are incomplete or wrong in {len(reasons)} place(s); fix all of them, "
            "then submit again.",
            reasons,
            extra={"notice": {"zh": text.zh, "en": text.en, "count": len(reasons)}},
        )
    now = deps.now()
    changes: dict[str, Any] = {
        "correction_reasons": [],
        # The evidence is frozen here: ingest refuses uploads from now on (materials.gate), and
        # the decision and the licence name exactly these versions and hashes.
        "evidence": pin_evidence(materials),
    }
    if not pauses.waits_for_resubmission(application):
        # Licensing Law art. 32: accept, or say what to correct, within the item's notice period.
        # (A resubmission after a correction asked post-acceptance is not received anew: the
        # acceptance stands and the decision clock resumes, `pauses`.)
        notice_days = max(1, item.correction_notice_days)
        changes["submitted_at"] = now
        changes["acceptance_due"] = deadline_info(deps.clock.add_working_days(now, notice_days))
    return apply_action(deps, principal, application, Action.SUBMIT, changes, now=now)


def withdraw(
    deps: ApplicationDeps, principal: Principal, application_id: str, comment: str | None = None
) -> Application:
    """The applicant withdraws an application that has not been decided."""
    application = owned(deps, principal, application_id)
    principal = window.owner_actor(principal, application)
    return apply_action(deps, principal, application, Action.WITHDRAW, {}, comment=comment)


def _item_for_new_application(
    deps: ApplicationDeps,
    item_code: str,
    problems: list[Reason],
    *,
    at_window: bool = False,
    version: int | None = None,
) -> ServiceItem | None:
    try:
        item = deps.catalogue.at(version).item(item_code)
    except NotFound:
        problems.append(
            Reason(
                "unknown_item",
                f"事项编码「{item_code}」不存在，请从事项清单中选择。",
                f"There is no service item '{item_code}'; choose one from GET /items.",
                "item_code",
            )
        )
        return None
    if item.online_depth not in ONLINE_DEPTHS and not at_window:
        problems.append(
            Reason(
                "item_not_online",
                f"事项「{item.name_zh}」暂不支持网上申请，请到窗口办理。",
                f"'{item.name_en}' cannot be applied for online yet; apply at the service counter.",
                "item_code",
            )
        )
        return None
    return item


def _check_applicant(applicant: ApplicantInput, problems: list[Reason]) -> Applicant | None:
    name = applicant.name.strip()
    if not name:
        problems.append(
            Reason(
                "applicant_name_missing",
                "请填写申请人名称。",
                "Enter the applicant's name.",
                "applicant.name",
            )
        )
    if applicant.kind == "enterprise":
        code = "".join((applicant.uscc or "").split()).upper()
        field_name = "applicant.uscc"
    else:
        code = "".join((applicant.id_number or "").split()).upper()
        field_name = "applicant.id_number"
    try:
        if applicant.kind == "enterprise":
            validate_uscc(code)
        else:
            validate_resident_id(code)
    except DomainError as exc:
        problems.extend(
            Reason(d.code, d.zh, d.en, field_name)
            for d in (exc.details or [Reason(exc.code, exc.zh, exc.en)])
        )
        return None
    if not name:
        return None
    return Applicant(kind="enterprise" if applicant.kind == "enterprise" else "person", code=code, name=name)
