"""The "zero error" figure: how often a reviewer had to correct what the pipeline read, per material type.

Definitions (a period is whole days in Asia/Shanghai, as for the KPIs):
- catalogued: materials ingest catalogued (or flagged for review) in the period, by the type the
  pipeline read them as (a type a reviewer later corrected counts under the type as read);
- corrected: those of them on which a reviewer changed at least one value or the type;
  correction rate = corrected / catalogued; zero-error rate = 1 − correction rate;
- field corrections: changed values per field name; type corrections: changed types;
- confirmations: values a reviewer confirmed as read (settling a low-confidence reading): not errors.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict

from onestop.catalogue import Catalogue

MATERIAL_TYPE = "material_type"
UNKNOWN_TYPE = "unknown"


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True, defer_build=True)


class CorrectionFigures(_Out):
    """Corrections of one material type (or of all)."""

    material_type: str
    name_zh: str
    name_en: str
    catalogued: int = 0
    corrected: int = 0
    correction_rate: float | None = None
    zero_error_rate: float | None = None
    field_corrections: dict[str, int]
    type_corrections: int = 0
    confirmations: int = 0


class MaterialCorrections(_Out):
    """The correction rate per material type and in total."""

    totals: CorrectionFigures
    by_type: list[CorrectionFigures]


@dataclass
class _Tally:
    catalogued: int = 0
    corrected: int = 0
    type_corrections: int = 0
    confirmations: int = 0
    fields: Counter[str] = field(default_factory=Counter)

    def add(self, other: _Tally) -> None:
        self.catalogued += other.catalogued
        self.corrected += other.corrected
        self.type_corrections += other.type_corrections
        self.confirmations += other.confirmations
        self.fields.update(other.fields)

    def figures(self, code: str, zh: str, en: str) -> CorrectionFigures:
        rate = round(self.corrected / self.catalogued, 4) if self.catalogued else None
        return CorrectionFigures(
            material_type=code,
            name_zh=zh,
            name_en=en,
            catalogued=self.catalogued,
            corrected=self.corrected,
            correction_rate=rate,
            zero_error_rate=round(1 - rate, 4) if rate is not None else None,
            field_corrections=dict(sorted(self.fields.items())),
            type_corrections=self.type_corrections,
            confirmations=self.confirmations,
        )


def type_as_read(material: Mapping[str, Any]) -> str:
    """The type the pipeline read: before the first type correction, else the classification's."""
    for c in material.get("corrections") or []:
        if c.get("field") == MATERIAL_TYPE:
            return str(c.get("old") or UNKNOWN_TYPE)
    classification = material.get("classification") or {}
    return str(classification.get("material_type") or UNKNOWN_TYPE)


def material_corrections(materials: Iterable[Mapping[str, Any]], catalogue: Catalogue) -> MaterialCorrections:
    """The figures of the materials catalogued in a period (each a stored material record)."""
    tallies: dict[str, _Tally] = {}
    for material in materials:
        t = tallies.setdefault(type_as_read(material), _Tally())
        t.catalogued += 1
        changed = False
        for c in material.get("corrections") or []:
            if c.get("old") == c.get("new"):
                t.confirmations += 1
                continue
            changed = True
            if c.get("field") == MATERIAL_TYPE:
                t.type_corrections += 1
            else:
                t.fields[str(c.get("field"))] += 1
        t.corrected += changed
    names: dict[str, tuple[str, str]] = {m.code: (m.name_zh, m.name_en) for m in catalogue.material_types}
    order: dict[str, int] = {m.code: i for i, m in enumerate(catalogue.material_types)}
    total = _Tally()
    by_type = []
    for code in sorted(tallies, key=lambda c: (order.get(c, len(order)), c)):
        total.add(tallies[code])
        zh, en = names.get(code, (code, code))
        by_type.append(tallies[code].figures(code, zh, en))
    return MaterialCorrections(totals=total.figures("all", "全部材料", "All materials"), by_type=by_type)
