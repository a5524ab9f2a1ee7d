"""Job -> tasks with checked target paths: `<out>/<job pk>/<relative_path>` in gcapi's layout
(images: `<relative_path>/<image pk>.<ext>` per image file), `<out>/<job pk>/output/...` in the
evaluation layout (see layout.py).

Every target is checked to stay inside the destination before anything is written, and each
target can be claimed by one output only; a refused output becomes a Failure, the run goes on.
"""

from __future__ import annotations

import threading
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gcfetch.errors import UnsafePathError
from gcfetch.models import pk_from_url
from gcfetch.outputs.destination import LOCK_NAME
from gcfetch.outputs.job_records import JOBS_NAME, PREDICTIONS_NAME
from gcfetch.outputs.layout import Layout
from gcfetch.outputs.manifest import MANIFEST_NAME
from gcfetch.outputs.results import RESULTS_NAME
from gcfetch.outputs.summary import Failure
from gcfetch.paths import check_component, contained_target, is_case_sensitive, split_relative

if TYPE_CHECKING:
    from collections.abc import Mapping

    from gcfetch.models import Image, SocketValue

SUPER_KINDS = {"image": "Image", "file": "File", "value": "Value"}
SIDECARS = (".part", ".part.json")  # written beside every file target while it downloads
# the run's own files in the destination (and their temp names): no job may take these names
RUN_FILES = tuple(
    name
    for own in (MANIFEST_NAME, RESULTS_NAME, JOBS_NAME, PREDICTIONS_NAME, LOCK_NAME)
    for name in (own, f".{own}.tmp")
)


@dataclass(frozen=True)
class Task:
    """One output of one job. For images `target` is the directory holding the image's files."""

    job_pk: str
    socket_slug: str
    super_kind: str  # "Image", "File" or "Value"
    target: Path
    relpath: str  # target relative to the destination, POSIX style
    source: str | None  # file URL, image API URL, or the job's API URL for values
    value: Any = None
    image: Image | None = None  # an image output's metadata, when it came in bulk


class Planner:
    """Turns jobs into tasks under one destination; remembers which targets are taken.

    Targets are compared as the destination's filesystem compares names: NFC-normalised
    everywhere, and case-folded when it ignores case (probed once, unless `case_sensitive` is
    given). A file target also takes its `.part` and `.part.json` names.
    """

    def __init__(
        self, root: Path, layout: Layout | None = None, *, case_sensitive: bool | None = None
    ) -> None:
        self.root = root
        self.layout = layout or Layout()
        self._case_sensitive = case_sensitive
        # claimed targets as `_key` strings, one per output and per image file (sidecar names
        # are derived when checking, not stored)
        self._files: set[str] = set()
        self._dirs: set[str] = set()
        self._own_keys: set[str] | None = None  # the run's own files, as `_key`s
        self._lock = threading.Lock()

    def plan(
        self,
        pk: str,
        values: list[SocketValue],
        api_url: str,
        images: Mapping[str, Image] | None = None,
    ) -> tuple[list[Task], list[Failure]]:
        """Tasks for every value of the object `pk` (a job's outputs, an item's values), and
        the values refused (unsafe or clashing path); `images` (by pk) gives image values their
        metadata; `api_url` is the object's, recorded as the source of values."""
        tasks: list[Task] = []
        refused: list[Failure] = []
        for value in values:
            socket = value.socket or value.interface
            try:
                tasks.append(self._task(str(pk), value, api_url, images or {}))
            except UnsafePathError as exc:
                refused.append(failure(pk, socket.slug, socket.relative_path, exc))
        return tasks, refused

    def _task(self, pk: str, value: SocketValue, api_url: str, images: Mapping[str, Image]) -> Task:
        socket = value.socket or value.interface
        kind = SUPER_KINDS.get(str(socket.super_kind).lower())
        if kind is None:
            raise UnsafePathError(f"unknown super_kind {socket.super_kind!r}", path=None)
        shown = f"{pk}/{socket.relative_path}"
        parts = self.layout.job_parts(self._job_directory(pk, shown))
        parts += split_relative(socket.relative_path, is_directory=kind == "Image")
        target = contained_target(self.root, parts, shown=shown)
        image = None
        if kind == "Image":
            self._claim(target, shown, directory=True)
            source = value.image
            image = images.get(pk_from_url(source)) if source else None
        else:
            self._claim(target, shown, directory=False)
            source = value.file if kind == "File" else api_url
        relpath = self.relative(target)
        return Task(pk, socket.slug, kind, target, relpath, source, value.value, image)

    def _job_directory(self, job_pk: str, shown: str) -> str:
        """The job's directory name, refused if it is (as the filesystem compares names) one
        of the run's own files."""
        check_component(job_pk, original=shown)
        if self._own_keys is None:
            self._own_keys = {self._key(self.root / name) for name in RUN_FILES}
        if self._key(self.root / job_pk) in self._own_keys:
            raise UnsafePathError(
                f"refused server-supplied path {shown!r}: the job's directory would take the "
                "name of one of gcfetch's own files in the destination",
                path=shown,
            )
        return job_pk

    def image_file_target(self, task: Task, image_pk: str, file_url: str) -> Path:
        """The target of one file of an image output, named as the layout names it."""
        return self.file_target(
            task, self.layout.image_file_name(image_pk, file_url, under=task.relpath)
        )

    def file_target(self, task: Task, name: str) -> Path:
        """The target of one file of an image output, `name` (checked) in its directory."""
        check_component(name, original=f"{task.relpath}/{name}")
        shown = f"{task.relpath}/{name}"
        target = contained_target(
            self.root, [*task.target.relative_to(self.root).parts, name], shown=shown
        )
        self._claim(target, shown, directory=False)
        return target

    def relative(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()

    def _claim(self, target: Path, shown: str, *, directory: bool) -> None:
        with self._lock:
            key = self._key(target)
            if directory:
                taken = any(owner in self._files for owner in _owners(key))
            else:
                written = _written(key)
                taken = any(name in self._dirs for name in written) or any(
                    name in self._files for name in {*written, *_owners(key)}
                )
            if taken:
                raise UnsafePathError(
                    f"refused server-supplied path {shown!r}: another output already writes "
                    "there (names that differ only in case, Unicode form or a .part suffix count "
                    "as one)",
                    path=shown,
                )
            (self._dirs if directory else self._files).add(key)

    def _key(self, target: Path) -> str:
        """`target` relative to the destination as its filesystem tells names apart."""
        if self._case_sensitive is None:
            self._case_sensitive = is_case_sensitive(self.root)
        key = unicodedata.normalize("NFC", self.relative(target))
        return key if self._case_sensitive else unicodedata.normalize("NFC", key.casefold())


def _written(key: str) -> tuple[str, ...]:
    """The names a file target writes: itself and its sidecars."""
    return (key, *(key + suffix for suffix in SIDECARS))


def _owners(key: str) -> tuple[str, ...]:
    """The file targets that write the name `key`: itself, or the file it is a sidecar of."""
    return (key, *(key[: -len(suffix)] for suffix in SIDECARS if key.endswith(suffix)))


def failure(job_pk: str, socket_slug: str, path: str, exc: BaseException) -> Failure:
    """A Failure record for one output."""
    return Failure(job_pk, socket_slug, path, str(exc), type(exc).__name__)
