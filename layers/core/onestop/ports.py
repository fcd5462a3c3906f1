"""Interfaces the domain needs from the outside world; `onestop.aws` implements them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class StoredObject:
    """An object read from a blob store, with the metadata the domain cares about."""

    key: str
    body: bytes
    content_type: str | None
    version_id: str | None
    etag: str | None
    metadata: Mapping[str, str]


@dataclass(frozen=True)
class ObjectHead:
    """Size and identity of an object without its body."""

    key: str
    size: int
    content_type: str | None
    version_id: str | None
    etag: str | None
    metadata: Mapping[str, str]


@dataclass(frozen=True)
class PresignedPost:
    """Everything a portal needs to upload one file straight to storage."""

    url: str
    fields: Mapping[str, str]
    expires_in: int


class BlobStore(Protocol):
    """One bucket."""

    name: str

    def put(
        self,
        key: str,
        body: bytes,
        content_type: str,
        metadata: Mapping[str, str] | None = None,
        if_absent: bool = False,
    ) -> str | None:
        """Store bytes; return the version id when the bucket is versioned. `if_absent`: only when no
        object exists at `key` (else `onestop.errors.ObjectExists`)."""
        ...

    def get(self, key: str, version_id: str | None = None, max_bytes: int | None = None) -> StoredObject: ...

    def head(self, key: str, version_id: str | None = None) -> ObjectHead | None: ...

    def presign_post(
        self,
        key: str,
        content_type: str,
        max_bytes: int,
        expires_in: int,
        metadata: Mapping[str, str] | None = None,
    ) -> PresignedPost: ...

    def presign_get(
        self, key: str, expires_in: int, version_id: str | None = None, download_as: str | None = None
    ) -> str: ...


class EventPublisher(Protocol):
    """Domain events onto the bus."""

    def publish(self, detail_type: str, detail: Mapping[str, Any]) -> None: ...
