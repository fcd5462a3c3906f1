"""The application state machine: which action moves which state where, and who may take it.

draft ─submit→ submitted ─accept (受理)→ accepted ─approve→ approved
                                                    └reject→ rejected
submitted / accepted ─request_correction (补正)→ correction_requested ─submit (resubmission)→ submitted
    (a correction asked after acceptance pauses the decision clock; its resubmission returns to
    accepted — the acceptance stands — and resumes the clock: `resumes_acceptance`, `pauses`)
draft / submitted / accepted / correction_requested ─withdraw→ withdrawn

An action that the current state does not allow is a Conflict (409) carrying the current state,
never a silent overwrite; the repository enforces the same rule again with a conditional write.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from onestop.errors import Conflict

from .models import ApplicationStatus as S


class Action(StrEnum):
    """What someone does to an application."""

    SUBMIT = "submit"
    ACCEPT = "accept"
    REQUEST_CORRECTION = "request_correction"
    APPROVE = "approve"
    REJECT = "reject"
    WITHDRAW = "withdraw"


class Actor(StrEnum):
    """Who may take an action: the applicant who owns the application, or a reviewer."""

    OWNER = "owner"
    REVIEWER = "reviewer"


@dataclass(frozen=True)
class Transition:
    """One edge set of the machine."""

    sources: frozenset[S]
    target: S
    actor: Actor
    needs_reasons: bool
    name_zh: str
    name_en: str


TRANSITIONS: dict[Action, Transition] = {
    Action.SUBMIT: Transition(
        frozenset({S.DRAFT, S.CORRECTION_REQUESTED}), S.SUBMITTED, Actor.OWNER, False, "提交", "submit"
    ),
    Action.ACCEPT: Transition(frozenset({S.SUBMITTED}), S.ACCEPTED, Actor.REVIEWER, False, "受理", "accept"),
    Action.REQUEST_CORRECTION: Transition(
        frozenset({S.SUBMITTED, S.ACCEPTED}),
        S.CORRECTION_REQUESTED,
        Actor.REVIEWER,
        True,
        "要求补正",
        "request correction",
    ),
    Action.APPROVE: Transition(
        frozenset({S.ACCEPTED}), S.APPROVED, Actor.REVIEWER, False, "准予许可", "approve"
    ),
    Action.REJECT: Transition(
        frozenset({S.ACCEPTED}), S.REJECTED, Actor.REVIEWER, True, "不予许可", "reject"
    ),
    Action.WITHDRAW: Transition(
        frozenset({S.DRAFT, S.SUBMITTED, S.ACCEPTED, S.CORRECTION_REQUESTED}),
        S.WITHDRAWN,
        Actor.OWNER,
        False,
        "撤回",
        "withdraw",
    ),
}

STATUS_NAMES: dict[S, tuple[str, str]] = {
    S.DRAFT: ("草稿", "draft"),
    S.SUBMITTED: ("已提交", "submitted"),
    S.ACCEPTED: ("已受理", "accepted"),
    S.CORRECTION_REQUESTED: ("待补正", "correction requested"),
    S.APPROVED: ("准予许可", "approved"),
    S.REJECTED: ("不予许可", "rejected"),
    S.WITHDRAWN: ("已撤回", "withdrawn"),
}

# Reviewer decisions (POST /applications/{id}/decision); the others belong to the applicant.
REVIEWER_ACTIONS = tuple(a for a, t in TRANSITIONS.items() if t.actor is Actor.REVIEWER)


def conflict(
    current: S, version: int | None, action: str, *, zh: str | None = None, en: str | None = None
) -> Conflict:
    """The 409 for an action the current state does not allow (or that lost a race)."""
    name_zh, name_en = STATUS_NAMES[current]
    return Conflict(
        "illegal_transition",
        zh or f"申请当前状态为「{name_zh}」，不能执行该操作（{action}）。请刷新后重试。",
        en or f"The application is {name_en}; '{action}' is not possible now. Reload it and try again.",
        extra={"current": {"status": current.value, "version": version}},
    )


def next_status(
    current: S, action: Action, version: int | None = None, *, resumes_acceptance: bool = False
) -> S:
    """Where `action` takes an application in `current`; Conflict if it may not be taken.

    `resumes_acceptance`: the correction was asked after acceptance, so the resubmission goes back to
    accepted (the acceptance stands, the clock resumes) rather than to a new acceptance check."""
    transition = TRANSITIONS[action]
    if current not in transition.sources:
        raise conflict(current, version, action.value)
    if resumes_acceptance and action is Action.SUBMIT and current is S.CORRECTION_REQUESTED:
        return S.ACCEPTED
    return transition.target


def allowed_actions(current: S, actor: Actor) -> list[Action]:
    """The actions `actor` could take now (shown to portals so they offer only those)."""
    return [a for a, t in TRANSITIONS.items() if t.actor is actor and current in t.sources]
