"""How much of the bureau's published list of items (权责清单, `authority.service_items`) the catalogue
holds, per category and overall (e.g. 10 / 116): shown on the KPI page."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from .models import Catalogue, Category


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True, defer_build=True)


class CategoryCoverage(_Out):
    """One category: items catalogued (applicable through onestop) against the bureau's listed count."""

    category: str
    name_zh: str
    name_en: str
    catalogued: int
    listed: int | None = Field(description="the bureau's listed items of this category (None: not given)")
    rate: float | None = Field(description="catalogued / listed, 0..1 (None without a listed count)")


class CatalogueCoverage(_Out):
    """Every category and the total."""

    catalogue_version: int
    catalogued: int
    listed: int | None
    rate: float | None
    by_category: list[CategoryCoverage]


def _rate(part: int, whole: int | None) -> float | None:
    return round(part / whole, 4) if whole else None


def catalogue_coverage(catalogue: Catalogue, version: int) -> CatalogueCoverage:
    """The catalogue's coverage of the bureau's list (from the catalogue's own `authority`)."""
    listed = catalogue.authority.service_items
    rows = []
    for category in Category:
        count = sum(1 for i in catalogue.items if i.category == category)
        of = listed.get(category)
        rows.append(
            CategoryCoverage(
                category=category.value,
                name_zh=category.name_zh,
                name_en=category.name_en,
                catalogued=count,
                listed=of,
                rate=_rate(count, of),
            )
        )
    total = catalogue.authority.service_items_total
    total_listed = total if total is not None else (sum(listed.values()) if listed else None)
    return CatalogueCoverage(
        catalogue_version=version,
        catalogued=len(catalogue.items),
        listed=total_listed,
        rate=_rate(len(catalogue.items), total_listed),
        by_category=rows,
    )
