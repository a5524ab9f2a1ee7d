"""The storage origin, second hop of a download (§6.2, §6.3): signed URLs to blobs on disk.

GET and HEAD of `/<key>?Expires=..&Signature=..&Key-Pair-Id=..`. Refusals are S3/CloudFront-like
XML: 403 for a missing, wrong or expired signature and for any request carrying an
`Authorization` header; 404 for a signed key with no blob. Bytes are streamed from disk by
starlette's FileResponse (single `Range` -> 206, `If-Range`, unsatisfiable -> 416) in 1 MiB
chunks. Every blob passes through `serve_blob`, the one place for body faults (faults.py).
The `gzip` fault serves a gzip copy of the blob, made once on disk, with `Content-Encoding`.
DICOM instances (`/datastore/...`, `serve_dicom_instance`) are signed in headers instead, as
HealthImaging's are (storage.DicomRequest).
"""

from __future__ import annotations

import mimetypes
from pathlib import Path

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from starlette.responses import FileResponse
from starlette.types import Receive, Scope, Send

from gcfetch.sandbox.deps import SettingsDep
from gcfetch.sandbox.fault_copies import changed_copy, gzip_copy
from gcfetch.sandbox.injection import FaultInjector
from gcfetch.sandbox.settings import SandboxSettings
from gcfetch.sandbox.storage import (
    DicomRequest,
    blob_path,
    dicom_instance_key,
    dicom_instance_path,
    signer_for,
)

_CONTENT_TYPES = {
    ".json": "application/json",
    ".mha": "application/octet-stream",
    ".mhd": "application/octet-stream",
    ".raw": "application/octet-stream",
    ".zraw": "application/octet-stream",
    ".gz": "application/gzip",
    ".tif": "image/tiff",
    ".tiff": "image/tiff",
    ".csv": "text/csv",
    ".dcm": "application/dicom",
}


class BlobResponse(FileResponse):
    """A FileResponse with large chunks: fewer event-loop turns per byte."""

    chunk_size = 1024 * 1024


class CompressedBlobResponse(BlobResponse):
    """A gzip copy sent as a compressed variant: always a 200 with the whole body.

    `Range` and `If-Range` are ignored, as CDNs do for the compressed variants they make.
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(k, v) for k, v in scope["headers"] if k not in (b"range", b"if-range")]
        await super().__call__({**scope, "headers": headers}, receive, send)


def content_type(path: Path) -> str:
    """The Content-Type storage sends for a file name (§6.2), e.g. `application/json`."""
    suffix = path.suffix.lower()
    if suffix in _CONTENT_TYPES:
        return _CONTENT_TYPES[suffix]
    guessed, encoding = mimetypes.guess_type(path.name)
    return guessed if guessed and not encoding else "application/octet-stream"


def _error(status: int, code: str, message: str) -> Response:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{message}</Message></Error>"
    )
    return Response(body, status_code=status, media_type="application/xml")


def serve_blob(request: Request, settings: SandboxSettings, key: str) -> Response:
    """Check the request's signature and answer with the blob of `key` (or a refusal)."""
    if "authorization" in request.headers:
        return _error(
            403,
            "InvalidArgument",
            "Only one auth mechanism allowed; the Signature "
            "query string parameter or the Authorization header should be specified",
        )
    query = request.query_params
    signed = signer_for(settings).verify(
        key, query.get("Expires"), query.get("Signature"), query.get("Key-Pair-Id")
    )
    if not signed:
        return _error(403, "AccessDenied", "Access denied")
    return _serve_signed(request, settings, key)


def serve_dicom_instance(request: Request, settings: SandboxSettings, sop: str) -> Response:
    """A DICOM instance, for a request signed in its headers (storage.DicomRequest); refusals
    are HealthImaging's JSON: 403 for a missing, wrong or expired signature, 404 if absent."""
    headers = {name.lower(): value for name, value in request.headers.items()}
    why = DicomRequest(signer_for(settings)).verify(
        request.method, request.url.path, request.url.query, headers
    )
    if why is not None and request.method == "HEAD":
        why = DicomRequest(signer_for(settings)).verify(
            "GET", request.url.path, request.url.query, headers
        )
    if why is not None:
        return JSONResponse({"message": why}, status_code=403)
    image_set_id = request.query_params.get("imageSetId", "")
    return _serve_signed(request, settings, dicom_instance_key(image_set_id, sop))


def _serve_signed(request: Request, settings: SandboxSettings, key: str) -> Response:
    """The blob of `key` for a request whose signature was checked, through the body faults."""
    path = blob_path(settings, key)
    if path is None:
        return _error(404, "NoSuchKey", "The specified key does not exist.")
    injector: FaultInjector = request.app.state.faults
    client = request.client
    faults = injector.body_faults(request.url.path, (client.host, client.port) if client else None)
    headers = {"content-type": content_type(path)}
    if faults.changed:
        path = changed_copy(settings, key, path)
    if faults.etag:
        headers["etag"] = faults.etag
    if faults.compress(key, request.headers.get("accept-encoding")):
        copy = gzip_copy(settings, key, path)
        headers |= {"content-encoding": "gzip", "vary": "Accept-Encoding"}
        return faults.wrap(CompressedBlobResponse(copy, stat_result=copy.stat(), headers=headers))
    return faults.wrap(BlobResponse(path, stat_result=path.stat(), headers=headers))


def storage_router() -> APIRouter:
    router = APIRouter()

    @router.api_route(
        dicom_instance_path("{study}", "{series}", "{sop}"),
        methods=["GET", "HEAD"],
        include_in_schema=False,
    )
    def dicom_instance(sop: str, request: Request, settings: SettingsDep) -> Response:
        return serve_dicom_instance(request, settings, sop)

    @router.api_route("/{key:path}", methods=["GET", "HEAD"], include_in_schema=False)
    def blob(key: str, request: Request, settings: SettingsDep) -> Response:
        """Plain `def`: FastAPI runs it in its thread pool, so reading (and the fault copies'
        writing) of whole files never blocks the event loop both origins share."""
        return serve_blob(request, settings, key)

    return router
