"""Placeholder router; replaced by its owner."""

from __future__ import annotations

from fastapi import APIRouter


def storage_router() -> APIRouter:
    return APIRouter()
