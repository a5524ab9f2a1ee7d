"""A JSON-lines file of the destination, one line per key, appended as a run goes.

Used for `manifest.jsonl` (key: the file's path) and `jobs.jsonl` (key: the job's pk). Each
append is one `write` (a kill never splits a line) and the file is fsynced at most every
FLUSH_INTERVAL seconds and at `close()`; lines lost to a kill are written again by the next
run. A key written again, or a damaged line, makes the file be rewritten atomically, with the
last line of each key in first-seen order: at `close()`, or before the next append after a
failed write.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

from gcfetch.errors import GCFetchError
from gcfetch.files import atomic_write

logger = logging.getLogger(__name__)

FLUSH_INTERVAL = 2.0

T = TypeVar("T")
KeyOf = Callable[[str], str]  # the key of a line; ValueError says why the line is damaged


def read_lines(
    path: Path, parse: Callable[[str], T], key: Callable[[T], str]
) -> tuple[dict[str, T], bool]:
    """The parsed lines of a file by key (the last line of a key wins; nothing if the file does
    not exist), and whether it is clean: no damaged line (`parse` raised ValueError: warned
    about, naming the file and line), no repeated key, and a final newline."""
    if not path.exists():
        return {}, True
    text = path.read_text(encoding="utf-8")
    clean, found = not text or text.endswith("\n"), {}
    for number, line in enumerate(text.splitlines(), 1):
        try:
            item = parse(line)
        except ValueError as exc:
            logger.warning("ignoring line %d of %s: %s", number, path, exc)
            clean = False
            continue
        clean = clean and key(item) not in found
        found[key(item)] = item
    return found, clean


class AppendLog:
    """Appends keyed lines to `path`; `keys` are those already in the file."""

    def __init__(self, path: Path, key_of: KeyOf, keys: set[str], *, clean: bool) -> None:
        self.path = path
        self._key_of = key_of
        self._keys = keys
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._damaged = not clean  # must be rewritten before anything is appended
        self._repeated = False  # a key written again: rewrite at close()
        self._synced_at = time.monotonic()

    def append(self, lines: list[tuple[str, str]]) -> None:
        """Append (key, line) pairs in one write."""
        data = "".join(f"{line}\n" for _, line in lines).encode("utf-8")
        with self._lock:
            if self._damaged:
                self._rewrite()
            for key, _ in lines:
                self._repeated = self._repeated or key in self._keys
                self._keys.add(key)
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
                raise cannot_write(self.path, exc) from exc

    def close(self) -> None:
        """Make the appended lines durable; rewrite the file if it holds repeats or damage."""
        with self._lock:
            fd, self._fd = self._fd, None
            if fd is not None:
                try:
                    os.fsync(fd)
                except OSError as exc:
                    self._damaged = True
                    raise cannot_write(self.path, exc) from exc
                finally:
                    os.close(fd)
            if self._repeated or (self._damaged and self.path.exists()):
                self._rewrite()

    def _open(self) -> int:
        try:
            return os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        except OSError as exc:
            raise cannot_write(self.path, exc) from exc

    def _rewrite(self) -> None:
        """Rewrite the file atomically: the last line of each key, in first-seen order."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        latest: dict[str, str] = dict(self._valid_lines())
        write_whole(self.path, "".join(f"{line}\n" for line in latest.values()))
        self._damaged = self._repeated = False

    def _valid_lines(self) -> Iterator[tuple[str, str]]:
        if not self.path.exists():
            return
        with self.path.open(encoding="utf-8") as handle:
            for line in handle:
                try:
                    yield self._key_of(line.rstrip("\n")), line.rstrip("\n")
                except ValueError:
                    continue


def write_whole(path: Path, text: str) -> None:
    """Replace `path` atomically (gcfetch.files); a failure (full disk) names the directory."""
    try:
        atomic_write(path, text)
    except OSError as exc:
        raise cannot_write(path, exc) from exc


def cannot_write(path: Path, exc: OSError) -> GCFetchError:
    return GCFetchError(f"cannot write {path.name} in {path.parent}: {exc.strerror}")
