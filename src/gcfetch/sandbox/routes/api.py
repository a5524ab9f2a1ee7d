"""The JSON API under `/api/v1/`: one router per resource, plus Django's edges.

The API root answers as GC's does for a non-staff user: 401 without a token, 403 with one.
Django's edges: a path without its trailing slash that would resolve with one answers 301 to
the slashed URL (APPEND_SLASH); another method on a read-only resource answers 405 after
authentication; any other path is Django's HTML 404 page, never JSON.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from fastapi.routing import APIRoute
from starlette.routing import compile_path

from gcfetch.sandbox.deps import READ_METHODS, UserDep, authenticated_user
from gcfetch.sandbox.responses import detail_response, html_not_found
from gcfetch.sandbox.routes.algorithm_images import algorithm_images_router
from gcfetch.sandbox.routes.algorithms import algorithms_router
from gcfetch.sandbox.routes.archives import archives_router
from gcfetch.sandbox.routes.images import images_router
from gcfetch.sandbox.routes.interfaces import interfaces_router
from gcfetch.sandbox.routes.jobs import jobs_router
from gcfetch.sandbox.routes.reader_studies import reader_studies_router
from gcfetch.sandbox.routes.version import version_router

_ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


def api_router() -> APIRouter:
    """Everything below `/api/v1`; the specific routes come before the catch-all."""
    router = APIRouter()
    # algorithms/images/ and algorithms/jobs/ before algorithms/{pk}/, which would match them
    children = (
        version_router(),
        algorithm_images_router(),
        jobs_router(),
        algorithms_router(),
        images_router(),
        interfaces_router(),
        archives_router(),
        reader_studies_router(),
    )
    for child in children:
        router.include_router(child)
    router.add_api_route("/", api_root, methods=READ_METHODS)
    router.add_api_route("", api_root_without_slash, methods=_ALL_METHODS, include_in_schema=False)
    router.add_api_route(
        "/{rest:path}", _fallback(children), methods=_ALL_METHODS, include_in_schema=False
    )
    return router


def api_root(user: UserDep) -> Response:
    """GC's API root is for staff only: 401 without a token, 403 with a user's (the sandbox
    has no staff)."""
    authenticated_user(user)
    return detail_response(403, "You do not have permission to perform this action.")


def api_root_without_slash(request: Request) -> Response:
    return _append_slash(request)


def _fallback(children: tuple[APIRouter, ...]) -> Callable[..., Response]:
    """The catch-all view: Django's answer to a path no view of `children` takes."""
    patterns = [
        compile_path(route.path)[0]
        for child in children
        for route in child.routes
        if isinstance(route, APIRoute) and "GET" in route.methods
    ]

    def resolves(path: str) -> bool:
        """Whether a GET on `path` (below `/api/v1`) would reach one of the views."""
        return any(pattern.match(path) for pattern in patterns)

    def fallback(request: Request, rest: str, _user: UserDep) -> Response:
        """Unslashed paths -> 301, other methods on a resource -> 405, otherwise HTML 404."""
        path = "/" + rest
        if not path.endswith("/"):
            return _append_slash(request) if resolves(path + "/") else html_not_found()
        if resolves(path):
            return detail_response(
                405,
                f'Method "{request.method}" not allowed.',
                headers={"Allow": "GET, HEAD, OPTIONS"},
            )
        return html_not_found()

    return fallback


def _append_slash(request: Request) -> Response:
    target = request.url.path + "/"
    if request.url.query:
        target += "?" + request.url.query
    return RedirectResponse(target, status_code=301)
