"""One large file as N ranged requests in parallel, into one `.part` (used by gcfetch.transfer).

A file of at least `segment_threshold` bytes whose first storage answer is a 200 with its size
and an ETag is watched as one stream for a moment (`Probe`): if its first
config.SEGMENT_PROBE_BYTES take longer than config.SEGMENT_PROBE_SECONDS (a capped connection,
a long path), the rest is cut into pieces; if not, it stays one stream, as more streams would
cost CPU and buy nothing. The bytes it brought are kept, and it carries on the piece they end
in; the others are asked from the same signed link with `Range` and `If-Range`, without the
token, each on a connection slot taken only if free now (`HttpSession.extra_slots`): the pool
bound holds, and a busy pool means fewer segments, never a wait.

The `.part` is preallocated to the full size and every piece written at its offset. The sidecar
(`<target>.part.json`) records the URL, ETag, size and, per piece, the bytes known to be on disk
(fsynced first), so a later run asks only for what is missing. Every ranged answer must be a 206
under the same ETag and total: a 200 (Range ignored) or another ETag drops the `.part` and the
file starts over as one stream. An expired link (storage 403) is renewed once for all pieces:
one new `/media/` request, however many pieces saw it expire. A thread hashes the pieces in
order as each is complete on disk (reading it back), so little is left to hash at the end; the
file is then checked and promoted as a single-stream download is.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import logging
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

import httpx

from gcfetch import config
from gcfetch.api_errors import raise_for_status
from gcfetch.auth import display_url, origin_of
from gcfetch.errors import APIError, BodyBrokeOff, IntegrityError, TransferCancelled
from gcfetch.files import atomic_write, hash_file
from gcfetch.http import reading_body
from gcfetch.transfer import (
    _IDENTITY,
    Blocks,
    _chunks,
    _placement,
    _Received,
    _refuse_encoded,
    _StartOver,
    _Transfer,
    _write,
    signed_link,
)

if TYPE_CHECKING:
    from hashlib import _Hash

logger = logging.getLogger(__name__)

PIECE_MAX = 32 * 1024 * 1024  # longer files get more pieces than segments: a shorter tail
_CHECKPOINT_MAX = 8 * 1024 * 1024  # at most this many bytes of a piece go unrecorded


class _OneStream(_StartOver):
    """The storage cannot serve this file in pieces (Range ignored, another ETag or size)."""


class _Stopped(Exception):
    """Another piece failed or the download was cancelled: this one stops too."""


@dataclass
class _Piece:
    """Bytes [start, end) of the file; those before `next` are on disk (fsynced, recorded)."""

    start: int
    end: int
    next: int

    @property
    def missing(self) -> bool:
        return self.next < self.end


_Open = tuple[_Piece, httpx.Response, Iterator[bytes]]  # a piece, its answer, the body's rest


@dataclass
class _Plan:
    """What the sidecar records: the file (URL, ETag, size) and its pieces."""

    url: str
    etag: str
    size: int
    pieces: list[_Piece]
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def save(self, sidecar: Path) -> None:
        pieces = [[p.start, p.end, p.next] for p in self.pieces]
        record = {"url": self.url, "etag": self.etag, "size": self.size, "pieces": pieces}
        with self.lock:
            atomic_write(sidecar, json.dumps(record))

    def consistent(self) -> bool:
        """Whether the pieces cover [0, size) in order, each with its `next` inside it."""
        edge = 0
        for piece in self.pieces:
            if piece.start != edge or not piece.start <= piece.next <= piece.end:
                return False
            edge = piece.end
        return edge == self.size and bool(self.pieces)


class Probe:
    """Watches a large file's one stream (a 200 with size and ETag) until
    config.SEGMENT_PROBE_BYTES have come or config.SEGMENT_PROBE_SECONDS have passed. The
    seconds first, and connection slots free now: the rest is to come in pieces, `helpers`
    being how many slots it holds for them."""

    def __init__(self, job: _Transfer, etag: str, total: int, slots: contextlib.ExitStack) -> None:
        self.job, self.etag, self.total = job, etag, total
        self.helpers = 0
        self.watching = True
        self._slots = slots
        self._enough = min(total, config.SEGMENT_PROBE_BYTES)
        self._seen = 0
        self._start = time.monotonic()
        self._deadline = self._start + config.SEGMENT_PROBE_SECONDS

    def split(self, size: int) -> bool:
        """Count `size` more bytes of the stream; True once it proved slow and slots are held."""
        if not self.watching:
            return False
        self._seen += size
        if self._seen < self._enough and time.monotonic() < self._deadline:
            return False
        self.watching = False
        if self._seen < self._enough:  # slow: the seconds passed first
            wanted = self.job.segments - 1
            self.helpers = self._slots.enter_context(self.job.http.extra_slots(wanted))
        logger.info(
            "%s: %d bytes in %.2f s as one stream; %d more connections for the rest",
            self.job.target.name,
            self._seen,
            time.monotonic() - self._start,
            self.helpers,
        )
        return self.helpers > 0


@contextlib.contextmanager
def watch(
    job: _Transfer, response: httpx.Response, total: int | None, etag: str | None
) -> Iterator[Probe | None]:
    """A Probe of this first storage answer (not a resume) if it may go on in pieces, else None;
    the slots a Probe takes are held until the block ends."""
    if not (
        job.segments > 1
        and job.segment_threshold > 0
        and response.status_code == 200
        and total is not None
        and total >= job.segment_threshold
        and etag
    ):
        yield None
        return
    with contextlib.ExitStack() as slots:
        yield Probe(job, etag, total, slots)


def take_over(
    job: _Transfer, probe: Probe, response: httpx.Response, body: Iterator[bytes], done: int
) -> _Received:
    """Fetch the rest of the file in pieces on the probe's slots; the `.part` holds the first
    `done` bytes (fsynced) and `body`, the rest of `response`, carries on the piece they end in."""
    plan = _Plan(job.url, probe.etag, probe.total, _split(probe.total, probe.helpers + 1, done))
    _prepare(job, plan)
    first = next(p for p in plan.pieces if p.missing)
    link = _Link(job, response.url)
    digest = _run(job, plan, link, (first, response, body), probe.helpers)
    return _finish(job, plan, digest)


def resume(job: _Transfer) -> _Received | None:
    """Continue a `.part` that a segmented download left: only its missing bytes are asked for.

    None if the sidecar is not a segmented one (a sidecar that is, but does not fit the `.part`
    or the URL, is removed with the `.part`: its bytes cannot be trusted as one stream).
    """
    plan = _load(job)
    if plan is None:
        return None
    missing = [p for p in plan.pieces if p.missing]
    job.resumed = job.resumed or any(p.next > p.start for p in plan.pieces)
    if not missing:
        return _finish(job, plan, None)
    with job.http.slot(), job.http.extra_slots(min(job.segments, len(missing)) - 1) as more:
        digest = _run(job, plan, _Link(job, None), None, more)
    return _finish(job, plan, digest)


def _split(size: int, segments: int, done: int) -> list[_Piece]:
    """Pieces of equal length (one per segment, at most PIECE_MAX each) covering `size` bytes,
    the first `done` of which are on disk."""
    length = max(1, min(-(-size // segments), PIECE_MAX))
    pieces = [_Piece(start, min(start + length, size), start) for start in range(0, size, length)]
    for piece in pieces:
        piece.next = min(max(piece.start, done), piece.end)
    return pieces


def _prepare(job: _Transfer, plan: _Plan) -> None:
    """Record the plan, then preallocate the `.part` (its bytes so far kept) to the file's size.

    A kill in between leaves a `.part` shorter than the plan: `_load` drops both.
    """
    plan.save(job.sidecar)
    with open(job.part, "r+b") as out:
        try:
            os.posix_fallocate(out.fileno(), 0, plan.size)
        except (AttributeError, OSError) as exc:  # no fallocate here: a sparse file will do
            if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:  # say so now
                raise
            out.truncate(plan.size)


def _load(job: _Transfer) -> _Plan | None:
    """The segmented plan of the sidecar, if it fits this URL and `.part`; see `resume`."""
    try:
        record = json.loads(job.sidecar.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or "pieces" not in record:
        return None
    try:
        pieces = [_Piece(*(int(n) for n in p)) for p in record["pieces"]]
        plan = _Plan(str(record["url"]), str(record["etag"]), int(record["size"]), pieces)
        fits = job.part.stat().st_size == plan.size
    except (OSError, TypeError, ValueError, KeyError):
        plan, fits = None, False
    if plan is None or not fits or plan.url != job.url or not plan.etag or not plan.consistent():
        _drop(job)
        return None
    return plan


def _drop(job: _Transfer) -> None:
    job.part.unlink(missing_ok=True)
    job.sidecar.unlink(missing_ok=True)


def _finish(job: _Transfer, plan: _Plan, digest: _Hash | None) -> _Received:
    """The `.part` once every piece is on disk: its size and sha256 (read back from disk unless
    the pieces were hashed as they completed)."""
    if digest is None:
        return _Received(*hash_file(job.part), plan.etag, plan.size)
    return _Received(job.part.stat().st_size, digest, plan.etag, plan.size)


class _Link:
    """The signed storage link the pieces share; an expiry seen by any is renewed once for all."""

    def __init__(self, job: _Transfer, url: httpx.URL | None) -> None:
        self.job = job
        self.url = url
        self.generation = 0
        self._lock = threading.Lock()

    def get(self) -> tuple[httpx.URL, int]:
        """(link, its generation); the first call of a resume asks `/media/` for it."""
        with self._lock:
            if self.url is None:
                self.url = signed_link(self.job.http, self.job.url)
            return self.url, self.generation

    def renew(self, generation: int) -> None:
        """Ask `/media/` again, unless another piece already did since `generation`."""
        with self._lock:
            if generation != self.generation:
                return
            if self.generation == config.MAX_LINK_RENEWALS:
                raise APIError(
                    "The storage keeps refusing fresh signed links (403).",
                    status_code=403,
                    url=display_url(self.job.url),
                )
            logger.debug("storage link refused (403); asking %s again", display_url(self.job.url))
            self.url = signed_link(self.job.http, self.job.url)
            self.generation += 1


@dataclass
class _Run:
    """The pieces of one attempt being fetched by a few threads; the first failure stops all."""

    job: _Transfer
    plan: _Plan
    link: _Link
    queue: list[_Piece]
    owner: int = field(default_factory=threading.get_ident)
    stop: threading.Event = field(default_factory=threading.Event)
    errors: list[BaseException] = field(default_factory=list)
    pending: int = 0  # bytes not yet reported to on_bytes (reported by the owner thread)
    lock: threading.Lock = field(default_factory=threading.Lock)
    completed: threading.Condition = field(default_factory=threading.Condition)
    fetching: bool = True  # False once every fetching thread has ended
    digest: _Hash | None = None  # sha256 of the whole file, once `hash_pieces` got through

    def progressed(self) -> None:
        """Wake the hasher: a piece may be complete."""
        with self.completed:
            self.completed.notify_all()

    def ended(self) -> None:
        with self.completed:
            self.fetching = False
            self.completed.notify_all()

    def hash_pieces(self) -> None:
        """Hash the pieces in order, each as soon as it is complete on disk; set `digest` if
        all were. Stops when the fetching ends with a piece still missing. A read error leaves
        the hashing to `_finish`."""
        with contextlib.suppress(OSError):
            self._hash_pieces()

    def _hash_pieces(self) -> None:
        digest = hashlib.sha256()
        with open(self.job.part, "rb") as part:
            for piece in self.plan.pieces:
                with self.completed:
                    while piece.missing and self.fetching and not self.stop.is_set():
                        self.completed.wait(1.0)
                if piece.missing or self.stop.is_set():
                    return
                part.seek(piece.start)
                left = piece.end - piece.start
                while left and (chunk := part.read(min(config.CHUNK_SIZE, left))):
                    digest.update(chunk)
                    left -= len(chunk)
                if left:
                    return
        self.digest = digest

    def take(self) -> _Piece | None:
        with self.lock:
            return self.queue.pop(0) if self.queue and not self.stop.is_set() else None

    def work(self, first: _Open | None = None) -> None:
        """Fill `first` from its open answer, then fetch pieces until none is left."""
        try:
            if first is not None:
                _fill(self, *first)
            while (piece := self.take()) is not None:
                _fetch_piece(self, piece)
        except BaseException as exc:
            with self.lock:
                self.errors.append(exc)
            self.stop.set()

    def check(self) -> None:
        """Raise if the download was cancelled or another piece failed."""
        job = self.job
        if job.cancel is not None and job.cancel.is_set():
            raise TransferCancelled(
                f"Download of {job.target.name} cancelled; {job.part} kept for a resume.",
                url=job.url,
                path=job.target,
            )
        if self.stop.is_set():
            raise _Stopped

    def count(self, size: int) -> None:
        """Count received bytes; only the owner thread calls on_bytes (it may be thread-bound)."""
        with self.lock:
            self.job.received += size
            self.pending += size
            if self.job.on_bytes is None or threading.get_ident() != self.owner:
                return
            reported, self.pending = self.pending, 0
        self.job.on_bytes(reported)

    def outcome(self) -> None:
        """Report the last bytes; raise the failure that matters most, if any."""
        if self.pending and self.job.on_bytes is not None:
            self.job.on_bytes(self.pending)
            self.pending = 0
        errors = [e for e in self.errors if not isinstance(e, _Stopped)]
        if not errors:
            return
        for kind in (TransferCancelled, KeyboardInterrupt, _OneStream, IntegrityError):
            chosen = next((e for e in errors if isinstance(e, kind)), None)
            if chosen is not None:
                break
        chosen = chosen or errors[0]
        if isinstance(chosen, (_OneStream, IntegrityError)):
            _drop(self.job)
            self.job.segments = 1
        raise chosen


def _run(
    job: _Transfer,
    plan: _Plan,
    link: _Link,
    first: _Open | None,
    helpers: int,
) -> _Hash | None:
    """Fetch the missing pieces: this thread and `helpers` more (on slots the caller holds);
    the file's sha256 if the hasher got through every piece meanwhile."""
    queue = [p for p in plan.pieces if p.missing and (first is None or p is not first[0])]
    run = _Run(job, plan, link, queue)
    threads = [
        threading.Thread(target=run.work, name=f"gcfetch-segment-{n}", daemon=True)
        for n in range(min(helpers, len(queue)))
    ]
    hasher = threading.Thread(target=run.hash_pieces, name="gcfetch-segment-hash", daemon=True)
    for thread in [*threads, hasher]:
        thread.start()
    try:
        run.work(first)
        for thread in threads:
            thread.join()
    finally:
        run.ended()
    hasher.join()
    run.outcome()
    return run.digest


def _fetch_piece(run: _Run, piece: _Piece) -> None:
    """Ask storage for the missing bytes of `piece` and write them; renew an expired link."""
    http, plan = run.job.http, run.plan
    while True:
        run.check()
        url, generation = run.link.get()
        ranged = {"Range": f"bytes={piece.next}-{piece.end - 1}", "If-Range": plan.etag}
        response = http.send("GET", url, headers={**_IDENTITY, **ranged}, stream=True)
        with reading_body(response, run.job.url):
            if response.status_code == 403 and origin_of(url) != http.api_origin:
                response.read()
                run.link.renew(generation)
                continue
            _check_answer(run, piece, response)
            _fill(run, piece, response, _chunks(response, run.job.chunk_size))
            return


def _check_answer(run: _Run, piece: _Piece, response: httpx.Response) -> None:
    """Raise unless `response` is a 206 of `piece`'s missing bytes under the plan's ETag/size."""
    if not response.is_success:
        response.read()
        raise_for_status(response)
    job, plan = run.job, run.plan
    _refuse_encoded(response, job.target, job.url)
    if response.status_code != 206:
        raise _OneStream("The storage ignored Range; fetching as one stream.", url=job.url)
    start, total = _placement(response)
    if start != piece.next or total != plan.size or response.headers.get("ETag") != plan.etag:
        raise _OneStream("The file changed while in pieces; starting over.", url=job.url)


def _fill(run: _Run, piece: _Piece, response: httpx.Response, body: Iterator[bytes]) -> None:
    """Write `body` (of `response`) at `piece.next` on; fsync and record progress now and then
    and at the end. An open 200 of the whole file (the first answer) is read only up to the
    piece's end."""
    job = run.job
    every = min(_CHECKPOINT_MAX, max(64 * 1024, (piece.end - piece.start) // 4))
    with open(job.part, "r+b") as out:
        out.seek(piece.next)
        written, unsynced = piece.next, 0

        def take(block: bytearray) -> None:
            nonlocal written, unsynced
            _write(out, block, job.part)
            written += len(block)
            unsynced += len(block)
            run.count(len(block))
            if unsynced >= every:
                _checkpoint(run, piece, out, written)
                unsynced = 0

        blocks = Blocks(take)
        try:
            for chunk in body:
                run.check()
                blocks.add(chunk[: piece.end - written - blocks.held])
                if written + blocks.held == piece.end and response.status_code == 200:
                    response.close()  # its connection goes, so this thread holds only one
                    break
        finally:
            with contextlib.suppress(OSError):
                blocks.flush()
                _checkpoint(run, piece, out, written)
    if written < piece.end:
        raise BodyBrokeOff(
            f"The storage ended a piece of {job.target.name} {piece.end - written} bytes "
            "early; run it again to resume.",
            url=job.url,
        )


def _checkpoint(run: _Run, piece: _Piece, out: BinaryIO, written: int) -> None:
    """Make the piece's bytes durable, then record them in the sidecar."""
    _write(out, b"", run.job.part, flush=True)
    if written != piece.next:
        piece.next = written
        run.plan.save(run.job.sidecar)
        run.progressed()
