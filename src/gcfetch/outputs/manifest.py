"""`manifest.jsonl`: one line per file of the destination (size, sha256, ETag, source URL).

The manifest gets one appended write per finished output, after its files are in place, so a
line never names a file that was cut short; lines lost to a kill leave files the next run checks
as unrecorded (jsonlines.py says when lines are fsynced and when the file is rewritten).
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path

from gcfetch.errors import UnsafePathError
from gcfetch.outputs.jsonlines import AppendLog, read_lines
from gcfetch.paths import split_relative

MANIFEST_NAME = "manifest.jsonl"
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
    """`manifest.jsonl`: one JSON line per file, appended as outputs finish (see jsonlines).

    Look-ups answer from the records earlier runs left (read once, at load); the records a run
    adds go straight to the file, so memory does not grow with them. A later line for a path
    replaces an earlier one.
    """

    def __init__(self, root: Path, records: dict[str, ManifestRecord], *, clean: bool) -> None:
        self.path = root / MANIFEST_NAME
        self.root = root
        self._records = records
        self._by_output: dict[tuple[str, str], list[str]] = defaultdict(list)
        for rec in records.values():
            self._by_output[(rec.job, rec.socket)].append(rec.path)
        self._log = AppendLog(self.path, _path_of_line, set(records), clean=clean)

    @classmethod
    def load(cls, root: Path) -> Manifest:
        """Read an existing manifest; lines that are not valid records are dropped, each with
        a warning naming the file and line (their files are then checked like unrecorded ones).
        """
        records, clean = read_lines(root / MANIFEST_NAME, ManifestRecord.from_json, _path_of)
        return cls(root, records, clean=clean)

    def get(self, relpath: str) -> ManifestRecord | None:
        """The record an earlier run left for `relpath`, if any."""
        return self._records.get(relpath)

    def files_of(self, job_pk: str, socket_slug: str) -> list[ManifestRecord]:
        """The records an earlier run left for one output."""
        return [self._records[p] for p in self._by_output.get((job_pk, socket_slug), ())]

    def complete_files(self, job_pk: str, socket_slug: str) -> int:
        """How many files an earlier run recorded for this output, if all are still intact
        (0: not done)."""
        recs = self.files_of(job_pk, socket_slug)
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
        self._log.append([(rec.path, rec.to_json()) for rec in records])

    def close(self) -> None:
        """Make the appended records durable; rewrite the file if it holds repeats or damage."""
        self._log.close()


def _path_of(rec: ManifestRecord) -> str:
    return rec.path


def _path_of_line(line: str) -> str:
    return ManifestRecord.from_json(line).path
