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
from sqlalchemy import Select, select
from sqlalchemy.orm import Session, selectinload
from starlette.datastructures import QueryParams

from gcfetch.sandbox.filters import FilterErrors, model_choice
from gcfetch.sandbox.routes.resource import ReadResource, each, exact_filter, read_router
from gcfetch.sandbox.serialize import Serializer
from gcfetch.sandbox.tables import DisplaySet, ReaderStudy, SocketValue
from gcfetch.sandbox.visibility import visible_display_sets, visible_reader_studies


def reader_studies_router() -> APIRouter:
    """Display sets first: `reader-studies/{pk}/` would otherwise take them.
    The routes are copied, not included, so that the API's fallback sees them."""
    router = APIRouter()
    for resource in (DISPLAY_SETS, READER_STUDIES):
        router.routes.extend(read_router(resource).routes)
    return router


def _display_sets_filtered(
    session: Session, query: QueryParams, statement: Select[Any]
) -> Select[Any] | FilterErrors:
    errors = FilterErrors()
    study = model_choice(session, ReaderStudy.pk, "reader_study", query.get("reader_study"), errors)
    if errors.body:
        return errors
    return statement if study is None else statement.where(DisplaySet.reader_study_pk == study)


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
    filter=_display_sets_filtered,
    load=(
        selectinload(DisplaySet.reader_study),
        selectinload(DisplaySet.values).selectinload(SocketValue.socket),
    ),
)
