"""Faults no real HTTP server can show, served by httpx.MockTransport (kept few).

The sandbox injects the others (test_client_sandbox_faults.py). Left here: a JSON error body
on every answer, a body shorter than its Content-Length without a broken connection (over real
HTTP the connection error comes first: the sandbox's `short` fault tests that path), nothing
listening, a cancel between two pieces of a body, and a body in pieces of an exact size. A fake
API origin answers `/media/...` with a 302 to a fake storage origin, as Grand Challenge does.
"""

from __future__ import annotations

import hashlib
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from gcfetch import IntegrityError, ServerError, TransferCancelled, TransferError, config
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


def _whole(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, content=BODY, headers={"ETag": ETAG})


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


def _in_pieces(pieces: list[bytes], then: Callable[[], None] = lambda: None) -> Handler:
    """Storage answering the concatenated `pieces` one by one; `then` runs before the last."""
    whole = b"".join(pieces)

    def body() -> Iterator[bytes]:
        yield from pieces[:-1]
        then()
        yield pieces[-1]

    def handler(request: httpx.Request) -> httpx.Response:
        headers = {"ETag": ETAG, "Content-Length": str(len(whole))}
        return httpx.Response(200, content=body(), headers=headers)

    return handler


def test_transfer_keeps_part_when_cancelled_between_pieces(tmp_path: Path) -> None:
    cancel = threading.Event()
    target = tmp_path / "file.mha"
    storage = _in_pieces([BODY[:100], BODY[100:]], then=cancel.set)
    with pytest.raises(TransferCancelled):
        download(_Session(storage).http(), MEDIA, target, cancel=cancel)
    assert Path(f"{target}.part").read_bytes() == BODY[:100]
    assert not target.exists()


def test_transfer_writes_and_counts_small_pieces_in_blocks(tmp_path: Path) -> None:
    """1 MiB in 16 KiB pieces (a TLS record each) reaches on_bytes in 256 KiB blocks."""
    body = bytes(range(256)) * 4096
    pieces = [body[start : start + 16 * 1024] for start in range(0, len(body), 16 * 1024)]
    counts: list[int] = []
    target = tmp_path / "file.mha"
    result = download(_Session(_in_pieces(pieces)).http(), MEDIA, target, on_bytes=counts.append)
    assert counts == [config.WRITE_BLOCK] * (len(body) // config.WRITE_BLOCK)
    assert target.read_bytes() == body
    assert result.sha256 == hashlib.sha256(body).hexdigest()
