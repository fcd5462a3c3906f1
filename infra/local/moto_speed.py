"""Take moto's per-request overheads off the local stack's hot path, without changing one answer.

Measured under the API benchmark (GET /applications/{id}: one DynamoDB Query per request), moto's
server spent about 10 ms of CPU per request, most of it in three places that redo, on every request,
work whose result never changes:

- the response serializer walks each DynamoDB item attribute by attribute against the botocore
  model, looking up ten possible members of every AttributeValue by several aliases, to rebuild the
  very dict moto already holds in wire form ({"S": "..."}, {"M": {...}}): 40% of moto's time;
- the host dispatcher lists moto's package folder (150 `isdir` calls) to recognise a service name;
- every action lists its handler class's methods with `inspect.getmembers`.

`install()` answers the first with the value itself when it is plain DynamoDB JSON (strings,
numbers as strings, booleans, null, string and number sets, lists and maps of those; anything else,
binaries for instance, still goes through moto's serializer), and remembers the other two. The
answers are byte for byte those of moto's own path (tests/unit/test_local_concurrency_moto.py
compares them).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

_SCALARS = {"S": str, "N": str, "BOOL": bool, "NULL": bool}
_SETS = ("SS", "NS")


def is_plain_attribute_value(value: Any) -> bool:
    """Whether `value` is a DynamoDB AttributeValue that moto's serializer would copy unchanged."""
    if type(value) is not dict or len(value) != 1:
        return False
    ((kind, inner),) = value.items()
    scalar = _SCALARS.get(kind)
    if scalar is not None:
        return type(inner) is scalar and (kind != "NULL" or inner is True)
    if kind in _SETS:
        return type(inner) is list and all(type(v) is str for v in inner)
    if kind == "L":
        return type(inner) is list and all(is_plain_attribute_value(v) for v in inner)
    if kind == "M":
        return type(inner) is dict and all(
            type(k) is str and is_plain_attribute_value(v) for k, v in inner.items()
        )
    return False


def fast_structure_serializer(slow: Callable[..., None]) -> Callable[..., None]:
    """moto's JSON structure serializer `slow`, short-cut for plain DynamoDB attribute values."""

    def serialize_structure(self: Any, serialized: Any, value: Any, shape: Any, key: str) -> None:
        if key and shape.name == "AttributeValue" and is_plain_attribute_value(value):
            self._default_serialize(serialized, value, shape, key)  # what `slow` would build
            return
        slow(self, serialized, value, shape, key)

    return serialize_structure


def install() -> None:
    """Patch the moto server process (idempotent)."""
    import moto.backends as backends
    import moto.core.responses as responses
    from moto.core.serialize import BaseJSONSerializer

    if getattr(BaseJSONSerializer, "_onestop_fast", False):
        return
    BaseJSONSerializer._serialize_type_structure = fast_structure_serializer(  # type: ignore[method-assign]
        BaseJSONSerializer._serialize_type_structure
    )
    BaseJSONSerializer._onestop_fast = True  # type: ignore[attr-defined]

    modules = tuple(backends.list_of_moto_modules())  # moto's own folders: fixed for the process
    backends.list_of_moto_modules = lambda: modules
    responses.method_names_from_class = functools.cache(responses.method_names_from_class)
