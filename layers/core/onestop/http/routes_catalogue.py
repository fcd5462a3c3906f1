"""Catalogue routes: the public service catalogue (its current version), and the admins' versions,
item edits, YAML import and export (`onestop.catalogue.editing`)."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.depends import Depends
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from pydantic import BaseModel, ConfigDict, Field

from onestop.applications.identity import Principal
from onestop.applications.models import utcnow
from onestop.aws.composition import catalogue_book
from onestop.catalogue import Category, editing
from onestop.catalogue.editing import Editor
from onestop.catalogue.loader import catalogue_data
from onestop.catalogue.versions import VersionRecord

from .context import BEARER, catalogue, current_principal
from .inputs import Paragraph, WholeNumber
from .responses import responses
from .schemas import ITEM_CODE, ItemDetail, ItemList, ItemSummary, Lang

router = Router()


@router.get(
    "/items",
    summary="List or search service items",
    description="Public. `q` matches every word against code, names, department and licence name.",
    tags=["catalogue"],
    responses=responses(200, 422),
)
def list_items(
    q: Annotated[str | None, Query(max_length=200, description="words to search for")] = None,
    category: Annotated[Category | None, Query(description="one of the five kinds of power")] = None,
    lang: Annotated[Lang, Query(description="language of the `name` fields")] = "zh",
) -> ItemList:
    items = catalogue().search(text=q, category=category)
    return ItemList(items=[ItemSummary.of(i, lang) for i in items], count=len(items))


@router.get(
    "/items/<code>",
    summary="One service item with its material list",
    tags=["catalogue"],
    responses=responses(200, 404, 422),
)
def get_item(
    code: Annotated[str, Path(max_length=100, pattern=ITEM_CODE)],
    lang: Annotated[Lang, Query(description="language of the `name` fields")] = "zh",
    version: Annotated[
        int | None,
        Query(ge=1, le=1_000_000, description="a catalogue version (an application's `catalogue_version`)"),
    ] = None,
) -> ItemDetail:
    # An application's pages ask for the version it pinned: its own material list, not today's.
    source = catalogue() if version is None else catalogue_book().at(version)
    return ItemDetail.of_item(source.item(code), lang)


# ----------------------------------------------------------------------------- admin: versions


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, defer_build=True)  # as schemas._In


class _Out(BaseModel):
    model_config = ConfigDict(defer_build=True)  # built on first use, as schemas._Out


Caller = Annotated[Principal, Depends(current_principal)]
VersionNumber = Annotated[int, Path(ge=1, le=1_000_000, description="catalogue version")]
ItemCode = Annotated[str, Path(max_length=100, pattern=ITEM_CODE)]
Comment = Annotated[Paragraph | None, Field(default=None, max_length=1000, description="why (audit)")]
BaseVersion = Annotated[
    WholeNumber, Field(ge=1, description="the version the change was made from (409 if no longer current)")
]


class ItemChangeIn(_In):
    """An item as the catalogue holds it (the fields of items.yaml), made from `base_version`."""

    base_version: BaseVersion
    item: dict[str, Any] = Field(description="the whole item: code, names, category, limits, materials …")
    comment: Comment = None


class RetireIn(_In):
    """Retire an item from the next version (applications already made keep their version)."""

    base_version: BaseVersion
    comment: Comment = None


class ImportIn(_In):
    """A whole catalogue as one YAML document (as exported), made from `base_version`."""

    base_version: BaseVersion
    yaml: str = Field(min_length=1, max_length=editing.MAX_YAML_CHARS)
    comment: Comment = None


class Bilingual(_Out):
    zh: str
    en: str


class ItemFieldsChanged(_Out):
    code: str
    fields: list[str]


class ChangesOut(_Out):
    """What a version changed against its base."""

    added: list[str]
    changed: list[ItemFieldsChanged]
    removed: list[str]
    sections: list[str]


class VersionOut(_Out):
    """One catalogue version's audit: who made it from which version, when, in which role, what changed."""

    version: int
    base_version: int | None
    created_at: str | None = Field(description="None for version 1, the shipped catalogue")
    actor: str
    actor_role: str
    comment: str | None = None
    summary: Bilingual
    changes: ChangesOut
    current: bool = False

    @classmethod
    def of(cls, record: VersionRecord, current: int) -> VersionOut:
        zh, en = record.summary
        return cls(
            version=record.version,
            base_version=record.base,
            created_at=record.created_at.isoformat() if record.created_at else None,
            actor=record.actor,
            actor_role=record.actor_role,
            comment=record.comment,
            summary=Bilingual(zh=zh, en=en),
            changes=ChangesOut.model_validate(record.changes.as_dict()),
            current=record.version == current,
        )


class VersionList(_Out):
    """Every version, newest first."""

    current_version: int
    versions: list[VersionOut]


class VersionDetail(_Out):
    """A version's audit and its whole catalogue (the data items.yaml and material_types.yaml hold)."""

    version: VersionOut
    catalogue: dict[str, Any]


class VersionExport(_Out):
    """A version as one YAML document; import it back with POST /admin/catalogue/import."""

    version: int
    yaml: str


def _editor(caller: Principal) -> Editor:
    caller.require_authenticated()
    return Editor(label=caller.label, role=caller.primary_role, is_admin=caller.is_admin)


def _changed(record: VersionRecord, catalogue_now: int) -> VersionOut:
    return VersionOut.of(record, catalogue_now)


ADMIN_ERRORS = (403, 404, 409, 422)


@router.get(
    "/admin/catalogue/versions",
    summary="Catalogue versions with their audit, newest first",
    tags=["catalogue-admin"],
    security=BEARER,
    responses=responses(200, 403, signed_in=True),
)
def list_versions(caller: Caller) -> VersionList:
    editing.require_admin(_editor(caller))
    book = catalogue_book()
    current = book.current_version_fresh()
    return VersionList(current_version=current, versions=[VersionOut.of(r, current) for r in book.records()])


@router.get(
    "/admin/catalogue/versions/<version>",
    summary="One catalogue version: its audit and its whole catalogue",
    tags=["catalogue-admin"],
    security=BEARER,
    responses=responses(200, 403, 404, 422, signed_in=True),
)
def get_version(version: VersionNumber, caller: Caller) -> VersionDetail:
    editing.require_admin(_editor(caller))
    book = catalogue_book()
    record = book.record(version)
    data = catalogue_data(book.at(version))
    return VersionDetail(version=VersionOut.of(record, book.current_version()), catalogue=data)


@router.get(
    "/admin/catalogue/versions/<version>/export",
    summary="Export a catalogue version as YAML",
    description="Admins. Imported back (POST /admin/catalogue/import) it makes an identical catalogue.",
    tags=["catalogue-admin"],
    security=BEARER,
    responses=responses(200, 403, 404, 422, signed_in=True),
)
def export_version(version: VersionNumber, caller: Caller) -> VersionExport:
    return VersionExport(
        version=version, yaml=editing.export_yaml(catalogue_book(), _editor(caller), version)
    )


@router.post(
    "/admin/catalogue/items",
    summary="Add a service item (a new catalogue version)",
    description="Admins. Validated as at load; 409 with `current_version` when `base_version` is old.",
    tags=["catalogue-admin"],
    security=BEARER,
    status_code=201,
    responses=responses(201, *ADMIN_ERRORS, signed_in=True),
)
def add_item(body: ItemChangeIn, caller: Caller) -> VersionOut:
    record, _ = editing.add_item(
        catalogue_book(), _editor(caller), body.base_version, body.item, utcnow(), body.comment
    )
    return _changed(record, record.version)


@router.put(
    "/admin/catalogue/items/<code>",
    summary="Edit a service item: names, limits, material list … (a new catalogue version)",
    description="Admins. The code cannot change. Applications already made keep the version they pinned.",
    tags=["catalogue-admin"],
    security=BEARER,
    responses=responses(200, *ADMIN_ERRORS, signed_in=True),
)
def edit_item(code: ItemCode, body: ItemChangeIn, caller: Caller) -> VersionOut:
    record, _ = editing.edit_item(
        catalogue_book(), _editor(caller), body.base_version, code, body.item, utcnow(), body.comment
    )
    return _changed(record, record.version)


@router.post(
    "/admin/catalogue/items/<code>/retire",
    summary="Retire a service item (a new catalogue version without it)",
    description="Admins. No new applications for it; applications already made keep their version.",
    tags=["catalogue-admin"],
    security=BEARER,
    responses=responses(200, *ADMIN_ERRORS, signed_in=True),
)
def retire_item(code: ItemCode, body: RetireIn, caller: Caller) -> VersionOut:
    record, _ = editing.retire_item(
        catalogue_book(), _editor(caller), body.base_version, code, utcnow(), body.comment
    )
    return _changed(record, record.version)


@router.post(
    "/admin/catalogue/import",
    summary="Import a whole catalogue as YAML (a new catalogue version)",
    description="Admins. Validated as at load; each problem names its line and field, in zh and en.",
    tags=["catalogue-admin"],
    security=BEARER,
    status_code=201,
    responses=responses(201, *ADMIN_ERRORS, signed_in=True),
)
def import_catalogue(body: ImportIn, caller: Caller) -> VersionOut:
    record, _ = editing.import_yaml(
        catalogue_book(), _editor(caller), body.base_version, body.yaml, utcnow(), body.comment
    )
    return _changed(record, record.version)
