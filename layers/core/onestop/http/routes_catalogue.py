"""Public routes: the service catalogue."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path, Query

from onestop.catalogue import Category

from .context import catalogue
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
) -> ItemDetail:
    return ItemDetail.of_item(catalogue().item(code), lang)
