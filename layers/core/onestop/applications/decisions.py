"""A reviewer's decision: accept (受理), ask for correction (补正), approve or reject."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from onestop.catalogue import ServiceItem
from onestop.errors import Forbidden, InvalidInput, Reason

from . import assignment
from .access import not_found
from .deps import ApplicationDeps
from .duties import require_may_decide
from .identity import Principal
from .models import Application, ApplicationStatus
from .state import TRANSITIONS, Action, Actor, conflict, next_status
from .transitions import apply_action, deadline_info


@dataclass(frozen=True)
class ReasonInput:
    """A reviewer's reason; `en` may be left out (the Chinese text is then shown in both)."""

    zh: str
    en: str | None = None
    code: str | None = None
    slot: str | None = None


def decide(
    deps: ApplicationDeps,
    principal: Principal,
    application_id: str,
    action: Action,
    *,
    reasons: Sequence[ReasonInput] = (),
    comment: str | None = None,
    expected_version: int | None = None,
) -> Application:
    """A reviewer accepts (受理), asks for correction (补正), approves or rejects."""
    principal.require_reviewer()
    transition = TRANSITIONS[action]
    if transition.actor is not Actor.REVIEWER:
        raise Forbidden(
            "not_a_reviewer_action",
            "该操作不是审批操作。",
            f"'{action.value}' is not a reviewer decision.",
        )
    application = deps.repository.get(application_id)
    if application is None:
        raise not_found()
    principal = require_may_decide(principal, application)  # separation of duties (duties.py)
    current = ApplicationStatus(application.status)
    if expected_version is not None and expected_version != application.version:
        raise conflict(
            current,
            application.version,
            action.value,
            zh=f"申请已被他人更新（当前版本 {application.version}，"
            f"您看到的是 {expected_version}），请刷新后再决定。",
            en=f"The application changed since you read it (version {application.version}, you saw "
            f"{expected_version}); reload it before deciding.",
        )
    next_status(current, action, application.version)
    item = deps.catalogue.of(application).item(application.item_code)  # its pinned version
    checked = reviewer_reasons(item, reasons, required=transition.needs_reasons)
    # Work assignment: only the owner of a live claim decides (an admin over it, audited); deciding an
    # unclaimed application claims it first, by the same conditional write as a claim.
    assignment.before_action(deps, principal, application, action.value)
    now = deps.now()
    changes: dict[str, Any] = {}
    if action is Action.ACCEPT:
        changes = {
            "accepted_at": now,
            "deadline": deadline_info(deps.clock.add_working_days(now, item.promised_limit_days)),
        }
    elif action is Action.REQUEST_CORRECTION:
        changes = {"correction_reasons": checked}
    else:  # approve / reject
        changes = {
            "decided_at": now,
            "decided_by": principal.label,
            "decision_reasons": checked,
            "decision_evidence": application.evidence,  # the pinned set this decision was taken on
        }
    return apply_action(
        deps, principal, application, action, changes, reasons=checked, comment=comment, now=now
    )


def reviewer_reasons(item: ServiceItem, reasons: Sequence[ReasonInput], *, required: bool) -> list[Reason]:
    """The reasons as applicants see them (prefixed with the material's name); 422 on an unknown slot
    or when the decision needs reasons and has none."""
    slots = {r.slot: r for r in item.materials}
    problems: list[Reason] = []
    out: list[Reason] = []
    for i, given in enumerate(reasons):
        if given.slot is not None and given.slot not in slots:
            problems.append(
                Reason(
                    "unknown_material_slot",
                    f"材料「{given.slot}」不属于该事项。",
                    f"'{given.slot}' is not a material of this item.",
                    f"reasons[{i}].slot",
                )
            )
            continue
        prefix_zh = prefix_en = ""
        if given.slot is not None:
            prefix_zh = f"「{slots[given.slot].name_zh}」："
            prefix_en = f"'{slots[given.slot].name_en}': "
        en = given.en or f"(reviewer's note in Chinese) {given.zh}"
        out.append(
            Reason(
                given.code or "reviewer_reason",
                prefix_zh + given.zh,
                prefix_en + en,
                f"materials.{given.slot}" if given.slot else None,
            )
        )
    if required and not reasons:
        problems.append(
            Reason(
                "reasons_required",
                "要求补正或不予许可时必须写明理由。",
                "Give at least one reason when asking for correction or rejecting.",
                "reasons",
            )
        )
    if problems:
        raise InvalidInput("invalid_decision", "审批意见有误。", "The decision is not valid.", problems)
    return out
