"""The service catalogue: service items, their material lists and the material types (data + loader)."""

from .loader import CatalogueError, load_catalogue, load_catalogue_from, parse_catalogue
from .models import (
    Authority,
    Catalogue,
    Category,
    FieldSpec,
    LicenceSpec,
    MaterialRequirement,
    MaterialType,
    ServiceItem,
)

__all__ = [
    "Authority",
    "Catalogue",
    "CatalogueError",
    "Category",
    "FieldSpec",
    "LicenceSpec",
    "MaterialRequirement",
    "MaterialType",
    "ServiceItem",
    "load_catalogue",
    "load_catalogue_from",
    "parse_catalogue",
]
