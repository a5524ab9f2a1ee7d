"""`/api/v1/algorithms/jobs/` list and detail (§5.4).

Filters: `algorithm_image__algorithm`, `input_image` and `output_image` (both repeatable,
OR-ed); every other parameter is ignored, as django-filter does. Order: `created` ascending.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from sqlalchemy import Select, select
from sqlalchemy.orm import Session, selectinload

from gcfetch.sandbox.deps import SessionDep
from gcfetch.sandbox.filters import (
    FilterErrors,
    canonical_uuid,
    model_choice,
    model_multiple_choice,
)
from gcfetch.sandbox.pagination import paginate
from gcfetch.sandbox.responses import json_response
from gcfetch.sandbox.routes.common import READ_METHODS, SerializerDep, UserDep, not_found
from gcfetch.sandbox.tables import (
    Algorithm,
    AlgorithmImage,
    Image,
    Job,
    SocketValue,
    User,
    job_inputs,
    job_outputs,
)
from gcfetch.sandbox.visibility import visible_jobs

LOAD_JOBS = (
    selectinload(Job.algorithm_image).selectinload(AlgorithmImage.algorithm),
    selectinload(Job.inputs).selectinload(SocketValue.socket),
    selectinload(Job.outputs).selectinload(SocketValue.socket),
)


def jobs_router() -> APIRouter:
    router = APIRouter()

    @router.api_route("/algorithms/jobs/", methods=READ_METHODS)
    def list_jobs(
        request: Request, session: SessionDep, user: UserDep, shaper: SerializerDep
    ) -> Response:
        statement = _filtered(session, request, user)
        if isinstance(statement, FilterErrors):
            return json_response(statement.body, 400)
        body = paginate(
            session,
            statement.order_by(Job.created, Job.pk),
            str(request.url),
            request.query_params,
            lambda rows: [shaper.job(job) for job in rows],
            LOAD_JOBS,
        )
        return json_response(body)

    @router.api_route("/algorithms/jobs/{pk}/", methods=READ_METHODS)
    def get_job(pk: str, session: SessionDep, user: UserDep, shaper: SerializerDep) -> Response:
        canonical = canonical_uuid(pk)
        if canonical is None:
            raise not_found()
        statement = select(Job).where(Job.pk == canonical, visible_jobs(user))
        job = session.scalar(statement.options(*LOAD_JOBS))
        if job is None:
            raise not_found("Job")
        return json_response(shaper.job(job))

    return router


def _filtered(session: Session, request: Request, user: User | None) -> Select | FilterErrors:
    query = request.query_params
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
    statement = select(Job).where(visible_jobs(user))
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
