"""boto3 clients, one per service per process (reused across warm invocations).

The endpoint comes from boto3's own configuration (AWS_ENDPOINT_URL for the local stack), so nothing
here knows whether it talks to AWS or to the embedded moto server.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3
from botocore.config import Config

# Standard retry mode backs off on throttling; Lambda retries the whole event on top of this.
_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=5, read_timeout=30)
_S3_CONFIG = _CONFIG.merge(Config(signature_version="s3v4", s3={"addressing_style": "path"}))


@cache
def client(service: str) -> Any:
    """A shared low-level client for `service`."""
    session: Any = boto3.session.Session()  # service names are dynamic here; the stubs want literals
    return session.client(service, config=_S3_CONFIG if service == "s3" else _CONFIG)


@cache
def dynamodb_table(name: str) -> Any:
    """A shared DynamoDB Table resource."""
    return boto3.session.Session().resource("dynamodb", config=_CONFIG).Table(name)


def reset_clients() -> None:
    """Drop cached clients (tests switch endpoints and credentials)."""
    client.cache_clear()
    dynamodb_table.cache_clear()
