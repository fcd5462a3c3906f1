"""PyYAML for the catalogue: strict loading (duplicate keys refused), the node tree for line numbers,
and dumping. Its own module so that importing the catalogue does not import PyYAML (about 10 ms of
the api function's cold start): only reading or writing YAML does."""

from __future__ import annotations

from typing import Any

import yaml

YAMLError = yaml.YAMLError


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys (plain YAML would silently keep the last one)."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue  # "<<" merges are allowed to be overridden by explicit keys
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping", node.start_mark, f"duplicate key {key!r}", key_node.start_mark
            )
        seen.add(key)
    loader.flatten_mapping(node)
    return dict(loader.construct_pairs(node, deep=deep))


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


# Parsed by libyaml when PyYAML has it, with the same refusal of duplicate keys: the shipped files in
# 72 ms instead of 442 ms on the first catalogue read of a container, an import of a whole catalogue
# in 0.1 s instead of 1 s.
_FastBase: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _FastStrictLoader(_FastBase):
    """`_StrictLoader`'s rules on libyaml's parser."""


_FastStrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def load(text: str) -> Any:
    """The document in `text` (libyaml when available), duplicate keys refused."""
    return yaml.load(text, Loader=_FastStrictLoader)  # noqa: S506 - a SafeLoader subclass


def load_with_nodes(text: str) -> tuple[Any, Any]:
    """(root node, document) from one parse: the node tree (for the lines) is also what the document is
    built from."""
    loader = _FastStrictLoader(text)
    try:
        root = loader.get_single_node()
        doc = loader.construct_document(root) if root is not None else None
    finally:
        loader.dispose()
    return root, doc


def dump(data: Any) -> str:
    """`data` as block YAML, in its own order, Chinese left readable."""
    return str(yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=110))


def expands_past(root: Any, limit: int) -> bool:
    """Whether the node tree, aliases expanded, holds more than `limit` nodes (stops at the limit)."""
    stack, seen = [root], 0
    while stack:
        node = stack.pop()
        seen += 1
        if seen > limit:
            return True
        if isinstance(node, yaml.MappingNode):
            stack.extend(v for pair in node.value for v in pair)
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
    return False


def line_of(node: Any, loc: tuple[int | str, ...]) -> int | None:
    """The 1-based line of the deepest node of the YAML tree that `loc` reaches."""
    line = node.start_mark.line + 1 if node is not None else None
    for step in loc:
        child = None
        if isinstance(node, yaml.MappingNode):
            child = next((v for k, v in node.value if k.value == step), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(step, int) and 0 <= step < len(node.value):
            child = node.value[step]
        if child is None:
            break
        node, line = child, child.start_mark.line + 1
    return line
