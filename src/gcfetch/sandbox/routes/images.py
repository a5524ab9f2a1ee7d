"""`/api/v1/cases/images/` list and detail (§5.7); order by `name`.

Filters: `job_input`, `job_output` (repeatable, OR-ed) and `name` (exact).
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from sqlalchemy import Select, select
from sqlalchemy.orm import Session, selectinload

from gcfetch.sandbox.deps import SessionDep
from gcfetch.sandbox.filters import FilterErrors, canonical_uuid, exact, model_multiple_choice
from gcfetch.sandbox.pagination import paginate
from gcfetch.sandbox.responses import json_response
from gcfetch.sandbox.routes.common import READ_METHODS, SerializerDep, UserDep, not_found
from gcfetch.sandbox.tables import Image, Job, SocketValue, User, job_inputs, job_outputs
from gcfetch.sandbox.visibility import visible_images

_LOAD = (selectinload(Image.files),)


def images_router() -> APIRouter:
    router = APIRouter()

    @router.api_route("/cases/images/", methods=READ_METHODS)
    def list_images(
        request: Request, session: SessionDep, user: UserDep, shaper: SerializerDep
    ) -> Response:
        statement = _filtered(session, request, user)
        if isinstance(statement, FilterErrors):
            return json_response(statement.body, 400)
        body = paginate(
            session,
            statement.order_by(Image.name, Image.pk),
            str(request.url),
            request.query_params,
            lambda rows: [shaper.image(image) for image in rows],
            _LOAD,
        )
        return json_response(body)

    @router.api_route("/cases/images/{pk}/", methods=READ_METHODS)
    def get_image(pk: str, session: SessionDep, user: UserDep, shaper: SerializerDep) -> Response:
        canonical = canonical_uuid(pk)
        if canonical is None:
            raise not_found()
        statement = select(Image).where(Image.pk == canonical, visible_images(user))
        image = session.scalar(statement.options(*_LOAD))
        if image is None:
            raise not_found("Image")
        return json_response(shaper.image(image))

    return router


def _filtered(session: Session, request: Request, user: User | None) -> Select | FilterErrors:
    query = request.query_params
    errors = FilterErrors()
    jobs_in = model_multiple_choice(
        session, Job.pk, "job_input", query.getlist("job_input"), errors
    )
    jobs_out = model_multiple_choice(
        session, Job.pk, "job_output", query.getlist("job_output"), errors
    )
    if errors.body:
        return errors
    statement = select(Image).where(visible_images(user))
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
