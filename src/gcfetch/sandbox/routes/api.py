"""Placeholder router; replaced by its owner."""

from __future__ import annotations

from fastapi import APIRouter


def api_router() -> APIRouter:
    return APIRouter()
