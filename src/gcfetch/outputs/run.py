"""Run the download: a lister feeds a bounded pool of workers; records and summary at the end.

The calling thread lists jobs lazily (page by page) and submits the outputs of every
BATCH_JOBS selected jobs as soon as they are listed, so transfers overlap with the listing.
Each batch's images are looked up in bulk (image_lookup.py): the input images' names for the
records, and the output images' files, in one request each, and only where an earlier run
has not already recorded them. At most `workers` outputs run at once, on the
client's one connection pool, whose size (`Client.max_concurrent_downloads`) bounds `workers`.
Recorded outputs whose files still have their recorded size are skipped without any request.
A file found at its final path without a record (left by gcapi, a copy cut short, a lost
manifest line) is kept only once confirmed: its size equals the server's (one 1-byte ranged
request), or for a value its content equals what would be written; otherwise it is written
again through the normal atomic transfer.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gcfetch.errors import GCFetchError, TransferCancelled
from gcfetch.files import atomic_write, sha256_file
from gcfetch.models import pk_from_url
from gcfetch.outputs import events
from gcfetch.outputs.destination import destination_lock, prepare_destination
from gcfetch.outputs.image_lookup import ImageLookup
from gcfetch.outputs.job_records import ObjectsLog, Predictions
from gcfetch.outputs.kinds import JobKind, Kind
from gcfetch.outputs.layout import Layout, LayoutName, layout_named
from gcfetch.outputs.manifest import Manifest, ManifestRecord
from gcfetch.outputs.mhd import MisnamedPair, fix_header, misnamed_pair
from gcfetch.outputs.plan import Planner, Task, failure
from gcfetch.outputs.results import ResultsTable
from gcfetch.outputs.select import Selection, select_jobs
from gcfetch.outputs.summary import FINAL_STATUSES, DownloadSummary, Failure
from gcfetch.paths import dicom_file_name
from gcfetch.resources import Malformed
from gcfetch.tally import since
from gcfetch.transfer import SignedRequest, Source

if TYPE_CHECKING:
    from gcfetch.client import Client
    from gcfetch.models import Image, Job, SocketValue

logger = logging.getLogger(__name__)

ProgressCallback = Callable[[events.ProgressEvent], None]
BATCH_JOBS = 50  # selected jobs planned together, their images looked up in one request
MIN_INTERVAL = 1.0


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
    layout: LayoutName = "default",
    watch: bool = False,
    interval: float = 30.0,
    segments: int | None = None,
    segment_threshold: int | None = None,
    fix_mhd: bool = False,
) -> DownloadSummary:
    """Download the outputs of the selected jobs into `<output_directory>/<job pk>/...`.

    Select by `algorithm` slug, `algorithm_image` pk (both: that image's jobs, without reading
    the image) or `jobs` pks; jobs whose status is not in `statuses` are only counted. Finished
    files are skipped without a request, `.part` files resume, bad input raises at once, and
    setting `cancel` stops the run, waits included (the summary says `interrupted`).

    `workers` defaults to (and is capped at) the client's `max_concurrent_downloads`.
    `layout="evaluation"`: what an evaluation container reads (gcfetch.outputs.layout).
    `watch`: list again every `interval` s (>= 1) while selected jobs are not final. Files of
    `segment_threshold` bytes or more come as `segments` ranged requests (defaults: the
    client's). `fix_mhd`: rewrite a saved `.mhd` naming its uploaded data file
    (gcfetch.outputs.mhd; otherwise warned of once).
    """
    if watch and dry_run:
        raise ValueError("a dry run lists once: do not combine dry_run with watch")
    settings = RunSettings.of(
        client,
        workers,
        cancel,
        statuses=tuple(statuses),
        on_progress=on_progress,
        dry_run=dry_run,
        layout=layout_named(layout),
        segments=segments,
        segment_threshold=segment_threshold,
        fix_mhd=fix_mhd,
    )
    select = partial(
        select_jobs, client, algorithm=algorithm, algorithm_image=algorithm_image, jobs=jobs,
        malformed=True,
    )  # fmt: skip
    run = partial(run_download, client, output_directory, JobKind(), select, settings)
    return run(watch=watch, interval=interval)


@dataclass(frozen=True)
class RunSettings:
    """How a run goes, whatever it downloads."""

    statuses: tuple[str, ...] = ("Succeeded",)  # of jobs; other objects have none
    workers: int = 1
    on_progress: ProgressCallback | None = None
    cancel: threading.Event = field(default_factory=threading.Event)
    dry_run: bool = False
    layout: Layout = field(default_factory=Layout)
    segments: int | None = None  # None: the client's (see Client.download_file)
    segment_threshold: int | None = None
    fix_mhd: bool = False  # rewrite a saved .mhd's ElementDataFile to the saved data file's name

    @classmethod
    def of(
        cls, client: Client, workers: int | None, cancel: threading.Event | None, **fields: Any
    ) -> RunSettings:
        """Settings for a run on `client`: `workers` checked against its pool (_worker_count),
        a cancel event of the run's own if none is given."""
        return cls(
            workers=_worker_count(client, workers), cancel=cancel or threading.Event(), **fields
        )


def run_download(
    client: Client,
    output_directory: Path | str,
    kind: Kind,
    select: Callable[[], Selection[Any]],
    settings: RunSettings,
    *,
    watch: bool = False,
    interval: float = 30.0,
) -> DownloadSummary:
    """Resolve the selection (`select` raises on bad input), then download what it lists into
    `output_directory`, under the destination's lock; with `watch`, again while objects are
    pending. The engine behind download_outputs, download_archive and download_display_sets."""
    root = prepare_destination(output_directory, create=not settings.dry_run)
    requests_before = client.http.tally.snapshot()
    with client.http.cancelled_by(settings.cancel):
        try:
            source = select()
        except TransferCancelled:
            return DownloadSummary(
                root, settings.statuses, interrupted=True, dry_run=settings.dry_run
            )
        with nullcontext() if settings.dry_run else destination_lock(root):
            run = _Run(client, root, kind, settings)  # reads the records: inside the lock
            summary = run.execute(source.list())
            if watch:
                summary = _watch(run, summary, source, max(interval, MIN_INTERVAL))
    summary.requests = since(client.http.tally.snapshot(), requests_before)
    return summary


def _watch(
    run: _Run, summary: DownloadSummary, source: Selection, interval: float
) -> DownloadSummary:
    """List and download again every `interval` seconds while selected jobs are pending."""
    while summary.pending_jobs and not summary.interrupted:
        run.emit(events.Waiting(summary.pending_jobs, interval))
        if run.cancel.wait(interval):
            summary.interrupted = True
            break
        summary = run.execute(source.list()).after(summary)
    return summary


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
    """One destination's download; `execute` is one pass (the watch calls it again)."""

    _mhd_warned = False  # a misnamed .mhd was warned of (once per run)

    def __init__(self, client: Client, root: Path, kind: Kind, settings: RunSettings) -> None:
        self.client = client
        self.root = root
        self.kind = kind
        self.settings = settings
        self.workers = settings.workers
        self.cancel = settings.cancel
        self.dry_run = settings.dry_run
        self.layout = settings.layout
        self.lookup = ImageLookup(client)  # kept across passes: names seen are not asked again
        # records read once and kept across passes (each pass rewrites them at its end)
        self.results = self.objects_log = None
        if not settings.dry_run:
            self.results = ResultsTable(root, kind.columns)
            self.lookup.names.update(self.results.image_names())
            self.objects_log = ObjectsLog(root, kind.log_name)
        self._emit_to = settings.on_progress
        self._lock = threading.Lock()
        self._bytes = events.BytesBatcher(self.emit)

    def emit(self, event: events.ProgressEvent) -> None:
        if self._emit_to is not None:
            self._emit_to(event)

    def execute(self, jobs: Iterable[Job | Malformed]) -> DownloadSummary:
        """One pass: list, download, write the records; the summary of this pass."""
        started = time.monotonic()
        self._open_records()
        slots = threading.BoundedSemaphore(self.workers * 2)
        pool = ThreadPoolExecutor(self.workers, thread_name_prefix="gcfetch")
        listed_all = False
        try:
            listed_all = self._list_and_submit(jobs, pool, slots)
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
                self._write_records(listed_all and not self.cancel.is_set())
        return self.summary

    def _open_records(self) -> None:
        """A new pass: fresh counts and claims, the manifest as the destination holds it, a new
        predictions.json."""
        self.summary = DownloadSummary(
            self.root, self.settings.statuses, dry_run=self.dry_run, noun=self.kind.noun
        )
        self.planner = Planner(self.root, self.layout)
        self.manifest = Manifest.load(self.root)  # again: it holds what earlier passes added
        evaluation = self.layout.name == "evaluation" and not self.dry_run
        self.predictions = Predictions(self.root) if evaluation else None

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

    def _write_records(self, listed_all: bool) -> None:
        """Write the records (predictions.json only if every job was listed); a failure (full
        disk) is reported, not raised."""
        writes: list[Callable[[], None]] = [self.manifest.close]
        if self.results is not None and self.objects_log is not None:
            writes += [self.results.write, self.objects_log.close]
        if self.predictions is not None:
            predictions = self.predictions
            writes.append(lambda: predictions.finish(complete=listed_all))
        for write in writes:
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
    ) -> bool:
        """List the jobs; plan and submit the selected ones BATCH_JOBS at a time. True once
        every job was listed, False if cancelled."""
        listed, batch = 0, []
        for job in jobs:
            if self.cancel.is_set():
                return False
            listed += 1
            selected = self._count(job)
            if selected is not None:
                batch.append(selected)
            if len(batch) == BATCH_JOBS:
                if not self._submit_batch(batch, pool, slots):
                    return False
                batch = []
        if not self._submit_batch(batch, pool, slots):
            return False
        self.emit(events.ListingFinished(listed, self.summary.selected_jobs))
        return True

    def _count(self, obj: Any) -> Any:
        """Count the object (a job by its status); the object if it is selected."""
        if isinstance(obj, Malformed):
            self._malformed(obj)
            return None
        status = self.kind.status(obj)
        if status is not None:
            self.summary.jobs_by_status[status] += 1
            self.summary.pending_jobs += status not in FINAL_STATUSES
            if status not in self.summary.statuses:
                self.emit(events.JobListed(obj.pk, status, selected=False, tasks=0))
                return None
        self.summary.selected_jobs += 1
        return obj

    def _submit_batch(
        self, batch: list[Any], pool: ThreadPoolExecutor, slots: threading.BoundedSemaphore
    ) -> bool:
        """Look up the batch's images, then plan and submit each object; False if cancelled."""
        images = self._look_up_images(batch)
        return all(self._submit(self._plan(obj, images), pool, slots) for obj in batch)

    def _look_up_images(self, batch: list[Job]) -> dict[str, Image]:
        """The images a batch of jobs needs, in bulk: input images not yet named, and the
        output images of outputs not yet complete (in the evaluation layout also those not yet
        named, for predictions.json). A dry run, or another kind of object, asks for nothing
        here (their images are asked for one at a time)."""
        if self.dry_run or not batch or not self.kind.bulk_images:
            return {}
        names = self.lookup.names
        inputs = [job.pk for job in batch if any(pk not in names for pk in _images(job.inputs))]
        outputs = [job.pk for job in batch if self._needs_output_images(job)]
        found = self.lookup.of_jobs("job_input", inputs) if inputs else {}
        if outputs:  # their names only go into predictions.json
            naming = self.predictions is not None
            found.update(self.lookup.of_jobs("job_output", outputs, remember=naming))
        return found

    def _needs_output_images(self, job: Job) -> bool:
        """Whether an image output of `job` is not complete on disk, or (evaluation layout)
        has no known name."""
        for value in job.outputs:
            if not value.image:
                continue
            if not self.manifest.complete_files(job.pk, (value.socket or value.interface).slug):
                return True
            if self.predictions is not None and pk_from_url(value.image) not in self.lookup.names:
                return True
        return False

    def _plan(self, obj: Any, images: dict[str, Image]) -> list[Task]:
        """Plan a selected object: record it, fail its refused values and return its tasks."""
        kind = self.kind
        tasks, refused = self.planner.plan(obj.pk, kind.downloads(obj), kind.api_url(obj), images)
        self._record(obj)
        planned = len(tasks) + len(refused)
        self.emit(events.JobListed(obj.pk, kind.status(obj) or "", selected=True, tasks=planned))
        for item in refused:
            self._fail(item)
        return tasks

    def _record(self, obj: Any) -> None:
        """The object's row in results.csv, its line in jobs.jsonl (items.jsonl) and, for a
        job in the evaluation layout, its predictions entry."""
        if self.results is None or self.objects_log is None:
            return
        names = {pk: self.lookup.name_of(pk) for pk in _images(self.kind.named(obj))}
        self.results.add(self.kind.row(obj, names))
        self.objects_log.add(obj)
        if self.predictions is not None:
            values = [*obj.inputs, *obj.outputs]  # only jobs are laid out for an evaluation
            self.predictions.add(obj, {pk: self.lookup.name_of(pk) for pk in _images(values)})

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
            self.summary.pending_jobs += status not in FINAL_STATUSES
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
        if done and task.super_kind == "Image" and not self.dry_run:
            self._check_kept_mhd(task)
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
        size = sum(rec.size for rec in records)
        finished = events.TaskFinished(
            task.job_pk, task.socket_slug, task.relpath, downloaded + present, received, size
        )
        self.emit(finished)

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

    def _confirmed(self, task: Task, path: Path, url: Source | None) -> ManifestRecord | None:
        """The new record of an unrecorded file at `path` if it is confirmed: a value's content
        equals what would be written; a file's size equals the server's full size (one 1-byte
        ranged request). None: missing or not confirmed, so it is written again."""
        if not path.is_file():
            return None
        etag = None
        if task.super_kind == "Value":
            if not _holds(path, self.layout.value_text(task.value)):
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
        self, task: Task, path: Path, url: Source | None, etag: str | None
    ) -> ManifestRecord:
        """The record of a file kept in place (a run stopped right after renaming it may have
        left its `.part.json` sidecar behind: removed here)."""
        if not self.dry_run:
            path.with_name(path.name + ".part.json").unlink(missing_ok=True)
        return self._record_of(task, path, url, etag)

    def _record_of(
        self, task: Task, path: Path, url: Source | None, etag: str | None = None
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
            url=_recorded(url),
        )

    def _write_value(self, task: Task) -> ManifestRecord:
        part = task.target.with_name(task.target.name + ".part")  # a name the planner reserved
        try:
            atomic_write(task.target, self.layout.value_text(task.value), temp=part)
        except OSError as exc:
            raise GCFetchError(
                f"cannot write {task.target.name} in {task.target.parent}: {exc.strerror}"
            ) from exc
        return self._record_of(task, task.target, task.source)

    def _fetch(self, task: Task, url: Source | None, target: Path) -> tuple[ManifestRecord, int]:
        if not url:
            raise GCFetchError(f"the server gave no URL for output {task.socket_slug!r}")
        result = self.client.download_file(
            url,
            target,
            on_bytes=self._bytes.add,
            cancel=self.cancel,
            segments=self.settings.segments,
            segment_threshold=self.settings.segment_threshold,
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
            url=_recorded(url),
        )
        return rec, result.bytes_received

    def _fetch_image(self, task: Task) -> tuple[list[ManifestRecord], int, int, int]:
        """(records to add, bytes received, files downloaded, files kept): an image file intact
        per its record is kept as is (it needs no new record), an unrecorded one if
        `_confirmed`; the others are downloaded."""
        files = self._image_files(task)
        records: list[ManifestRecord] = []
        received = downloaded = 0
        for target, source in files:
            state = self._on_disk(target)
            if state == "intact":
                continue
            rec = self._confirmed(task, target, source) if state == "unrecorded" else None
            if rec is None:
                rec, got = self._fetch(task, source, target)
                received += got
                downloaded += 1
            records.append(rec)
        pair = misnamed_pair([target for target, _ in files])
        if pair is not None:
            records = self._misnamed_mhd(task, pair, records)
        return records, received, downloaded, len(files) - downloaded

    def _check_kept_mhd(self, task: Task) -> None:
        """An image an earlier run finished: its misnamed `.mhd` is warned of, or fixed."""
        kept = self.manifest.files_of(task.job_pk, task.socket_slug)
        pair = misnamed_pair(self.root / rec.path for rec in kept)
        records = self._misnamed_mhd(task, pair, []) if pair is not None else []
        if records:
            self.manifest.add(records)

    def _misnamed_mhd(
        self, task: Task, pair: MisnamedPair, records: list[ManifestRecord]
    ) -> list[ManifestRecord]:
        """A saved header naming another data file: warned of once per run, or with `fix_mhd`
        rewritten, its record (new or kept from an earlier run) given the new size and sha256
        so that the manifest matches the file."""
        if not self.settings.fix_mhd:
            with self._lock:
                warned, self._mhd_warned = self._mhd_warned, True
            if not warned:
                logger.warning(
                    "%s names its data file %r, saved as %r: image readers cannot open it; "
                    "--fix-mhd (fix_mhd=True) rewrites such headers (warned once per run)",
                    self.planner.relative(pair.header),
                    pair.named,
                    pair.data.name,
                )
            return records
        try:
            fix_header(pair.header, pair.data.name)
        except (OSError, ValueError) as exc:
            raise GCFetchError(f"cannot rewrite {pair.header.name}: {exc}") from exc
        relpath = self.planner.relative(pair.header)
        old = next((r for r in records if r.path == relpath), None) or self.manifest.get(relpath)
        if old is None:
            new = self._record_of(task, pair.header, None)
        else:
            size, sha256 = sha256_file(pair.header)
            new = dataclasses.replace(old, size=size, sha256=sha256)
        logger.info("%s: ElementDataFile now names %s", relpath, pair.data.name)
        return [r for r in records if r.path != relpath] + [new]

    def _image_files(self, task: Task) -> list[tuple[Path, Source]]:
        """(target, source) of each file of an image output: its files as the layout names
        them, or, for a DICOM image set, each instance as `<SOP instance UID>.dcm`."""
        if not task.source:
            raise GCFetchError(f"the server gave no image for output {task.socket_slug!r}")
        image = task.image or self.client.images.detail(api_url=task.source)
        if image.dicom_image_set and not image.files:
            return [
                (
                    self.planner.file_target(task, dicom_file_name(instance.sop_instance_uid)),
                    self.client.images.instance_request(image.pk, instance),
                )
                for instance in self.client.images.dicom_instances(image.pk)
            ]
        files = self.layout.image_files(image.files)
        if not files:
            raise GCFetchError(f"image {image.pk} has no files to download{_why(image)}")
        target = self.planner.image_file_target
        return [(target(task, image.pk, f.file), f.file) for f in files]


def _recorded(source: Source | None) -> str | None:
    """What the manifest records of a source: the URL, or a signed request's key."""
    return source.key if isinstance(source, SignedRequest) else source


def _images(values: Iterable[SocketValue]) -> list[str]:
    """The pks of the images among `values`."""
    return [pk_from_url(value.image) for value in values if value.image]


def _why(image: Image) -> str:
    return " (none of type MHD or TIFF, the ones an evaluation reads)" if image.files else ""


def _holds(path: Path, expected: str) -> bool:
    """Whether `path` holds the text `expected` (a value as the layout writes it)."""
    try:
        if path.stat().st_size > 2 * len(expected.encode("utf-8")):
            return False
        return path.read_text(encoding="utf-8") == expected
    except (OSError, UnicodeDecodeError):
        return False
