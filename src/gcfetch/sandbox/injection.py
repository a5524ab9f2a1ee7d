"""Fault injection at run time: the live rules, the origin middleware and the faulty body.

Where each fault acts (one hook per place):
- latency and `status` faults: `FaultMiddleware`, around every request of an origin (it also
  records every request in `Traffic`);
- `expired`: the `/media/` redirect (routes/media.py) asks `FaultInjector.link_expired`;
- `drop`, `short`, `slow`, `etag`, `changed`, `gzip`, `nolength`, `ifrange`, `norange` and
  the bandwidth caps: `serve_blob` in
  routes/storage_origin.py asks `FaultInjector.body_faults` and wraps its answer with
  `BodyFaults.wrap`
  (`gzip` picks a compressed copy there, when `BodyFaults.compress` says so).
"""

from __future__ import annotations

import asyncio
import fnmatch
import hashlib
import logging
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass, field
from email.utils import formatdate

from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gcfetch.sandbox.faults import (
    BODY_KINDS,
    GZIP_SUFFIXES,
    Fault,
    FaultSettings,
    Origin,
    draw,
)
from gcfetch.sandbox.traffic import Served, Traffic


class InjectedFault(Exception):
    """Raised inside a response to make the server abort the connection on purpose."""


class _QuietInjected(logging.Filter):
    """Keep uvicorn from logging our own aborts as application errors."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], InjectedFault))


_quiet = _QuietInjected()


class ConnectionPacer:
    """The pace of one storage connection: its bytes go out at `rate` per second, across the
    answers it carries. Idle time is saved up for at most BURST seconds, so that the event
    loop's lateness in waking a sender does not lower the rate."""

    BURST = 0.05

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.due = 0.0  # time.monotonic() at which the bytes sent so far have been paid for

    def take(self, size: int) -> float:
        """Seconds to wait after sending `size` more bytes (0 or more)."""
        now = time.monotonic()
        self.due = max(self.due, now - self.BURST) + size / self.rate
        return max(0.0, self.due - now)


_PACERS_KEPT = 4096  # connections remembered; older ones are forgotten


class FaultInjector:
    """The live fault settings of one sandbox, shared by both origins; counts what fired."""

    def __init__(self, settings: FaultSettings) -> None:
        self._lock = threading.Lock()
        self.settings = settings
        self._seen: Counter[tuple[int, str]] = Counter()
        self._serial = 0
        self.injected: Counter[str] = Counter()
        self._pacers: OrderedDict[Hashable, ConnectionPacer] = OrderedDict()
        logging.getLogger("uvicorn.error").addFilter(_quiet)

    def configure(self, settings: FaultSettings) -> None:
        """Swap the fault settings (for the next request); per-path counts start again."""
        with self._lock:
            self.settings = settings
            self._seen.clear()

    def delay(self, origin: Origin, path: str) -> float:
        """Seconds to wait before answering a request to `path` on `origin`."""
        fixed, jitter = self.settings.latency(origin)
        if not fixed and not jitter:
            return 0.0
        with self._lock:
            self._serial += 1
            serial = self._serial
        return (fixed + jitter * draw(self.settings.seed, "jitter", path, serial)) / 1000

    def fire(self, kinds: tuple[str, ...], origin: Origin, path: str) -> list[Fault]:
        """The rules of `kinds` that fire for this request (each rule counts its paths)."""
        settings = self.settings
        fired: list[Fault] = []
        with self._lock:
            for index, rule in enumerate(settings.rules):
                if rule.kind not in kinds or not rule.applies_to(origin):
                    continue
                if not fnmatch.fnmatchcase(path, rule.path):
                    continue
                self._seen[index, path] += 1
                n = self._seen[index, path]
                if n <= rule.first or draw(settings.seed, index, path, n) < rule.rate:
                    fired.append(rule)
                    self.injected[rule.kind] += 1
        return fired

    def link_expired(self, path: str) -> bool:
        """Whether the `/media/` redirect for `path` should hand out an expired link."""
        return bool(self.fire(("expired",), "api", path))

    def body_faults(self, path: str, connection: Hashable = None) -> BodyFaults:
        """What goes wrong with the storage answer for `path` (empty if nothing), sent on
        `connection` (e.g. the client's (host, port)) for the per-connection cap."""
        fired = self.fire(BODY_KINDS, "storage", path)
        bandwidth = self.settings.storage_bytes_per_second
        pacer = self._pacer(connection)
        if not fired:
            return BodyFaults(bandwidth=bandwidth, pacer=pacer)
        with self._lock:
            self._serial += 1
            return BodyFaults.of(fired, path, self._serial, bandwidth, pacer)

    def _pacer(self, connection: Hashable) -> ConnectionPacer | None:
        """The pacer of `connection` under the per-connection cap; None without a cap."""
        rate = self.settings.storage_conn_bytes_per_second
        if not rate or connection is None:
            return None
        with self._lock:
            pacer = self._pacers.pop(connection, None)
            if pacer is None or pacer.rate != rate:
                pacer = ConnectionPacer(rate)
            self._pacers[connection] = pacer
            while len(self._pacers) > _PACERS_KEPT:
                self._pacers.popitem(last=False)
            return pacer


@dataclass(frozen=True)
class BodyFaults:
    """The storage faults that fired for one request."""

    drop_after: int | None = None
    missing: int = 0
    delay: float = 0.0
    etag: str | None = None
    changed: bool = False
    bandwidth: float = 0.0
    gzip: bool = False
    gzip_always: bool = False
    no_length: bool = False
    star_total: bool = False
    ignore_if_range: bool = False
    ignore_range: bool = False
    pacer: ConnectionPacer | None = field(default=None, compare=False)

    @classmethod
    def of(
        cls,
        fired: list[Fault],
        path: str,
        serial: int,
        bandwidth: float,
        pacer: ConnectionPacer | None = None,
    ) -> BodyFaults:
        by_kind = {rule.kind: rule for rule in fired}
        etag = None
        if "changed" in by_kind:
            etag = '"changed-' + hashlib.md5(path.encode(), usedforsecurity=False).hexdigest() + '"'
        elif "etag" in by_kind:
            etag = f'"other-{serial}"'
        return cls(
            drop_after=by_kind["drop"].after_bytes if "drop" in by_kind else None,
            missing=max(1, by_kind["short"].after_bytes) if "short" in by_kind else 0,
            delay=by_kind["slow"].delay_ms / 1000 if "slow" in by_kind else 0.0,
            etag=etag,
            changed="changed" in by_kind,
            bandwidth=bandwidth,
            gzip="gzip" in by_kind,
            gzip_always="gzip" in by_kind and by_kind["gzip"].always,
            no_length="nolength" in by_kind,
            star_total="nolength" in by_kind and by_kind["nolength"].star_total,
            ignore_if_range="ifrange" in by_kind,
            ignore_range="norange" in by_kind,
            pacer=pacer,
        )

    def compress(self, path: str, accept_encoding: str | None) -> bool:
        """Whether the `gzip` fault compresses the body of `path` for this Accept-Encoding."""
        if not self.gzip or not path.lower().endswith(GZIP_SUFFIXES):
            return False
        return self.gzip_always or accepts_gzip(accept_encoding)

    @property
    def alters_body(self) -> bool:
        return bool(
            self.drop_after is not None
            or self.missing
            or self.delay
            or self.bandwidth
            or self.no_length
            or self.ignore_if_range
            or self.ignore_range
            or self.pacer is not None
        )

    def wrap(self, response: Response) -> Response:
        return _FaultyBody(response, self) if self.alters_body else response


def accepts_gzip(accept_encoding: str | None) -> bool:
    """Whether an Accept-Encoding header accepts gzip (RFC 9110 12.5.3), as CDNs read it.

    `gzip` or `x-gzip` with a q-value above 0, or `*` above 0 when gzip is not listed; no
    header, `identity` alone and `gzip;q=0` do not.
    """
    weights: dict[str, float] = {}
    for item in (accept_encoding or "").split(","):
        coding, *params = [p.strip() for p in item.split(";")]
        weight = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        if coding:
            weights[coding.lower()] = weight
    for name in ("gzip", "x-gzip"):
        if name in weights:
            return weights[name] > 0
    return weights.get("*", 0.0) > 0


def _length_less(message: Message, star_total: bool) -> Message:
    """The response start without Content-Length (`*` as the Content-Range total if asked)."""
    headers = []
    for name, value in message["headers"]:
        if name == b"content-length":
            continue
        if name == b"content-range" and star_total and b"-" in value:
            value = value.rsplit(b"/", 1)[0] + b"/*"
        headers.append((name, value))
    return {**message, "headers": headers}


class _FaultyBody(Response):
    """A response around another one: cuts, shortens, delays, throttles or un-sizes its body."""

    def __init__(self, inner: Response, faults: BodyFaults) -> None:  # no super(): wraps `inner`
        self.inner = inner
        self.faults = faults
        self.background = None
        self.status_code = inner.status_code

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        ignored = {b"if-range"} if self.faults.ignore_if_range else set()
        if self.faults.ignore_range:  # the inner response then sends the whole body, a 200
            ignored |= {b"range", b"if-range"}
        if ignored:  # without If-Range the inner response serves any Range asked for
            headers = [(k, v) for k, v in scope["headers"] if k.lower() not in ignored]
            scope = {**scope, "headers": headers}
        await self.inner(scope, receive, _FaultySend(send, self.faults))


class _FaultySend:
    """The `send` of one faulty answer: alters its start message, then each body message."""

    def __init__(self, send: Send, faults: BodyFaults) -> None:
        self._send = send
        self.faults = faults
        self.sent = 0  # body bytes passed on so far
        self.started = False  # a body message went by (the delay comes before the first)
        self.ended = False  # a length-less body was cut: the rest of it goes nowhere

    async def __call__(self, message: Message) -> None:
        if self.ended:
            return
        if message["type"] == "http.response.start":
            await self._send(self._start(message))
        elif message["type"] == "http.response.body":
            await self._body(message)
        else:
            await self._send(message)

    def _start(self, message: Message) -> Message:
        """The headers: a Content-Length too large (`short`), or none at all (`nolength`)."""
        faults = self.faults
        if faults.missing:
            message = dict(message)
            message["headers"] = [
                (k, str(int(v) + faults.missing).encode() if k == b"content-length" else v)
                for k, v in message["headers"]
            ]
        if faults.no_length:
            message = _length_less(message, faults.star_total)
        return message

    async def _body(self, message: Message) -> None:
        """One body message: delayed, cut, cut short of its length, or throttled."""
        faults = self.faults
        body: bytes = message.get("body", b"")
        if not self.started and faults.delay:
            await asyncio.sleep(faults.delay)
        self.started = True
        if faults.drop_after is not None and self.sent + len(body) > faults.drop_after:
            await self._cut(body[: faults.drop_after - self.sent])
            return
        self.sent += len(body)
        if faults.missing and not message.get("more_body", False):
            await self._send({"type": "http.response.body", "body": body, "more_body": True})
            raise InjectedFault(f"body {faults.missing} bytes short of its Content-Length")
        if faults.bandwidth or faults.pacer is not None:
            await _throttled(self._send, message, faults.bandwidth, faults.pacer)
        else:
            await self._send(message)

    async def _cut(self, head: bytes) -> None:
        """Send `head`, then end a length-less body cleanly, or else drop the connection."""
        if self.faults.no_length:  # nothing tells the client that bytes are missing
            self.ended = True
            await self._send({"type": "http.response.body", "body": head})
            return
        await self._send({"type": "http.response.body", "body": head, "more_body": True})
        raise InjectedFault(f"connection dropped after {self.faults.drop_after} bytes")


_PIECE = 64 * 1024


async def _throttled(
    send: Send, message: Message, bandwidth: float, pacer: ConnectionPacer | None
) -> None:
    """Send a body message in pieces, at most `bandwidth` bytes per second (0: no limit) and
    at the pace of its connection's `pacer`, if any."""
    body: bytes = message.get("body", b"")
    more = message.get("more_body", False)
    if not body:
        await send(message)
    for start in range(0, len(body), _PIECE):
        piece = body[start : start + _PIECE]
        last = start + _PIECE >= len(body)
        await send({"type": "http.response.body", "body": piece, "more_body": more or not last})
        wait = len(piece) / bandwidth if bandwidth else 0.0
        if pacer is not None:
            wait = max(wait, pacer.take(len(piece)))
        await asyncio.sleep(wait)


def _status_response(rule: Fault) -> Response:
    headers = {}
    if rule.retry_after is not None:
        if rule.retry_after_date:
            # An HTTP date has whole seconds: round up, so the wait is never shorter.
            headers["Retry-After"] = formatdate(time.time() + rule.retry_after + 1, usegmt=True)
        else:
            headers["Retry-After"] = f"{rule.retry_after:g}"
    body = f"<html><body><h1>{rule.status}</h1><p>Injected fault.</p></body></html>\n"
    return Response(body, status_code=rule.status, headers=headers, media_type="text/html")


class FaultMiddleware:
    """ASGI middleware of one origin: records traffic, adds latency, answers `status` faults."""

    def __init__(
        self, app: ASGIApp, injector: FaultInjector, traffic: Traffic, origin: Origin
    ) -> None:
        self.app = app
        self.injector = injector
        self.traffic = traffic
        self.origin: Origin = origin

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        headers = dict(scope["headers"])
        status = 0
        sent = 0

        async def counting_send(message: Message) -> None:
            nonlocal status, sent
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                sent += len(message.get("body", b""))
            await send(message)

        ticket = self.traffic.started()
        fault: str | None = None
        try:
            delay = self.injector.delay(self.origin, path)
            if delay > 0:
                await asyncio.sleep(delay)
            fired = self.injector.fire(("status",), self.origin, path)
            if fired:
                fault = f"status {fired[0].status}"
                await _status_response(fired[0])(scope, receive, counting_send)
            else:
                await self.app(scope, receive, counting_send)
        finally:
            self.traffic.finished(
                ticket,
                Served(
                    origin=self.origin,
                    method=scope["method"],
                    path=path,
                    status=status,
                    body_bytes=sent,
                    authorization=b"authorization" in headers,
                    range=_header(headers, b"range"),
                    fault=fault,
                    accept_encoding=_header(headers, b"accept-encoding"),
                ),
            )


def _header(headers: dict[bytes, bytes], name: bytes) -> str | None:
    return headers[name].decode("latin-1") if name in headers else None
