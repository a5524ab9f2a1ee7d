"""Placeholder router; replaced by its owner."""

from __future__ import annotations

from fastapi import APIRouter


def media_router() -> APIRouter:
    return APIRouter()
