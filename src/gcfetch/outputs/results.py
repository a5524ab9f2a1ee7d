"""`results.csv`: one row per job (or archive item, or display set), with its inputs and values.

Columns for jobs: `job`, `algorithm_image`, `status`; then, per input socket, `input:<slug>`
(an image's name, a value as in the output columns, a file's name from its URL) and, for
images, `input:<slug>:pk`; then one column per value-output socket. For items and display
sets: `item` or `display_set`, then one column per value socket. Sockets are the union over
every row, in slug order, so columns stay stable across runs. The table is rewritten whole and
atomically when a run ends, merged with the rows earlier runs left: a cell this run could not
fill (an image name it could not look up) keeps its earlier content.
"""

from __future__ import annotations

import csv
import io
import json
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gcfetch.models import pk_from_url
from gcfetch.outputs.jsonlines import write_whole
from gcfetch.paths import url_file_name

if TYPE_CHECKING:
    from gcfetch.models import Job, SocketValue

RESULTS_NAME = "results.csv"
JOB_COLUMNS = ("job", "algorithm_image", "status")
INPUT_PREFIX = "input:"
PK_SUFFIX = ":pk"


class ResultsTable:
    """The rows of `results.csv`, merged with an existing file; `write()` at the end.

    `fixed` are the first columns; the first of them holds each row's pk."""

    def __init__(self, root: Path, fixed: tuple[str, ...] = JOB_COLUMNS) -> None:
        self.path = root / RESULTS_NAME
        self.fixed = fixed
        self._rows: dict[str, dict[str, str]] = {}
        self._lock = threading.Lock()
        if self.path.exists():
            with self.path.open(encoding="utf-8", newline="") as handle:
                for row in csv.DictReader(handle):
                    if row.get(fixed[0]):
                        self._rows[row[fixed[0]]] = {k: v for k, v in row.items() if k and v}

    def image_names(self) -> dict[str, str]:
        """The input image names earlier runs recorded, by image pk."""
        names = {}
        for row in self._rows.values():
            for column, pk in row.items():
                name = row.get(column.removesuffix(PK_SUFFIX))
                if column.startswith(INPUT_PREFIX) and column.endswith(PK_SUFFIX) and name:
                    names[pk] = name
        return names

    def add(self, row: dict[str, str]) -> None:
        """A row (keyed by its first fixed column); a cell it leaves empty keeps what an
        earlier run wrote there."""
        pk = row[self.fixed[0]]
        with self._lock:
            earlier = self._rows.get(pk, {})
            self._rows[pk] = {**earlier, **{k: v for k, v in row.items() if v or k not in earlier}}

    def write(self) -> None:
        """Rewrite the table atomically (columns as the module says)."""
        with self._lock:
            if not self._rows:
                return
            buffer = io.StringIO()
            writer = csv.DictWriter(buffer, fieldnames=self._columns(), restval="")
            writer.writeheader()
            for pk in self._rows:
                writer.writerow(self._rows[pk])
            write_whole(self.path, buffer.getvalue())

    def _columns(self) -> list[str]:
        names = {k for row in self._rows.values() for k in row} - set(self.fixed)
        inputs = sorted((n for n in names if n.startswith(INPUT_PREFIX)), key=_input_order)
        return [*self.fixed, *inputs, *sorted(names - set(inputs))]


def job_row(job: Job, image_names: Mapping[str, str]) -> dict[str, str]:
    """A job's row: its inputs (`image_names` by image pk names its images), value outputs."""
    row = {
        "job": job.pk,
        "algorithm_image": pk_from_url(job.algorithm_image),
        "status": job.status,
    }
    for value in job.inputs:
        row.update(_input_cells(value, image_names))
    row.update(value_cells(job.outputs))
    return row


def value_cells(values: Iterable[SocketValue]) -> dict[str, str]:
    """One cell per value socket (scalars as they are, anything else as compact JSON)."""
    cells = {}
    for value in values:
        socket = value.socket or value.interface
        if str(socket.super_kind).lower() == "value":
            cells[socket.slug] = _cell(value.value)
    return cells


def _input_order(column: str) -> tuple[str, bool]:
    """`input:<slug>` sorts by slug, each followed by its `input:<slug>:pk`."""
    return column.removesuffix(PK_SUFFIX), column.endswith(PK_SUFFIX)


def _input_cells(value: SocketValue, image_names: Mapping[str, str]) -> dict[str, str]:
    socket = value.socket or value.interface
    column = f"{INPUT_PREFIX}{socket.slug}"
    kind = str(socket.super_kind).lower()
    if kind == "image":
        pk = pk_from_url(value.image) if value.image else ""
        return {column: image_names.get(pk, ""), f"{column}{PK_SUFFIX}": pk}
    if kind == "file":
        return {column: url_file_name(value.file) if value.file else ""}
    return {column: _cell(value.value)}


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str | int | float | bool):
        return str(value)
    return json.dumps(value, separators=(",", ":"))
