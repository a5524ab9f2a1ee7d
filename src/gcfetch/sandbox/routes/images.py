"""`/api/v1/cases/images/` list and detail (§5.7); order by `name`.

Filters: `job_input`, `job_output`, `archive`, `reader_study` (repeatable, OR-ed) and `name`
(exact).

`cases/images/<pk>/dicom/instances/` answers as GC's `dicom_instances` action: for an image
with a DICOM image set, `{"image_set_id": ..., "instances": [{"sop_instance_uid": ...,
"get_instance": {"url", "method", "data", "headers"}}, ...]}`, one instance per frame in GC's
order (so a multi-frame instance repeats). Each request is on the storage origin, signed in
its headers (storage.DicomRequest); it carries no API token and expires with the storage
links. 401 anonymous; 404 `No Image matches the given query.` when absent or invisible, 404
`This image does not have a DICOM Image Set.` for other images.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlencode, urlsplit

from fastapi import APIRouter, Request, Response
from sqlalchemy import Select, Table, select
from sqlalchemy.orm import Session, selectinload
from starlette.datastructures import QueryParams

from gcfetch.sandbox.deps import (
    READ_METHODS,
    SessionDep,
    SettingsDep,
    UserDep,
    authenticated_user,
    not_found,
)
from gcfetch.sandbox.filters import FilterErrors, canonical_uuid, exact, model_multiple_choice
from gcfetch.sandbox.responses import detail_response, json_response
from gcfetch.sandbox.routes.resource import ReadResource, each, read_router
from gcfetch.sandbox.serialize import Serializer
from gcfetch.sandbox.storage import DicomRequest, dicom_instance_path, signer_for
from gcfetch.sandbox.tables import (
    Archive,
    ArchiveItem,
    DicomInstance,
    DisplaySet,
    Image,
    Job,
    ReaderStudy,
    SocketValue,
    archive_item_values,
    display_set_values,
    job_inputs,
    job_outputs,
)
from gcfetch.sandbox.visibility import visible_images


def images_router() -> APIRouter:
    router = read_router(IMAGES)
    path = "/cases/images/{pk}/dicom/instances/"
    router.add_api_route(path, dicom_instances, methods=READ_METHODS)
    return router


def _filtered(
    session: Session, query: QueryParams, statement: Select[Any]
) -> Select[Any] | FilterErrors:
    errors = FilterErrors()

    def choices(column: Any, name: str) -> list[str]:
        return model_multiple_choice(session, column, name, query.getlist(name), errors)

    jobs_in = choices(Job.pk, "job_input")
    jobs_out = choices(Job.pk, "job_output")
    archives = choices(Archive.pk, "archive")
    studies = choices(ReaderStudy.pk, "reader_study")
    if errors.body:
        return errors
    name = exact(Image.name, query.get("name"))
    if name is not None:
        statement = statement.where(name)
    item = (ArchiveItem, ArchiveItem.pk == archive_item_values.c.item_pk)
    display_set = (DisplaySet, DisplaySet.pk == display_set_values.c.display_set_pk)
    holders = (
        (job_inputs, None, job_inputs.c.job_pk, jobs_in),
        (job_outputs, None, job_outputs.c.job_pk, jobs_out),
        (archive_item_values, item, ArchiveItem.archive_pk, archives),
        (display_set_values, display_set, DisplaySet.reader_study_pk, studies),
    )
    for link, holder, parent_pk, wanted in holders:
        if wanted:
            images = _images_of(link, holder, parent_pk, wanted)
            statement = statement.where(Image.pk.in_(images))
    return statement


def _images_of(link: Table, holder: Any, parent_pk: Any, parents: list[str]) -> Select[Any]:
    """The images among the socket values that `link` ties to a holder (through `holder`, a
    (model, onclause) join, when the link names an item, not the parent itself) whose parent
    (`parent_pk`: a job, archive or reader study) is one of `parents`."""
    statement = select(SocketValue.image_pk).join(link, link.c.value_pk == SocketValue.pk)
    if holder is not None:
        statement = statement.join(*holder)
    return statement.where(parent_pk.in_(parents))


IMAGES = ReadResource(
    path="/cases/images/",
    model=Image,
    label="Image",
    shape=each(Serializer.image),
    order_by=(Image.name, Image.pk),
    visible=visible_images,
    filter=_filtered,
    load=(selectinload(Image.files),),
)


def dicom_instances(
    pk: str, request: Request, session: SessionDep, user: UserDep, settings: SettingsDep
) -> Response:
    """GC's `dicom_instances` action (see the module docstring)."""
    authenticated_user(user)
    parsed = canonical_uuid(pk)
    if parsed is None:
        raise not_found()
    image = session.scalar(IMAGES.visible_rows(user).where(Image.pk == parsed))
    if image is None:
        raise not_found("Image")
    image_set = (image.extra or {}).get("dicom_image_set")
    if not image_set:
        return detail_response(404, "This image does not have a DICOM Image Set.")
    image_set_id = image_set["image_set_id"]
    frames = session.scalars(
        select(DicomInstance)
        .where(DicomInstance.image_pk == parsed)
        .order_by(DicomInstance.position, DicomInstance.pk)
    )
    signer = DicomRequest(signer_for(settings))
    now = None
    if request.app.state.faults.link_expired(request.url.path):
        now = time.time() - signer.signer.lifetime - 60
    origin = settings.storage_origin
    host = urlsplit(origin).netloc
    query = urlencode({"imageSetId": image_set_id})
    instances = []
    for frame in frames:
        path = dicom_instance_path(
            frame.study_instance_uid, frame.series_instance_uid, frame.sop_instance_uid
        )
        accept = f"application/dicom; transfer-syntax={frame.stored_transfer_syntax_uid}"
        headers = signer.headers("GET", host, path, query, accept, now=now)
        request_kwargs = {
            "url": f"{origin}{path}?{query}",
            "method": "GET",
            "data": None,
            "headers": headers,
        }
        instances.append(
            {"sop_instance_uid": frame.sop_instance_uid, "get_instance": request_kwargs}
        )
    return json_response({"image_set_id": image_set_id, "instances": instances})
