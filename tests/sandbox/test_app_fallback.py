"""Paths outside the API's and media's routes answer Django's HTML 404 page."""

from __future__ import annotations

import httpx
import pytest

from gcfetch.sandbox import Sandbox


@pytest.mark.parametrize("path", ["/api/v2/algorithms/", "/api/", "/nothing-here", "/media/x"])
def test_api_origin_answers_html_404_when_path_is_unknown(sandbox: Sandbox, path: str) -> None:
    origin = sandbox.base_url.removesuffix("/api/v1/")
    response = httpx.get(origin + path)
    assert response.status_code == 404
    assert response.headers["content-type"] == "text/html; charset=utf-8"
