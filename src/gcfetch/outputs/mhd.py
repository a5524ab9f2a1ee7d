"""Two-file MHD images saved under new names: point the header at the data file beside it.

An image stored as `.mhd` + `.zraw` (or `.raw`; older uploads) is saved, as gcapi saves it, as
`<image pk>.mhd` / `<image pk>.zraw`, but the header still names the data file it was uploaded
with (`ElementDataFile = x.zraw`), so SimpleITK / ITK-SNAP cannot open the pair.
`misnamed_pair` finds such a header among an image's saved files; `fix_header` rewrites its
`ElementDataFile` line to the saved data file's name, atomically, every other byte (line
endings included) as it was.

Headers are server data: only a small (at most MAX_HEADER bytes) plain-text header with one
`ElementDataFile` naming one file without directories is touched; LOCAL (data in the header),
LIST and file patterns are left alone.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple

from gcfetch.files import atomic_write

logger = logging.getLogger(__name__)

MAX_HEADER = 64 * 1024
HEADER_SUFFIX = ".mhd"
_KEY = b"ElementDataFile"
# key, then "=" and the value; the value ends before the line ending
_LINE = re.compile(rb"(?P<lead>[ \t]*ElementDataFile[ \t]*=[ \t]*)(?P<value>[^\r\n]*?)[ \t]*")
_SAFE_NAME = re.compile(r"[A-Za-z0-9._+-]+")
_CONTROL = re.compile(rb"[^\t\r\n\x20-\x7e]")  # anything but printable ASCII and line ends


class MisnamedPair(NamedTuple):
    header: Path  # the saved `.mhd`
    data: Path  # the saved data file beside it
    named: str  # what the header's ElementDataFile names


def misnamed_pair(files: Iterable[Path]) -> MisnamedPair | None:
    """The header among an image's saved `files` whose ElementDataFile names a file other than
    the one data file saved beside it (same directory and stem), if any; None when there is no
    such pair, the header already names the data file, or the header is refused."""
    paths = list(files)
    for header in paths:
        if header.suffix.lower() != HEADER_SUFFIX:
            continue
        data = [
            p for p in paths if p != header and p.parent == header.parent and p.stem == header.stem
        ]
        if len(data) != 1:
            continue
        named = header_data_file(header)
        if named is not None and named != data[0].name:
            return MisnamedPair(header, data[0], named)
    return None


def header_data_file(header: Path) -> str | None:
    """The file the header's ElementDataFile names; None if the header is refused."""
    parsed = _parse(header)
    return None if parsed is None else parsed[0][parsed[1] : parsed[2]].decode("ascii")


def fix_header(header: Path, data_name: str) -> bool:
    """Rewrite `header`'s ElementDataFile to `data_name` (a bare file name), atomically; every
    other byte is kept. True if rewritten, False if it already named `data_name`. ValueError if
    the header is refused or `data_name` is not a plain file name."""
    if not _plain_name(data_name):
        raise ValueError(f"not a plain file name: {data_name!r}")
    parsed = _parse(header)
    if parsed is None:
        raise ValueError(f"{header} is not a header gcfetch rewrites")
    content, start, end = parsed
    new = data_name.encode("ascii")
    if content[start:end] == new:
        return False
    atomic_write(header, content[:start] + new + content[end:])
    return True


def _parse(header: Path) -> tuple[bytes, int, int] | None:
    """(content, start, end of the ElementDataFile value in it) of a header gcfetch may
    rewrite, else None (why is logged at INFO)."""
    try:
        with open(header, "rb") as file:
            content = file.read(MAX_HEADER + 1)
    except OSError as exc:
        return _refused(header, f"unreadable ({exc.strerror})")
    if len(content) > MAX_HEADER:
        return _refused(header, f"larger than {MAX_HEADER} bytes")
    if _CONTROL.search(content):
        return _refused(header, "not plain ASCII text")
    spans = []
    offset = 0
    for line in content.splitlines(keepends=True):
        match = _LINE.fullmatch(line.rstrip(b"\r\n"))
        if match is not None:
            spans.append((offset + match.start("value"), offset + match.end("value")))
        elif line.lstrip().startswith(_KEY):
            return _refused(header, "an ElementDataFile line it cannot read")
        offset += len(line)
    if len(spans) != 1:
        return _refused(header, f"{len(spans)} ElementDataFile lines, not 1")
    start, end = spans[0]
    value = content[start:end].decode("ascii")
    if value.upper() == "LOCAL" or value.upper().split(" ")[0] == "LIST":
        return _refused(header, f"ElementDataFile = {value}")
    if not _plain_name(value):
        return _refused(header, f"ElementDataFile names {value!r}, not one plain file name")
    return content, start, end


def _plain_name(name: str) -> bool:
    """A file name without directories, spaces or patterns."""
    return bool(_SAFE_NAME.fullmatch(name)) and name not in (".", "..")


def _refused(header: Path, why: str) -> None:
    logger.info("%s: left as is: %s", header, why)
    return None
