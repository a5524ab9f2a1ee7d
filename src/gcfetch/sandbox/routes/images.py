"""`/api/v1/cases/images/` list and detail (§5.7); order by `name`.

Filters: `job_input`, `job_output` (repeatable, OR-ed) and `name` (exact).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy import Select, select
from sqlalchemy.orm import Session, selectinload
from starlette.datastructures import QueryParams

from gcfetch.sandbox.filters import FilterErrors, exact, model_multiple_choice
from gcfetch.sandbox.routes.resource import ReadResource, each, read_router
from gcfetch.sandbox.serialize import Serializer
from gcfetch.sandbox.tables import Image, Job, SocketValue, job_inputs, job_outputs
from gcfetch.sandbox.visibility import visible_images


def images_router() -> APIRouter:
    return read_router(IMAGES)


def _filtered(
    session: Session, query: QueryParams, statement: Select[Any]
) -> Select[Any] | FilterErrors:
    errors = FilterErrors()
    jobs_in = model_multiple_choice(
        session, Job.pk, "job_input", query.getlist("job_input"), errors
    )
    jobs_out = model_multiple_choice(
        session, Job.pk, "job_output", query.getlist("job_output"), errors
    )
    if errors.body:
        return errors
    name = exact(Image.name, query.get("name"))
    if name is not None:
        statement = statement.where(name)
    for link, job_pks in ((job_inputs, jobs_in), (job_outputs, jobs_out)):
        if job_pks:
            image_pks = (
                select(SocketValue.image_pk)
                .join(link, link.c.value_pk == SocketValue.pk)
                .where(link.c.job_pk.in_(job_pks))
            )
            statement = statement.where(Image.pk.in_(image_pks))
    return statement


IMAGES = ReadResource(
    path="/cases/images/",
    model=Image,
    label="Image",
    shape=each(Serializer.image),
    order_by=(Image.name, Image.pk),
    visible=visible_images,
    filter=_filtered,
    load=(selectinload(Image.files),),
)
