"""Files on disk: the one atomic write, the one promotion of a finished `.part`, the one hash.

A final path only ever holds a complete file: bytes go to a temporary file beside it, are
fsynced, renamed onto it with os.replace, and the directory is fsynced so the rename survives a
power cut (where the platform allows it; not on Windows). OSErrors propagate unchanged, so each
caller words its own message (e.g. a full disk naming the directory).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from pathlib import Path
from typing import TYPE_CHECKING

from gcfetch import config

if TYPE_CHECKING:
    from hashlib import _Hash


def atomic_write(path: Path, data: bytes | str, *, temp: Path | None = None) -> None:
    """Write `data` (str: as UTF-8, newlines unchanged) to `path` atomically and durably.

    The bytes go to `temp` (default `.<name>.tmp` beside `path`; a fixed name, so a temp file
    left by a kill is replaced by the next write), which is fsynced and renamed onto `path`;
    then the directory is fsynced. Missing parent directories are created. On failure the temp
    file is removed and `path` keeps its old content.
    """
    temp = temp or path.with_name(f".{path.name}.tmp")
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with open(temp, "wb") as out:
            out.write(data.encode("utf-8") if isinstance(data, str) else data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    _fsync_directory(path.parent)


def promote(part: Path, target: Path) -> None:
    """Rename the finished (already fsynced) `part` onto `target`, then fsync the directory."""
    os.replace(part, target)
    _fsync_directory(target.parent)


def _fsync_directory(directory: Path) -> None:
    """Make a rename in `directory` durable where the platform allows it (not on Windows)."""
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def hash_file(path: Path) -> tuple[int, _Hash]:
    """(size, sha256 object) of the file's bytes, read in chunks; the object takes more bytes."""
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(config.CHUNK_SIZE):
            digest.update(chunk)
            size += len(chunk)
    return size, digest


def sha256_file(path: Path) -> tuple[int, str]:
    """(size, sha256 hex digest) of a file on disk."""
    size, digest = hash_file(path)
    return size, digest.hexdigest()
