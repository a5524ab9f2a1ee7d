"""Archive items and reader-study display sets, downloaded on the jobs' engine.

Each value of each item lands at `<output_directory>/<item pk>/<relative_path>`, laid out as
`Client.download_socket_value` writes it (images: `<relative_path>/<image pk>.<ext>`), with
`manifest.jsonl`, `results.csv` (one row per item, one column per value socket) and
`items.jsonl` (each item as the API returned it) beside them.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gcfetch.errors import ObjectNotFound
from gcfetch.outputs.kinds import Kind, display_sets_kind, items_kind
from gcfetch.outputs.run import ProgressCallback, RunSettings, run_download
from gcfetch.outputs.select import PAGES_AHEAD, Selection

if TYPE_CHECKING:
    from gcfetch.client import Client
    from gcfetch.outputs.summary import DownloadSummary
    from gcfetch.resources import Resource


def download_archive(
    client: Client,
    *,
    archive: str,
    output_directory: Path | str,
    workers: int | None = None,
    on_progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    dry_run: bool = False,
) -> DownloadSummary:
    """Download every value of every item of `archive` (slug or pk) into
    `<output_directory>/<item pk>/...`; otherwise as `download_outputs`."""
    settings = RunSettings.of(client, workers, cancel, on_progress=on_progress, dry_run=dry_run)
    return _download(client, ARCHIVES, archive, output_directory, settings)


def download_display_sets(
    client: Client,
    *,
    reader_study: str,
    output_directory: Path | str,
    workers: int | None = None,
    on_progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    dry_run: bool = False,
) -> DownloadSummary:
    """Download every value of every display set of `reader_study` (slug or pk) into
    `<output_directory>/<display set pk>/...`; otherwise as `download_outputs`."""
    settings = RunSettings.of(client, workers, cancel, on_progress=on_progress, dry_run=dry_run)
    return _download(client, READER_STUDIES, reader_study, output_directory, settings)


@dataclass(frozen=True)
class _Holders:
    """Where a kind of holder lives: its parents' and its own endpoint, the filter that ties
    them, the parents' page on grand-challenge.org, and the engine's Kind."""

    parents: Callable[[Client], Resource[Any]]
    children: Callable[[Client], Resource[Any]]
    field: str
    page: str
    kind: Callable[[str], Kind]


ARCHIVES = _Holders(
    lambda c: c.archives, lambda c: c.archive_items, "archive", "archives", items_kind
)
READER_STUDIES = _Holders(
    lambda c: c.reader_studies,
    lambda c: c.reader_studies.display_sets,
    "reader_study",
    "reader-studies",
    display_sets_kind,
)


def _download(
    client: Client,
    holders: _Holders,
    wanted: str,
    output_directory: Path | str,
    settings: RunSettings,
) -> DownloadSummary:
    children = holders.children(client)
    select = partial(
        _select, holders.parents(client), children, holders.field, wanted, holders.page
    )
    return run_download(client, output_directory, holders.kind(children.url), select, settings)


def _select(
    parents: Resource[Any], children: Resource[Any], field: str, wanted: str, page: str
) -> Selection[Any]:
    """The children (items, display sets) of the parent (archive, reader study) named by slug
    or pk; an unknown one raises ObjectNotFound naming where its slug is."""
    parent = _parent(parents, wanted, field.replace("_", " "), page)
    listing: Callable[[], Any] = partial(
        children.iterate_items, {field: parent.pk}, ahead=PAGES_AHEAD
    )
    return Selection(f"{field.replace('_', ' ')} {wanted}", listing)


def _parent(parents: Resource[Any], wanted: str, noun: str, page: str) -> Any:
    try:
        if _is_uuid(wanted):
            return parents.detail(pk=wanted)
        return parents.detail(slug=wanted)
    except ObjectNotFound as exc:
        raise ObjectNotFound(
            f"No {noun} {wanted!r} is visible to you. Give its "
            f"slug (the last part of https://grand-challenge.org/{page}/<slug>/) or its pk.",
            status_code=404,
            url=exc.url,
        ) from exc


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True
