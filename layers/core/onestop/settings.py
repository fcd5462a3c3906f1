"""Runtime settings, validated once and built lazily (never at import time).

The names of the resources a function works on (table, buckets, bus) have no default: template.yaml's
Globals give every function all of them, and a function without one fails at its first use with a
`SettingsError` naming the variable, instead of quietly talking to a table called "onestop". Tests
and the local stack pass them explicitly. Tunables (limits, time-to-lives) keep their defaults.
"""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field, HttpUrl, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class SettingsError(RuntimeError):
    """A required environment variable is missing or a value is invalid (a deployment error)."""


class Settings(BaseSettings):
    """Everything a function reads from its environment (names as in template.yaml)."""

    model_config = SettingsConfigDict(
        env_prefix="", case_sensitive=False, extra="ignore", frozen=True, defer_build=True
    )

    stage: str = Field(default="dev", description="deployment stage: dev, test, prod")
    aws_region: str = Field(default="cn-north-1", validation_alias="AWS_REGION")
    # Required: the resources, named by template.yaml (Globals → Environment).
    table_name: str = Field(min_length=1, description="the single DynamoDB table")
    idempotency_table_name: str = Field(min_length=1, description="Powertools idempotency records")
    uploads_bucket: str = Field(min_length=1)
    materials_bucket: str = Field(min_length=1)
    licences_bucket: str = Field(min_length=1)
    event_bus_name: str = Field(min_length=1)
    event_source: str = Field(default="onestop")
    seal_key_id: str = Field(default="alias/onestop-seal", description="KMS key id, ARN or alias of the seal")
    pki_prefix: str = Field(default="pki/", description="PKI objects prefix in the licences bucket")
    public_base_url: HttpUrl = Field(
        default=HttpUrl("https://onestop.example.gov.cn"),
        description="where third parties verify licences; printed in the licence QR code",
    )
    upload_max_bytes: int = Field(default=20 * 1024 * 1024, gt=0)
    upload_url_ttl_seconds: int = Field(default=600, gt=0, le=3600)
    download_url_ttl_seconds: int = Field(default=300, gt=0, le=3600)
    tsa_url: HttpUrl | None = Field(default=None, description="RFC 3161 timestamp authority for PAdES B-T")
    # The api function: the Cognito user pool whose `custom:uscc` attribute an approved binding sets.
    user_pool_id: str | None = Field(default=None, description="Cognito user pool id (<region>_<id>)")
    # The api function: each channel's app client (template.yaml builds it from the clients' ids):
    # "<client id>=<channel>,…". A token from a client not listed here is refused (403 unknown_client).
    channel_clients: str = Field(default="", description="app client id → channel (web_portal, city_app, …)")
    # Per-account quotas (docs/operations.md): open drafts at once; upload tickets per Beijing day, in
    # total and per material slot (on top of MAX_UPLOAD_ATTEMPTS_PER_SLOT files listed in a slot).
    quota_open_drafts: int = Field(default=10, ge=1)
    quota_upload_tickets_per_day: int = Field(default=100, ge=1)
    quota_upload_tickets_per_slot_per_day: int = Field(default=20, ge=1)
    # Work assignment: a reviewer's claim lapses after this long without them acting on the application.
    assignment_lease_seconds: int = Field(default=4 * 3600, ge=60, le=7 * 24 * 3600)
    # The ingest function: the uploads queue's maxReceiveCount (on the last receive a failing material
    # is marked failed before SQS moves the message to the dead-letter queue), and how long a processed
    # object version is remembered by the idempotency layer.
    ingest_max_receive: int = Field(default=3, ge=1)
    ingest_idempotency_ttl_seconds: int = Field(default=7 * 24 * 3600, gt=0)
    # The notify function: the SES sender (an address of the verified identity, NotificationSender),
    # the pages' origin (PortalOrigin: links in messages) and the group whose members hear escalations.
    notify_sender: str | None = Field(default=None, description="SES sender address (From)")
    portal_origin: str = Field(default="http://localhost:3000", description="origin of the portal and desk")
    notify_admin_group: str = Field(default="admin", description="Cognito group told of escalations")
    notify_region: str | None = Field(default=None, description="SES / SNS region; default the function's")
    # The function's service name (template.yaml sets it per function); metrics are selected by it.
    service_name: str = Field(default="", validation_alias="POWERTOOLS_SERVICE_NAME")
    # The bureau's own identity (names, USCC, division code) is data: the catalogue's `authority`.

    @field_validator("tsa_url", "user_pool_id", "notify_sender", "notify_region", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        # CloudFormation cannot omit a variable conditionally with ease; an empty string means "none".
        return None if value == "" else value

    @field_validator("channel_clients")
    @classmethod
    def _channel_clients_parse(cls, value: str) -> str:
        from onestop.applications.channels import parse_clients  # light; only when the api reads it

        parse_clients(value)  # a malformed mapping is a deployment error, named at the first use
        return value


def _explain(exc: ValidationError) -> str:
    problems = []
    for error in exc.errors():
        name = str(error["loc"][0]).upper() if error["loc"] else "?"
        problems.append(f"{name}: {'not set' if error['type'] == 'missing' else error['msg']}")
    return "the function's environment is incomplete or invalid — " + "; ".join(problems)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read from the environment on first use."""
    try:
        return Settings()  # type: ignore[call-arg]  # the required names come from the environment
    except ValidationError as exc:
        raise SettingsError(_explain(exc)) from exc


def reset_settings() -> None:
    """Forget the cached settings (tests and the local stack change the environment)."""
    get_settings.cache_clear()
