"""The destination directory: checked before the run, owned by one run at a time (a lock file)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from gcfetch.errors import ConfigurationError

LOCK_NAME = ".gcfetch.lock"


def prepare_destination(path: Path | str, *, create: bool) -> Path:
    """Return the absolute, resolved destination; create it if asked.

    Raises ConfigurationError naming the fix when it is a file or cannot be written.
    """
    path = Path(path).expanduser()
    if path.exists() and not path.is_dir():
        raise ConfigurationError(
            f"The output directory {path} is a file. Choose another directory with -o."
        )
    if create:
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigurationError(
                f"Cannot create the output directory {path}: {exc.strerror}. "
                "Choose a directory you can write to with -o."
            ) from exc
    if path.exists() and not os.access(path, os.W_OK | os.X_OK):
        raise ConfigurationError(
            f"The output directory {path} is not writable. "
            "Fix its permissions or choose another directory with -o."
        )
    return path.resolve()


@contextmanager
def destination_lock(root: Path) -> Iterator[None]:
    """Hold `<root>/.gcfetch.lock` exclusively for the run; refuse if another run holds it.

    The lock file is removed when the run ends. A run that opened the file just before it was
    removed would lock a file no longer in the directory, so a lock counts only while the
    file at the path is the one locked (else it is opened again).
    """
    import fcntl

    path = root / LOCK_NAME
    while True:
        handle = path.open("a+")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            handle.close()
            raise ConfigurationError(
                f"Another gcfetch run is writing to {root} (it holds {LOCK_NAME}). "
                "Wait for it to finish, or choose another directory with -o."
            ) from exc
        if _same_file(handle.fileno(), path):
            break
        handle.close()  # removed by the run that held it: lock the new one
    try:
        yield
    finally:
        path.unlink(missing_ok=True)
        handle.close()


def _same_file(fd: int, path: Path) -> bool:
    try:
        return os.path.samestat(os.fstat(fd), path.stat())
    except FileNotFoundError:
        return False
