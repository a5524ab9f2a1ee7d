"""The records of a destination: `manifest.jsonl` (one line per file) and `results.csv`
(one row per job, one column per value-output socket).

The manifest gets one appended write per finished output, after its files are in place, so a
line never names a file that was cut short; lines are fsynced at most every FLUSH_INTERVAL
seconds, and lines lost to a kill leave files the next run checks as unrecorded. It is rewritten
atomically only when it holds repeated or damaged lines. The results table is rewritten whole
and atomically (temp file, fsync, os.replace) when a run ends, merged with the rows earlier
runs left.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import re
import threading
import time
from collections import defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gcfetch.errors import GCFetchError, UnsafePathError
from gcfetch.files import atomic_write
from gcfetch.models import pk_from_url
from gcfetch.paths import split_relative

if TYPE_CHECKING:
    from gcfetch.models import Job

logger = logging.getLogger(__name__)

MANIFEST_NAME = "manifest.jsonl"
RESULTS_NAME = "results.csv"
FLUSH_INTERVAL = 2.0
FIXED_COLUMNS = ("job", "algorithm_image", "status")
_SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True, slots=True)  # slots: every earlier record is kept in memory
class ManifestRecord:
    """One line of `manifest.jsonl`: one file of one output.

    `path` is relative to the destination (POSIX; `from_json` refuses unsafe ones, as it is
    joined to the destination); `url` is the API URL the file came from and never holds a token;
    `etag` is the storage's, when known.
    """

    job: str
    socket: str
    super_kind: str
    path: str
    size: int
    sha256: str
    etag: str | None = None
    url: str | None = None

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, line: str) -> ManifestRecord:
        """The record of one line; ValueError says what is wrong with it.

        Fields have the types above (etag and url may be null or absent), size >= 0, sha256
        is 64 lowercase hex digits, and path is safe (no `..`, absolute, drive or backslash).
        """
        try:
            data = json.loads(line)
        except ValueError:
            raise ValueError("not JSON (cut short?)") from None
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        for key in ("job", "socket", "super_kind", "path"):
            if not isinstance(data.get(key), str):
                raise ValueError(f"{key!r} is missing or not a string")
        size = data.get("size")
        if type(size) is not int or size < 0:
            raise ValueError("'size' is missing or not a whole number >= 0")
        if not isinstance(data.get("sha256"), str) or not _SHA256.fullmatch(data["sha256"]):
            raise ValueError("'sha256' is not 64 hexadecimal digits")
        for key in ("etag", "url"):
            if data.get(key) is not None and not isinstance(data[key], str):
                raise ValueError(f"{key!r} is not a string or null")
        if not _safe_relative(data["path"]):
            raise ValueError(f"unsafe path {data['path']!r}")
        return cls(**{key: data.get(key) for key in _FIELDS})


_FIELDS = ("job", "socket", "super_kind", "path", "size", "sha256", "etag", "url")


def _safe_relative(path: str) -> bool:
    """Whether `path` is a plain relative POSIX path that stays inside the destination."""
    try:
        return "/".join(split_relative(path, is_directory=False)) == path
    except UnsafePathError:
        return False


class Manifest:
    """`manifest.jsonl`: one JSON line per file, appended as outputs finish.

    Look-ups answer from the records earlier runs left (read once, at load); the records a run
    adds go straight to the file, so memory does not grow with them. Each output's lines are
    one `write` (a kill never splits a line) and are fsynced at most every FLUSH_INTERVAL
    seconds and at `close()`. A later line for a path replaces an earlier one; the file is
    rewritten atomically, without the repeats and damaged lines, only when it has any.
    """

    def __init__(self, root: Path, records: dict[str, ManifestRecord], *, clean: bool) -> None:
        self.path = root / MANIFEST_NAME
        self.root = root
        self._records = records
        self._by_output: dict[tuple[str, str], list[str]] = defaultdict(list)
        for rec in records.values():
            self._by_output[(rec.job, rec.socket)].append(rec.path)
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._damaged = not clean  # must be rewritten before anything is appended
        self._repeated = False  # a path recorded again: rewrite at close()
        self._synced_at = time.monotonic()

    @classmethod
    def load(cls, root: Path) -> Manifest:
        """Read an existing manifest; lines that are not valid records are dropped, each with
        a warning naming the file and line (their files are then checked like unrecorded ones).
        """
        records: dict[str, ManifestRecord] = {}
        path = root / MANIFEST_NAME
        clean = True
        if path.exists():
            text = path.read_text(encoding="utf-8")
            clean = not text or text.endswith("\n")
            for number, line in enumerate(text.splitlines(), 1):
                try:
                    rec = ManifestRecord.from_json(line)
                except ValueError as exc:
                    logger.warning("ignoring line %d of %s: %s", number, path, exc)
                    clean = False
                    continue
                clean = clean and rec.path not in records
                records[rec.path] = rec
        return cls(root, records, clean=clean)

    def get(self, relpath: str) -> ManifestRecord | None:
        """The record an earlier run left for `relpath`, if any."""
        return self._records.get(relpath)

    def complete_files(self, job_pk: str, socket_slug: str) -> int:
        """How many files an earlier run recorded for this output, if all are still intact
        (0: not done)."""
        recs = [self._records[p] for p in self._by_output.get((job_pk, socket_slug), ())]
        return len(recs) if all(self.intact(rec) for rec in recs) else 0

    def intact(self, rec: ManifestRecord) -> bool:
        """Whether the recorded file is still on disk, not a symlink, with its recorded size."""
        target = self.root / rec.path
        try:
            return not target.is_symlink() and target.stat().st_size == rec.size
        except OSError:
            return False

    def add(self, records: list[ManifestRecord]) -> None:
        """Append the records of one finished output (all its files in one write)."""
        data = "".join(f"{rec.to_json()}\n" for rec in records).encode("utf-8")
        with self._lock:
            if self._damaged:
                self._rewrite()
            self._repeated = self._repeated or any(r.path in self._records for r in records)
            if self._fd is None:
                self._fd = self._open()
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(self._fd, view) :]
                if time.monotonic() - self._synced_at >= FLUSH_INTERVAL:
                    os.fsync(self._fd)
                    self._synced_at = time.monotonic()
            except OSError as exc:
                self._damaged = True  # a line may be cut short: rewrite before the next one
                raise _cannot_write(self.path, exc) from exc

    def close(self) -> None:
        """Make the appended records durable; rewrite the file if it holds repeats or damage."""
        with self._lock:
            fd, self._fd = self._fd, None
            if fd is not None:
                try:
                    os.fsync(fd)
                except OSError as exc:
                    self._damaged = True
                    raise _cannot_write(self.path, exc) from exc
                finally:
                    os.close(fd)
            if self._repeated or (self._damaged and self.path.exists()):
                self._rewrite()

    def _open(self) -> int:
        try:
            return os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        except OSError as exc:
            raise _cannot_write(self.path, exc) from exc

    def _rewrite(self) -> None:
        """Rewrite the file atomically: the last record of each path, in first-seen order."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        latest: dict[str, str] = {}
        if self.path.exists():
            with self.path.open(encoding="utf-8") as handle:
                for line in handle:
                    try:
                        rec = ManifestRecord.from_json(line)
                    except ValueError:
                        continue
                    latest[rec.path] = rec.to_json()
        _write_whole(self.path, "".join(f"{line}\n" for line in latest.values()))
        self._damaged = self._repeated = False


def _write_whole(path: Path, text: str) -> None:
    """Replace `path` atomically (gcfetch.files); a failure (full disk) names the directory."""
    try:
        atomic_write(path, text)
    except OSError as exc:
        raise _cannot_write(path, exc) from exc


def _cannot_write(path: Path, exc: OSError) -> GCFetchError:
    return GCFetchError(f"cannot write {path.name} in {path.parent}: {exc.strerror}")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str | int | float | bool):
        return str(value)
    return json.dumps(value, separators=(",", ":"))


class ResultsTable:
    """`results.csv`: one row per job with its value outputs; merged with an existing file."""

    def __init__(self, root: Path) -> None:
        self.path = root / RESULTS_NAME
        self._rows: dict[str, dict[str, str]] = {}
        self._lock = threading.Lock()
        if self.path.exists():
            with self.path.open(encoding="utf-8", newline="") as handle:
                for row in csv.DictReader(handle):
                    if row.get("job"):
                        self._rows[row["job"]] = {k: v for k, v in row.items() if v}

    def add(self, job: Job) -> None:
        row = {
            "job": job.pk,
            "algorithm_image": pk_from_url(job.algorithm_image),
            "status": job.status,
        }
        for value in job.outputs:
            socket = value.socket or value.interface
            if str(socket.super_kind).lower() == "value":
                row[socket.slug] = _cell(value.value)
        with self._lock:
            self._rows[job.pk] = row

    def write(self) -> None:
        """Rewrite the table atomically (columns: job, algorithm_image, status, sockets A-Z)."""
        with self._lock:
            if not self._rows:
                return
            extra = sorted({k for row in self._rows.values() for k in row} - set(FIXED_COLUMNS))
            buffer = io.StringIO()
            writer = csv.DictWriter(buffer, fieldnames=[*FIXED_COLUMNS, *extra], restval="")
            writer.writeheader()
            for pk in self._rows:
                writer.writerow(self._rows[pk])
            _write_whole(self.path, buffer.getvalue())
