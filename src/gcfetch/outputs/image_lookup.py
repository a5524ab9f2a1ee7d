"""Image metadata in bulk: the images of many jobs' inputs or outputs in one request.

`cases/images/` takes repeated `job_input=<job pk>` and `job_output=<job pk>` filters: GC's
`ImageFilterSet` makes each a `ModelMultipleChoiceFilter` over all jobs, so the values are OR-ed
(the images of any of the jobs), each image listed once. An image does not say which job it
belongs to; callers match images to jobs by the image URLs in the job objects. Requests name at
most MAX_JOBS_PER_REQUEST jobs and stay under MAX_URL_LENGTH characters. A request that fails
is logged (at -v) and its images are missing from the answer: callers then ask per image.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Literal
from urllib.parse import quote

from gcfetch.errors import GCFetchError, TransferCancelled

if TYPE_CHECKING:
    from gcfetch.client import Client
    from gcfetch.models import Image

logger = logging.getLogger(__name__)

MAX_JOBS_PER_REQUEST = 50
MAX_URL_LENGTH = 4000
_PAGING = len("?offset=0&limit=100")

Direction = Literal["job_input", "job_output"]


class ImageLookup:
    """Fetches images in bulk and remembers the name of every image it has seen."""

    def __init__(self, client: Client, names: dict[str, str] | None = None) -> None:
        self._client = client
        self.names: dict[str, str] = dict(names or {})  # image pk -> name
        self.requests = 0

    def of_jobs(
        self, direction: Direction, job_pks: Sequence[str], *, remember: bool = True
    ) -> dict[str, Image]:
        """The images of these jobs' inputs or outputs, by pk (see the module for failures);
        their names are remembered unless `remember` is False (a run that never needs them
        keeps no per-image state)."""
        found: dict[str, Image] = {}
        for group in request_groups(len(self._client.images.url), direction, job_pks):
            try:
                self.requests += 1
                for image in self._client.images.iterate_all({direction: group}):
                    found[image.pk] = image
            except TransferCancelled:
                raise
            except GCFetchError as exc:
                logger.info(
                    "image metadata in bulk (%s, %d jobs) failed: %s; asking per image",
                    direction,
                    len(group),
                    exc,
                )
        if remember:
            self.names.update((pk, image.name) for pk, image in found.items())
        return found

    def name_of(self, image_pk: str) -> str:
        """The image's name, asked for alone if not seen yet ("" if that fails, logged)."""
        if image_pk not in self.names:
            try:
                self.names[image_pk] = self._client.images.detail(pk=image_pk).name
            except TransferCancelled:
                raise
            except GCFetchError as exc:
                logger.info("could not look up the name of image %s: %s", image_pk, exc)
                return ""
        return self.names[image_pk]


def request_groups(
    base_length: int, direction: Direction, job_pks: Sequence[str]
) -> Iterator[list[str]]:
    """`job_pks` in groups whose request URL stays within the bounds."""
    group: list[str] = []
    length = base_length + _PAGING
    for pk in job_pks:
        cost = len(direction) + len(quote(pk, safe="")) + 2  # "&job_input=<pk>"
        if group and (len(group) == MAX_JOBS_PER_REQUEST or length + cost > MAX_URL_LENGTH):
            yield group
            group, length = [], base_length + _PAGING
        group.append(pk)
        length += cost
    if group:
        yield group
