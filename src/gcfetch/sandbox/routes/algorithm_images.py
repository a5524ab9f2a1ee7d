"""`/api/v1/algorithms/images/` list (filter `algorithm`) and detail; editors only (§5.3)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy import Select
from sqlalchemy.orm import Session, selectinload
from starlette.datastructures import QueryParams

from gcfetch.sandbox.filters import FilterErrors, model_choice
from gcfetch.sandbox.routes.resource import ReadResource, each, read_router
from gcfetch.sandbox.serialize import Serializer
from gcfetch.sandbox.tables import Algorithm, AlgorithmImage
from gcfetch.sandbox.visibility import visible_algorithm_images


def algorithm_images_router() -> APIRouter:
    return read_router(ALGORITHM_IMAGES)


def _filtered(
    session: Session, query: QueryParams, statement: Select[Any]
) -> Select[Any] | FilterErrors:
    errors = FilterErrors()
    algorithm = model_choice(session, Algorithm.pk, "algorithm", query.get("algorithm"), errors)
    if errors.body:
        return errors
    if algorithm is not None:
        statement = statement.where(AlgorithmImage.algorithm_pk == algorithm)
    return statement


ALGORITHM_IMAGES = ReadResource(
    path="/algorithms/images/",
    model=AlgorithmImage,
    label="AlgorithmImage",
    shape=each(Serializer.algorithm_image),
    order_by=(AlgorithmImage.created, AlgorithmImage.pk),
    visible=visible_algorithm_images,
    filter=_filtered,
    load=(selectinload(AlgorithmImage.algorithm),),
)
