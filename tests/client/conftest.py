"""Fixtures for the client tests: a Client per demo user, and a transport that records requests."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from gcfetch import Client
from gcfetch.sandbox import Sandbox
from gcfetch.sandbox.demo import DemoInfo


class RecordingTransport(httpx.HTTPTransport):
    """A real HTTP transport that remembers every request it sends."""

    def __init__(self) -> None:
        super().__init__()
        self.requests: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return super().handle_request(request)


@pytest.fixture
def recorder() -> RecordingTransport:
    return RecordingTransport()


@pytest.fixture
def client(sandbox: Sandbox, demo: DemoInfo, recorder: RecordingTransport) -> Iterator[Client]:
    """The editor's client: sees both algorithms, their images and most jobs."""
    with Client(token=demo.tokens["editor"], base_url=sandbox.base_url, transport=recorder) as c:
        yield c
