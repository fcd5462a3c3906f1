"""Publish the signed status lists and the signed trust list to the licences bucket's public prefix.

Run by the issue function (the only function allowed to use the seal key): on every `LicenceIssued`
and `LicenceStatusChanged` (issue, suspend, reinstate, revoke, cancel, withdraw, and the superseding
of a renewed or changed version) for that licence's type, and on a schedule for every list and the
trust list, so that no published list is ever older than `REPUBLISH_EVERY`.

A list is rebuilt from the registry, not patched: each publication is complete and idempotent. Two
publications racing (two changes at once) could leave the older one's list in place, so each
publisher reads the registry again after writing and, if it changed meanwhile, publishes again: the
last write is always followed by a read that agrees with it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from onestop.observability import logger
from onestop.ports import BlobStore

from .jws import SealKey
from .registry import LicenceRegistry
from .status_list import (
    CONTENT_TYPE,
    REPUBLISH_EVERY,
    StatusList,
    build_status_list,
    status_list_key,
    status_value,
)
from .trust_list import TRUST_LIST_KEY, sign_trust_list

if TYPE_CHECKING:
    from onestop.verification.anchors import TrustAnchors

MAX_ROUNDS = 4


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class ListPublisher:
    """Builds, signs and stores the lists; `seal_key` and `anchors` are read when publishing."""

    registry: LicenceRegistry
    store: BlobStore
    seal_key: Callable[[], SealKey]
    anchors: Callable[[], TrustAnchors]
    now: Callable[[], datetime] = field(default=_now)
    verify_base_url: str | None = None  # named in the trust list (URL-only QR codes elsewhere: forgery)

    def _entries(self, name: str) -> dict[int, int]:
        values = {i: status_value(s) for i, s in self.registry.status_entries(name).items()}
        return {i: v for i, v in values.items() if v}  # 0 (valid) is the default bit value

    def status_list(self, name: str) -> StatusList:
        """Rebuild, sign and store the status list `name` (a licence type code)."""
        key = self.seal_key()
        entries = self._entries(name)
        for _ in range(MAX_ROUNDS):
            published = build_status_list(name, entries, key=key, at=self.now())
            body = json.dumps(published.document(), ensure_ascii=False).encode("utf-8")
            self.store.put(status_list_key(name), body, CONTENT_TYPE)
            again = self._entries(name)
            if again == entries:
                logger.info("status list published", extra={"list": name, "entries": len(entries)})
                return published
            entries = again  # a change landed while this one was being written: publish that too
        logger.warning("status list kept changing while publishing", extra={"list": name})
        return published

    def trust_list(self, *, if_stale: bool = False) -> dict[str, Any] | None:
        """Sign and store the trust list (with `if_stale`: only when the stored one is older than
        `REPUBLISH_EVERY` or does not name the current seal key)."""
        key = self.seal_key()
        if if_stale and not self._trust_list_stale(key.kid):
            return None
        document = sign_trust_list(
            self.anchors(),
            key=key,
            at=self.now(),
            status_lists=self.registry.status_list_names(),
            verify_base_url=self.verify_base_url,
        )
        body = json.dumps(document, ensure_ascii=False).encode("utf-8")
        self.store.put(TRUST_LIST_KEY, body, CONTENT_TYPE)
        logger.info("trust list published", extra={"signer": key.kid})
        return document

    def _trust_list_stale(self, kid: str) -> bool:
        head = self.store.head(TRUST_LIST_KEY)
        if head is None:
            return True
        try:
            stored = json.loads(self.store.get(TRUST_LIST_KEY).body)
            issued = datetime.fromisoformat(stored["issued_at"])
            kids = {s.get("kid") for s in stored.get("seals") or []}
        except (ValueError, KeyError, TypeError):
            return True
        return kid not in kids or self.now() - issued > REPUBLISH_EVERY

    def on_lifecycle(self, licence_id: str) -> dict[str, Any]:
        """After a licence's status changed (or it was issued): its type's list, and the trust list
        if it is due."""
        from onestop.identifiers.licence_id import parse_licence_id

        name = parse_licence_id(licence_id).type_code
        published = self.status_list(name)
        self.trust_list(if_stale=True)
        return {"status_list": name, "valid_until": published.valid_until.isoformat()}

    def publish_all(self) -> dict[str, Any]:
        """Every status list and the trust list (the schedule)."""
        names = self.registry.status_list_names()
        for name in names:
            self.status_list(name)
        self.trust_list()
        return {"status_lists": names, "trust_list": True}
