"""Progress events: BytesReceived is coalesced per transfer, and its counts stay exact."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import httpx

from gcfetch.client import Client
from gcfetch.outputs import BytesReceived, download_outputs
from gcfetch.outputs.events import BYTES_BATCH, BytesBatcher
from gcfetch.sandbox import Sandbox
from gcfetch.sandbox.demo import DemoInfo

BIG = 16 * 1024 * 1024
MAX_READ = 64 * 1024  # httpx never hands more than this per network read: chunks >= BIG / this


def test_batcher_emits_every_byte_in_few_events_per_thread() -> None:
    seen: list[int] = []
    batcher = BytesBatcher(lambda event: seen.append(event.count))

    def transfer() -> None:
        for _ in range(1000):
            batcher.add(4096)
        batcher.flush()

    threads = [threading.Thread(target=transfer) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(seen) == 4 * 1000 * 4096
    assert len(seen) < 4 * 1000 / 10
    batcher.flush()  # nothing pending: nothing emitted
    assert sum(seen) == 4 * 1000 * 4096


def _big_file_job(sandbox: Sandbox, client: Client, demo: DemoInfo) -> str:
    """A succeeded public job whose File output is made BIG bytes long on the sandbox's disk."""
    for pk, status in demo.jobs.items():
        if status != "Succeeded" or demo.job_algorithms[pk] != demo.public_algorithm:
            continue
        job = client.algorithm_jobs.detail(pk=pk)
        files = [v.file for v in job.outputs if v.interface.super_kind == "File" and v.file]
        if files:
            key = httpx.URL(files[0]).path.removeprefix("/media/")
            (sandbox.settings.blob_dir / key).write_bytes(os.urandom(BIG))
            return pk
    raise AssertionError("no job with a File output in the demo")


def test_bytes_received_add_up_to_bytes_transferred_in_far_fewer_events_than_chunks(
    fresh_sandbox: Sandbox, demo: DemoInfo, tmp_path: Path
) -> None:
    counts: list[int] = []

    def on_progress(event: object) -> None:
        if isinstance(event, BytesReceived):
            counts.append(event.count)

    with Client(token=demo.tokens["editor"], base_url=fresh_sandbox.base_url) as client:
        pk = _big_file_job(fresh_sandbox, client, demo)
        summary = download_outputs(
            client, jobs=[pk], output_directory=tmp_path, on_progress=on_progress
        )
    assert not summary.failures and summary.bytes_transferred > BIG
    assert sum(counts) == summary.bytes_transferred
    assert len(counts) <= BIG // MAX_READ // 2  # per chunk: at least BIG // MAX_READ events
    assert max(counts) >= BYTES_BATCH
