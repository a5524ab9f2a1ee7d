"""What a sandbox answered: one record per request, for tests and benchmarks to check.

Records are listed in the order the requests arrived (a client may send its next request
before the sandbox has finished logging the answer to the last one). Kept in memory: the last
`keep` records, plus per-path totals of file bytes (the bodies of 2xx
answers; error pages such as an injected 503 are not file bytes) that never age out.
"""

from __future__ import annotations

import threading
from collections import Counter, deque
from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class Served:
    """One request and what the sandbox answered to it."""

    origin: str  # "api" or "storage"
    method: str
    path: str
    status: int
    body_bytes: int
    authorization: bool  # the request carried an Authorization header
    range: str | None
    fault: str | None  # the injected fault, if any
    accept_encoding: str | None = None  # the request's Accept-Encoding header


class Traffic:
    """Thread-safe log of served requests, shared by both origins of one sandbox."""

    def __init__(self, keep: int = 200_000) -> None:
        self._lock = threading.Lock()
        self._records: deque[tuple[int, Served]] = deque(maxlen=keep)
        self._bytes: Counter[tuple[str, str]] = Counter()
        self._in_flight = 0
        self._tickets = 0

    def started(self) -> int:
        """A request arrived: its ticket (arrival order) for `finished`."""
        with self._lock:
            self._in_flight += 1
            self._tickets += 1
            return self._tickets

    def finished(self, ticket: int, served: Served) -> None:
        with self._lock:
            self._in_flight -= 1
            self._records.append((ticket, served))
            if 200 <= served.status < 300:
                self._bytes[served.origin, served.path] += served.body_bytes

    @property
    def in_flight(self) -> int:
        """Requests being answered now (a client that went away may still be counted)."""
        with self._lock:
            return self._in_flight

    def records(self) -> list[Served]:
        """The records, in the order the requests arrived."""
        with self._lock:
            return [served for _, served in sorted(self._records, key=lambda r: r[0])]

    def __iter__(self) -> Iterator[Served]:
        return iter(self.records())

    def bytes_sent(self, origin: str, path: str) -> int:
        """File bytes (2xx bodies) sent for `path` on `origin` since the start or `clear`."""
        with self._lock:
            return self._bytes[origin, path]

    def byte_totals(self, origin: str = "storage") -> dict[str, int]:
        """File bytes (2xx bodies) sent per path on `origin`."""
        with self._lock:
            return {path: n for (o, path), n in self._bytes.items() if o == origin}

    def clear(self) -> None:
        with self._lock:
            self._records.clear()
            self._bytes.clear()
