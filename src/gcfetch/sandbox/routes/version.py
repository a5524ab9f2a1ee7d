"""`GET /api/v1/gcapi/`: the gcapi versions the server supports (§5.1)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from gcfetch.sandbox.deps import READ_METHODS, SettingsDep, UserDep
from gcfetch.sandbox.responses import json_response


def version_router() -> APIRouter:
    router = APIRouter()

    @router.api_route("/gcapi/", methods=READ_METHODS)
    def gcapi_version(settings: SettingsDep, _user: UserDep) -> Response:
        """AllowAny, but authentication still runs: a bad Bearer token is a 401."""
        return json_response(
            {
                "latest_version": settings.gcapi_latest_version,
                "lowest_supported_version": settings.gcapi_lowest_supported_version,
            }
        )

    return router
