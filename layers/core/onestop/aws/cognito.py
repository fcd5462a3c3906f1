"""The parties an account acts for, kept as Cognito user attributes (`custom:uscc`, `custom:id_number`).

Only this adapter writes them (AdminUpdateUserAttributes, with the api function's IAM permission);
the app client cannot (its WriteAttributes leave them out, template.yaml), so a user can never bind
themself. The client's region is the user pool's: a pool id is `<region>_<id>`.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

import boto3
from botocore.config import Config

from onestop.applications.identity import USCC_CLAIM, parse_codes
from onestop.errors import Conflict
from onestop.observability import traced

_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=5, read_timeout=30)
# Cognito custom attributes are strings of at most 2048 characters: about 107 USCCs with commas.
MAX_ATTRIBUTE_CHARS = 2048


def join_codes(codes: set[str] | frozenset[str]) -> str:
    """The attribute value for a set of codes (sorted, comma-separated, as the claim parser reads it)."""
    return ",".join(sorted(codes))


class CognitoPartyDirectory:
    """`onestop.parties.bindings.PartyDirectory` over a Cognito user pool."""

    def __init__(self, user_pool_id: str, client: Any | None = None) -> None:
        self.user_pool_id = user_pool_id
        self._client = client

    @cached_property
    def client(self) -> Any:
        if self._client is not None:
            return self._client
        region = self.user_pool_id.split("_", 1)[0]
        session: Any = boto3.session.Session()
        return session.client("cognito-idp", region_name=region, config=_CONFIG)

    @traced
    def bound_enterprises(self, username: str) -> frozenset[str]:
        reply = self.client.admin_get_user(UserPoolId=self.user_pool_id, Username=username)
        attributes = {a["Name"]: a["Value"] for a in reply.get("UserAttributes", [])}
        return parse_codes(attributes.get(USCC_CLAIM))

    @traced
    def bind_enterprise(self, username: str, uscc: str) -> tuple[str, ...]:
        codes = set(self.bound_enterprises(username)) | {uscc}
        value = join_codes(codes)
        if len(value) > MAX_ATTRIBUTE_CHARS:
            raise Conflict(
                "too_many_bindings",
                "该账号绑定的企业已达上限，请先解除不再代办的企业。",
                "The account is bound to as many enterprises as it can hold; unbind one it no longer "
                "acts for first.",
            )
        self.client.admin_update_user_attributes(
            UserPoolId=self.user_pool_id,
            Username=username,
            UserAttributes=[{"Name": USCC_CLAIM, "Value": value}],
        )
        return tuple(sorted(codes))
