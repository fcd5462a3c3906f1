"""The local identity provider, the stand-in for Cognito: issues RS256 JWTs with Cognito-style claims
(`POST /_local/token` on the gateway) and verifies them as the HttpApi JWT authorizer does (signature,
issuer, audience, expiry).

The parties an account acts for live where they live in AWS: as `custom:id_number` / `custom:uscc`
attributes of the user in the template's user pool, which the local stack creates in moto. Each token
is issued from the user's attributes as they are then, so a binding an admin approved through the API
(AdminUpdateUserAttributes against moto) is in the next token. The token request may carry `uscc` and
`id_number`: that is the federation with the provincial identity service vouching for the person and
the enterprises it represents; they are written to the user (enterprises added to those already
bound) before the token is issued.

Each channel is its own app client (template.yaml; the local stack creates them in moto): a token is
issued to one client, named in the request as `client` (its id, or the channel it serves: `web_portal`,
`city_app`, `mini_program`, `service_window`; the web portal when left out) and carried in `aud`, as a
Cognito ID token carries its client. Verification accepts the clients of the authorizer's audience,
and the api function maps the client to the channel."""

from __future__ import annotations

import contextlib
import hashlib
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

USCC_ATTRIBUTE = "custom:uscc"
ID_NUMBER_ATTRIBUTE = "custom:id_number"


def _codes(value: str | None) -> set[str]:
    return {c.strip().upper() for c in (value or "").replace(" ", ",").split(",") if c.strip()}


@dataclass(frozen=True)
class LocalDirectory:
    """The template's user pool in moto: one user per local `sub`, its party attributes read per token."""

    client: Any  # cognito-idp, against the embedded moto server
    user_pool_id: str

    @classmethod
    def for_stack(cls, cfn: Mapping[str, Any], refs: Mapping[str, Any], client: Any) -> LocalDirectory | None:
        """The directory over the template's user pool, if the stack provisioned one."""
        pools = [k for k, r in cfn.get("Resources", {}).items() if r.get("Type") == "AWS::Cognito::UserPool"]
        pool_id = refs.get(pools[0]) if pools else None
        if not isinstance(pool_id, str) or pool_id.startswith("not-emulated"):
            return None
        return cls(client("cognito-idp"), pool_id)

    @staticmethod
    def email_for(sub: str) -> str:
        # The pool signs users in by e-mail (UsernameAttributes: [email]); local subs are any text.
        return f"local-{hashlib.sha256(sub.encode()).hexdigest()[:24]}@local.test"

    def user(
        self, sub: str, name: str, uscc: Iterable[str] = (), id_number: str | None = None
    ) -> tuple[str, dict[str, str]]:
        """The user's Cognito username and attributes, after writing what the federation vouched for."""
        email = self.email_for(sub)
        attributes = self._get_or_create(email, name)
        updates: list[dict[str, str]] = []
        wanted = {c.strip().upper() for c in uscc if c.strip()}
        held = _codes(attributes[1].get(USCC_ATTRIBUTE))
        if wanted - held:
            updates.append({"Name": USCC_ATTRIBUTE, "Value": ",".join(sorted(held | wanted))})
        if id_number and attributes[1].get(ID_NUMBER_ATTRIBUTE) != id_number.strip().upper():
            updates.append({"Name": ID_NUMBER_ATTRIBUTE, "Value": id_number.strip().upper()})
        if updates:
            self.client.admin_update_user_attributes(
                UserPoolId=self.user_pool_id, Username=email, UserAttributes=updates
            )
            attributes = self._get_or_create(email, name)
        return attributes

    def join(self, username: str, groups: Iterable[str]) -> None:
        """Put the user in the pool's `groups` the token claims, as Cognito holds membership: the
        reviewer directory (work assignment's reassignment) reads the group, not the token."""
        errors = self.client.exceptions
        for group in groups:
            with contextlib.suppress(errors.ResourceNotFoundException):  # not a group of the pool
                self.client.admin_add_user_to_group(
                    UserPoolId=self.user_pool_id, Username=username, GroupName=group
                )

    def _get_or_create(self, email: str, name: str) -> tuple[str, dict[str, str]]:
        errors = self.client.exceptions
        try:
            reply = self.client.admin_get_user(UserPoolId=self.user_pool_id, Username=email)
        except errors.UserNotFoundException:
            # A concurrent token request may have created it meanwhile.
            with contextlib.suppress(errors.UsernameExistsException):
                self.client.admin_create_user(
                    UserPoolId=self.user_pool_id,
                    Username=email,
                    UserAttributes=[
                        {"Name": "email", "Value": email},
                        {"Name": "name", "Value": name or email},
                    ],
                    MessageAction="SUPPRESS",
                )
            reply = self.client.admin_get_user(UserPoolId=self.user_pool_id, Username=email)
        return reply["Username"], {a["Name"]: a["Value"] for a in reply.get("UserAttributes", [])}


class UnknownClient(ValueError):
    """A token was asked for an app client that is neither an audience of the authorizer nor an alias."""


@dataclass
class LocalIdentityProvider:
    """Issues and verifies Cognito-style JWTs with a key made at start-up; with a `directory`, the
    party claims come from the user's attributes in the (moto) user pool. `audience` is the default
    app client (the web portal's), `other_clients` the other clients the authorizer accepts, `aliases`
    a name for each (channel → client id)."""

    issuer: str
    audience: str
    token_ttl_s: int = 3600
    directory: LocalDirectory | None = None
    other_clients: tuple[str, ...] = ()
    aliases: Mapping[str, str] = field(default_factory=dict)
    _key: rsa.RSAPrivateKey = field(init=False)

    @property
    def audiences(self) -> tuple[str, ...]:
        """Every client id the authorizer accepts."""
        return (self.audience, *(c for c in self.other_clients if c != self.audience))

    def client_id(self, client: str | None) -> str:
        """The app client id for a client id or alias (the default client when None)."""
        if not client:
            return self.audience
        if client in self.audiences:
            return client
        if client in self.aliases and self.aliases[client] in self.audiences:
            return self.aliases[client]
        raise UnknownClient(client)

    def __post_init__(self) -> None:
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def issue(
        self,
        sub: str,
        groups: Sequence[str],
        name: str = "",
        email: str = "",
        *,
        uscc: Sequence[str] = (),
        id_number: str | None = None,
        client: str | None = None,
    ) -> str:
        """An ID token for `sub` issued to `client` (an id or alias; the default client when None)."""
        audience = self.client_id(client)
        now = int(time.time())
        username = sub
        parties: dict[str, str] = {}
        if self.directory is not None:
            username, attributes = self.directory.user(sub, name or sub, uscc, id_number)
            self.directory.join(username, groups)
            parties = {k: attributes[k] for k in (USCC_ATTRIBUTE, ID_NUMBER_ATTRIBUTE) if attributes.get(k)}
        else:
            if uscc:
                parties[USCC_ATTRIBUTE] = ",".join(sorted({c.strip().upper() for c in uscc}))
            if id_number:
                parties[ID_NUMBER_ATTRIBUTE] = id_number.strip().upper()
        claims = {
            "sub": sub,
            "cognito:groups": list(groups),
            "cognito:username": username,
            "name": name or sub,
            "email": email or f"{sub}@local.test",
            "iss": self.issuer,
            "aud": audience,
            "token_use": "id",
            "iat": now,
            "exp": now + self.token_ttl_s,
            **parties,
        }
        return jwt.encode(claims, self._key, algorithm="RS256", headers={"kid": "local"})

    def verify(self, token: str) -> dict[str, Any]:
        claims: dict[str, Any] = jwt.decode(
            token,
            self._key.public_key(),
            algorithms=["RS256"],
            audience=list(self.audiences),
            issuer=self.issuer,
            options={"require": ["exp", "iss", "aud", "sub"]},
        )
        return claims

    def public_pem(self) -> str:
        return (
            self._key.public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            .decode()
        )

    def token_response(self, body: Mapping[str, Any]) -> tuple[int, dict[str, Any]]:
        """The token endpoint's answer (status, JSON body) for a request body."""
        sub = str(body.get("sub") or "")
        groups = body.get("groups") or []
        uscc = body.get("uscc") or []
        id_number = body.get("id_number")
        client = body.get("client")
        if isinstance(uscc, str):
            uscc = [uscc]
        if (
            not sub
            or not isinstance(groups, list)
            or not isinstance(uscc, list)
            or not (id_number is None or isinstance(id_number, str))
            or not (client is None or isinstance(client, str))
        ):
            return 400, {
                "message": 'give sub and groups, e.g. {"sub": "alice", "groups": ["applicant"]}; optionally '
                'the federation\'s "uscc": [...] and "id_number": "...", and the app "client"'
            }
        try:
            token = self.issue(
                sub,
                [str(g) for g in groups],
                str(body.get("name") or ""),
                uscc=[str(c) for c in uscc],
                id_number=id_number,
                client=client,
            )
        except UnknownClient:
            known = ", ".join(sorted(self.aliases)) or ", ".join(self.audiences)
            return 400, {"message": f"unknown app client {client!r}; the stack's clients: {known}"}
        return 200, {"id_token": token, "token_type": "Bearer", "expires_in": self.token_ttl_s}
