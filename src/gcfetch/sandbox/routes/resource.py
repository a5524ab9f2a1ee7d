"""The list and detail views every read-only API resource shares (§3, §5).

A resource module describes itself as a `ReadResource` and `read_router` serves its two views:
- list: filters (400 with the field errors) -> visible rows in order -> one page -> JSON;
- detail: a malformed pk is `Not found.`, an absent or invisible row `No <label> matches the
  given query.`, both 404; otherwise the shaped row.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request, Response
from sqlalchemy import ColumnElement, Select, select
from sqlalchemy.orm import InstrumentedAttribute, Session
from sqlalchemy.orm.interfaces import ORMOption
from starlette.datastructures import QueryParams

from gcfetch.sandbox.deps import (
    READ_METHODS,
    SerializerDep,
    SessionDep,
    UserDep,
    authenticated_user,
    not_found,
)
from gcfetch.sandbox.filters import FilterErrors, canonical_uuid, exact, model_choice
from gcfetch.sandbox.pagination import paginate
from gcfetch.sandbox.responses import json_response
from gcfetch.sandbox.serialize import Serializer
from gcfetch.sandbox.tables import User

Shape = Callable[[Session, Serializer, Sequence[Any]], list[dict[str, Any]]]
"""Turns rows into JSON objects; gets the session for shapers that look up related rows."""
Filter = Callable[[Session, QueryParams, Select[Any]], Select[Any] | FilterErrors]
"""Narrows the visible rows by the query parameters, or returns the invalid ones."""


def each(shape_one: Callable[[Serializer, Any], dict[str, Any]]) -> Shape:
    """A `Shape` applying a one-row `Serializer` method, such as `Serializer.job`, to each row."""
    return lambda _session, shaper, rows: [shape_one(shaper, row) for row in rows]


def unfiltered(_session: Session, _query: QueryParams, statement: Select[Any]) -> Select[Any]:
    """The `Filter` of a resource without filters: every parameter is ignored."""
    return statement


def exact_filter(column: InstrumentedAttribute[str], name: str) -> Filter:
    """A `Filter` keeping the rows whose `column` equals the `name` parameter, when given."""

    def narrowed(_session: Session, query: QueryParams, statement: Select[Any]) -> Select[Any]:
        clause = exact(column, query.get(name))
        return statement if clause is None else statement.where(clause)

    return narrowed


def int_pk(raw: str) -> int | None:
    """An integer primary key, None if `raw` is not one."""
    try:
        return int(raw)
    except ValueError:
        return None


@dataclass(frozen=True)
class ReadResource:
    """What a read-only resource's list and detail views need to know about it."""

    path: str
    """The list URL below `/api/v1`, e.g. `/algorithms/jobs/`; detail is `{path}{pk}/`."""
    model: type[Any]
    """The table class, with a `pk` column."""
    label: str
    """Django's model name in the detail view's 404, e.g. `ComponentInterface`."""
    shape: Shape
    order_by: tuple[InstrumentedAttribute[Any], ...]
    visible: Callable[[User | None], ColumnElement[bool]] | None = None
    """The rows the user may see; None when every row is visible."""
    filter: Filter = unfiltered
    parse_pk: Callable[[str], str | int | None] = canonical_uuid
    load: tuple[ORMOption, ...] = ()
    """Eager loads for the rows that are shaped."""
    anonymous: bool = True
    """False: anonymous callers get DRF's 401 `NotAuthenticated` on both views."""

    def visible_rows(self, user: User | None) -> Select[Any]:
        """The user's visible rows, every row when the resource has no visibility rule."""
        statement = select(self.model)
        return statement if self.visible is None else statement.where(self.visible(user))

    def check_user(self, user: User | None) -> None:
        """Refuse anonymous callers when the resource is not for them."""
        if not self.anonymous:
            authenticated_user(user)


def read_router(resource: ReadResource) -> APIRouter:
    """A router with `resource`'s list and detail views, each for GET and HEAD."""
    router = APIRouter()

    @router.api_route(resource.path, methods=READ_METHODS)
    def list_rows(
        request: Request, session: SessionDep, user: UserDep, shaper: SerializerDep
    ) -> Response:
        resource.check_user(user)
        query = request.query_params
        statement = resource.filter(session, query, resource.visible_rows(user))
        if isinstance(statement, FilterErrors):
            return json_response(statement.body, 400)
        body = paginate(
            session,
            statement.order_by(*resource.order_by),
            str(request.url),
            query,
            lambda rows: resource.shape(session, shaper, rows),
            resource.load,
        )
        return json_response(body)

    @router.api_route(resource.path + "{pk}/", methods=READ_METHODS)
    def get_row(pk: str, session: SessionDep, user: UserDep, shaper: SerializerDep) -> Response:
        resource.check_user(user)
        parsed = resource.parse_pk(pk)
        if parsed is None:
            raise not_found()
        statement = resource.visible_rows(user).where(resource.model.pk == parsed)
        row = session.scalar(statement.options(*resource.load))
        if row is None:
            raise not_found(resource.label)
        return json_response(resource.shape(session, shaper, [row])[0])

    return router


def nested_router(*resources: ReadResource) -> APIRouter:
    """The routes of `resources`, in order: a nested list (`archives/items/`) before its
    parent's `{pk}` route, which would take it. Copied, not included, so that the API's
    fallback sees them."""
    router = APIRouter()
    for resource in resources:
        router.routes.extend(read_router(resource).routes)
    return router


def by_parent(
    parent_pk: InstrumentedAttribute[str], name: str, child_fk: InstrumentedAttribute[str]
) -> Filter:
    """The filter `?<name>=<parent pk>` (a model choice, as django-filter's)."""

    def filtered(
        session: Session, query: QueryParams, statement: Select[Any]
    ) -> Select[Any] | FilterErrors:
        errors = FilterErrors()
        parent = model_choice(session, parent_pk, name, query.get(name), errors)
        if errors.body:
            return errors
        return statement if parent is None else statement.where(child_fk == parent)

    return filtered
