"""OpenAPI response declarations shared by the routes (every error has the ErrorResponse shape)."""

from __future__ import annotations

from typing import Any

from .schemas import ErrorResponse

_DESCRIPTIONS = {
    200: "OK",
    201: "Created",
    204: "No content",
    400: "Malformed request (e.g. the body is not JSON)",
    401: "Not signed in",
    403: "Signed in, but the role does not allow this",
    404: "No such thing, or not yours",
    409: "The current state does not allow this (body carries the current state)",
    413: "Declared size over the limit",
    415: "Unsupported content type",
    422: "Invalid input; `details` lists every field-level problem in zh and en",
    500: "Server error; quote `reference` to support",
    503: "A dependency is unavailable; retry later",
}


def responses(success: int, *errors: int, signed_in: bool = False) -> dict[int, Any]:
    """The `responses` of a route: its success (schema from the return type) and its errors."""
    codes = set(errors) | {400, 500}
    if signed_in:
        codes |= {401, 415}
    # Without "content" Powertools fills in the return type's schema; a 204 has no body at all.
    out: dict[int, Any] = {success: {"description": _DESCRIPTIONS[success]}}
    if success == 204:
        out[success]["content"] = {}
    for code in sorted(codes):
        out[code] = {
            "description": _DESCRIPTIONS[code],
            "content": {"application/json": {"model": ErrorResponse}},
        }
    return out
