"""Progress events: small frozen dataclasses passed to the `on_progress` callback.

The callback runs on the thread that produced the event (the lister or a worker), so it must
be quick and thread-safe; the CLI only updates counters and a progress display.
"""

from __future__ import annotations

from dataclasses import dataclass


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
class TaskStarted:
    job_pk: str
    socket_slug: str
    path: str  # relative to the destination


@dataclass(frozen=True)
class TaskFinished:
    """An output is complete on disk: written now (`bytes_received` may be 0 for values)."""

    job_pk: str
    socket_slug: str
    path: str
    files: int
    bytes_received: int


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
    """File bytes arrived (reported per chunk)."""

    count: int


ProgressEvent = (
    JobListed
    | ListingFinished
    | TaskStarted
    | TaskFinished
    | TaskSkipped
    | TaskFailed
    | BytesReceived
)
