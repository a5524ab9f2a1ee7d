"""A TLS sandbox for one scenario: bench data, latency, and server-side request counters."""

from __future__ import annotations

import os
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gcfetch.sandbox import Sandbox, SandboxSettings
from gcfetch.sandbox.demo import DemoInfo, build_demo
from gcfetch.sandbox.faults import FaultSettings

JOB_LIST = "/api/v1/algorithms/jobs/"
IMAGE_LIST = "/api/v1/cases/images/"


class Counters:
    """Requests and response body bytes per kind: job-list, image-list (bulk image metadata),
    image-detail, api (anything else of the API), media, storage."""

    def __init__(self) -> None:
        self.requests: Counter[str] = Counter()
        self.body_bytes: Counter[str] = Counter()

    def reset(self) -> None:
        self.requests.clear()
        self.body_bytes.clear()

    def snapshot(self) -> dict[str, dict[str, int]]:
        return {"requests": dict(self.requests), "body_bytes": dict(self.body_bytes)}


def _api_kind(path: str) -> str:
    if path == JOB_LIST:
        return "job-list"
    if path == IMAGE_LIST:
        return "image-list"
    return "image-detail" if path.startswith(IMAGE_LIST) else "api"


class CountingMiddleware:
    """ASGI middleware counting every request of one origin and the bytes of its answers."""

    def __init__(self, app: ASGIApp, counters: Counters, origin: str) -> None:
        self.app = app
        self.counters = counters
        self.origin = origin

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        if self.origin == "storage":
            kind = "storage"
        elif path.startswith("/media/"):
            kind = "media"
        else:
            kind = _api_kind(path)
        self.counters.requests[kind] += 1

        async def counting_send(message: Message) -> None:
            if message["type"] == "http.response.body":
                self.counters.body_bytes[kind] += len(message.get("body", b""))
            await send(message)

        await self.app(scope, receive, counting_send)


@dataclass
class Bench:
    """A running TLS sandbox on bench data, with what a contender needs to reach it."""

    sandbox: Sandbox
    info: DemoInfo
    counters: Counters

    @property
    def base_url(self) -> str:
        return self.sandbox.base_url

    @property
    def token(self) -> str:
        return self.info.tokens["editor"]

    def env(self) -> dict[str, str]:
        """The environment of a contender: token, CA bundle (verification stays on)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("GRAND_CHALLENGE")}
        env["GRAND_CHALLENGE_AUTHORIZATION"] = self.token
        env["SSL_CERT_FILE"] = str(self.sandbox.ca_path)
        env["CURL_CA_BUNDLE"] = str(self.sandbox.ca_path)
        env["PYTHONUNBUFFERED"] = "1"
        return env

    def set_latency(self, milliseconds: float, storage_ms: float | None = None) -> None:
        """`milliseconds` on every request; `storage_ms`, if given, on the storage origin's."""
        self.sandbox.set_faults(
            FaultSettings(latency_ms=milliseconds, storage_latency_ms=storage_ms)
        )


@contextmanager
def bench_sandbox(
    data_dir: Path,
    *,
    jobs: int,
    large_file_mib: int = 0,
    latency_ms: float = 0.0,
    storage_latency_ms: float | None = None,
    profile: str = "bench",
    conn_bytes_per_second: float = 0.0,
) -> Iterator[Bench]:
    """Build the bench data into `data_dir` (if absent), serve it over TLS, count requests.

    `profile` is the demo's `bench` (2 MiB images), `bench-small` (20 KB images) or `default`
    (the demo's own mix of outputs and statuses); `latency_ms` delays every request and
    `storage_latency_ms`, if given, replaces it on the storage origin; `conn_bytes_per_second`
    caps each storage connection (0: no cap).
    """
    settings = SandboxSettings(data_dir=data_dir, tls=True)
    info = build_demo(settings, profile=profile, jobs=jobs, large_file_mib=large_file_mib)
    counters = Counters()
    with Sandbox(settings) as sandbox:
        assert sandbox.apps is not None and sandbox.ca_path is not None
        # Added before the first request, so the apps' middleware stacks include it.
        sandbox.apps.api.add_middleware(CountingMiddleware, counters=counters, origin="api")
        sandbox.apps.storage.add_middleware(CountingMiddleware, counters=counters, origin="storage")
        bench = Bench(sandbox, info, counters)
        bench.sandbox.set_faults(
            FaultSettings(
                latency_ms=latency_ms,
                storage_latency_ms=storage_latency_ms,
                storage_conn_bytes_per_second=conn_bytes_per_second,
            )
        )
        yield bench


def python() -> str:
    """The interpreter of the project's venv (gcfetch and httpx installed)."""
    return sys.executable
