"""Load the catalogue from its YAML data files and validate it, once per process."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from .models import Catalogue

ITEMS_FILE = "items.yaml"
MATERIAL_TYPES_FILE = "material_types.yaml"


class CatalogueError(ValueError):
    """The catalogue data is broken; the message says where and what."""


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


def _read_yaml(source: Traversable, name: str) -> dict[str, Any]:
    try:
        text = source.joinpath(name).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CatalogueError(f"{name}: file missing") from None
    try:
        doc = yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise CatalogueError(f"{name}: not valid YAML: {exc}") from None
    if not isinstance(doc, dict):
        raise CatalogueError(f"{name}: the top level must be a mapping")
    # "x-…" keys only hold YAML anchors for shared fragments.
    return {k: v for k, v in doc.items() if not str(k).startswith("x-")}


def _describe(loc: tuple[int | str, ...], data: Mapping[str, Any]) -> str:
    """A location such as ``items[3] (end-of-life-…) > materials[2] (slot site_plan) > formats``."""
    parts: list[str] = []
    node: Any = data
    for step in loc:
        if isinstance(step, int) and isinstance(node, list) and 0 <= step < len(node):
            node = node[step]
            label = ""
            if isinstance(node, dict):
                label = node.get("code") or (f"slot {node['slot']}" if "slot" in node else "")
            parts[-1] = f"{parts[-1]}[{step}]" + (f" ({label})" if label else "")
        else:
            node = node.get(step) if isinstance(node, dict) else None
            parts.append(str(step))
    return " > ".join(parts) or "(top level)"


def parse_catalogue(items_doc: Mapping[str, Any], types_doc: Mapping[str, Any]) -> Catalogue:
    """Build and validate a catalogue from the two parsed documents; raises `CatalogueError`."""
    data: dict[str, Any] = {**types_doc, **items_doc}
    try:
        return Catalogue.model_validate(data)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            where = _describe(tuple(err["loc"]), data)
            got = f" (got {err['input']!r})" if err["type"] in {"literal_error", "enum"} else ""
            lines.append(f"{where}: {err['msg']}{got}")
        raise CatalogueError(
            f"catalogue data ({ITEMS_FILE}, {MATERIAL_TYPES_FILE}) is invalid:\n  " + "\n  ".join(lines)
        ) from None


def load_catalogue_from(source: Path | Traversable) -> Catalogue:
    """Load from a directory holding ``items.yaml`` and ``material_types.yaml`` (not cached)."""
    return parse_catalogue(_read_yaml(source, ITEMS_FILE), _read_yaml(source, MATERIAL_TYPES_FILE))


@functools.cache
def load_catalogue() -> Catalogue:
    """The catalogue shipped with the package (read through importlib.resources, validated once)."""
    return load_catalogue_from(resources.files("onestop.catalogue"))
