"""An admin's changes to the catalogue: add, edit, retire an item, import a whole YAML document.

Each use case makes the next version's data from the version it was made from (`base_version`) and
hands it to `CatalogueBook.change`, which validates it as at load, stores it only if `base_version`
is still current (409 otherwise) and audits it. Problems are `InvalidInput` with one reason per
problem, in Chinese and English, naming the field (and, for YAML, the line).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from onestop.errors import Conflict, Forbidden, InvalidInput, NotFound, Reason

from .loader import CatalogueError, catalogue_data, catalogue_yaml, parse_catalogue_yaml
from .models import Catalogue
from .versions import CatalogueBook, VersionRecord

# An imported YAML document larger than this is refused before parsing (the table item limit is
# 400 KB compressed; the bureau's 116 items are far below).
MAX_YAML_CHARS = 2_000_000


@dataclass(frozen=True)
class Editor:
    """Who makes the change, as the audit records them."""

    label: str
    role: str
    is_admin: bool


def require_admin(editor: Editor) -> None:
    """Only the bureau's administrators edit or read the catalogue's versions (403 otherwise)."""
    if not editor.is_admin:
        raise Forbidden(
            "admin_role_required",
            "事项目录仅限本局管理员（admin 组）维护，审批人员和申请人无此权限。",
            "Only the bureau's administrators (the admin group) maintain the service catalogue; "
            "reviewers and applicants may not.",
        )


def invalid(exc: CatalogueError, prefix: str = "") -> InvalidInput:
    """A catalogue that would not load, as a 422: each problem a reason naming where it is."""
    reasons = []
    for p in exc.problems:
        where = f"{prefix}{p.where}" if prefix and p.where != "(top level)" else p.where
        line_zh = f"第 {p.line} 行，" if p.line is not None else ""
        line_en = f"line {p.line}, " if p.line is not None else ""
        reasons.append(
            Reason(
                "catalogue_invalid",
                f"{line_zh}{where}：{p.message}",
                f"{line_en}{where}: {p.message}",
                where if p.line is None else f"line {p.line}: {where}",
            )
        )
    return InvalidInput(
        "catalogue_invalid",
        f"事项目录校验未通过，共 {len(reasons)} 处问题，未保存任何修改。",
        f"The catalogue does not validate ({len(reasons)} problem(s)); nothing was saved.",
        reasons,
    )


def _commit(
    book: CatalogueBook,
    editor: Editor,
    base: int,
    data: Mapping[str, Any],
    now: datetime,
    comment: str | None,
    prefix: str = "",
) -> tuple[VersionRecord, Catalogue]:
    try:
        return book.change(base, data, actor=editor.label, actor_role=editor.role, now=now, comment=comment)
    except CatalogueError as exc:
        raise invalid(exc, prefix) from None


def _base(book: CatalogueBook, base: int) -> tuple[Catalogue, dict[str, Any]]:
    catalogue = book.at(base)
    return catalogue, catalogue_data(catalogue)


def _no_item(code: str, base: int) -> NotFound:
    return NotFound(
        "item_not_found",
        f"目录版本 {base} 中没有编码为 {code} 的服务事项。",
        f"Catalogue version {base} has no service item with code {code}.",
    )


def add_item(
    book: CatalogueBook,
    editor: Editor,
    base: int,
    item: Mapping[str, Any],
    now: datetime,
    comment: str | None,
) -> tuple[VersionRecord, Catalogue]:
    """A new service item at the end of the list (409 if its code is taken)."""
    require_admin(editor)
    catalogue, data = _base(book, base)
    code = str(item.get("code", ""))
    if any(i.code == code for i in catalogue.items):
        raise Conflict(
            "item_exists",
            f"编码为 {code} 的服务事项已存在，请修改该事项。",
            f"A service item with code {code} exists already; edit it instead.",
            [Reason("item_exists", f"编码 {code} 已被使用", f"code {code} is taken", "item.code")],
        )
    data["items"] = [*data["items"], dict(item)]
    return _commit(book, editor, base, data, now, comment)


def edit_item(
    book: CatalogueBook,
    editor: Editor,
    base: int,
    code: str,
    item: Mapping[str, Any],
    now: datetime,
    comment: str | None,
) -> tuple[VersionRecord, Catalogue]:
    """Replace item `code` (names, limits, material list …); its code stays (applications name it)."""
    require_admin(editor)
    _, data = _base(book, base)
    index = next((n for n, i in enumerate(data["items"]) if i["code"] == code), None)
    if index is None:
        raise _no_item(code, base)
    if item.get("code", code) != code:
        raise InvalidInput(
            "item_code_immutable",
            "事项编码不可修改：已有申请按编码引用该事项。请新增事项并停用旧事项。",
            "An item's code cannot change: applications refer to it by code. Add a new item and "
            "retire the old one instead.",
            [Reason("item_code_immutable", f"应为 {code}", f"must be {code}", "item.code")],
        )
    items = list(data["items"])
    items[index] = {**dict(item), "code": code}
    data["items"] = items
    return _commit(book, editor, base, data, now, comment)


def retire_item(
    book: CatalogueBook, editor: Editor, base: int, code: str, now: datetime, comment: str | None
) -> tuple[VersionRecord, Catalogue]:
    """Remove item `code` from the next version: no new applications; existing ones keep their own."""
    require_admin(editor)
    _, data = _base(book, base)
    if not any(i["code"] == code for i in data["items"]):
        raise _no_item(code, base)
    data["items"] = [i for i in data["items"] if i["code"] != code]
    return _commit(book, editor, base, data, now, comment)


def import_yaml(
    book: CatalogueBook, editor: Editor, base: int, text: str, now: datetime, comment: str | None
) -> tuple[VersionRecord, Catalogue]:
    """A whole catalogue from a YAML document (an export, edited): validated, problems by line."""
    require_admin(editor)
    if len(text) > MAX_YAML_CHARS:
        raise InvalidInput(
            "catalogue_too_large",
            f"导入的 YAML 超过 {MAX_YAML_CHARS} 个字符。",
            f"The YAML to import is longer than {MAX_YAML_CHARS} characters.",
        )
    try:
        parsed = parse_catalogue_yaml(text)
    except CatalogueError as exc:
        raise invalid(exc) from None
    return _commit(book, editor, base, catalogue_data(parsed), now, comment)


def export_yaml(book: CatalogueBook, editor: Editor, version: int) -> str:
    """Version `version` as one YAML document (`import_yaml` of it makes an identical catalogue)."""
    require_admin(editor)
    return catalogue_yaml(book.at(version))
