"""Rendering: Django durations in the jobs table; the end-of-run summary."""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.console import Console

from gcfetch.cli.render import ProgressView, _run_time, render_summary
from gcfetch.outputs import DownloadSummary, events


@pytest.mark.parametrize(
    ("duration", "shown"),
    [
        ("P0DT00H00M42.118000S", "42.1s"),
        ("P0DT00H00M43.5S", "43.5s"),
        ("P0DT00H00M44.25S", "44.3s"),
        ("P0DT00H00M07S", "7s"),
        ("P0DT00H01M04.5S", "1m 05s"),
        ("P0DT00H01M05.5S", "1m 06s"),
        ("P1DT02H03M04S", "26h 03m 04s"),
        (None, "-"),
        ("not a duration", "not a duration"),
    ],
)
def test_run_time_is_readable_when_duration_given(duration: str | None, shown: str) -> None:
    assert _run_time(duration) == shown


def test_summary_shows_jobs_not_downloaded_in_one_line_by_status() -> None:
    summary = DownloadSummary(Path("out"), ("Succeeded",), dry_run=False)
    summary.jobs_by_status.update({"Succeeded": 5, "Failed": 3, "Cancelled": 2, "Executing": 2})
    console = Console(width=80, record=True)
    render_summary(console, summary)
    text = console.export_text()
    assert "not downloaded: 3 Failed, 2 Cancelled, 2 Executing" in text.splitlines()
    assert "jobs Succeeded" in text
    assert "jobs Failed" not in text and "(not downloaded)" not in text


def test_summary_omits_not_downloaded_line_when_every_status_was_taken() -> None:
    summary = DownloadSummary(Path("out"), ("Succeeded",))
    summary.jobs_by_status.update({"Succeeded": 5})
    console = Console(width=80, record=True)
    render_summary(console, summary)
    assert "not downloaded" not in console.export_text()


def test_summary_says_how_many_jobs_are_not_final_and_how_to_wait_for_them() -> None:
    summary = DownloadSummary(Path("out"), ("Succeeded",), pending_jobs=2)
    summary.jobs_by_status.update({"Succeeded": 5, "Executing": 2})
    console = Console(width=80, record=True)
    render_summary(console, summary)
    assert "2 job(s) not final yet: run again later, or add --watch" in console.export_text()


def test_progress_says_what_a_watch_waits_for() -> None:
    console = Console(width=100, record=True, force_terminal=False)
    view = ProgressView(console, quiet=False, verbose=0)
    view(events.JobListed("j1", "Succeeded", selected=True, tasks=3))
    view(events.Waiting(12, 30.0))
    view(events.ListingFinished(1, 1))
    text = console.export_text()
    assert "12 jobs still running; next check in 30 s" in text
