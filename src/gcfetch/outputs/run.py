"""Run the download: a lister feeds a bounded pool of workers; records and summary at the end.

The calling thread lists jobs lazily (page by page) and submits each output as soon as its job
is listed, so transfers overlap with the listing. At most `workers` outputs run at once, on the
client's one connection pool, whose size (`Client.max_concurrent_downloads`) bounds `workers`.
Recorded outputs whose files still have their recorded size are skipped without any request.
A file found at its final path without a record (left by gcapi, a copy cut short, a lost
manifest line) is kept only once confirmed: its size equals the server's (one 1-byte ranged
request), or for a value its content equals what would be written; otherwise it is written
again through the normal atomic transfer.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING

from gcfetch.errors import GCFetchError, TransferCancelled
from gcfetch.files import atomic_write, sha256_file
from gcfetch.outputs import events
from gcfetch.outputs.destination import destination_lock, prepare_destination
from gcfetch.outputs.manifest import Manifest, ManifestRecord, ResultsTable
from gcfetch.outputs.plan import Planner, Task, failure
from gcfetch.outputs.select import select_jobs
from gcfetch.outputs.summary import DownloadSummary, Failure
from gcfetch.resources import Malformed

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
    workers: int | None = None,
    on_progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    dry_run: bool = False,
    segments: int | None = None,
    segment_threshold: int | None = None,
) -> DownloadSummary:
    """Download the outputs of the selected jobs into `<output_directory>/<job pk>/...`.

    Select by `algorithm` slug, `algorithm_image` pk (both together: keep that image's jobs
    without reading the image), or explicit `jobs` pks. Only jobs whose status is in `statuses`
    are downloaded; the others are counted. Finished files are skipped without any request;
    `.part` files resume. Setting `cancel` stops the run at once, waits included (retry
    backoff, Retry-After); the summary says `interrupted`. The client stays usable afterwards.
    Bad input (unknown slug/image/job, unusable directory, refused token) raises at once.

    `workers` (outputs at once) defaults to the client's `max_concurrent_downloads`, which sizes
    its connection pool; more workers than that are reduced to it, with a warning.

    A file of at least `segment_threshold` bytes (0: off) comes as up to `segments` ranged
    requests in parallel, on connection slots no worker uses; both default to the client's.
    """
    workers = _worker_count(client, workers)
    cancel = cancel or threading.Event()
    root = prepare_destination(output_directory, create=not dry_run)
    with client.http.cancelled_by(cancel):
        try:
            source = select_jobs(
                client,
                algorithm=algorithm,
                algorithm_image=algorithm_image,
                jobs=jobs,
                malformed=True,
            )
        except TransferCancelled:
            return DownloadSummary(root, tuple(statuses), interrupted=True, dry_run=dry_run)
        run = _Run(client, root, tuple(statuses), workers, on_progress, cancel, dry_run)
        run.segments, run.segment_threshold = segments, segment_threshold
        with nullcontext() if dry_run else destination_lock(root):
            return run.execute(source.jobs)


def _worker_count(client: Client, workers: int | None) -> int:
    """`workers`, or the client's pool size if None or larger (warned: they would only wait)."""
    pool = client.max_concurrent_downloads
    if workers is None:
        return pool
    if workers < 1:
        raise ValueError("workers must be at least 1")
    if workers > pool:
        logger.warning(
            "workers=%d exceeds the client's max_concurrent_downloads=%d; using %d (raise "
            "max_concurrent_downloads on the Client for more)",
            workers,
            pool,
            pool,
        )
        return pool
    return workers


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
        self._bytes = events.BytesBatcher(self.emit)
        self.segments: int | None = None  # None: the client's (see Client.download_file)
        self.segment_threshold: int | None = None

    def emit(self, event: events.ProgressEvent) -> None:
        if self._emit_to is not None:
            self._emit_to(event)

    def execute(self, jobs: Iterable[Job | Malformed]) -> DownloadSummary:
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
        self,
        jobs: Iterable[Job | Malformed],
        pool: ThreadPoolExecutor,
        slots: threading.BoundedSemaphore,
    ) -> None:
        """List the jobs; submit each selected job's outputs as soon as it is listed."""
        listed = 0
        for job in jobs:
            if self.cancel.is_set():
                return
            listed += 1
            if not self._submit(self._plan(job), pool, slots):
                return
        self.emit(events.ListingFinished(listed, self.summary.selected_jobs))

    def _plan(self, job: Job | Malformed) -> list[Task]:
        """Count the job by status; for a selected one, add its results row, fail its refused
        outputs and return its tasks."""
        if isinstance(job, Malformed):
            self._malformed(job)
            return []
        self.summary.jobs_by_status[job.status] += 1
        if job.status not in self.summary.statuses:
            self.emit(events.JobListed(job.pk, job.status, selected=False, tasks=0))
            return []
        self.summary.selected_jobs += 1
        tasks, refused = self.planner.plan_job(job)
        if self.results is not None:
            self.results.add(job)
        self.emit(
            events.JobListed(job.pk, job.status, selected=True, tasks=len(tasks) + len(refused))
        )
        for item in refused:
            self._fail(item)
        return tasks

    def _submit(
        self, tasks: list[Task], pool: ThreadPoolExecutor, slots: threading.BoundedSemaphore
    ) -> bool:
        """Submit each task once one of `slots` is free; False if cancelled while waiting."""
        for task in tasks:
            while not slots.acquire(timeout=0.1):
                if self.cancel.is_set():
                    return False
            future: Future[None] = pool.submit(self._execute, task)
            future.add_done_callback(lambda _: slots.release())
        return True

    def _malformed(self, job: Malformed) -> None:
        """A job of the wrong shape fails alone (unless its raw status is not selected)."""
        status = job.raw.get("status") if isinstance(job.raw, dict) else None
        if isinstance(status, str):
            self.summary.jobs_by_status[status] += 1
            if status not in self.summary.statuses:
                self.emit(events.JobListed(job.pk or "", status, selected=False, tasks=0))
                return
        self.summary.selected_jobs += 1
        self.emit(events.JobListed(job.pk or "", status or "", selected=True, tasks=1))
        logger.info("malformed job: %s", job.error)
        shown = job.pk or f"job #{job.position + 1} of the list"
        self._fail(failure(shown, "", job.pk or "", job.error))

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
        finally:
            self._bytes.flush()  # what arrived before a failure or cancel

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
        downloaded, present = 1, 0
        if task.super_kind == "Value":
            records, received = [self._write_value(task)], 0
        elif task.super_kind == "File":
            rec, received = self._fetch(task, task.source, task.target)
            records = [rec]
        else:
            records, received, downloaded, present = self._fetch_image(task)
        self.manifest.add(records)
        with self._lock:
            self.summary.files_downloaded += downloaded
            self.summary.files_present += present
            self.summary.bytes_transferred += received
        files = downloaded + present
        self.emit(events.TaskFinished(task.job_pk, task.socket_slug, task.relpath, files, received))

    def _already_done(self, task: Task) -> int:
        """Number of files of a complete output (0: not complete, write it).

        A recorded file counts, without a request, while its size matches the record (else it
        is written again); a file without a record counts once `_confirmed` (a dry run confirms
        values only: it sends no request, so such files are listed as to download).
        """
        if task.super_kind == "Image":
            return self.manifest.complete_files(task.job_pk, task.socket_slug)
        state = self._on_disk(task.target)
        if state != "unrecorded":
            return int(state == "intact")
        if self.dry_run and task.super_kind != "Value":
            return 0
        rec = self._confirmed(task, task.target, task.source)
        if rec is None:
            return 0
        if not self.dry_run:
            self.manifest.add([rec])
        return 1

    def _on_disk(self, path: Path) -> str:
        """What the manifest says of `path`, without a request: "intact" (recorded, same
        size), "changed" (recorded; other size, gone or a symlink) or "unrecorded"."""
        rec = self.manifest.get(self.planner.relative(path))
        if rec is None:
            return "unrecorded"
        return "intact" if self.manifest.intact(rec) else "changed"

    def _confirmed(self, task: Task, path: Path, url: str | None) -> ManifestRecord | None:
        """The new record of an unrecorded file at `path` if it is confirmed: a value's content
        equals what would be written; a file's size equals the server's full size (one 1-byte
        ranged request). None: missing or not confirmed, so it is written again."""
        if not path.is_file():
            return None
        etag = None
        if task.super_kind == "Value":
            if not _holds_value(path, task.value):
                logger.info("%s differs from the job's value; writing it again", path)
                return None
        else:
            if not url:
                return None
            size, etag = self.client.file_size(url)
            on_disk = path.stat().st_size
            if size is None or size != on_disk:
                logger.info("%s: %d bytes on disk, the server has %s", path, on_disk, size)
                return None
        return self._local_record(task, path, url, etag)

    def _local_record(
        self, task: Task, path: Path, url: str | None, etag: str | None
    ) -> ManifestRecord:
        """The record of a file kept in place (a run stopped right after renaming it may have
        left its `.part.json` sidecar behind: removed here)."""
        if not self.dry_run:
            path.with_name(path.name + ".part.json").unlink(missing_ok=True)
        return self._record_of(task, path, url, etag)

    def _record_of(
        self, task: Task, path: Path, url: str | None, etag: str | None = None
    ) -> ManifestRecord:
        size, sha256 = sha256_file(path)
        return ManifestRecord(
            job=task.job_pk,
            socket=task.socket_slug,
            super_kind=task.super_kind,
            path=self.planner.relative(path),
            size=size,
            sha256=sha256,
            etag=etag,
            url=url,
        )

    def _write_value(self, task: Task) -> ManifestRecord:
        part = task.target.with_name(task.target.name + ".part")  # a name the planner reserved
        try:
            atomic_write(task.target, json.dumps(task.value, indent=2), temp=part)
        except OSError as exc:
            raise GCFetchError(
                f"cannot write {task.target.name} in {task.target.parent}: {exc.strerror}"
            ) from exc
        return self._record_of(task, task.target, task.source)

    def _fetch(self, task: Task, url: str | None, target: Path) -> tuple[ManifestRecord, int]:
        if not url:
            raise GCFetchError(f"the server gave no URL for output {task.socket_slug!r}")
        result = self.client.download_file(
            url,
            target,
            on_bytes=self._bytes.add,
            cancel=self.cancel,
            segments=self.segments,
            segment_threshold=self.segment_threshold,
        )
        self._bytes.flush()
        rec = ManifestRecord(
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

    def _fetch_image(self, task: Task) -> tuple[list[ManifestRecord], int, int, int]:
        """(records to add, bytes received, files downloaded, files kept): an image file intact
        per its record is kept as is (it needs no new record), an unrecorded one if
        `_confirmed`; the others are downloaded."""
        if not task.source:
            raise GCFetchError(f"the server gave no image for output {task.socket_slug!r}")
        image = self.client.images.detail(api_url=task.source)
        if not image.files:
            raise GCFetchError(f"image {image.pk} has no files to download")
        records: list[ManifestRecord] = []
        received = downloaded = 0
        for image_file in image.files:
            target = self.planner.image_file_target(task, image.pk, image_file.file)
            state = self._on_disk(target)
            if state == "intact":
                continue
            rec = self._confirmed(task, target, image_file.file) if state == "unrecorded" else None
            if rec is None:
                rec, got = self._fetch(task, image_file.file, target)
                received += got
                downloaded += 1
            records.append(rec)
        return records, received, downloaded, len(image.files) - downloaded


def _holds_value(path: Path, value: object) -> bool:
    """Whether `path` holds `value` as `_write_value` writes it (JSON, indent 2)."""
    expected = json.dumps(value, indent=2)
    try:
        if path.stat().st_size > 2 * len(expected.encode("utf-8")):
            return False
        return path.read_text(encoding="utf-8") == expected
    except (OSError, UnicodeDecodeError):
        return False
