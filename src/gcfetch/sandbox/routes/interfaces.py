"""`/api/v1/components/interfaces/` list (filter `slug`) and detail; not for anonymous (§5.5).

Every non-anonymous user sees every socket; the pk is an integer, not a UUID.
"""

from __future__ import annotations

from fastapi import APIRouter

from gcfetch.sandbox.routes.resource import ReadResource, each, exact_filter, int_pk, read_router
from gcfetch.sandbox.serialize import Serializer
from gcfetch.sandbox.tables import Socket


def interfaces_router() -> APIRouter:
    return read_router(INTERFACES)


INTERFACES = ReadResource(
    path="/components/interfaces/",
    model=Socket,
    label="ComponentInterface",
    shape=each(Serializer.socket),
    order_by=(Socket.pk,),
    filter=exact_filter(Socket.slug, "slug"),
    parse_pk=int_pk,
    anonymous=False,
)
