"""boto3 clients, one per service per process (reused across warm invocations).

The endpoint comes from boto3's own configuration (AWS_ENDPOINT_URL for the local stack), so nothing
here knows whether it talks to AWS or to the embedded moto server.
"""

from __future__ import annotations

from functools import cache
from typing import Any

# boto3 and botocore are imported with the first client, not with this module: the functions import it
# at start-up, and a request that needs no AWS (the catalogue, the API document, a refused request)
# should not wait for them in a new container (docs/decisions.md, "What a cold start imports").


@cache
def _config(s3: bool = False) -> Any:
    from botocore.config import Config

    # Standard retry mode backs off on throttling; Lambda retries the whole event on top of this.
    config = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=5, read_timeout=30)
    return config.merge(Config(signature_version="s3v4", s3={"addressing_style": "path"})) if s3 else config


@cache
def client(service: str) -> Any:
    """A shared low-level client for `service`."""
    import boto3

    session: Any = boto3.session.Session()  # service names are dynamic here; the stubs want literals
    return session.client(service, config=_config(s3=service == "s3"))


@cache
def dynamodb_table(name: str) -> Any:
    """A shared DynamoDB Table resource."""
    import boto3

    return boto3.session.Session().resource("dynamodb", config=_config()).Table(name)


def reset_clients() -> None:
    """Drop cached clients (tests switch endpoints and credentials)."""
    client.cache_clear()
    dynamodb_table.cache_clear()
