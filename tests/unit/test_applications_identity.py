"""Principals from JWT authorizer claims (HTTP API payload 2.0 flattens arrays to "[a b]")."""

from __future__ import annotations

import pytest
from onestop.applications.identity import (
    Principal,
    Role,
    parse_groups,
    principal_from_claims,
    principal_from_event,
)
from onestop.errors import Forbidden, Unauthorized


@pytest.mark.parametrize(
    ("claim", "expected"),
    [
        ("[reviewer applicant]", ("reviewer", "applicant")),
        ("[reviewer]", ("reviewer",)),
        ("[]", ()),
        ("reviewer,admin", ("reviewer", "admin")),
        ('["reviewer", "admin"]', ("reviewer", "admin")),
        (["admin", "reviewer"], ("admin", "reviewer")),
        ("[reviewer reviewer]", ("reviewer",)),
        (None, ()),
        ("", ()),
    ],
)
def test_groups_are_parsed_from_every_shape_the_authorizer_uses(
    claim: object, expected: tuple[str, ...]
) -> None:
    assert parse_groups(claim) == expected


def test_api_gateway_string_claim_gives_both_roles() -> None:
    p = principal_from_claims({"sub": "u-1", "name": "王小明", "cognito:groups": "[reviewer applicant]"})
    assert p.sub == "u-1"
    assert p.name == "王小明"
    assert p.roles == {Role.REVIEWER, Role.APPLICANT}
    assert p.is_reviewer
    assert not p.is_admin
    assert p.primary_role == "reviewer"


def test_signed_in_user_without_known_group_is_an_applicant() -> None:
    p = principal_from_claims({"sub": "u-2", "cognito:groups": "[marketing]"})
    assert p.roles == {Role.APPLICANT}
    assert not p.is_reviewer
    assert p.groups == ("marketing",)


def test_admin_may_do_what_a_reviewer_may() -> None:
    p = principal_from_claims({"sub": "root", "cognito:groups": "[Admin]"})
    assert p.is_admin
    assert p.is_reviewer
    assert p.require_reviewer() is p


@pytest.mark.parametrize("claims", [None, {}, {"sub": ""}, {"sub": "   "}, {"name": "no subject"}])
def test_no_subject_is_anonymous(claims: dict[str, str] | None) -> None:
    p = principal_from_claims(claims)
    assert p.is_anonymous
    with pytest.raises(Unauthorized) as info:
        p.require_authenticated()
    assert info.value.zh
    assert info.value.en


def test_applicant_is_refused_reviewer_work_with_403() -> None:
    p = principal_from_claims({"sub": "u-3", "cognito:groups": "[applicant]"})
    with pytest.raises(Forbidden) as info:
        p.require_reviewer()
    assert info.value.http_status == 403


def test_name_falls_back_to_username_then_email() -> None:
    assert principal_from_claims({"sub": "s", "cognito:username": "li"}).name == "li"
    assert principal_from_claims({"sub": "s", "email": "a@b.cn"}).name == "a@b.cn"
    assert principal_from_claims({"sub": "s"}).name is None


def test_principal_from_an_http_api_event() -> None:
    event = {
        "requestContext": {
            "authorizer": {"jwt": {"claims": {"sub": "abc", "cognito:groups": "[reviewer]"}, "scopes": None}}
        }
    }
    assert principal_from_event(event) == Principal(
        sub="abc", name=None, roles=frozenset({Role.REVIEWER}), groups=("reviewer",)
    )
    assert principal_from_event({"requestContext": {}}).is_anonymous
    assert principal_from_event({}).is_anonymous
