"""--watch: list again while jobs run, download what newly succeeded, stop when all are final."""

from __future__ import annotations

import shutil
import threading
import time

import pytest
from tests.outputs.helpers import CountingTransport

from gcfetch.client import Client
from gcfetch.outputs import download_outputs, events
from gcfetch.sandbox import Sandbox, SandboxSettings


@pytest.fixture
def own_sandbox(demo_dir, tmp_path):
    """A sandbox on a copy of the demo data, whose jobs the test may finish."""
    data_dir = tmp_path / "data"
    shutil.copytree(demo_dir, data_dir)
    with Sandbox(SandboxSettings(data_dir=data_dir)) as running:
        yield running


def test_watch_downloads_jobs_that_succeed_later_and_stops_when_all_are_final(
    own_sandbox, demo, tmp_path
) -> None:
    transport = CountingTransport()
    waits: list[tuple[int, int]] = []  # (pending, requests sent so far)

    def on_progress(event: events.ProgressEvent) -> None:
        if isinstance(event, events.Waiting):
            waits.append((event.pending, len(transport.requests)))
            if len(waits) == 2:  # one idle pass has run: now the jobs finish
                assert own_sandbox.finish_jobs()

    with Client(
        token=demo.tokens["editor"], base_url=own_sandbox.base_url, transport=transport
    ) as client:
        summary = download_outputs(
            client,
            algorithm=demo.public_algorithm,
            output_directory=tmp_path / "out",
            watch=True,
            interval=1.0,
            on_progress=on_progress,
        )
    assert summary.ok and summary.pending_jobs == 0 and not summary.interrupted
    assert len(waits) == 2 and waits[0][0] == waits[1][0] > 0
    idle_pass = transport.requests[waits[0][1] : waits[1][1]]
    assert {r.url.path for r in idle_pass} == {"/api/v1/algorithms/jobs/"}  # listing only
    assert summary.selected_jobs == summary.jobs_by_status["Succeeded"]
    later = {
        pk for pk, status in demo.jobs.items() if status not in ("Succeeded", "Failed", "Cancelled")
    }
    done = {p.name for p in (tmp_path / "out").iterdir() if p.is_dir()}
    assert later & done and len(done) == summary.selected_jobs  # those that finished later too
    manifest = (tmp_path / "out" / "manifest.jsonl").read_text().splitlines()
    assert summary.files_downloaded == len(manifest)


def test_watch_stops_at_once_when_cancelled_while_waiting(own_sandbox, demo, tmp_path) -> None:
    cancel = threading.Event()

    def on_progress(event: events.ProgressEvent) -> None:
        if isinstance(event, events.Waiting):
            cancel.set()

    started = time.monotonic()
    with Client(token=demo.tokens["editor"], base_url=own_sandbox.base_url) as client:
        summary = download_outputs(
            client,
            algorithm=demo.public_algorithm,
            output_directory=tmp_path,
            watch=True,
            interval=120.0,
            cancel=cancel,
            on_progress=on_progress,
        )
    assert summary.interrupted and summary.pending_jobs > 0
    assert time.monotonic() - started < 60  # not the 120 s wait


def test_sandbox_finishes_jobs_by_itself_when_told_when(demo_dir, demo, tmp_path) -> None:
    data_dir = tmp_path / "data"
    shutil.copytree(demo_dir, data_dir)
    with (
        Sandbox(SandboxSettings(data_dir=data_dir, finish_jobs_after=0.5)) as sandbox,
        Client(token=demo.tokens["editor"], base_url=sandbox.base_url) as client,
    ):
        time.sleep(1.5)
        jobs = list(client.algorithm_jobs.iterate_all())
    assert {job.status for job in jobs} <= {"Succeeded", "Failed", "Cancelled"}
    finished = [
        job for job in jobs if job.status == "Succeeded" and demo.jobs[job.pk] != "Succeeded"
    ]
    assert finished and all(job.outputs and job.exec_duration for job in finished)
