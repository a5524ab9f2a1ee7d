"""`/api/v1/components/interfaces/` list (filter `slug`) and detail; not for anonymous (§5.5)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from sqlalchemy import select

from gcfetch.sandbox.deps import SessionDep
from gcfetch.sandbox.filters import exact
from gcfetch.sandbox.pagination import paginate
from gcfetch.sandbox.responses import json_response
from gcfetch.sandbox.routes.common import (
    READ_METHODS,
    AuthenticatedUserDep,
    SerializerDep,
    not_found,
)
from gcfetch.sandbox.tables import Socket


def interfaces_router() -> APIRouter:
    router = APIRouter()

    @router.api_route("/components/interfaces/", methods=READ_METHODS)
    def list_interfaces(
        request: Request, session: SessionDep, _user: AuthenticatedUserDep, shaper: SerializerDep
    ) -> Response:
        query = request.query_params
        statement = select(Socket)
        slug = exact(Socket.slug, query.get("slug"))
        if slug is not None:
            statement = statement.where(slug)
        body = paginate(
            session,
            statement.order_by(Socket.pk),
            str(request.url),
            query,
            lambda rows: [shaper.socket(s) for s in rows],
        )
        return json_response(body)

    @router.api_route("/components/interfaces/{pk}/", methods=READ_METHODS)
    def get_interface(
        pk: str, session: SessionDep, _user: AuthenticatedUserDep, shaper: SerializerDep
    ) -> Response:
        try:
            number = int(pk)
        except ValueError:
            raise not_found() from None
        socket = session.get(Socket, number)
        if socket is None:
            raise not_found("ComponentInterface")
        return json_response(shaper.socket(socket))

    return router
