"""`/api/v1/algorithms/` list (filter `slug`) and detail (§5.2)."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import APIRouter
from sqlalchemy import select
from sqlalchemy.orm import Session

from gcfetch.sandbox.routes.resource import ReadResource, exact_filter, read_router
from gcfetch.sandbox.serialize import Serializer
from gcfetch.sandbox.tables import Algorithm, Socket
from gcfetch.sandbox.visibility import visible_algorithms


def algorithms_router() -> APIRouter:
    return read_router(ALGORITHMS)


def _shape(session: Session, shaper: Serializer, rows: Sequence[Algorithm]) -> list[dict]:
    """The algorithms, with the sockets their interfaces name fetched in one query."""
    slugs = {
        slug
        for algorithm in rows
        for combo in algorithm.interfaces or []
        for slug in [*combo.get("inputs", []), *combo.get("outputs", [])]
    }
    sockets = {s.slug: s for s in session.scalars(select(Socket).where(Socket.slug.in_(slugs)))}
    return [shaper.algorithm(algorithm, sockets) for algorithm in rows]


ALGORITHMS = ReadResource(
    path="/algorithms/",
    model=Algorithm,
    label="Algorithm",
    shape=_shape,
    order_by=(Algorithm.created, Algorithm.pk),
    visible=visible_algorithms,
    filter=exact_filter(Algorithm.slug, "slug"),
)
