"""Responses as DRF and Django send them: compact JSON with `Content-Type: application/json`
exactly (no charset, §1.1), and the HTML error pages Django serves outside DRF (§2)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi.responses import HTMLResponse, JSONResponse, Response

_NOT_FOUND_PAGE = (
    '<!doctype html>\n<html lang="en">\n<head>\n  <title>Not Found</title>\n</head>\n<body>\n'
    "  <h1>Not Found</h1><p>The requested resource was not found on this server.</p>\n"
    "</body>\n</html>\n"
)


def json_response(
    data: Any, status_code: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    """Compact UTF-8 JSON (DRF's renderer: no ASCII escaping, no NaN), exact content type."""
    return JSONResponse(data, status_code=status_code, headers=dict(headers or {}))


def detail_response(
    status_code: int, detail: str, headers: Mapping[str, str] | None = None
) -> Response:
    """DRF's error body `{"detail": ...}`."""
    return json_response({"detail": detail}, status_code, headers)


def html_not_found() -> Response:
    """Django's plain 404 page, `text/html; charset=utf-8`."""
    return HTMLResponse(_NOT_FOUND_PAGE, status_code=404)
