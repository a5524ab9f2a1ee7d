"""What the downloader takes from each kind of object that holds socket values.

A job has a status (only selected statuses are downloaded), inputs (named in the records) and
outputs (downloaded); its images are looked up in bulk per batch. An archive item or a display
set is always downloaded, all its values; its images are looked up one at a time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gcfetch.outputs.results import JOB_COLUMNS, job_row, value_cells

if TYPE_CHECKING:
    from gcfetch.models import SocketValue


@dataclass(frozen=True)
class Kind:
    """Archive items or display sets, listed below `base_url`."""

    noun: str  # "item", "display set": the first column of results.csv, in messages
    log_name: str  # the JSON-lines file of the objects as the API returned them
    base_url: str  # the list endpoint; an object's API URL is `<base_url><pk>/`
    bulk_images: bool = False

    @property
    def columns(self) -> tuple[str, ...]:
        return (self.noun.replace(" ", "_"),)

    def status(self, obj: Any) -> str | None:
        """The object's status; None: it has none and is always downloaded."""
        return None

    def downloads(self, obj: Any) -> list[SocketValue]:
        return list(obj.values)

    def named(self, obj: Any) -> list[SocketValue]:
        """The values whose image names the records hold."""
        return []

    def api_url(self, obj: Any) -> str:
        return getattr(obj, "api_url", "") or f"{self.base_url}{obj.pk}/"

    def row(self, obj: Any, image_names: Mapping[str, str]) -> dict[str, str]:
        return {self.columns[0]: obj.pk, **value_cells(obj.values)}


@dataclass(frozen=True)
class JobKind(Kind):
    """Algorithm jobs: outputs downloaded, inputs named, images in bulk."""

    noun: str = "job"
    log_name: str = "jobs.jsonl"
    base_url: str = ""
    bulk_images: bool = True

    @property
    def columns(self) -> tuple[str, ...]:
        return JOB_COLUMNS

    def status(self, obj: Any) -> str | None:
        return obj.status

    def downloads(self, obj: Any) -> list[SocketValue]:
        return list(obj.outputs)

    def named(self, obj: Any) -> list[SocketValue]:
        return list(obj.inputs)

    def api_url(self, obj: Any) -> str:
        return obj.api_url

    def row(self, obj: Any, image_names: Mapping[str, str]) -> dict[str, str]:
        return job_row(obj, image_names)


ITEMS_NAME = "items.jsonl"


def items_kind(base_url: str) -> Kind:
    """Archive items, listed below `base_url` (the client's `archive_items.url`)."""
    return Kind("item", ITEMS_NAME, base_url)


def display_sets_kind(base_url: str) -> Kind:
    """Reader-study display sets, listed below `base_url`."""
    return Kind("display set", ITEMS_NAME, base_url)
