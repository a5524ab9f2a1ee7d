"""`/api/v1/algorithms/` list (filter `slug`) and detail (§5.2)."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import APIRouter, Request, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from gcfetch.sandbox.deps import SessionDep
from gcfetch.sandbox.filters import canonical_uuid, exact
from gcfetch.sandbox.pagination import paginate
from gcfetch.sandbox.responses import json_response
from gcfetch.sandbox.routes.common import READ_METHODS, SerializerDep, UserDep, not_found
from gcfetch.sandbox.serialize import Serializer
from gcfetch.sandbox.tables import Algorithm, Socket
from gcfetch.sandbox.visibility import visible_algorithms


def algorithms_router() -> APIRouter:
    router = APIRouter()

    @router.api_route("/algorithms/", methods=READ_METHODS)
    def list_algorithms(
        request: Request, session: SessionDep, user: UserDep, shaper: SerializerDep
    ) -> Response:
        query = request.query_params
        statement = select(Algorithm).where(visible_algorithms(user))
        slug = exact(Algorithm.slug, query.get("slug"))
        if slug is not None:
            statement = statement.where(slug)
        statement = statement.order_by(Algorithm.created, Algorithm.pk)
        body = paginate(
            session,
            statement,
            str(request.url),
            query,
            lambda rows: _shape(session, shaper, rows),
        )
        return json_response(body)

    @router.api_route("/algorithms/{pk}/", methods=READ_METHODS)
    def get_algorithm(
        pk: str, session: SessionDep, user: UserDep, shaper: SerializerDep
    ) -> Response:
        canonical = canonical_uuid(pk)
        if canonical is None:
            raise not_found()
        algorithm = session.scalar(
            select(Algorithm).where(Algorithm.pk == canonical, visible_algorithms(user))
        )
        if algorithm is None:
            raise not_found("Algorithm")
        return json_response(_shape(session, shaper, [algorithm])[0])

    return router


def _shape(session: Session, shaper: Serializer, rows: Sequence[Algorithm]) -> list[dict]:
    slugs = {
        slug
        for algorithm in rows
        for combo in algorithm.interfaces or []
        for slug in [*combo.get("inputs", []), *combo.get("outputs", [])]
    }
    sockets = {s.slug: s for s in session.scalars(select(Socket).where(Socket.slug.in_(slugs)))}
    return [shaper.algorithm(algorithm, sockets) for algorithm in rows]
