"""Fault injection: what a sandbox does wrong on purpose, and the middleware that does it.

`FaultSettings` is frozen and part of `SandboxSettings`; a running sandbox can swap it with
`Sandbox.set_faults`. Every random choice is a hash of (seed, what, path, n-th request to that
path), so a failing run replays exactly under the same seed, whatever the order of requests.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass
from typing import Literal

from starlette.types import ASGIApp, Receive, Scope, Send

Origin = Literal["api", "storage"]


@dataclass(frozen=True)
class FaultSettings:
    """Faults of one sandbox; the defaults inject nothing.

    `latency_ms` (+ up to `jitter_ms`, uniformly) delays every request of both origins;
    `storage_latency_ms` / `storage_jitter_ms` override them for the storage origin.
    """

    seed: int = 0
    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    storage_latency_ms: float | None = None
    storage_jitter_ms: float | None = None

    def latency(self, origin: Origin) -> tuple[float, float]:
        """(fixed, jitter) in milliseconds for `origin`."""
        if origin == "storage":
            fixed = self.latency_ms if self.storage_latency_ms is None else self.storage_latency_ms
            jitter = self.jitter_ms if self.storage_jitter_ms is None else self.storage_jitter_ms
            return fixed, jitter
        return self.latency_ms, self.jitter_ms


def draw(seed: int, *parts: object) -> float:
    """A deterministic number in [0, 1) for `parts` under `seed`."""
    text = "\x1f".join(str(p) for p in (seed, *parts))
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big") / 2**64


class FaultInjector:
    """The live fault settings of one sandbox, shared by both origins."""

    def __init__(self, settings: FaultSettings) -> None:
        self.settings = settings
        self._serial = 0

    def configure(self, settings: FaultSettings) -> None:
        """Swap the fault settings (takes effect for the next request)."""
        self.settings = settings

    def delay(self, origin: Origin, path: str) -> float:
        """Seconds to wait before answering a request to `path` on `origin`."""
        fixed, jitter = self.settings.latency(origin)
        if not fixed and not jitter:
            return 0.0
        self._serial += 1
        return (fixed + jitter * draw(self.settings.seed, "jitter", path, self._serial)) / 1000


class FaultMiddleware:
    """ASGI middleware of one origin: latency, without blocking the event loop."""

    def __init__(self, app: ASGIApp, injector: FaultInjector, origin: Origin) -> None:
        self.app = app
        self.injector = injector
        self.origin: Origin = origin

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        delay = self.injector.delay(self.origin, scope["path"])
        if delay > 0:
            await asyncio.sleep(delay)
        await self.app(scope, receive, send)
