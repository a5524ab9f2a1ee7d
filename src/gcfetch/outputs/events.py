"""Progress events: small frozen dataclasses passed to the `on_progress` callback.

The callback runs on the thread that produced the event (the lister or a worker), so it must
be quick and thread-safe; the CLI only updates counters and a progress display.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

BYTES_BATCH = 256 * 1024  # a BytesReceived is sent once this much has arrived...
BYTES_BATCH_SECONDS = 0.05  # ...or this long after the last one


@dataclass(frozen=True)
class JobListed:
    """One more job was listed; `selected` says whether its status is downloaded."""

    job_pk: str
    status: str
    selected: bool
    tasks: int  # outputs planned for this job (0 if not selected)


@dataclass(frozen=True)
class ListingFinished:
    """Every job has been listed."""

    listed: int
    selected: int


@dataclass(frozen=True)
class Waiting:
    """A watch waits: `pending` selected jobs are not final; the next listing is in `seconds`."""

    pending: int
    seconds: float


@dataclass(frozen=True)
class TaskStarted:
    job_pk: str
    socket_slug: str
    path: str  # relative to the destination


@dataclass(frozen=True)
class TaskFinished:
    """An output is complete on disk: `size` bytes in `files` files, of which `bytes_received`
    came over the network now (0 for a value, which is written from the job object)."""

    job_pk: str
    socket_slug: str
    path: str
    files: int
    bytes_received: int
    size: int = 0


@dataclass(frozen=True)
class TaskSkipped:
    """An output was already complete; no request was needed (or it is a dry run)."""

    job_pk: str
    socket_slug: str
    path: str
    files: int
    reason: str


@dataclass(frozen=True)
class TaskFailed:
    job_pk: str
    socket_slug: str
    path: str
    error: str


@dataclass(frozen=True)
class BytesReceived:
    """File bytes arrived: per worker, at least every BYTES_BATCH bytes or BYTES_BATCH_SECONDS,
    and the rest when the file ends; the counts add up to every byte received."""

    count: int


ProgressEvent = (
    JobListed
    | ListingFinished
    | Waiting
    | TaskStarted
    | TaskFinished
    | TaskSkipped
    | TaskFailed
    | BytesReceived
)


@dataclass
class _Pending:
    count: int = 0
    since: float = 0.0


class BytesBatcher:
    """Coalesces the byte counts of each thread (a worker runs one transfer at a time) into
    BytesReceived events for `emit`."""

    def __init__(self, emit: Callable[[BytesReceived], None]) -> None:
        self._emit = emit
        self._local = threading.local()

    def add(self, count: int) -> None:
        """Count `count` bytes; emit the pending total once it is large or old enough."""
        pending = self._pending()
        pending.count += count
        if pending.count >= BYTES_BATCH or time.monotonic() - pending.since >= BYTES_BATCH_SECONDS:
            self.flush()

    def flush(self) -> None:
        """Emit this thread's pending bytes, if any (call when its file ends)."""
        pending = self._pending()
        if pending.count:
            self._emit(BytesReceived(pending.count))
        pending.count, pending.since = 0, time.monotonic()

    def _pending(self) -> _Pending:
        if not hasattr(self._local, "pending"):
            self._local.pending = _Pending(since=time.monotonic())
        return self._local.pending
