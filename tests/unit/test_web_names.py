"""The pages name every material type and field the catalogue can produce, in Chinese and English.

web/shared/i18n.js carries the names the desk, portal and KPI page show; without an entry a page falls
back to the raw code (e.g. `technology_contract`), which a reviewer should never have to read.
"""

from __future__ import annotations

import re
from pathlib import Path

from onestop.catalogue.loader import load_catalogue

I18N = Path(__file__).resolve().parents[2] / "web" / "shared" / "i18n.js"


def _entries() -> dict[str, tuple[str, str]]:
    text = I18N.read_text(encoding="utf-8")
    pairs = re.findall(r'"((?:type|field)\.[a-z_]+)":\s*\["([^"]+)",\s*"([^"]+)"\]', text)
    return {key: (zh, en) for key, zh, en in pairs}


def test_every_catalogue_material_type_and_field_has_a_zh_and_en_name_on_the_pages() -> None:
    entries = _entries()
    catalogue = load_catalogue()
    wanted: set[str] = set()
    for material_type in catalogue.material_types:
        wanted.add(f"type.{material_type.code}")
        for spec in material_type.fields:
            wanted.add(f"field.{spec.name}")
            wanted.update(f"field.{part}" for part in spec.parts or ())
    missing = sorted(wanted - entries.keys())
    assert not missing, f"web/shared/i18n.js lacks names for {missing}"
    assert all(zh.strip() and en.strip() for zh, en in entries.values())
