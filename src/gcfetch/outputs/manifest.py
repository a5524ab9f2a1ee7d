"""The records of a destination: `manifest.jsonl` (one line per file) and `results.csv`
(one row per job, one column per value-output socket).

Both are rewritten whole and atomically (temp file, fsync, os.replace), merged with what a
previous run left, so that after any interruption they describe files that really exist.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import os
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gcfetch.errors import GCFetchError

if TYPE_CHECKING:
    from gcfetch.models import Job

logger = logging.getLogger(__name__)

MANIFEST_NAME = "manifest.jsonl"
RESULTS_NAME = "results.csv"
FLUSH_INTERVAL = 2.0
FIXED_COLUMNS = ("job", "algorithm_image", "status")


def atomic_write_text(path: Path, text: str) -> None:
    """Write `text` to `path` through a temp file, fsync and os.replace.

    On failure (e.g. a full disk) the temp file is removed, `path` keeps its old content and a
    GCFetchError names the directory.
    """
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with tmp.open("w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise GCFetchError(f"cannot write {path.name} in {path.parent}: {exc.strerror}") from exc


def file_digest(path: Path) -> tuple[int, str]:
    """Size and sha256 of a file on disk, read in chunks."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        while chunk := handle.read(1024 * 1024):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def record(
    *,
    job: str,
    socket: str,
    super_kind: str,
    path: str,
    size: int,
    sha256: str,
    etag: str | None,
    url: str | None,
) -> dict[str, Any]:
    """One manifest line. `url` is the API URL the file came from; it never holds a token."""
    return {
        "job": job,
        "socket": socket,
        "super_kind": super_kind,
        "path": path,
        "size": size,
        "sha256": sha256,
        "etag": etag,
        "url": url,
    }


class Manifest:
    """`manifest.jsonl`: records keyed by path, flushed at most every FLUSH_INTERVAL seconds."""

    def __init__(self, root: Path, records: dict[str, dict[str, Any]]) -> None:
        self.path = root / MANIFEST_NAME
        self.root = root
        self._records = records
        self._by_output: dict[tuple[str, str], list[str]] = defaultdict(list)
        for rec in records.values():
            self._by_output[(rec["job"], rec["socket"])].append(rec["path"])
        self._lock = threading.Lock()
        self._dirty = False
        self._flushed_at = time.monotonic()

    @classmethod
    def load(cls, root: Path) -> Manifest:
        """Read an existing manifest; lines that do not parse are dropped (and logged)."""
        records: dict[str, dict[str, Any]] = {}
        path = root / MANIFEST_NAME
        if path.exists():
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                try:
                    rec = json.loads(line)
                    records[rec["path"]] = rec
                except (ValueError, KeyError, TypeError):
                    logger.warning("ignoring line %d of %s: not a manifest record", number, path)
        return cls(root, records)

    def get(self, relpath: str) -> dict[str, Any] | None:
        with self._lock:
            return self._records.get(relpath)

    def complete_files(self, job_pk: str, socket_slug: str) -> int:
        """How many recorded files of this output exist with their recorded size (0: not done)."""
        with self._lock:
            paths = list(self._by_output.get((job_pk, socket_slug), ()))
            recs = [self._records[p] for p in paths]
        for rec in recs:
            target = self.root / rec["path"]
            try:
                if target.is_symlink() or target.stat().st_size != rec["size"]:
                    return 0
            except OSError:
                return 0
        return len(recs)

    def add(self, records: list[dict[str, Any]]) -> None:
        """Add the records of one finished output (all its files at once)."""
        with self._lock:
            for rec in records:
                if rec["path"] not in self._records:
                    self._by_output[(rec["job"], rec["socket"])].append(rec["path"])
                self._records[rec["path"]] = rec
            self._dirty = True
            due = time.monotonic() - self._flushed_at >= FLUSH_INTERVAL
        if due:
            self.flush()

    def flush(self) -> None:
        """Rewrite the manifest atomically if anything changed."""
        with self._lock:
            if not self._dirty:
                return
            lines = [json.dumps(rec, sort_keys=False) for _, rec in sorted(self._records.items())]
            atomic_write_text(self.path, "".join(f"{line}\n" for line in lines))
            self._dirty = False
            self._flushed_at = time.monotonic()


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
            "algorithm_image": job.algorithm_image.rstrip("/").rsplit("/")[-1],
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
            atomic_write_text(self.path, buffer.getvalue())
