"""Runtime settings, validated once and built lazily (never at import time)."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field, HttpUrl, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Everything a function reads from its environment (names as in template.yaml)."""

    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="ignore", frozen=True)

    stage: str = Field(default="dev", description="deployment stage: dev, test, prod")
    aws_region: str = Field(default="cn-north-1", validation_alias="AWS_REGION")
    table_name: str = Field(default="onestop", description="the single DynamoDB table")
    idempotency_table_name: str = Field(default="onestop-idempotency")
    uploads_bucket: str = Field(default="onestop-uploads")
    materials_bucket: str = Field(default="onestop-materials")
    licences_bucket: str = Field(default="onestop-licences")
    event_bus_name: str = Field(default="onestop")
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
    # The bureau's own identity (names, USCC, division code) is data: the catalogue's `authority`.

    @field_validator("tsa_url", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        # CloudFormation cannot omit a variable conditionally with ease; an empty string means "none".
        return None if value == "" else value


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read from the environment on first use."""
    return Settings()


def reset_settings() -> None:
    """Forget the cached settings (tests and the local stack change the environment)."""
    get_settings.cache_clear()
