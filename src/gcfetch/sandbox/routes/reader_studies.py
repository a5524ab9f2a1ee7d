"""`/api/v1/reader-studies/` (filter `slug`) and `/api/v1/reader-studies/display-sets/`
(filter `reader_study`), list and detail, as GC's ReaderStudyViewSet and DisplaySetViewSet.

Order: reader studies by `created`, display sets by `order`, then `created` (the models'
orderings). A display set's `index` is its position in its reader study's display sets (GC's
`standard_index`; the sandbox never shuffles). Visibility: `visibility.visible_reader_studies`
and `visible_display_sets`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from gcfetch.sandbox.routes.resource import (
    ReadResource,
    by_parent,
    each,
    exact_filter,
    nested_router,
)
from gcfetch.sandbox.serialize import Serializer
from gcfetch.sandbox.tables import DisplaySet, ReaderStudy, SocketValue
from gcfetch.sandbox.visibility import visible_display_sets, visible_reader_studies


def reader_studies_router() -> APIRouter:
    return nested_router(DISPLAY_SETS, READER_STUDIES)


def _shape_display_sets(
    session: Session, shaper: Serializer, rows: Sequence[DisplaySet]
) -> list[dict[str, Any]]:
    """The display sets with their index among all of their reader study's display sets."""
    studies = {row.reader_study_pk for row in rows}
    order = (
        select(DisplaySet.pk, DisplaySet.reader_study_pk)
        .where(DisplaySet.reader_study_pk.in_(studies))
        .order_by(DisplaySet.order, DisplaySet.created, DisplaySet.pk)
    )
    positions: dict[str, int] = {}
    counts: dict[str, int] = {}
    for pk, study in session.execute(order):
        positions[pk] = counts.get(study, 0)
        counts[study] = positions[pk] + 1
    return [shaper.display_set(row, positions.get(row.pk)) for row in rows]


READER_STUDIES = ReadResource(
    path="/reader-studies/",
    model=ReaderStudy,
    label="ReaderStudy",
    shape=each(Serializer.reader_study),
    order_by=(ReaderStudy.created, ReaderStudy.pk),
    visible=visible_reader_studies,
    filter=exact_filter(ReaderStudy.slug, "slug"),
)

DISPLAY_SETS = ReadResource(
    path="/reader-studies/display-sets/",
    model=DisplaySet,
    label="DisplaySet",
    shape=_shape_display_sets,
    order_by=(DisplaySet.order, DisplaySet.created, DisplaySet.pk),
    visible=visible_display_sets,
    filter=by_parent(ReaderStudy.pk, "reader_study", DisplaySet.reader_study_pk),
    load=(
        selectinload(DisplaySet.reader_study),
        selectinload(DisplaySet.values).selectinload(SocketValue.socket),
    ),
)
