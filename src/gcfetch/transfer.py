"""One URL -> one file: `.part` file, Range resume, size check, sha256, fsync, os.replace.

`<target>.part` holds the bytes so far and `<target>.part.json` the storage ETag and the URL, so
a later call resumes with `Range: bytes=N-` and `If-Range: <etag>`. Bytes are appended only when
the answer is a 206 whose Content-Range starts at N; anything else empties the `.part` and only
then writes the new sidecar. A file is promoted only once its size matched the one announced,
or, if none was (chunked, or `bytes a-b/*`), the one a 1-byte request reports under the same
ETag. A final path never holds a partial file. Memory use does not depend on the file size.
A file of one write block (config.WRITE_BLOCK) at most gets its sidecar only when it is cut.

`stream_file` is the `/media/` two-hop: the API origin (with the token) answers with a redirect
to the storage, asked without the token; an expired signed link is renewed.

A large file (`segment_threshold`) whose one stream gcfetch.segments finds slow in its first
moment is handed over to it: ranged requests in parallel into the same `.part`, whose sidecar
then records pieces.

Every storage request asks for `Accept-Encoding: identity`: the file's own bytes, never a
compressed variant (a CDN may gzip JSON or CSV). A body that still arrives content-encoded is
refused before anything is written (ContentEncodingRefused).
"""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, NamedTuple

import httpx

from gcfetch import config
from gcfetch.api_errors import raise_for_status
from gcfetch.auth import check_url, display_url, origin_of
from gcfetch.errors import (
    APIError,
    BodyBrokeOff,
    IntegrityError,
    TransferCancelled,
    TransferError,
)
from gcfetch.files import hash_file, promote
from gcfetch.http import HttpSession, reading_body

if TYPE_CHECKING:
    from hashlib import _Hash

    from gcfetch.segments import Probe

logger = logging.getLogger(__name__)

_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)")
_IDENTITY = {"Accept-Encoding": "identity"}


@dataclass(frozen=True)
class TransferResult:
    """A file in place: its size and sha256, the storage's ETag, the bytes this call received
    and whether bytes left by an earlier attempt or run were kept."""

    path: Path
    size: int
    sha256: str
    etag: str | None
    bytes_received: int
    resumed: bool


class ContentEncodingRefused(IntegrityError):
    """Storage sent a content-encoded (e.g. gzip) body although identity was asked for."""


class _StartOver(TransferError):
    """The `.part` file was dropped because the server could not continue it; start again."""


@dataclass(frozen=True)
class SignedRequest:
    """A storage request the API signed in its URL or headers (a DICOM instance's): sent as
    given, never with the token. `renew()` asks the API for a fresh one when storage refuses
    this one as expired. `key` names it in messages and records (it holds no signature)."""

    key: str
    url: str
    headers: Mapping[str, str]
    renew: Callable[[], SignedRequest]


Source = str | SignedRequest  # a `/media/` URL, or a request signed by the API


@dataclass
class _Transfer:
    """One download's fixed inputs and its progress across attempts."""

    http: HttpSession
    url: str  # the `/media/` URL, or a signed request's key
    target: Path
    on_bytes: Callable[[int], None] | None
    cancel: threading.Event | None
    chunk_size: int
    segments: int = 1  # ranged requests at once for a large file (gcfetch.segments)
    segment_threshold: int = 0  # the size from which a file is fetched in pieces; 0: never
    received: int = 0  # body bytes received, all attempts together
    resumed: bool = False  # bytes an earlier attempt or run left in the `.part` were kept
    signed: SignedRequest | None = None  # the request to send, when the API signed one

    @property
    def source(self) -> Source:
        return self.signed or self.url

    @property
    def part(self) -> Path:
        return self.target.with_name(self.target.name + ".part")

    @property
    def sidecar(self) -> Path:
        return self.target.with_name(self.target.name + ".part.json")


class _Received(NamedTuple):
    """What the `.part` holds after an attempt, and what the storage said of the file."""

    size: int
    digest: _Hash
    etag: str | None
    total: int | None  # the full size announced, None if not announced


def download(
    http: HttpSession,
    url: Source,
    target: Path,
    *,
    on_bytes: Callable[[int], None] | None = None,
    cancel: threading.Event | None = None,
    chunk_size: int = config.CHUNK_SIZE,
    segments: int = config.DEFAULT_SEGMENTS,
    segment_threshold: int = config.DEFAULT_SEGMENT_THRESHOLD,
) -> TransferResult:
    """Move the bytes behind `url` (a `/media/` URL, or a SignedRequest) into `target`,
    atomically.

    Resumes an existing `<target>.part`; retries a broken-off body up to config.MAX_RESUMES
    times from where it stopped. A body sent without its size (chunked, or a Content-Range
    total of `*`) is checked against `remote_size` before it is promoted. Raises IntegrityError
    on a size mismatch or a size that cannot be learned (the `.part` is removed),
    ContentEncodingRefused (an IntegrityError) for a compressed body, TransferCancelled when
    `cancel` is set (the `.part` is kept), TransferError for a full disk or a transfer that
    keeps breaking off.

    A file of at least `segment_threshold` bytes (0: none) is fetched as up to `segments`
    ranged requests in parallel, each on a free connection slot (gcfetch.segments); a
    SignedRequest's file always comes as one stream.
    """
    signed = url if isinstance(url, SignedRequest) else None
    key = signed.key if signed else str(url)
    job = _Transfer(
        http, key, Path(target), on_bytes, cancel, chunk_size, segments, segment_threshold
    )
    if signed is not None:
        job.signed, job.segments = signed, 1
    for attempt in range(config.MAX_RESUMES + 1):
        before = job.received
        try:
            return _attempt(job)
        except (IntegrityError, TransferCancelled):
            raise
        except TransferError as exc:
            # A body that broke off is tried again even without new bytes (e.g. a read
            # timeout before the first byte); other errors only if bytes arrived.
            moved_on = job.received > before or isinstance(exc, (_StartOver, BodyBrokeOff))
            if attempt == config.MAX_RESUMES or not moved_on:
                raise
            logger.debug("resuming %s after: %s", display_url(key), exc)
    raise AssertionError("unreachable")  # pragma: no cover


def _attempt(job: _Transfer) -> TransferResult:
    """One try: fill the `.part` (resumed where possible), check its size, promote it.

    A full disk anywhere in it becomes a TransferError naming the directory.
    """
    try:
        job.target.parent.mkdir(parents=True, exist_ok=True)
        return _promote_checked(job, _receive(job))
    except OSError as exc:
        if exc.errno == errno.ENOSPC:
            raise _no_space(job.part) from exc
        raise


def _receive(job: _Transfer) -> _Received:
    """Fill the `.part`: continue it with Range and If-Range when its sidecar names an ETag,
    else write it anew; a 416 to a Range means it may already hold the whole file. A `.part`
    that a segmented download left is continued in pieces."""
    from gcfetch import segments

    pieces = segments.resume(job)
    if pieces is not None:
        return pieces
    offset = job.part.stat().st_size if job.part.exists() else 0
    etag = _read_etag(job.sidecar, job.url) if offset else None
    try:
        return _stream_into_part(job, offset, etag)
    except APIError as exc:
        if exc.status_code != 416 or not offset:
            raise
        return _whole_part(job, offset, etag, exc)


def _stream_into_part(job: _Transfer, offset: int, etag: str | None) -> _Received:
    """Ask for the bytes from `offset` (ranged only if `etag` is known) and write them: appended
    to the `.part` if the answer is a 206 starting there, else into an emptied `.part`."""
    from gcfetch import segments

    ranged = bool(offset and etag)
    headers = {**_IDENTITY, "Range": f"bytes={offset}-", "If-Range": etag} if ranged else _IDENTITY
    with stream_file(job.http, job.source, headers=headers) as response:
        _refuse_encoded(response, job.target, job.url)
        start, total = _placement(response)
        append = ranged and response.status_code == 206
        if start != (offset if append else 0):
            job.part.unlink(missing_ok=True)
            raise _StartOver(f"The storage sent bytes from {start}, not {offset}.", url=job.url)
        if append and response.headers.get("ETag") != etag:  # storage ignored If-Range
            job.part.unlink(missing_ok=True)
            raise _StartOver("The file changed since the .part was started.", url=job.url)
        etag = response.headers.get("ETag")
        body = _chunks(response, job.chunk_size)
        with segments.watch(job, response, total, etag) as probe:
            size, digest = _write_part(job, body, append, etag, total, probe)
            if probe is not None and probe.helpers:
                return segments.take_over(job, probe, response, body, size)
    return _Received(size, digest, etag, total)


def _write_part(
    job: _Transfer,
    body: Iterator[bytes],
    append: bool,
    etag: str | None,
    total: int | None,
    probe: Probe | None,
) -> tuple[int, _Hash]:
    """Write the body into the `.part` (after its bytes if `append`), fsynced; (size, sha256).
    Stops early, the rest of `body` unread, when `probe` finds the stream slow.

    A body of one block at most gets its sidecar only if it is cut (a kill then fetches it
    again whole): creating and removing one more file per download costs more than that.
    """
    with open(job.part, "ab" if append else "wb") as out:
        # "wb" has emptied an old .part; only now may the sidecar name the new version
        # (the other way round, a kill in between left old bytes under the new ETag).
        # A resume keeps the sidecar: rewriting it could lose it to a kill.
        version = {"etag": etag, "url": job.url}
        deferred = not append and total is not None and total <= config.WRITE_BLOCK
        if deferred:
            job.sidecar.unlink(missing_ok=True)  # an older version's must not name these bytes
        elif not append:
            _write_json(job.sidecar, version)
        digest = hash_file(job.part)[1] if append else hashlib.sha256()
        job.resumed = job.resumed or append
        try:
            _fill_part(job, body, out, digest, probe)
        except Exception:
            if deferred:
                _write_json(job.sidecar, version)
            raise
        _write(out, b"", job.part, flush=True)
        return out.tell(), digest


def _fill_part(
    job: _Transfer, body: Iterator[bytes], out: BinaryIO, digest: _Hash, probe: Probe | None
) -> None:
    """Append `body` to `out` in blocks, hashing and counting them; stop on cancel, or when
    `probe` finds the stream slow. What arrived before a failure or a cancel is written, for a
    resume."""
    part = job.part  # once: a Path per block costs more than the block's hashing
    unhanded = 0  # bytes written since the disk was last asked to take them

    def take(block: bytearray) -> None:
        nonlocal unhanded
        _write(out, block, part)
        digest.update(block)
        job.received += len(block)
        unhanded += len(block)
        if unhanded >= config.WRITEBACK_EVERY:
            _start_writeback(out, unhanded)
            unhanded = 0
        if job.on_bytes is not None:
            job.on_bytes(len(block))

    blocks = Blocks(take)
    try:
        for chunk in body:
            if job.cancel is not None and job.cancel.is_set():
                raise TransferCancelled(
                    f"Download of {job.target.name} cancelled; {part} kept for a resume.",
                    url=job.url,
                    path=job.target,
                )
            blocks.add(chunk)
            if probe is not None and probe.split(len(chunk)):
                break
    finally:
        blocks.flush()


def _whole_part(job: _Transfer, offset: int, etag: str | None, refused: APIError) -> _Received:
    """After a 416: the `.part` is the whole file if the storage's size under `etag` is
    `offset` (a run stopped just before renaming it); otherwise it is dropped (_StartOver)."""
    if _full_size(job.http, job.source, etag) != offset:
        job.part.unlink(missing_ok=True)
        raise _StartOver(
            "The stored range no longer fits; starting over.", url=job.url
        ) from refused
    with open(job.part, "ab") as out:
        _write(out, b"", job.part, flush=True)
    job.resumed = True
    return _Received(offset, hash_file(job.part)[1], etag, offset)


def _promote_checked(job: _Transfer, got: _Received) -> TransferResult:
    """Promote the `.part` to the target if its size is the file's (asked for with a 1-byte
    request if the body did not announce it); else remove it and raise IntegrityError."""
    total = got.total if got.total is not None else _full_size(job.http, job.source, got.etag)
    if total is None or got.size != total:
        job.part.unlink(missing_ok=True)
        job.sidecar.unlink(missing_ok=True)
        raise IntegrityError(
            _size_problem(job.target, got.size, total), url=job.url, path=job.target
        )
    promote(job.part, job.target)
    job.sidecar.unlink(missing_ok=True)
    return TransferResult(
        path=job.target,
        size=got.size,
        sha256=got.digest.hexdigest(),
        etag=got.etag,
        bytes_received=job.received,
        resumed=job.resumed,
    )


@contextmanager
def stream_file(
    http: HttpSession, media_url: Source, *, headers: Mapping[str, str] | None = None
) -> Iterator[httpx.Response]:
    """Yield the streamed storage response (200 or 206) for a `/media/` URL (or a
    SignedRequest, sent with its own headers and `headers`).

    The first hop goes to the API origin with the token and is not followed automatically;
    the `Location` is then fetched without the token, with `headers` (e.g. Range). A 403
    from another origin (an expired signed link) is renewed by asking `media_url` again.
    Other non-2xx answers raise (gcfetch.api_errors); a body that breaks off while the block
    reads it raises BodyBrokeOff. One connection slot of `http` is held for the whole block,
    so the caller reads the body inside it; the response is closed at its end.
    """
    shown = media_url.key if isinstance(media_url, SignedRequest) else media_url
    with http.slot():
        response = _storage_response(http, media_url, headers)
        with reading_body(response, shown):
            if not response.is_success:
                response.read()
                raise_for_status(response)
            yield response


def _storage_response(
    http: HttpSession, source: Source, headers: Mapping[str, str] | None
) -> httpx.Response:
    """The streamed storage answer behind `source`, asked without the token; a link the
    storage refuses as expired (403 from another origin) is renewed up to MAX_LINK_RENEWALS
    times: a `/media/` URL is asked again, a SignedRequest renewed."""
    renewals = 0
    while True:
        link = _link(http, source)
        if isinstance(link, httpx.Response):  # `/media/` answered without a redirect
            return link
        url, signed = link
        response = http.send("GET", url, headers={**signed, **(headers or {})}, stream=True)
        expired = response.status_code == 403 and origin_of(url) != http.api_origin
        if not expired or renewals == config.MAX_LINK_RENEWALS:
            return response
        response.read()
        response.close()
        renewals += 1
        logger.debug("storage refused %s as expired (403); renewing it", _shown(source))
        if isinstance(source, SignedRequest):
            source = source.renew()


def _link(
    http: HttpSession, source: Source
) -> tuple[httpx.URL, Mapping[str, str]] | httpx.Response:
    """The storage URL (and its signed headers) of `source`: a SignedRequest's own, or where
    the API origin redirects a `/media/` URL (asked with the token; any other answer is
    returned as it is)."""
    if isinstance(source, SignedRequest):
        url = httpx.URL(source.url)
        if url.scheme not in ("http", "https"):
            raise TransferError(
                f"The server handed out a request to {url.scheme}: for {source.key}; only "
                "http(s) is fetched.",
                url=source.key,
            )
        return url, source.headers
    first = http.send("GET", check_url(source, http.base_url), stream=True)
    if not first.is_redirect:
        return first
    first.read()  # the empty redirect body: read, so the connection is reused
    first.close()
    return first.request.url.join(first.headers["Location"]), {}


def _shown(source: Source) -> str:
    return source.key if isinstance(source, SignedRequest) else display_url(source)


def signed_link(http: HttpSession, media_url: str) -> httpx.URL:
    """The storage link the API origin redirects `media_url` to: one request, made while the
    caller holds a connection slot. A `/media/` URL that answers without a redirect is its
    own link; a refusal raises (gcfetch.api_errors)."""
    target = check_url(media_url, http.base_url)
    first = http.send("GET", target, stream=True)
    try:
        first.read()
    finally:
        first.close()
    if first.is_redirect:
        return first.request.url.join(first.headers["Location"])
    raise_for_status(first)
    return target


def _size_problem(target: Path, size: int, total: int | None) -> str:
    """The message of a file whose size is wrong (`total`) or cannot be checked (None)."""
    if total is None:
        return (
            f"{target.name}: received {size} bytes, but the storage gave no size to check them "
            "against (no Content-Length, or a Content-Range total of *, and a 1-byte request "
            "for the size failed or showed another ETag); the partial file was removed, run "
            "again to retry."
        )
    return (
        f"{target.name}: received {size} bytes but the server announced {total}; "
        "the partial file was removed, run again to retry."
    )


def remote_size(http: HttpSession, url: Source) -> tuple[int | None, str | None]:
    """(full size or None if unknown, ETag) of the file behind `url`: one 1-byte request.

    The size is None for a content-encoded answer too: its length is not the file's.
    """
    with stream_file(http, url, headers={**_IDENTITY, "Range": "bytes=0-0"}) as response:
        size = None if _content_encoding(response) else _placement(response)[1]
        return size, response.headers.get("ETag")


def _full_size(http: HttpSession, url: Source, etag: str | None) -> int | None:
    """The size of the file behind `url` if its ETag is still `etag` (one 1-byte request)."""
    size, current = remote_size(http, url)
    return size if current == etag else None


def _content_encoding(response: httpx.Response) -> str:
    """The body's Content-Encoding, "" when absent or only `identity`."""
    value = response.headers.get("Content-Encoding", "")
    codings = [c.strip().lower() for c in value.split(",") if c.strip()]
    return value.strip() if any(c != "identity" for c in codings) else ""


def _refuse_encoded(response: httpx.Response, target: Path, url: str) -> None:
    """Raise ContentEncodingRefused if the body is content-encoded: its bytes are not the file's."""
    encoding = _content_encoding(response)
    if not encoding:
        return
    shown = "".join(c if c.isprintable() else "?" for c in encoding[:40])
    raise ContentEncodingRefused(
        f"{target.name}: the storage sent it with Content-Encoding: {shown} although gcfetch "
        "asked for Accept-Encoding: identity; the storage (or a CDN in front of it) ignored "
        "that, so nothing was written. Ask its operator to serve this file uncompressed.",
        url=url,
        path=target,
    )


def _chunks(response: httpx.Response, chunk_size: int) -> Iterator[bytes]:
    """The body as stored (no content decoding), as it arrives, in pieces of <= chunk_size.

    Not buffered up to chunk_size, so bytes that arrived before a dropped connection are
    written and a retry resumes after them. A body already read has no raw stream left: an
    httpx.Response built with `content=` (as httpx.MockTransport handlers in the tests do)
    reads it at once, so it is served from memory.
    """
    if response.is_stream_consumed:
        yield from response.iter_bytes(chunk_size)
        return
    for piece in response.iter_raw():
        for start in range(0, len(piece), chunk_size):
            yield piece[start : start + chunk_size]


class Blocks:
    """Gathers body pieces into blocks for `take`: one write, one hash update and one progress
    call per block rather than per piece (a TLS record, ~16 KiB), since each of them lets
    another thread take the GIL. A block is config.WRITE_BLOCK bytes, or what arrived within
    config.WRITE_BLOCK_SECONDS on a slow link."""

    def __init__(self, take: Callable[[bytearray], None]) -> None:
        self._take = take
        self._pending = bytearray()
        self._since = time.monotonic()

    @property
    def held(self) -> int:
        """Bytes added and not yet taken."""
        return len(self._pending)

    def add(self, piece: bytes) -> None:
        self._pending += piece
        if (
            len(self._pending) >= config.WRITE_BLOCK
            or time.monotonic() - self._since >= config.WRITE_BLOCK_SECONDS
        ):
            self.flush()

    def flush(self) -> None:
        """Hand what is held to `take`, once: a `take` that fails does not get it again."""
        block, self._pending = self._pending, bytearray()
        self._since = time.monotonic()
        if block:
            self._take(block)


def _placement(response: httpx.Response) -> tuple[int, int | None]:
    """(first byte offset, full size or None) of the body, from the status and headers."""
    if response.status_code == 206:
        match = _CONTENT_RANGE.fullmatch(response.headers.get("Content-Range", "").strip())
        if match is None:
            raise TransferError(
                "The storage answered 206 without a usable Content-Range.",
                url=display_url(response.url),
            )
        total = None if match.group(3) == "*" else int(match.group(3))
        return int(match.group(1)), total
    length = response.headers.get("Content-Length")
    return 0, int(length) if length and length.isdigit() else None


def _write(out: BinaryIO, chunk: bytes, part: Path, *, flush: bool = False) -> None:
    """Write (or flush and fsync); a full disk becomes a TransferError naming the directory."""
    try:
        if chunk:
            out.write(chunk)
        if flush:
            out.flush()
            os.fsync(out.fileno())
    except OSError as exc:
        if exc.errno == errno.ENOSPC:
            raise _no_space(part) from exc
        raise


def _start_writeback(out: BinaryIO, length: int) -> None:
    """Have the disk start writing the last `length` bytes of `out` now, without waiting for it
    (Linux starts writeback on POSIX_FADV_DONTNEED, and drops from the cache only the pages of
    the range already on disk). Where that is not available, the final fsync writes it all."""
    if hasattr(os, "posix_fadvise"):
        end = out.tell()
        with suppress(OSError):  # a file system without it: the fsync then does it all
            os.posix_fadvise(out.fileno(), end - length, length, os.POSIX_FADV_DONTNEED)


def _no_space(part: Path) -> TransferError:
    """The error of a full disk (while writing `part` or its directory), naming the directory."""
    return TransferError(
        f"No space left on the device holding {part.parent}; free some space and run "
        f"again to resume from {part.name}.",
        path=part,
    )


def _read_etag(sidecar: Path, url: str) -> str | None:
    """The ETag recorded for this `.part`, if it was recorded for the same URL."""
    try:
        record = json.loads(sidecar.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or record.get("url") != url:
        return None
    etag = record.get("etag")
    return etag if isinstance(etag, str) and etag else None


def _write_json(path: Path, record: dict[str, object]) -> None:
    path.write_text(json.dumps(record))
