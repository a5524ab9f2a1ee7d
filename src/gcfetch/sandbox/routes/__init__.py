"""One router per resource; assembled here for `create_app`."""

from __future__ import annotations

from fastapi import APIRouter


def api_router() -> APIRouter:
    """Everything under `/api/v1/`."""
    router = APIRouter()
    return router


def media_router() -> APIRouter:
    """First hop of downloads: `/media/...` on the API origin (§6.1)."""
    router = APIRouter()
    return router


def storage_router() -> APIRouter:
    """Second hop: signed URLs on the storage origin (§6.2)."""
    router = APIRouter()
    return router
