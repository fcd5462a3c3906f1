"""The local identity provider, the stand-in for Cognito: issues RS256 JWTs with Cognito-style claims
(`POST /_local/token` on the gateway) and verifies them as the HttpApi JWT authorizer does (signature,
issuer, audience, expiry)."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa


@dataclass
class LocalIdentityProvider:
    """Issues and verifies Cognito-style JWTs with a key made at start-up."""

    issuer: str
    audience: str
    token_ttl_s: int = 3600
    _key: rsa.RSAPrivateKey = field(init=False)

    def __post_init__(self) -> None:
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def issue(self, sub: str, groups: Sequence[str], name: str = "", email: str = "") -> str:
        now = int(time.time())
        claims = {
            "sub": sub,
            "cognito:groups": list(groups),
            "cognito:username": sub,
            "name": name or sub,
            "email": email or f"{sub}@local.test",
            "iss": self.issuer,
            "aud": self.audience,
            "token_use": "id",
            "iat": now,
            "exp": now + self.token_ttl_s,
        }
        return jwt.encode(claims, self._key, algorithm="RS256", headers={"kid": "local"})

    def verify(self, token: str) -> dict[str, Any]:
        claims: dict[str, Any] = jwt.decode(
            token,
            self._key.public_key(),
            algorithms=["RS256"],
            audience=self.audience,
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
        if not sub or not isinstance(groups, list):
            return 400, {"message": 'give sub and groups, e.g. {"sub": "alice", "groups": ["applicant"]}'}
        token = self.issue(sub, [str(g) for g in groups], str(body.get("name") or ""))
        return 200, {"id_token": token, "token_type": "Bearer", "expires_in": self.token_ttl_s}
