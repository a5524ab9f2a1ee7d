"""More download threads than pooled connections: requests wait for a slot, never in the pool.

httpcore 1.0.x can close a connection that it has handed to a queued request
(encode/httpcore#1110); the session therefore never lets the pool queue requests.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from gcfetch import Client, config
from gcfetch.sandbox import Sandbox
from gcfetch.sandbox.demo import DemoInfo
from gcfetch.transfer import download


class _Closing(httpx.SyncByteStream):
    def __init__(self, stream: httpx.SyncByteStream, on_close) -> None:
        self._stream, self._on_close = stream, on_close

    def __iter__(self):
        yield from self._stream

    def close(self) -> None:
        try:
            self._stream.close()
        finally:
            self._on_close()


class InFlightTransport(httpx.HTTPTransport):
    """A real transport that tracks the most requests in flight at once (until body closed)."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self.now = self.peak = self.total = 0

    def _done(self) -> None:
        with self._lock:
            self.now -= 1

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            self.now += 1
            self.total += 1
            self.peak = max(self.peak, self.now)
        try:
            response = super().handle_request(request)
        except BaseException:
            self._done()
            raise
        response.stream = _Closing(response.stream, self._done)
        return response


def test_downloads_keep_in_flight_requests_within_the_pool_when_threads_outnumber_it(
    sandbox: Sandbox, demo: DemoInfo, tmp_path: Path
) -> None:
    transport = InFlightTransport()
    pool = 1 + config.EXTRA_CONNECTIONS
    with Client(
        token=demo.tokens["editor"],
        base_url=sandbox.base_url,
        transport=transport,
        max_concurrent_downloads=1,
    ) as client:
        jobs = client.algorithm_jobs.iterate_all(
            params={"algorithm_image__algorithm": demo.algorithms[demo.public_algorithm]}
        )
        urls = [value.file for job in jobs for value in job.outputs if value.file]
        assert len(urls) > 4 * pool
        with ThreadPoolExecutor(4 * pool) as threads:
            results = list(
                threads.map(
                    lambda item: download(client.http, item[1], tmp_path / f"{item[0]}.bin"),
                    enumerate(urls),
                )
            )
    assert all(result.size > 0 and result.path.is_file() for result in results)
    assert transport.total >= 2 * len(urls)
    assert transport.peak <= pool
