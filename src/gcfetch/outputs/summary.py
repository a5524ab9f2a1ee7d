"""What a download run did: the value returned by `download_outputs`."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

FINAL_STATUSES = ("Succeeded", "Failed", "Cancelled")  # a job in any other state may still run


@dataclass(frozen=True)
class Failure:
    """One output that could not be written, and why."""

    job_pk: str
    socket_slug: str
    path: str  # relative to the destination ("" when not known)
    error: str
    error_type: str


@dataclass
class DownloadSummary:
    """Counts of one run. `ok` is True when nothing failed and the run was not interrupted."""

    output_directory: Path
    statuses: tuple[str, ...]
    jobs_by_status: Counter[str] = field(default_factory=Counter)
    selected_jobs: int = 0
    pending_jobs: int = 0  # listed jobs not yet in a final state (FINAL_STATUSES)
    files_downloaded: int = 0
    files_present: int = 0
    failures: list[Failure] = field(default_factory=list)
    bytes_transferred: int = 0
    seconds: float = 0.0
    interrupted: bool = False
    dry_run: bool = False
    would_download: list[str] = field(default_factory=list)  # dry run: paths, relative
    requests: dict[str, int] = field(default_factory=dict)  # by kind (gcfetch.tally.KINDS)
    noun: str = "job"  # what was listed: "job", "item" or "display set"

    def after(self, earlier: DownloadSummary) -> DownloadSummary:
        """This pass's summary, also counting what an `earlier` pass downloaded and its time
        (a watch: jobs and failures are as this pass found them)."""
        self.files_downloaded += earlier.files_downloaded
        self.bytes_transferred += earlier.bytes_transferred
        self.seconds += earlier.seconds
        return self

    @property
    def files_failed(self) -> int:
        return len(self.failures)

    @property
    def unselected_by_status(self) -> dict[str, int]:
        """Jobs listed but not downloaded, by status."""
        return {s: n for s, n in sorted(self.jobs_by_status.items()) if s not in self.statuses}

    @property
    def ok(self) -> bool:
        return not self.failures and not self.interrupted

    @property
    def throughput(self) -> float:
        """Bytes per second over the whole run."""
        return self.bytes_transferred / self.seconds if self.seconds > 0 else 0.0
