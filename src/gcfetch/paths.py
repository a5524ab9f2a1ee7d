"""The safe-path rule: a server-supplied path may only ever land inside the destination.

Checked before anything is written. Refused: absolute, drive (``C:``) and UNC names,
backslashes, ``..`` segments, NUL / newline / control characters, empty or ``.`` file names,
components longer than 255 bytes, and paths through an existing symlink leading outside.

Shared by the client (`images.download`, `download_socket_value`) and the bulk downloader.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

from gcfetch.errors import UnsafePathError

logger = logging.getLogger(__name__)

MAX_COMPONENT_BYTES = 255
_DRIVE = re.compile(r"^[A-Za-z]:")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _refuse(path: str, why: str) -> UnsafePathError:
    return UnsafePathError(f"refused server-supplied path {path!r}: {why}", path=path)


def check_component(name: str, *, original: str | None = None) -> str:
    """Return `name` if it is a safe single file or directory name, else raise UnsafePathError."""
    shown = name if original is None else original
    if name in ("", "."):
        raise _refuse(shown, "empty or '.' name")
    if name == "..":
        raise _refuse(shown, "'..' would leave the destination")
    if "/" in name or "\\" in name:
        raise _refuse(shown, "separator inside a name")
    if _CONTROL.search(name):
        raise _refuse(shown, "control character (NUL, newline, ...) in a name")
    if _DRIVE.match(name):
        raise _refuse(shown, "drive letter")
    if len(name.encode("utf-8", "surrogateescape")) > MAX_COMPONENT_BYTES:
        raise _refuse(shown, f"a name longer than {MAX_COMPONENT_BYTES} bytes")
    return name


def split_relative(path: str, *, is_directory: bool) -> list[str]:
    """Split a server-supplied relative path into checked components.

    Empty and ``.`` components in directory positions are dropped (as ``pathlib`` would);
    as the last component of a file path they are refused. A directory path may be empty
    (the legacy ``generic-medical-image`` socket has ``relative_path == ""``).
    """
    if not isinstance(path, str):
        raise _refuse(repr(path), "not a string")
    if "\\" in path:
        raise _refuse(path, "backslash (a Windows separator)")
    if path.startswith("/"):
        raise _refuse(path, "absolute path")
    if _CONTROL.search(path):
        raise _refuse(path, "control character (NUL, newline, ...)")
    if _DRIVE.match(path):
        raise _refuse(path, "drive letter")
    raw = path.split("/")
    if not is_directory and raw[-1] in ("", "."):
        raise _refuse(path, "no file name")
    return [check_component(part, original=path) for part in raw if part not in ("", ".")]


def _inside(path: Path, root: Path) -> bool:
    return path == root or path.is_relative_to(root)


def contained_target(root: Path, components: list[str], *, shown: str) -> Path:
    """Join checked components under `root` and make sure no existing symlink leads outside.

    `root` must be absolute and resolved. The longest existing ancestor of the target is
    resolved strictly; an existing target that is a symlink is refused outright.
    """
    target = root.joinpath(*components)
    probe = target
    while probe != root and not os.path.lexists(probe):
        probe = probe.parent
    if not os.path.lexists(probe):  # the destination itself does not exist yet (dry run)
        return target
    if probe != target or not probe.is_symlink():
        resolved = probe.resolve(strict=True)
        if not _inside(resolved, root):
            raise _refuse(shown, f"an existing symlink leads outside {root}")
    else:
        raise _refuse(shown, "the target is an existing symlink")
    return target


def file_extension(file_url: str) -> str:
    """The extension gcapi names a downloaded file with: everything after the last "." of the
    URL's path (not its query; a ``%2F`` stays text), refused unless it is a safe name."""
    extension = _url_path(file_url).rsplit(".", 1)[-1]
    check_component(extension, original=file_url)
    return extension


def image_file_name(image_pk: str, file_url: str, *, under: str | None = None) -> str:
    """`<image pk>.<ext>`, checked to be one safe file name (both parts come from the server);
    an error names it below the relative directory `under`, when given."""
    return _checked_name(f"{image_pk}.{file_extension(file_url)}", under)


def url_file_name(file_url: str) -> str:
    """The last segment of the URL's path, percent-decoded: the stored file's own name."""
    return unquote(urlsplit(file_url).path.rsplit("/", 1)[-1])


def stored_file_name(file_url: str, *, under: str | None = None) -> str:
    """`url_file_name`, refused unless it is one safe file name (it comes from the server); an
    error names it below the relative directory `under`, when given."""
    return _checked_name(unquote(_url_path(file_url).rsplit("/", 1)[-1]), under)


def dicom_file_name(sop_instance_uid: str, *, under: str | None = None) -> str:
    """`<SOP instance UID>.dcm`, checked to be one safe file name (the UID is the server's)."""
    return _checked_name(f"{sop_instance_uid}.dcm", under)


def _checked_name(name: str, under: str | None) -> str:
    """`name` if it is one safe file name; an error names it below the directory `under`."""
    return check_component(name, original=name if under is None else f"{under}/{name}")


def _url_path(file_url: str) -> str:
    """The path of a server-supplied file URL; control characters are refused first (urlsplit
    would silently drop a newline or tab)."""
    if _CONTROL.search(file_url):
        raise _refuse(file_url, "control character (NUL, newline, ...) in a file URL")
    return urlsplit(file_url).path


CASE_PROBE_NAME = ".gcfetch-case-probe"


def is_case_sensitive(directory: Path) -> bool:
    """Whether the filesystem of `directory` (or of its nearest existing ancestor) tells names
    apart by case. A probe file of a fixed name is created there and removed (so one that a
    killed run left is reused and removed); if that fails, False (the cautious answer: more
    names count as clashing)."""
    existing = directory
    while not existing.is_dir() and existing != existing.parent:
        existing = existing.parent
    probe = existing / CASE_PROBE_NAME
    try:
        probe.touch()
        swapped = probe.with_name(probe.name.swapcase())
        return not (os.path.lexists(swapped) and os.path.samefile(probe, swapped))
    except OSError as exc:
        logger.debug("cannot probe case sensitivity in %s: %s", existing, exc)
        return False
    finally:
        with contextlib.suppress(OSError):
            probe.unlink(missing_ok=True)
