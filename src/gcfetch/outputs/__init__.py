"""The bulk downloader: select jobs, plan checked target paths, run transfers, keep records."""

from gcfetch.outputs.events import (
    BytesReceived,
    JobListed,
    ListingFinished,
    ProgressEvent,
    TaskFailed,
    TaskFinished,
    TaskSkipped,
    TaskStarted,
    Waiting,
)
from gcfetch.outputs.items import download_archive, download_display_sets
from gcfetch.outputs.run import download_outputs
from gcfetch.outputs.summary import DownloadSummary, Failure

__all__ = [
    "BytesReceived",
    "DownloadSummary",
    "Failure",
    "JobListed",
    "ListingFinished",
    "ProgressEvent",
    "TaskFailed",
    "TaskFinished",
    "TaskSkipped",
    "TaskStarted",
    "Waiting",
    "download_archive",
    "download_display_sets",
    "download_outputs",
]
