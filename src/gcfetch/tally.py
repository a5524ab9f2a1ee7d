"""Requests a session sent, by kind: what `gcfetch outputs -v` and the benchmarks report."""

from __future__ import annotations

import threading
from collections import Counter

import httpx

from gcfetch.auth import origin_of

KINDS = ("job pages", "image lists", "image details", "/media/", "storage", "other API", "retries")


def kind_of(url: httpx.URL, api_origin: str) -> str:
    """The kind of a request to `url`; anything off the API origin is storage."""
    if origin_of(url) != api_origin:
        return "storage"
    path = url.path
    if "/media/" in path:
        return "/media/"
    if path.endswith("/algorithms/jobs/"):
        return "job pages"
    if path.endswith("/cases/images/"):
        return "image lists"
    return "image details" if "/cases/images/" in path else "other API"


class RequestTally:
    """Counts every attempt of every request by kind; an attempt after the first one of a
    request also counts as a retry. Thread-safe."""

    def __init__(self, api_origin: str) -> None:
        self._api_origin = api_origin
        self._counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def count(self, url: httpx.URL, *, retry: bool) -> None:
        kind = kind_of(url, self._api_origin)
        with self._lock:
            self._counts[kind] += 1
            self._counts["retries"] += retry

    def snapshot(self) -> Counter[str]:
        with self._lock:
            return Counter(self._counts)


def since(now: Counter[str], before: Counter[str]) -> dict[str, int]:
    """The requests of each kind between two snapshots, every kind named (in KINDS order)."""
    return {kind: now[kind] - before[kind] for kind in KINDS}
