"""`/api/v1/archives/` (filter `slug`) and `/api/v1/archives/items/` (filter `archive`), list
and detail, as GC's ArchiveViewSet and ArchiveItemViewSet.

Order: archives by `created` (the model's ordering); items have no model ordering in GC, the
sandbox lists them by `created`, then pk. Visibility: `visibility.visible_archives` and
`visible_archive_items`.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy import Select
from sqlalchemy.orm import Session, selectinload
from starlette.datastructures import QueryParams

from gcfetch.sandbox.filters import FilterErrors, model_choice
from gcfetch.sandbox.routes.resource import ReadResource, each, exact_filter, read_router
from gcfetch.sandbox.serialize import Serializer
from gcfetch.sandbox.tables import Archive, ArchiveItem, SocketValue
from gcfetch.sandbox.visibility import visible_archive_items, visible_archives


def archives_router() -> APIRouter:
    """Items first: `archives/{pk}/` would otherwise take `archives/items/`.
    The routes are copied, not included, so that the API's fallback sees them."""
    router = APIRouter()
    for resource in (ARCHIVE_ITEMS, ARCHIVES):
        router.routes.extend(read_router(resource).routes)
    return router


def _items_filtered(
    session: Session, query: QueryParams, statement: Select[Any]
) -> Select[Any] | FilterErrors:
    errors = FilterErrors()
    archive = model_choice(session, Archive.pk, "archive", query.get("archive"), errors)
    if errors.body:
        return errors
    return statement if archive is None else statement.where(ArchiveItem.archive_pk == archive)


ARCHIVES = ReadResource(
    path="/archives/",
    model=Archive,
    label="Archive",
    shape=each(Serializer.archive),
    order_by=(Archive.created, Archive.pk),
    visible=visible_archives,
    filter=exact_filter(Archive.slug, "slug"),
)

ARCHIVE_ITEMS = ReadResource(
    path="/archives/items/",
    model=ArchiveItem,
    label="ArchiveItem",
    shape=each(Serializer.archive_item),
    order_by=(ArchiveItem.created, ArchiveItem.pk),
    visible=visible_archive_items,
    filter=_items_filtered,
    load=(selectinload(ArchiveItem.values).selectinload(SocketValue.socket),),
)
