"""The altered copies of a blob that the `changed` and `gzip` faults serve, made once on disk.

Each copy is written to a temporary file of its own and renamed into place, so concurrent
requests (blobs are served from a thread pool) never see or write a half-made copy.
"""

from __future__ import annotations

import gzip
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from gcfetch.sandbox.settings import SandboxSettings

_FLIP = bytes(b ^ 0x5A for b in range(256))
_BLOCK = 1024 * 1024


def changed_copy(settings: SandboxSettings, key: str, path: Path) -> Path:
    """A file of `path`'s size with every byte changed, for the `changed` fault."""
    copy = settings.data_dir / "faults" / "changed" / key
    if copy.is_file() and copy.stat().st_size == path.stat().st_size:
        return copy
    return _make(copy, path, _flip)


def gzip_copy(settings: SandboxSettings, key: str, path: Path) -> Path:
    """A gzip-compressed copy of `path` (of a `changed` copy too), for the `gzip` fault."""
    name = "changed" if path.is_relative_to(settings.data_dir / "faults") else "blobs"
    copy = settings.data_dir / "faults" / "gzip" / name / (key + ".gz")
    if copy.is_file() and copy.stat().st_mtime >= path.stat().st_mtime:
        return copy
    return _make(copy, path, _compress)


def _make(copy: Path, path: Path, write: Callable[[BinaryIO, BinaryIO], None]) -> Path:
    """Write `copy` from `path` with `write(source, out)` through a private temporary file."""
    copy.parent.mkdir(parents=True, exist_ok=True)
    fd, scratch = tempfile.mkstemp(dir=copy.parent, prefix=f".{copy.name}.", suffix=".tmp")
    try:
        with path.open("rb") as source, os.fdopen(fd, "wb") as out:
            write(source, out)
        os.replace(scratch, copy)
    except BaseException:
        Path(scratch).unlink(missing_ok=True)
        raise
    return copy


def _flip(source: BinaryIO, out: BinaryIO) -> None:
    while block := source.read(_BLOCK):
        out.write(block.translate(_FLIP))


def _compress(source: BinaryIO, out: BinaryIO) -> None:
    with gzip.GzipFile(fileobj=out, mode="wb", mtime=0) as packed:
        shutil.copyfileobj(source, packed, _BLOCK)
