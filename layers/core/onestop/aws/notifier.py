"""SMS through SNS (Publish to a phone number), e-mail through SES (SendEmail from the configured
sender identity), and the bureau's admins from the Cognito admin group.

A provider's refusal of the address itself (an invalid number or e-mail: `InvalidParameter` /
`InvalidParameterValue`) is permanent (`PermanentDeliveryError`); everything else — throttling, an
unverified sender, an outage — propagates so that the event is retried and, failing that,
dead-lettered for a redrive once the cause is fixed.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from onestop.notifications.models import Recipient
from onestop.notifications.ports import PermanentDeliveryError
from onestop.observability import traced

from .clients import _config, client


def regional(service: str, region: str | None) -> Any:
    """SES and SNS where the bureau sends from: `NOTIFY_REGION`, or the function's own region. (Neither
    sends e-mail or SMS from the China regions: a stack there names another region or plugs an
    in-country provider into the `SmsSender` / `EmailSender` ports.)"""
    if region is None:
        return client(service)
    import boto3

    session: Any = boto3.session.Session()
    return session.client(service, region_name=region, config=_config())


# Error codes that say the address or message is wrong, not that the service failed.
_PERMANENT = frozenset({"InvalidParameter", "InvalidParameterValue"})


def _permanent(exc: ClientError) -> PermanentDeliveryError | None:
    error = exc.response.get("Error", {})
    if error.get("Code") in _PERMANENT:
        return PermanentDeliveryError(f"{error.get('Code')}: {error.get('Message', '')}"[:300])
    return None


class SnsSmsSender:
    """`SmsSender` over SNS: transactional SMS straight to the number (no topic)."""

    def __init__(
        self, sns: Any | None = None, sender_id: str | None = None, region: str | None = None
    ) -> None:
        self._sns = sns
        self.sender_id = sender_id
        self.region = region

    @traced
    def send_sms(self, phone: str, text: str) -> str:
        if self._sns is None:  # built once per adapter (composition.reset() forgets the adapter)
            self._sns = regional("sns", self.region)
        sns = self._sns
        attributes = {"AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Transactional"}}
        if self.sender_id:
            attributes["AWS.SNS.SMS.SenderID"] = {"DataType": "String", "StringValue": self.sender_id}
        try:
            reply = sns.publish(PhoneNumber=phone, Message=text, MessageAttributes=attributes)
        except ClientError as exc:
            refused = _permanent(exc)
            if refused is not None:
                raise refused from exc
            raise
        return str(reply["MessageId"])


class SesEmailSender:
    """`EmailSender` over SES: plain-text UTF-8 mail from the sender identity of the template."""

    def __init__(self, sender: str, ses: Any | None = None, region: str | None = None) -> None:
        self.sender = sender
        self._ses = ses
        self.region = region

    @traced
    def send_email(self, to: str, subject: str, text: str) -> str:
        if self._ses is None:
            self._ses = regional("ses", self.region)
        ses = self._ses
        try:
            reply = ses.send_email(
                Source=self.sender,
                Destination={"ToAddresses": [to]},
                Message={
                    "Subject": {"Data": subject, "Charset": "UTF-8"},
                    "Body": {"Text": {"Data": text, "Charset": "UTF-8"}},
                },
            )
        except ClientError as exc:
            refused = _permanent(exc)
            if refused is not None:
                raise refused from exc
            raise
        return str(reply["MessageId"])


class CognitoAdminDirectory:
    """`AdminDirectory` over the user pool's admin group: who is an admin is decided there (the same
    group the API authorises by), so escalations follow staff changes without a redeploy."""

    def __init__(self, user_pool_id: str, group: str = "admin", cognito: Any | None = None) -> None:
        self.user_pool_id = user_pool_id
        self.group = group
        self._cognito = cognito

    @traced
    def admins(self) -> list[Recipient]:
        if self._cognito is None:  # the pool's own region: a pool id is `<region>_<id>`
            self._cognito = regional("cognito-idp", self.user_pool_id.split("_", 1)[0])
        cognito = self._cognito
        out: list[Recipient] = []
        kwargs: dict[str, Any] = {"UserPoolId": self.user_pool_id, "GroupName": self.group, "Limit": 60}
        while True:
            reply = cognito.list_users_in_group(**kwargs)
            for user in reply.get("Users", []):
                if not user.get("Enabled", True):
                    continue
                attributes = {a["Name"]: a["Value"] for a in user.get("Attributes", [])}
                # Never an address the user has not proven to be theirs.
                verified = attributes.get("email_verified", "false").lower() == "true"
                out.append(
                    Recipient(
                        # The token's `sub` (what /me/inbox reads by); the username where none is listed.
                        sub=attributes.get("sub") or user["Username"],
                        email=attributes.get("email") if verified else None,
                        phone=attributes.get("phone_number")
                        if attributes.get("phone_number_verified") == "true"
                        else None,
                    )
                )
            token = reply.get("NextToken")
            if not token:
                return out
            kwargs["NextToken"] = token
