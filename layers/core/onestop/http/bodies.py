"""Request bodies: every body of this API is one JSON object, bounded in size and nesting.

The bounds come before parsing: Python's json parser recurses once per level, so a body of 100,000
`[` would end in a RecursionError (a 500) instead of an answer, and API Gateway lets 10 MB through.
"""

from __future__ import annotations

import json
import re
from typing import Any

from onestop.errors import MalformedRequest, PayloadTooLarge, Reason

# The largest body a route takes is an application with its declared materials, or a decision with
# its reasons: a few KiB. 64 KiB leaves room for long texts and refuses what no form sends.
MAX_BODY_BYTES = 64 * 1024
# Routes whose body carries a whole document: a catalogue imported as YAML (the bureau's 116 items are
# several hundred KiB, twice that with JSON's \u escapes). Still under Lambda's 6 MB request.
LARGER_BODIES: dict[str, int] = {"/admin/catalogue/import": 5 * 1024 * 1024}
# The deepest schema nests four levels (an application's materials' declared fields); 32 is slack.
MAX_JSON_DEPTH = 32

# A JSON string (escapes included) or one bracket: strings are skipped whole, so a bracket inside a
# text does not count as nesting.
_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)
_OPEN, _CLOSE = frozenset("[{"), frozenset("]}")


def json_depth(text: str) -> int:
    """The deepest nesting of arrays and objects in `text` (0 for a scalar), without parsing it."""
    depth = deepest = 0
    for match in _TOKENS.finditer(text):
        piece = match.group()
        if piece in _OPEN:
            depth += 1
            deepest = max(deepest, depth)
        elif piece in _CLOSE:
            depth -= 1
    return deepest


def body_limit(path: str | None) -> int:
    """The largest body the route at `path` takes."""
    return LARGER_BODIES.get(path or "", MAX_BODY_BYTES)


def body_too_large(size: int, limit: int = MAX_BODY_BYTES) -> PayloadTooLarge:
    return PayloadTooLarge(
        "body_too_large",
        f"请求体为 {size} 字节，超过上限 {limit} 字节（{limit // 1024} KiB）。"
        "材料文件请通过上传凭证上传，不要放在请求体中。",
        f"The request body is {size} bytes, over the limit of {limit} bytes "
        f"({limit // 1024} KiB). Send material files through an upload ticket, not in the "
        "request body.",
        [Reason("body_too_large", "请求体过大。", "Request body too large.", "body")],
        extra={"max_bytes": limit},
    )


def body_too_deep(depth: int) -> MalformedRequest:
    # 400 malformed_json like any other body that is not JSON this API can read (issue 13): nothing in
    # it was looked at, so there is no field to correct. A body over the size limit stays a 413 (see
    # body_too_large): that status says "shorter", which is what the sender must change, and it is the
    # status API Gateway itself gives a body over its own 10 MB cap.
    return MalformedRequest(
        "malformed_json",
        f"请求体嵌套 {depth} 层，超过上限 {MAX_JSON_DEPTH} 层。请按接口文档提交。",
        f"The request body nests {depth} levels deep, over the limit of {MAX_JSON_DEPTH}. Send the "
        "body the API documentation describes.",
        [Reason("body_too_deep", "嵌套层数过多。", "Nested too deeply.", "body")],
        extra={"max_depth": MAX_JSON_DEPTH},
    )


def json_body(text: str, max_bytes: int = MAX_BODY_BYTES) -> Any:
    """The parsed body; a literal `null` is not an absent body. Over the bounds: 413 (size) or 400
    malformed_json (depth)."""
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        raise body_too_large(size, max_bytes)
    depth = json_depth(text)
    if depth > MAX_JSON_DEPTH:
        raise body_too_deep(depth)
    value = json.loads(text)
    if value is None:
        raise json.JSONDecodeError("null is not a request body", text, 0)
    return value
