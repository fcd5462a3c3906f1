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
        sub="abc", name=None, roles=frozenset({Role.REVIEWER}), groups=("reviewer",), username="abc"
    )
    assert principal_from_event({"requestContext": {}}).is_anonymous
    assert principal_from_event({}).is_anonymous


def test_bound_parties_come_from_the_custom_attributes_in_every_shape() -> None:
    # Cognito keeps a list attribute as one string; HTTP API hands every claim over as a string.
    p = principal_from_claims(
        {
            "sub": "s",
            "cognito:username": "5f0c-uuid",
            "custom:uscc": "91440300MA5FQ1P38N, 91440300ma5f00011x",
            "custom:id_number": "440305198503071234",
        }
    )
    assert p.username == "5f0c-uuid"
    assert p.usccs == {"91440300MA5FQ1P38N", "91440300MA5F00011X"}
    assert p.acts_for("enterprise", " 91440300ma5fq1p38n ")
    assert not p.acts_for("enterprise", "91440300MA5F00022X")
    assert p.acts_for("person", "440305198503071234")
    assert not p.acts_for("person", "440305198503071235")
    assert principal_from_claims({"sub": "s", "custom:uscc": '["A1", "B2"]'}).usccs == {"A1", "B2"}
    assert principal_from_claims({"sub": "s", "custom:uscc": "[A1 B2]"}).usccs == {"A1", "B2"}


def test_no_claims_no_parties_and_an_ambiguous_person_is_none() -> None:
    bare = principal_from_claims({"sub": "s", "cognito:groups": "[applicant]"})
    assert bare.usccs == frozenset()
    assert bare.id_number is None
    assert not bare.acts_for("enterprise", "")
    assert not bare.acts_for("person", "")
    two = principal_from_claims({"sub": "s", "custom:id_number": "440305198503071234,110101199001011234"})
    assert two.id_number is None
    assert not Principal.anonymous().acts_for("enterprise", "X")


def test_the_role_acted_in_is_what_the_audit_records() -> None:
    both = principal_from_claims({"sub": "s", "cognito:groups": "[applicant reviewer]"})
    assert both.primary_role == "reviewer"
    assert both.require_applicant().primary_role == "applicant"
    assert both.acting_as(Role.REVIEWER).primary_role == "reviewer"
    admin = principal_from_claims({"sub": "s", "cognito:groups": "[admin]"})
    assert admin.require_admin().primary_role == "admin"
    with pytest.raises(Forbidden) as refused:
        both.require_admin()
    assert refused.value.code == "admin_role_required"
