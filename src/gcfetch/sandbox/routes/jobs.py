"""`/api/v1/algorithms/jobs/` list and detail (§5.4).

Filters: `algorithm_image__algorithm`, `input_image` and `output_image` (both repeatable,
OR-ed); every other parameter is ignored, as django-filter does. Order: `created` ascending.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy import Select, select
from sqlalchemy.orm import Session, selectinload
from starlette.datastructures import QueryParams

from gcfetch.sandbox.filters import FilterErrors, model_choice, model_multiple_choice
from gcfetch.sandbox.routes.resource import ReadResource, each, read_router
from gcfetch.sandbox.serialize import Serializer
from gcfetch.sandbox.tables import (
    Algorithm,
    AlgorithmImage,
    Image,
    Job,
    SocketValue,
    job_inputs,
    job_outputs,
)
from gcfetch.sandbox.visibility import visible_jobs


def jobs_router() -> APIRouter:
    return read_router(JOBS)


def _filtered(
    session: Session, query: QueryParams, statement: Select[Any]
) -> Select[Any] | FilterErrors:
    errors = FilterErrors()
    name = "algorithm_image__algorithm"
    algorithm = model_choice(session, Algorithm.pk, name, query.get(name), errors)
    inputs = model_multiple_choice(
        session, Image.pk, "input_image", query.getlist("input_image"), errors
    )
    outputs = model_multiple_choice(
        session, Image.pk, "output_image", query.getlist("output_image"), errors
    )
    if errors.body:
        return errors
    if algorithm is not None:
        image_pks = select(AlgorithmImage.pk).where(AlgorithmImage.algorithm_pk == algorithm)
        statement = statement.where(Job.algorithm_image_pk.in_(image_pks))
    for link, image_pks in ((job_inputs, inputs), (job_outputs, outputs)):
        if image_pks:
            job_pks = (
                select(link.c.job_pk)
                .join(SocketValue, SocketValue.pk == link.c.value_pk)
                .where(SocketValue.image_pk.in_(image_pks))
            )
            statement = statement.where(Job.pk.in_(job_pks))
    return statement


JOBS = ReadResource(
    path="/algorithms/jobs/",
    model=Job,
    label="Job",
    shape=each(Serializer.job),
    order_by=(Job.created, Job.pk),
    visible=visible_jobs,
    filter=_filtered,
    load=(
        selectinload(Job.algorithm_image).selectinload(AlgorithmImage.algorithm),
        selectinload(Job.inputs).selectinload(SocketValue.socket),
        selectinload(Job.outputs).selectinload(SocketValue.socket),
    ),
)
