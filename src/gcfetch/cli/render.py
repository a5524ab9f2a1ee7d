"""Everything the `outputs` and `jobs` commands show: progress, summary and job tables."""

from __future__ import annotations

import math
import re
import threading
import time
from collections import Counter
from collections.abc import Iterable
from typing import TYPE_CHECKING

from rich import box
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from gcfetch.models import pk_from_url
from gcfetch.outputs import events

if TYPE_CHECKING:
    from gcfetch.models import Job
    from gcfetch.outputs import DownloadSummary

MAX_FAILURES_SHOWN = 50


def human_bytes(count: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if count < 1000 or unit == "TB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1000
    raise AssertionError("unreachable")


class ProgressView:
    """Turns progress events into a rich live display (TTY) or plain log lines (otherwise)."""

    def __init__(self, console: Console, *, quiet: bool, verbose: int) -> None:
        self.console = console
        self.quiet = quiet
        self.verbose = verbose
        self.live = console.is_terminal and not quiet
        self._lock = threading.Lock()
        self._jobs = 0
        self._bytes = 0
        self._started = time.monotonic()
        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            TextColumn("{task.fields[info]}"),
            console=console,
            transient=False,
        )
        self._task = self._progress.add_task("outputs", total=0, info="listing jobs")

    def __enter__(self) -> ProgressView:
        if self.live:
            self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.live:
            self._progress.stop()

    def __call__(self, event: events.ProgressEvent) -> None:
        with self._lock:
            self._handle(event)

    def _handle(self, event: events.ProgressEvent) -> None:
        if isinstance(event, events.JobListed):
            self._jobs += 1
            self._progress.update(
                self._task, total=self._total() + event.tasks, description="outputs"
            )
        elif isinstance(event, events.BytesReceived):
            self._bytes += event.count
        elif isinstance(event, events.TaskFinished | events.TaskSkipped | events.TaskFailed):
            self._progress.advance(self._task)
            self._line(event)
        elif isinstance(event, events.ListingFinished):
            self._plain(f"listed {event.listed} jobs, {event.selected} selected")
        elif isinstance(event, events.Waiting):
            self._wait(event)
        if self.live:
            rate = self._bytes / max(time.monotonic() - self._started, 1e-6)
            self._progress.update(
                self._task,
                info=f"{self._jobs} jobs listed · "
                f"{human_bytes(self._bytes)} · {human_bytes(rate)}/s",
            )

    def _wait(self, event: events.Waiting) -> None:
        """Say what a watch waits for; the next pass counts its jobs afresh."""
        text = f"{event.pending} jobs still running; next check in {event.seconds:.0f} s"
        self._plain(text)
        self._jobs = 0
        self._progress.reset(self._task, total=0, description=text)

    def _total(self) -> int:
        return int(self._progress.tasks[0].total or 0)

    def _line(self, event: events.TaskFinished | events.TaskSkipped | events.TaskFailed) -> None:
        if isinstance(event, events.TaskFailed):
            self.console.print(
                f"[red]failed[/] {event.path}: {event.error}", markup=True, highlight=False
            )
        elif isinstance(event, events.TaskFinished):
            self._plain(f"downloaded {event.path} ({human_bytes(event.size)})")
        elif self.verbose:
            self._plain(f"skipped {event.path} ({event.reason})")

    def _plain(self, text: str) -> None:
        if not self.live and not self.quiet:
            self.console.print(text, markup=False, highlight=False)


def render_summary(console: Console, summary: DownloadSummary, *, verbose: int = 0) -> None:
    """The end-of-run table, one line of the jobs not downloaded (and, with `verbose`, one of
    the requests sent, by kind), then failures with reasons."""
    table = Table(title="gcfetch", show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    for status, count in sorted(summary.jobs_by_status.items()):
        if status in summary.statuses:
            table.add_row(f"jobs {status}", str(count))
    table.add_row(f"{summary.noun}s selected", str(summary.selected_jobs))
    if summary.dry_run:
        table.add_row("would download", f"{len(summary.would_download)} outputs")
    table.add_row("files downloaded", str(summary.files_downloaded))
    table.add_row("files already present", str(summary.files_present))
    table.add_row("files failed", str(summary.files_failed))
    table.add_row("bytes transferred", human_bytes(summary.bytes_transferred))
    table.add_row("time", f"{summary.seconds:.1f} s")
    table.add_row("throughput", f"{human_bytes(summary.throughput)}/s")
    table.add_row("destination", str(summary.output_directory))
    console.print(table)
    if summary.unselected_by_status:
        console.print(not_downloaded(summary), markup=False, highlight=False, soft_wrap=True)
    if verbose and summary.requests:
        counts = ", ".join(f"{n} {kind}" for kind, n in summary.requests.items())
        console.print(f"requests: {counts}", markup=False, highlight=False, soft_wrap=True)
    if summary.pending_jobs:
        console.print(
            f"{summary.pending_jobs} job(s) not final yet: run again later, or add --watch",
            markup=False,
            highlight=False,
        )
    render_failures(console, summary)


def not_downloaded(summary: DownloadSummary) -> str:
    """`not downloaded: 3 Failed, 2 Cancelled` (jobs of other statuses, most first)."""
    counts = sorted(summary.unselected_by_status.items(), key=lambda item: (-item[1], item[0]))
    return "not downloaded: " + ", ".join(f"{count} {status}" for status, count in counts)


def render_failures(console: Console, summary: DownloadSummary) -> None:
    """Each failed output with its reason (at most MAX_FAILURES_SHOWN)."""
    if not summary.failures:
        return
    table = Table(title=f"{summary.files_failed} output(s) failed", title_justify="left")
    for name in ("job", "socket", "path", "error"):
        table.add_column(name, overflow="fold")
    for item in summary.failures[:MAX_FAILURES_SHOWN]:
        table.add_row(item.job_pk, item.socket_slug, item.path, f"{item.error_type}: {item.error}")
    console.print(table)
    hidden = summary.files_failed - MAX_FAILURES_SHOWN
    if hidden > 0:
        console.print(f"... and {hidden} more (run with -v to see each as it happens)")


def render_jobs(console: Console, jobs: Iterable[Job], statuses: set[str] | None) -> None:
    """A table of jobs (creation order; the API has no `created` field) and counts per status."""
    table = Table(
        title="jobs (oldest first)", title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False
    )
    table.add_column("pk", no_wrap=True, min_width=36)
    table.add_column("status", overflow="fold", min_width=10)
    table.add_column("image", no_wrap=True, min_width=8)
    table.add_column("out", justify="right", no_wrap=True)
    table.add_column("run time", justify="right", no_wrap=True, min_width=10)
    counts: Counter[str] = Counter()
    for job in jobs:
        counts[job.status] += 1
        if statuses and job.status not in statuses:
            continue
        image = pk_from_url(job.algorithm_image)[:8]
        outputs = str(len(job.outputs))
        table.add_row(job.pk, job.status, image, outputs, _run_time(job.exec_duration))
    console.print(table)
    totals = Table(title="jobs per status", title_justify="left", box=box.SIMPLE_HEAD)
    totals.add_column("status")
    totals.add_column("jobs", justify="right")
    for status, count in sorted(counts.items()):
        totals.add_row(status, str(count))
    totals.add_row("total", str(sum(counts.values())), style="bold")
    console.print(totals)


_DJANGO_DURATION = re.compile(r"^P(\d+)DT(\d+)H(\d+)M(\d+(?:\.\d+)?)S$")


def _run_time(duration: str | None) -> str:
    """Django's `P0DT01H02M03.5S` as `1h 02m 03s`; `-` when the job was not measured."""
    match = _DJANGO_DURATION.match(duration or "")
    if not match:
        return duration or "-"
    days, hours, minutes = (int(g) for g in match.groups()[:3])
    exact = float(match.group(4))
    hours += 24 * days
    if not hours and not minutes:
        return f"{math.floor(exact * 10 + 0.5) / 10:g}s"  # tenths, halves rounded up
    seconds = math.floor(exact + 0.5)  # plain rounding: 43.5 s and 44.5 s differ
    if hours:
        return f"{hours}h {minutes:02d}m {seconds:02d}s"
    return f"{minutes}m {seconds:02d}s"
