"""The reviewer group of the Cognito user pool: whom an admin may reassign an application to.

Membership is the identity provider's, read when asked (AdminListGroupsForUser, ListUsersInGroup),
never a copy kept by the service: a reviewer removed from the group cannot be given work the moment
they are removed. The client's region is the user pool's (`<region>_<id>`).
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

from onestop.applications.assignment import REVIEWER_GROUP, Reviewer
from onestop.observability import traced


class CognitoReviewerDirectory:
    """`onestop.applications.assignment.ReviewerDirectory` over a Cognito user pool."""

    def __init__(self, user_pool_id: str, client: Any | None = None, group: str = REVIEWER_GROUP) -> None:
        self.user_pool_id = user_pool_id
        self.group = group
        self._client = client

    @cached_property
    def client(self) -> Any:
        if self._client is not None:
            return self._client
        import boto3  # with the first call: the api's cold start does not pay for it
        from botocore.config import Config

        region = self.user_pool_id.split("_", 1)[0]
        config = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=5, read_timeout=30)
        session: Any = boto3.session.Session()
        return session.client("cognito-idp", region_name=region, config=config)

    @traced
    def reviewers(self) -> list[Reviewer]:
        out: list[Reviewer] = []
        kwargs: dict[str, Any] = {"UserPoolId": self.user_pool_id, "GroupName": self.group, "Limit": 60}
        while True:
            reply = self.client.list_users_in_group(**kwargs)
            for user in reply.get("Users", []):
                attributes = {a["Name"]: a["Value"] for a in user.get("Attributes", [])}
                out.append(Reviewer(username=user["Username"], name=attributes.get("name")))
            token = reply.get("NextToken")
            if not token:
                return out
            kwargs["NextToken"] = token

    @traced
    def reviewer(self, username: str) -> Reviewer | None:
        errors = self.client.exceptions
        try:
            groups = self.client.admin_list_groups_for_user(UserPoolId=self.user_pool_id, Username=username)
            if not any(g.get("GroupName") == self.group for g in groups.get("Groups", [])):
                return None
            user = self.client.admin_get_user(UserPoolId=self.user_pool_id, Username=username)
        except (errors.UserNotFoundException, errors.InvalidParameterException):
            return None
        attributes = {a["Name"]: a["Value"] for a in user.get("UserAttributes", [])}
        return Reviewer(username=user["Username"], name=attributes.get("name"))
