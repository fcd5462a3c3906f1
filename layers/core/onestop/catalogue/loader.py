"""Load the catalogue from its YAML data files and validate it, once per process.

`validate_catalogue` is the one validation of catalogue data: the shipped files at load, an admin's
edit and an imported YAML document (`parse_catalogue_yaml`, whose problems name their line) all go
through it, so a version that is stored would also have loaded.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from .models import Catalogue

ITEMS_FILE = "items.yaml"
# An imported catalogue: values once aliases are expanded (10 items and the material types: ~5,000), and
# the problems listed (the rest counted).
MAX_EXPANDED_NODES = 300_000
MAX_PROBLEMS = 50
MATERIAL_TYPES_FILE = "material_types.yaml"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with catalogue data: where (a readable path, the YAML line when known) and what."""

    where: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        at = f"line {self.line}: " if self.line is not None else ""
        return f"{at}{self.where}: {self.message}"


class CatalogueError(ValueError):
    """The catalogue data is broken; the message says where and what (`problems`: each one)."""

    def __init__(self, message: str, problems: list[Problem] | None = None) -> None:
        super().__init__(message)
        self.problems: list[Problem] = problems or [Problem("(top level)", message)]


def _read_yaml(source: Traversable, name: str) -> dict[str, Any]:
    try:
        text = source.joinpath(name).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CatalogueError(f"{name}: file missing") from None
    from . import yaml_text  # PyYAML only where YAML is read (the shipped files, an import)

    try:
        doc = yaml_text.load(text)
    except yaml_text.YAMLError as exc:
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


def validate_catalogue(
    data: Mapping[str, Any],
    *,
    source: str = f"{ITEMS_FILE}, {MATERIAL_TYPES_FILE}",
    line_of: Callable[[tuple[int | str, ...]], int | None] | None = None,
) -> Catalogue:
    """Build and validate a catalogue from its data (models and cross-checks); raises `CatalogueError`
    listing every problem. `line_of` maps a problem's location to its line in the source text."""
    try:
        return Catalogue.model_validate(dict(data))
    except ValidationError as exc:
        problems = []
        errors = exc.errors()
        for err in errors[:MAX_PROBLEMS]:
            loc = tuple(err["loc"])
            got = f" (got {err['input']!r})" if err["type"] in {"literal_error", "enum"} else ""
            message = err["msg"].removeprefix("Value error, ")
            problems.append(Problem(_describe(loc, data), message + got, line_of(loc) if line_of else None))
        if len(errors) > MAX_PROBLEMS:
            problems.append(Problem("(more)", f"{len(errors) - MAX_PROBLEMS} more problem(s) not listed"))
        raise CatalogueError(
            f"catalogue data ({source}) is invalid:\n  " + "\n  ".join(map(str, problems)), problems
        ) from None


def parse_catalogue(items_doc: Mapping[str, Any], types_doc: Mapping[str, Any]) -> Catalogue:
    """Build and validate a catalogue from the two parsed documents; raises `CatalogueError`."""
    return validate_catalogue({**types_doc, **items_doc})


def parse_catalogue_yaml(text: str) -> Catalogue:
    """A whole catalogue from one YAML document (an export, or an admin's import): the same checks as
    at load; each problem names its line."""
    from . import yaml_text

    try:
        root, doc = yaml_text.load_with_nodes(text)
    except yaml_text.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise CatalogueError(
            f"not valid YAML: {exc}", [Problem("(YAML)", str(getattr(exc, "problem", exc)), line)]
        ) from None
    if not isinstance(doc, dict):
        raise CatalogueError(
            "the top level must be a mapping", [Problem("(top level)", "must be a mapping", 1)]
        )
    if yaml_text.expands_past(root, MAX_EXPANDED_NODES):
        # Anchors and aliases repeated inside each other ("billion laughs") cost nothing to parse but
        # every copy is validated: refused before validation.
        problem = f"more than {MAX_EXPANDED_NODES} values once its aliases (*name) are expanded"
        raise CatalogueError(f"the YAML is too large: {problem}", [Problem("(YAML)", problem, None)])
    data = {k: v for k, v in doc.items() if not str(k).startswith("x-")}
    return validate_catalogue(data, source="YAML", line_of=lambda loc: yaml_text.line_of(root, loc))


def catalogue_data(catalogue: Catalogue) -> dict[str, Any]:
    """The catalogue as plain data (defaults left out, stable order): what a version stores and what
    `validate_catalogue` turns back into an equal catalogue."""
    data: dict[str, Any] = catalogue.model_dump(mode="json", exclude_defaults=True)
    data["blank_words"] = sorted(data["blank_words"])
    return data


def catalogue_yaml(catalogue: Catalogue) -> str:
    """One YAML document holding the whole catalogue (`parse_catalogue_yaml` reads it back equal)."""
    header = (
        "# onestop service catalogue: authority, material types, service items, blank words.\n"
        "# Import it back with POST /admin/catalogue/import (validated as at load).\n"
    )
    from . import yaml_text

    body = yaml_text.dump(catalogue_data(catalogue))
    return header + body


def load_catalogue_from(source: Path | Traversable) -> Catalogue:
    """Load from a directory holding ``items.yaml`` and ``material_types.yaml`` (not cached)."""
    return parse_catalogue(_read_yaml(source, ITEMS_FILE), _read_yaml(source, MATERIAL_TYPES_FILE))


@functools.cache
def load_catalogue() -> Catalogue:
    """The catalogue shipped with the package (read through importlib.resources, validated once)."""
    return load_catalogue_from(resources.files("onestop.catalogue"))
