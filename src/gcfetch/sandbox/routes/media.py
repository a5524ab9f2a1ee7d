"""First hop of a download (§6.1): `/media/...` on the API origin checks permissions, then
answers `302` to a signed URL on the storage origin.

- `images/<aa>/<bb>/<image uuid>/<rest>` or `images/<image uuid>/<rest>`: no such image 404,
  not permitted 403, not in storage 404.
- `components/componentinterfacevalue/<aa>/<bb>/<int pk>/<rest>`: 404 when absent or not
  permitted; `<rest>` and the prefix are ignored, the value's stored file is served.
- `docker/images/algorithms/algorithmimage/<uuid>/<rest>`: editors of the algorithm only.

The token is read leniently: an invalid one counts as anonymous. Errors are HTML pages.
"""

from __future__ import annotations

import time

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from gcfetch.sandbox.deps import InvalidToken, SessionDep, SettingsDep, authenticate
from gcfetch.sandbox.filters import canonical_uuid
from gcfetch.sandbox.settings import SandboxSettings
from gcfetch.sandbox.storage import blob_path, signer_for
from gcfetch.sandbox.tables import (
    AlgorithmImage,
    Image,
    User,
    algorithm_editors,
)
from gcfetch.sandbox.visibility import can_view_image, visible_file_key

_PAGES = {
    403: ("403 Forbidden", "You do not have permission to access this file."),
    404: ("Not Found", "The requested resource was not found on this server."),
}
_METHODS = ["GET", "HEAD"]


def _page(status: int) -> HTMLResponse:
    title, text = _PAGES[status]
    body = (
        f'<!doctype html>\n<html lang="en">\n<head>\n  <title>{title}</title>\n</head>\n'
        f"<body>\n  <h1>{title}</h1><p>{text}</p>\n</body>\n</html>\n"
    )
    return HTMLResponse(body, status_code=status)


def _user(request: Request, session: Session) -> User | None:
    try:
        return authenticate(session, request.headers.get("authorization"))
    except InvalidToken:
        return None


def _redirect(request: Request, settings: SandboxSettings, key: str) -> Response:
    """302 to the signed storage URL of `key`, or 404 if storage lacks it.

    The `expired` fault (faults.py) hooks in here: the link has expired before it is sent.
    """
    if blob_path(settings, key) is None:
        return _page(404)
    signer = signer_for(settings)
    now = None
    if request.app.state.faults.link_expired(request.url.path):
        now = time.time() - signer.lifetime - 60
    location = signer.url(settings.storage_origin, key, now=now)
    return Response(b"", status_code=302, headers={"Location": location}, media_type="text/html")


def _image_key(rest: str) -> tuple[str, str] | None:
    """(image pk, storage key) of a path below `images/`, in either URL form."""
    parts = rest.split("/")
    if len(parts) >= 4 and len(parts[0]) == len(parts[1]) == 2 and canonical_uuid(parts[2]):
        return str(canonical_uuid(parts[2])), f"images/{rest}"
    if len(parts) >= 2 and canonical_uuid(parts[0]):
        return str(canonical_uuid(parts[0])), f"images/{rest}"
    return None


def _is_editor(session: Session, user: User | None, algorithm_pk: str) -> bool:
    if user is None:
        return False
    query = select(algorithm_editors.c.user_id).where(
        algorithm_editors.c.algorithm_pk == algorithm_pk, algorithm_editors.c.user_id == user.id
    )
    return session.scalar(query) is not None


_ALGORITHM_IMAGES = "docker/images/algorithms/algorithmimage"


def media_router() -> APIRouter:
    """The first hop for each kind of stored file; any other path is an HTML 404."""
    router = APIRouter(include_in_schema=False)
    router.add_api_route("/images/{rest:path}", image_file, methods=_METHODS)
    router.add_api_route(
        "/components/componentinterfacevalue/{aa}/{bb}/{pk:int}/{rest:path}",
        socket_value_file,
        methods=_METHODS,
    )
    router.add_api_route(
        f"/{_ALGORITHM_IMAGES}/{{pk}}/{{rest:path}}", algorithm_image_file, methods=_METHODS
    )
    router.add_api_route("/{rest:path}", unknown, methods=_METHODS)
    return router


def image_file(rest: str, request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    found = _image_key(rest)
    if found is None or session.get(Image, found[0]) is None:
        return _page(404)
    if not can_view_image(session, _user(request, session), found[0]):
        return _page(403)
    return _redirect(request, settings, found[1])


def socket_value_file(
    pk: int, request: Request, session: SessionDep, settings: SettingsDep
) -> Response:
    key = visible_file_key(session, _user(request, session), pk)
    if key is None:
        return _page(404)
    return _redirect(request, settings, key)


def algorithm_image_file(
    pk: str, rest: str, request: Request, session: SessionDep, settings: SettingsDep
) -> Response:
    image_pk = canonical_uuid(pk)
    image = session.get(AlgorithmImage, image_pk) if image_pk else None
    if image is None:
        return _page(404)
    if not _is_editor(session, _user(request, session), image.algorithm_pk):
        return _page(403)
    return _redirect(request, settings, f"{_ALGORITHM_IMAGES}/{pk}/{rest}")


def unknown(rest: str) -> Response:
    return _page(404)
