"""The one page-cursor codec: an opaque, URL-safe token for a JSON object (a DynamoDB key, a queue
position), and the one 422 a client gets for a cursor it did not receive from us."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Mapping
from typing import Any

from onestop.errors import InvalidInput, Reason


def bad_cursor() -> InvalidInput:
    return InvalidInput(
        "invalid_cursor",
        "分页游标无效，请从第一页重新查询。",
        "The page cursor is not valid; start again from the first page.",
        [Reason("invalid_cursor", "分页游标无效。", "Invalid page cursor.", "cursor")],
    )


def encode_cursor(state: Mapping[str, Any]) -> str:
    """URL-safe base64 of the compact JSON (keys sorted, unpadded)."""
    raw = json.dumps(dict(state), separators=(",", ":"), sort_keys=True, default=str)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, valid: Callable[[dict[str, Any]], bool] = lambda _: True) -> dict[str, Any]:
    """The object a cursor carries, or `bad_cursor()` when it is not one or `valid` refuses it."""
    try:
        state = json.loads(base64.urlsafe_b64decode((cursor + "=" * (-len(cursor) % 4)).encode()))
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise bad_cursor() from exc
    if not isinstance(state, dict) or not valid(state):
        raise bad_cursor()
    return state


def key_cursor_check(
    attrs: tuple[str, ...], index_pk: str, expected_pk: str
) -> Callable[[dict[str, Any]], bool]:
    """A DynamoDB key cursor is valid when it has exactly the index's key attributes, all strings, and
    names the partition the caller is paging (a cursor cannot jump into another partition)."""

    def valid(key: dict[str, Any]) -> bool:
        return (
            set(key) == set(attrs)
            and all(isinstance(v, str) for v in key.values())
            and key.get(index_pk) == expected_pk
        )

    return valid
