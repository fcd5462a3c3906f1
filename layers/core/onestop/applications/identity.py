"""Who is calling: a Principal built from the claims of a verified JWT.

In AWS the HTTP API's JWT authorizer (Cognito) verifies the token and hands the claims to the
function in `requestContext.authorizer.jwt.claims`. HTTP API (payload 2.0) flattens array claims
to a string such as "[reviewer applicant]", so groups are parsed from either form. The local stack's
gateway verifies its dev tokens the same way and puts the claims in the same place, so the handler
has exactly one way to learn who is calling.

The parties a principal acts for are verified claims too: `custom:id_number` (the person's resident ID
number, as the provincial identity service vouched for it) and `custom:uscc` (the enterprises bound to
the account: by the federation, or by an admin approving a binding request). Users cannot write these
attributes themselves (the app client's WriteAttributes leaves them out, template.yaml); nothing the
caller types into a request ever adds to them.

So is the channel: the app client the token was issued to (`aud` / `client_id`), mapped to a channel
by `onestop.applications.channels` with the api's `CHANNEL_CLIENTS` setting.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from onestop.errors import Forbidden, Unauthorized

from .channels import Channel, ChannelClients, channel_of, client_of, unknown_client

GROUPS_CLAIM = "cognito:groups"
ID_NUMBER_CLAIM = "custom:id_number"
USCC_CLAIM = "custom:uscc"


class Role(StrEnum):
    """What a principal may do. An admin may do what a reviewer may."""

    APPLICANT = "applicant"
    REVIEWER = "reviewer"
    ADMIN = "admin"
    # A service-centre clerk applies at the window on an applicant's behalf (never decides).
    CLERK = "clerk"


@dataclass(frozen=True)
class Principal:
    """The caller. `sub` is None for an anonymous caller. `id_number` and `usccs` are the parties it
    may act for (verified claims); `acting` is the role a use case has it act in (for the audit)."""

    sub: str | None
    name: str | None = None
    roles: frozenset[Role] = field(default_factory=frozenset)
    groups: tuple[str, ...] = ()
    username: str | None = None
    id_number: str | None = None
    usccs: frozenset[str] = field(default_factory=frozenset)
    acting: Role | None = None
    # The app client the token was issued to, and its channel (None: a client the api does not know).
    client_id: str | None = None
    channel: Channel | None = None

    @classmethod
    def anonymous(cls) -> Principal:
        return cls(sub=None)

    @property
    def is_anonymous(self) -> bool:
        return self.sub is None

    @property
    def is_reviewer(self) -> bool:
        return bool(self.roles & {Role.REVIEWER, Role.ADMIN})

    @property
    def is_admin(self) -> bool:
        return Role.ADMIN in self.roles

    @property
    def is_clerk(self) -> bool:
        return Role.CLERK in self.roles

    @property
    def label(self) -> str:
        """How the audit trail names this caller."""
        return self.sub or "anonymous"

    @property
    def primary_role(self) -> str:
        """The role the audit records: the one the use case acts in, else the highest held."""
        if self.acting is not None:
            return self.acting.value
        for role in (Role.ADMIN, Role.REVIEWER, Role.CLERK, Role.APPLICANT):
            if role in self.roles:
                return role.value
        return "anonymous"

    def acting_as(self, role: Role) -> Principal:
        """This principal acting in `role` (a two-group account is recorded in the role of the act)."""
        return replace(self, acting=role)

    def acts_for(self, kind: str, code: str) -> bool:
        """Whether the verified claims bind this caller to the party (a person by resident ID number,
        an enterprise by USCC)."""
        wanted = "".join(code.split()).upper()
        if not wanted or self.is_anonymous:
            return False
        if kind == "person":
            return self.id_number is not None and self.id_number == wanted
        return wanted in self.usccs

    def require_authenticated(self) -> Principal:
        if self.is_anonymous:
            raise Unauthorized(
                "authentication_required",
                "请先登录后再操作（缺少或无效的身份令牌）。",
                "Sign in first: the request carries no valid identity token.",
            )
        return self

    def require_channel(self) -> Channel:
        """The channel of the caller's app client; 403 `unknown_client` for a client the api does not know."""
        if self.channel is None:
            raise unknown_client(self.client_id)
        return self.channel

    def require_applicant(self) -> Principal:
        """Only an applicant opens applications: a reviewer-only account could never upload or submit."""
        self.require_authenticated()
        if Role.APPLICANT not in self.roles:
            raise Forbidden(
                "applicant_role_required",
                "只有申请人账号可以提交办件申请。",
                "Only an applicant account may open an application.",
            )
        return self.acting_as(Role.APPLICANT)

    def require_reviewer(self) -> Principal:
        self.require_authenticated()
        if not self.is_reviewer:
            raise Forbidden(
                "reviewer_role_required",
                "该操作仅限审批人员。",
                "Only reviewers may do this.",
            )
        return self

    def require_admin(self) -> Principal:
        """Only the bureau's administrators (the template's admin group: licence lifecycle, bindings)."""
        self.require_authenticated()
        if not self.is_admin:
            raise Forbidden(
                "admin_role_required",
                "该操作仅限本局管理员（admin 组）办理，审批人员无此权限。",
                "Only the bureau's administrators (the admin group) may do this; reviewers may not.",
            )
        return self.acting_as(Role.ADMIN)


def parse_groups(value: Any) -> tuple[str, ...]:
    """Group names from a claim that may be a list, a JSON array string or "[a b]" / "a,b" text."""
    if value is None:
        return ()
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("[") and '"' in text:
            try:
                loaded = json.loads(text)
            except ValueError:
                loaded = None
            if isinstance(loaded, list):
                return _clean(str(v) for v in loaded)
        text = text.removeprefix("[").removesuffix("]")
        return _clean(text.replace(",", " ").split())
    if isinstance(value, Iterable):
        return _clean(str(v) for v in value)
    return ()


def _clean(names: Iterable[str]) -> tuple[str, ...]:
    out: list[str] = []
    for name in names:
        cleaned = name.strip().strip("'\"").strip()
        if cleaned and cleaned not in out:
            out.append(cleaned)
    return tuple(out)


def parse_codes(value: Any) -> frozenset[str]:
    """Party codes from a custom attribute: Cognito keeps a list as one string ("A,B"); JSON array and
    "[A B]" text are read too. Upper-cased, blanks dropped."""
    return frozenset("".join(code.split()).upper() for code in parse_groups(value) if code.strip())


def roles_from_groups(groups: Sequence[str]) -> frozenset[Role]:
    """Known groups map to roles; a signed-in user in no known group is an applicant (self sign-up)."""
    known = {r.value: r for r in Role}
    roles = {known[g.lower()] for g in groups if g.lower() in known}
    return frozenset(roles or {Role.APPLICANT})


def principal_from_claims(
    claims: Mapping[str, Any] | None, clients: ChannelClients | None = None
) -> Principal:
    """The principal for verified claims; anonymous when there are none or no subject. `clients` maps
    app client ids to channels (without it, or for a client it lacks, the channel is None)."""
    if not claims:
        return Principal.anonymous()
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub.strip():
        return Principal.anonymous()
    groups = parse_groups(claims.get(GROUPS_CLAIM))
    name = next(
        (
            str(claims[k])
            for k in ("name", "cognito:username", "preferred_username", "username", "email")
            if claims.get(k)
        ),
        None,
    )
    id_numbers = parse_codes(claims.get(ID_NUMBER_CLAIM))
    username = claims.get("cognito:username")
    return Principal(
        sub=sub.strip(),
        name=name,
        roles=roles_from_groups(groups),
        groups=groups,
        username=str(username) if username else sub.strip(),
        # One person per account: an attribute naming several is not a verified identity.
        id_number=next(iter(id_numbers)) if len(id_numbers) == 1 else None,
        usccs=parse_codes(claims.get(USCC_CLAIM)),
        client_id=client_of(claims),
        channel=channel_of(claims, clients) if clients is not None else None,
    )


def claims_from_event(event: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The JWT authorizer's claims in an API Gateway HTTP API (payload 2.0) event, if any."""
    context = event.get("requestContext") or {}
    authorizer = context.get("authorizer") or {}
    jwt = authorizer.get("jwt") or {}
    claims = jwt.get("claims")
    return claims if isinstance(claims, Mapping) else None


def principal_from_event(event: Mapping[str, Any], clients: ChannelClients | None = None) -> Principal:
    """The caller of an HTTP API event (anonymous when the route had no authorizer claims)."""
    return principal_from_claims(claims_from_event(event), clients)
