"""`/api/v1/archives/` (filter `slug`) and `/api/v1/archives/items/` (filter `archive`), list
and detail, as GC's ArchiveViewSet and ArchiveItemViewSet.

Order: archives by `created` (the model's ordering); items have no model ordering in GC, the
sandbox lists them by `created`, then pk. Visibility: `visibility.visible_archives` and
`visible_archive_items`.
"""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy.orm import selectinload

from gcfetch.sandbox.routes.resource import (
    ReadResource,
    by_parent,
    each,
    exact_filter,
    nested_router,
)
from gcfetch.sandbox.serialize import Serializer
from gcfetch.sandbox.tables import Archive, ArchiveItem, SocketValue
from gcfetch.sandbox.visibility import visible_archive_items, visible_archives


def archives_router() -> APIRouter:
    return nested_router(ARCHIVE_ITEMS, ARCHIVES)


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
    filter=by_parent(Archive.pk, "archive", ArchiveItem.archive_pk),
    load=(selectinload(ArchiveItem.values).selectinload(SocketValue.socket),),
)
