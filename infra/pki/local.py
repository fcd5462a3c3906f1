"""The local stack's one-time PKI set-up (called by infra.local.stack after start): the same bootstrap
ops run on AWS, over the stack's moto KMS seal key, into the stack's licences bucket."""

from __future__ import annotations

from typing import Any, Protocol

from onestop.aws.s3 import S3BlobStore
from onestop.catalogue import load_catalogue
from onestop.licences.pki import BureauIdentity

from .bootstrap import BootstrapResult, bootstrap


class StackLike(Protocol):
    """What this needs from `infra.local.stack.LocalStack`."""

    outputs: dict[str, Any]

    @property
    def state_dir(self) -> Any: ...

    def client(self, service: str) -> Any: ...

    def environment_for_clients(self) -> Any: ...


def bootstrap_local_stack(stack: StackLike) -> BootstrapResult:
    """Root CA kept in the stack's state directory; seal certificate over the stack's KMS key."""
    env = stack.environment_for_clients()
    bucket = stack.outputs.get("LicencesBucketName") or env.get("LICENCES_BUCKET")
    outputs = stack.outputs
    key_id = outputs.get("SealKeyAliasName") or outputs.get("SealKeyArn") or env.get("SEAL_KEY_ID")
    if not bucket or not key_id:
        raise RuntimeError("the local stack has no licences bucket or seal key to bootstrap the PKI for")
    authority = load_catalogue().authority
    bureau = BureauIdentity(name_zh=authority.name_zh, name_en=authority.name_en, uscc=authority.uscc)
    return bootstrap(
        kms=stack.client("kms"),
        store=S3BlobStore(str(bucket), s3=stack.client("s3")),
        key_id=str(key_id),
        prefix=str(env.get("PKI_PREFIX") or "pki/"),
        root_dir=stack.state_dir / "pki-root",
        bureau=bureau,
    )
