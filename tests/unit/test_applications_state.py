"""The application state machine: legal moves, who may take them, and 409 with the current state."""

from __future__ import annotations

import itertools

import pytest
from onestop.applications.models import ApplicationStatus as S
from onestop.applications.state import (
    REVIEWER_ACTIONS,
    TRANSITIONS,
    Action,
    Actor,
    allowed_actions,
    next_status,
)
from onestop.errors import Conflict

LEGAL = {
    (S.DRAFT, Action.SUBMIT): S.SUBMITTED,
    (S.CORRECTION_REQUESTED, Action.SUBMIT): S.SUBMITTED,
    (S.SUBMITTED, Action.ACCEPT): S.ACCEPTED,
    (S.SUBMITTED, Action.REQUEST_CORRECTION): S.CORRECTION_REQUESTED,
    (S.ACCEPTED, Action.REQUEST_CORRECTION): S.CORRECTION_REQUESTED,
    (S.ACCEPTED, Action.APPROVE): S.APPROVED,
    (S.ACCEPTED, Action.REJECT): S.REJECTED,
    (S.DRAFT, Action.WITHDRAW): S.WITHDRAWN,
    (S.SUBMITTED, Action.WITHDRAW): S.WITHDRAWN,
    (S.ACCEPTED, Action.WITHDRAW): S.WITHDRAWN,
    (S.CORRECTION_REQUESTED, Action.WITHDRAW): S.WITHDRAWN,
}


@pytest.mark.parametrize(("status", "action"), list(itertools.product(S, Action)))
def test_every_pair_is_either_a_legal_move_or_a_conflict(status: S, action: Action) -> None:
    if (status, action) in LEGAL:
        assert next_status(status, action) == LEGAL[(status, action)]
    else:
        with pytest.raises(Conflict) as info:
            next_status(status, action, version=7)
        assert info.value.code == "illegal_transition"
        assert info.value.http_status == 409
        assert info.value.extra["current"] == {"status": status.value, "version": 7}
        assert f"（{action.value}）" in info.value.zh
        assert f"'{action.value}'" in info.value.en


@pytest.mark.parametrize("final", [S.APPROVED, S.REJECTED, S.WITHDRAWN])
def test_final_states_allow_nothing(final: S) -> None:
    assert allowed_actions(final, Actor.OWNER) == []
    assert allowed_actions(final, Actor.REVIEWER) == []


def test_reviewer_and_owner_actions_are_separate() -> None:
    assert set(REVIEWER_ACTIONS) == {Action.ACCEPT, Action.REQUEST_CORRECTION, Action.APPROVE, Action.REJECT}
    assert allowed_actions(S.SUBMITTED, Actor.OWNER) == [Action.WITHDRAW]
    assert allowed_actions(S.SUBMITTED, Actor.REVIEWER) == [Action.ACCEPT, Action.REQUEST_CORRECTION]


def test_correction_and_rejection_need_reasons() -> None:
    needing = {a for a, t in TRANSITIONS.items() if t.needs_reasons}
    assert needing == {Action.REQUEST_CORRECTION, Action.REJECT}
