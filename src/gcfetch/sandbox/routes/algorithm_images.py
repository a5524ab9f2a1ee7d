"""`/api/v1/algorithms/images/` list (filter `algorithm`) and detail; editors only (§5.3)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from gcfetch.sandbox.deps import SessionDep
from gcfetch.sandbox.filters import FilterErrors, canonical_uuid, model_choice
from gcfetch.sandbox.pagination import paginate
from gcfetch.sandbox.responses import json_response
from gcfetch.sandbox.routes.common import READ_METHODS, SerializerDep, UserDep, not_found
from gcfetch.sandbox.tables import Algorithm, AlgorithmImage
from gcfetch.sandbox.visibility import visible_algorithm_images

_LOAD = (selectinload(AlgorithmImage.algorithm),)


def algorithm_images_router() -> APIRouter:
    router = APIRouter()

    @router.api_route("/algorithms/images/", methods=READ_METHODS)
    def list_algorithm_images(
        request: Request, session: SessionDep, user: UserDep, shaper: SerializerDep
    ) -> Response:
        query = request.query_params
        errors = FilterErrors()
        algorithm = model_choice(session, Algorithm.pk, "algorithm", query.get("algorithm"), errors)
        if errors.body:
            return json_response(errors.body, 400)
        statement = select(AlgorithmImage).where(visible_algorithm_images(user))
        if algorithm is not None:
            statement = statement.where(AlgorithmImage.algorithm_pk == algorithm)
        statement = statement.order_by(AlgorithmImage.created, AlgorithmImage.pk)
        body = paginate(
            session,
            statement,
            str(request.url),
            query,
            lambda rows: [shaper.algorithm_image(i) for i in rows],
            _LOAD,
        )
        return json_response(body)

    @router.api_route("/algorithms/images/{pk}/", methods=READ_METHODS)
    def get_algorithm_image(
        pk: str, session: SessionDep, user: UserDep, shaper: SerializerDep
    ) -> Response:
        canonical = canonical_uuid(pk)
        if canonical is None:
            raise not_found()
        statement = select(AlgorithmImage).where(
            AlgorithmImage.pk == canonical, visible_algorithm_images(user)
        )
        image = session.scalar(statement.options(*_LOAD))
        if image is None:
            raise not_found("AlgorithmImage")
        return json_response(shaper.algorithm_image(image))

    return router
