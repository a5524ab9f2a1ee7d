"""Run the download: a lister feeds a bounded pool of workers; records and summary at the end.

The calling thread lists jobs lazily (page by page) and submits each output as soon as its job
is listed, so transfers overlap with the listing. At most `workers` outputs run at once, on the
client's one connection pool. Complete outputs are skipped without any request.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING

from gcfetch import config
from gcfetch.errors import GCFetchError, TransferCancelled
from gcfetch.outputs import events
from gcfetch.outputs.destination import destination_lock, prepare_destination
from gcfetch.outputs.manifest import Manifest, ResultsTable, file_digest, record
from gcfetch.outputs.plan import Planner, Task, failure
from gcfetch.outputs.select import select_jobs
from gcfetch.outputs.summary import DownloadSummary, Failure
from gcfetch.transfer import download

if TYPE_CHECKING:
    from gcfetch.client import Client
    from gcfetch.models import Job

logger = logging.getLogger(__name__)

ProgressCallback = Callable[[events.ProgressEvent], None]


def download_outputs(
    client: Client,
    *,
    algorithm: str | None = None,
    algorithm_image: str | None = None,
    jobs: Iterable[str] | None = None,
    output_directory: Path | str,
    statuses: Iterable[str] = ("Succeeded",),
    workers: int = config.DEFAULT_WORKERS,
    on_progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    dry_run: bool = False,
) -> DownloadSummary:
    """Download the outputs of the selected jobs into `<output_directory>/<job pk>/...`.

    Select by `algorithm` slug, `algorithm_image` pk (both together: keep that image's jobs
    without reading the image), or explicit `jobs` pks. Only jobs whose status is in `statuses`
    are downloaded; the others are counted. Finished files are skipped without any request;
    `.part` files resume. Setting `cancel` stops the run at once, waits included (retry
    backoff, Retry-After); the summary says `interrupted`. The client stays usable afterwards.
    Bad input (unknown slug/image/job, unusable directory, refused token) raises at once.
    """
    if workers < 1:
        raise ValueError("workers must be at least 1")
    cancel = cancel or threading.Event()
    root = prepare_destination(output_directory, create=not dry_run)
    with client.http.cancelled_by(cancel):
        try:
            source = select_jobs(
                client, algorithm=algorithm, algorithm_image=algorithm_image, jobs=jobs
            )
        except TransferCancelled:
            return DownloadSummary(root, tuple(statuses), interrupted=True, dry_run=dry_run)
        run = _Run(client, root, tuple(statuses), workers, on_progress, cancel, dry_run)
        with nullcontext() if dry_run else destination_lock(root):
            return run.execute(source.jobs)


class _Run:
    def __init__(
        self,
        client: Client,
        root: Path,
        statuses: tuple[str, ...],
        workers: int,
        on_progress: ProgressCallback | None,
        cancel: threading.Event,
        dry_run: bool,
    ) -> None:
        self.client = client
        self.root = root
        self.workers = workers
        self.cancel = cancel
        self.dry_run = dry_run
        self.planner = Planner(root)
        self.summary = DownloadSummary(root, statuses, dry_run=dry_run)
        self._emit_to = on_progress
        self._lock = threading.Lock()

    def emit(self, event: events.ProgressEvent) -> None:
        if self._emit_to is not None:
            self._emit_to(event)

    def execute(self, jobs: Iterable[Job]) -> DownloadSummary:
        started = time.monotonic()
        self.manifest = Manifest.load(self.root)
        self.results = ResultsTable(self.root) if not self.dry_run else None
        slots = threading.BoundedSemaphore(self.workers * 2)
        pool = ThreadPoolExecutor(self.workers, thread_name_prefix="gcfetch")
        try:
            self._list_and_submit(jobs, pool, slots)
        except TransferCancelled:  # a listing request's wait was cancelled: not a failure
            pass
        except GCFetchError as exc:  # listing stopped: keep what was submitted, report it
            logger.info("listing jobs stopped: %s", exc)
            self._fail(failure("", "", "", GCFetchError(f"listing jobs stopped: {exc}")))
        except BaseException:
            self.cancel.set()
            raise
        finally:
            try:
                self._shut_down(pool)
            finally:
                self.summary.interrupted = self.cancel.is_set()
                self.summary.seconds = time.monotonic() - started
                if not self.dry_run:
                    self._write_records()
        return self.summary

    def _shut_down(self, pool: ThreadPoolExecutor) -> None:
        """Wait for the workers. A KeyboardInterrupt cancels the run and waits for the workers'
        prompt stop; one that comes after a cancel (a second Ctrl-C) stops waiting at once."""
        try:
            pool.shutdown(wait=True, cancel_futures=self.cancel.is_set())
        except KeyboardInterrupt:
            if self.cancel.is_set():
                raise
            self.cancel.set()
            pool.shutdown(wait=True, cancel_futures=True)
            raise

    def _write_records(self) -> None:
        """Write the manifest and results table; a failure (full disk) is reported, not raised."""
        for write in (self.manifest.close, self.results.write):
            try:
                write()
            except GCFetchError as exc:
                logger.info("%s", exc)
                self._fail(failure("", "", "", exc))

    def _list_and_submit(
        self, jobs: Iterable[Job], pool: ThreadPoolExecutor, slots: threading.BoundedSemaphore
    ) -> None:
        listed = 0
        for job in jobs:
            if self.cancel.is_set():
                return
            listed += 1
            self.summary.jobs_by_status[job.status] += 1
            if job.status not in self.summary.statuses:
                self.emit(events.JobListed(job.pk, job.status, selected=False, tasks=0))
                continue
            self.summary.selected_jobs += 1
            tasks, refused = self.planner.plan_job(job)
            if self.results is not None:
                self.results.add(job)
            self.emit(
                events.JobListed(job.pk, job.status, selected=True, tasks=len(tasks) + len(refused))
            )
            for item in refused:
                self._fail(item)
            for task in tasks:
                while not slots.acquire(timeout=0.1):
                    if self.cancel.is_set():
                        return
                future: Future[None] = pool.submit(self._execute, task)
                future.add_done_callback(lambda _: slots.release())
        self.emit(events.ListingFinished(listed, self.summary.selected_jobs))

    def _fail(self, item: Failure) -> None:
        with self._lock:
            self.summary.failures.append(item)
        self.emit(events.TaskFailed(item.job_pk, item.socket_slug, item.path, item.error))

    def _execute(self, task: Task) -> None:
        if self.cancel.is_set():
            return
        try:
            self._run_task(task)
        except TransferCancelled:
            logger.info("cancelled: %s", task.relpath)
        except Exception as exc:  # one output failing never stops the run
            logger.info("failed: %s: %s", task.relpath, exc)
            self._fail(failure(task.job_pk, task.socket_slug, task.relpath, exc))

    def _run_task(self, task: Task) -> None:
        done = self._already_done(task)
        if done:
            with self._lock:
                self.summary.files_present += done
            self.emit(
                events.TaskSkipped(
                    task.job_pk, task.socket_slug, task.relpath, done, "already present"
                )
            )
            return
        if self.dry_run:
            with self._lock:
                self.summary.would_download.append(task.relpath)
            self.emit(events.TaskSkipped(task.job_pk, task.socket_slug, task.relpath, 0, "dry run"))
            return
        self.emit(events.TaskStarted(task.job_pk, task.socket_slug, task.relpath))
        if task.super_kind == "Value":
            records, received = [self._write_value(task)], 0
        elif task.super_kind == "File":
            rec, received = self._fetch(task, task.source, task.target)
            records = [rec]
        else:
            records, received = self._fetch_image(task)
        self.manifest.add(records)
        with self._lock:
            self.summary.files_downloaded += len(records)
            self.summary.bytes_transferred += received
        self.emit(
            events.TaskFinished(task.job_pk, task.socket_slug, task.relpath, len(records), received)
        )

    def _already_done(self, task: Task) -> int:
        """Number of files of a complete output (0 if not complete); never sends a request."""
        if task.super_kind == "Image":
            return self.manifest.complete_files(task.job_pk, task.socket_slug)
        if not task.target.is_file():
            return 0
        if not self.dry_run and self.manifest.get(task.relpath) is None:
            self.manifest.add([self._local_record(task, task.target, task.source)])
        return 1

    def _local_record(self, task: Task, path: Path, url: str | None) -> dict:
        """The record of a file already in place (a run stopped right after renaming it may
        have left its `.part.json` sidecar behind: removed here)."""
        if not self.dry_run:
            path.with_name(path.name + ".part.json").unlink(missing_ok=True)
        return self._record_of(task, path, url)

    def _record_of(self, task: Task, path: Path, url: str | None) -> dict:
        size, sha256 = file_digest(path)
        return record(
            job=task.job_pk,
            socket=task.socket_slug,
            super_kind=task.super_kind,
            path=self.planner.relative(path),
            size=size,
            sha256=sha256,
            etag=None,
            url=url,
        )

    def _write_value(self, task: Task) -> dict:
        part = task.target.with_name(task.target.name + ".part")
        try:
            task.target.parent.mkdir(parents=True, exist_ok=True)
            with part.open("w", encoding="utf-8") as handle:
                json.dump(task.value, handle, indent=2)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(part, task.target)
        except OSError as exc:
            raise GCFetchError(
                f"cannot write {task.target.name} in {task.target.parent}: {exc.strerror}"
            ) from exc
        return self._record_of(task, task.target, task.source)

    def _fetch(self, task: Task, url: str | None, target: Path) -> tuple[dict, int]:
        if not url:
            raise GCFetchError(f"the server gave no URL for output {task.socket_slug!r}")
        result = download(
            self.client.http, url, target, on_bytes=self._on_bytes, cancel=self.cancel
        )
        rec = record(
            job=task.job_pk,
            socket=task.socket_slug,
            super_kind=task.super_kind,
            path=self.planner.relative(result.path),
            size=result.size,
            sha256=result.sha256,
            etag=result.etag,
            url=url,
        )
        return rec, result.bytes_received

    def _fetch_image(self, task: Task) -> tuple[list[dict], int]:
        if not task.source:
            raise GCFetchError(f"the server gave no image for output {task.socket_slug!r}")
        image = self.client.images.detail(api_url=task.source)
        records: list[dict] = []
        received = 0
        for image_file in image.files:
            target = self.planner.image_file_target(task, image.pk, image_file.file)
            if target.is_file():
                records.append(self._local_record(task, target, image_file.file))
                continue
            rec, got = self._fetch(task, image_file.file, target)
            records.append(rec)
            received += got
        if not records:
            raise GCFetchError(f"image {image.pk} has no files to download")
        return records, received

    def _on_bytes(self, count: int) -> None:
        self.emit(events.BytesReceived(count))
