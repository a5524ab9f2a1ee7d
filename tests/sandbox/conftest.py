"""Fixtures of the sandbox's contract tests: plain httpx clients, as any API client would be."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from gcfetch.sandbox import Sandbox
from gcfetch.sandbox.demo import DemoInfo


@pytest.fixture(scope="module")
def editor(sandbox: Sandbox, demo: DemoInfo) -> Iterator[httpx.Client]:
    """The demo editor's httpx client on the API root."""
    headers = {"Authorization": f"Bearer {demo.tokens['editor']}"}
    with httpx.Client(base_url=sandbox.base_url, headers=headers) as client:
        yield client
