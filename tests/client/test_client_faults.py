"""Faults the sandbox cannot produce yet, served by httpx.MockTransport (kept few).

A fake API origin answers `/media/...` with a 302 to a fake storage origin, as Grand Challenge
does; each test makes one of the two hops misbehave.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from gcfetch import IntegrityError, ServerError, TransferCancelled, TransferError
from gcfetch.http import HttpSession
from gcfetch.retry import RetryPolicy
from gcfetch.transfer import download

API = "https://gc.example.org/api/v1/"
MEDIA = "https://gc.example.org/media/images/file.mha"
STORAGE = "https://storage.example.org/images/file.mha?Signature=s"
BODY = bytes(range(256)) * 40
ETAG = '"v1"'

Handler = Callable[[httpx.Request], httpx.Response]


class _Session:
    def __init__(self, storage: Handler) -> None:
        self.requests: list[httpx.Request] = []
        self.sleeps: list[float] = []
        self._storage = storage

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.host == "gc.example.org":
            return httpx.Response(302, headers={"Location": STORAGE})
        assert "Authorization" not in request.headers
        return self._storage(request)

    def http(self) -> HttpSession:
        return HttpSession(
            API,
            "secret-token",
            transport=httpx.MockTransport(self.handle),
            retry=RetryPolicy(rng=lambda: 0.5),
            sleep=self.sleeps.append,
        )

    def storage_requests(self) -> list[httpx.Request]:
        return [r for r in self.requests if r.url.host == "storage.example.org"]


class _DroppingStream(httpx.SyncByteStream):
    """Yields `head`, then the connection drops."""

    def __init__(self, head: bytes) -> None:
        self._head = head

    def __iter__(self) -> Iterator[bytes]:
        yield self._head
        raise httpx.ReadError("connection reset by peer")


def _whole(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, content=BODY, headers={"ETag": ETAG})


def test_request_waits_retry_after_then_succeeds_when_server_is_busy() -> None:
    answers = iter([httpx.Response(503, headers={"Retry-After": "3"}), httpx.Response(200)])
    sleeps: list[float] = []
    http = HttpSession(
        API, "t", transport=httpx.MockTransport(lambda r: next(answers)), sleep=sleeps.append
    )
    assert http.request("GET", API + "algorithms/").status_code == 200
    assert sleeps == [3.0]


def test_request_raises_server_error_after_one_retry_when_500_persists() -> None:
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(500, json={"detail": "boom"})

    http = HttpSession(API, "t", transport=httpx.MockTransport(handler), sleep=lambda s: None)
    with pytest.raises(ServerError) as caught:
        http.request("GET", API + "algorithms/")
    assert len(calls) == 2
    assert caught.value.server_message == "boom"


def test_request_raises_transfer_error_after_retries_when_nothing_listens() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    sleeps: list[float] = []
    http = HttpSession(
        f"http://127.0.0.1:{port}/api/v1/", "t", sleep=sleeps.append, retry=RetryPolicy(connect=2)
    )
    with pytest.raises(TransferError) as caught:
        http.request("GET", f"http://127.0.0.1:{port}/api/v1/algorithms/")
    assert len(sleeps) == 2
    assert isinstance(caught.value.__cause__, httpx.ConnectError)


def test_transfer_raises_integrity_error_and_drops_part_when_body_is_short(
    tmp_path: Path,
) -> None:
    def short(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=BODY[:100], headers={"Content-Length": str(len(BODY))})

    target = tmp_path / "file.mha"
    with pytest.raises(IntegrityError):
        download(_Session(short).http(), MEDIA, target)
    assert list(tmp_path.iterdir()) == []


def test_transfer_renews_link_via_media_url_when_storage_answers_403(tmp_path: Path) -> None:
    answers = iter([httpx.Response(403, text="<Error>expired</Error>"), _whole(None)])  # type: ignore[arg-type]
    session = _Session(lambda r: next(answers))
    result = download(session.http(), MEDIA, tmp_path / "file.mha")
    assert result.size == len(BODY)
    hosts = [r.url.host for r in session.requests]
    assert hosts == ["gc.example.org", "storage.example.org"] * 2


def test_transfer_resumes_with_range_when_connection_drops_mid_body(tmp_path: Path) -> None:
    def storage(request: httpx.Request) -> httpx.Response:
        if "Range" not in request.headers:
            return httpx.Response(
                200,
                stream=_DroppingStream(BODY[:1000]),
                headers={"ETag": ETAG, "Content-Length": str(len(BODY))},
            )
        assert request.headers["Range"] == "bytes=1000-"
        assert request.headers["If-Range"] == ETAG
        rest = BODY[1000:]
        return httpx.Response(
            206,
            content=rest,
            headers={
                "ETag": ETAG,
                "Content-Range": f"bytes 1000-{len(BODY) - 1}/{len(BODY)}",
            },
        )

    session = _Session(storage)
    result = download(session.http(), MEDIA, tmp_path / "file.mha")
    assert result.resumed
    assert (tmp_path / "file.mha").read_bytes() == BODY
    assert result.bytes_received == len(BODY)
    assert len(session.storage_requests()) == 2


def test_transfer_truncates_part_when_ranged_request_gets_200(tmp_path: Path) -> None:
    target = tmp_path / "file.mha"
    Path(f"{target}.part").write_bytes(b"x" * 500)
    Path(f"{target}.part.json").write_text(
        f'{{"etag": {ETAG!r}, "url": "{MEDIA}"}}'.replace("'", "")
    )
    session = _Session(_whole)
    result = download(session.http(), MEDIA, target)
    assert session.storage_requests()[0].headers.get("Range") == "bytes=500-"
    assert not result.resumed
    assert target.read_bytes() == BODY


def test_transfer_keeps_part_when_cancelled(tmp_path: Path) -> None:
    cancel = threading.Event()
    target = tmp_path / "file.mha"

    def on_bytes(count: int) -> None:
        cancel.set()

    with pytest.raises(TransferCancelled):
        download(
            _Session(_whole).http(), MEDIA, target, on_bytes=on_bytes, cancel=cancel, chunk_size=100
        )
    assert Path(f"{target}.part").stat().st_size == 100
    assert not target.exists()
