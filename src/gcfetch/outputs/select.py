"""Which jobs to download: by algorithm slug, by algorithm image, or by explicit job pks.

Look-ups that can fail on bad input (unknown slug, image or job) happen at once, before any
download starts; the job list itself is then iterated lazily, page by page. With
`malformed=True` a job object of the wrong shape is yielded as a `Malformed` (the downloader
fails that job alone); otherwise it raises UnexpectedResponse.
"""

from __future__ import annotations

import difflib
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, TypeVar

from gcfetch.errors import ConfigurationError, ObjectNotFound, UnexpectedResponse
from gcfetch.models import pk_from_url
from gcfetch.resources import Malformed

if TYPE_CHECKING:
    from gcfetch.client import Client
    from gcfetch.models import Job

logger = logging.getLogger(__name__)

T = TypeVar("T")
PAGES_AHEAD = 2  # job pages fetched ahead of the planner, at once, while transfers run


@dataclass
class Selection(Generic[T]):
    """What was selected (for messages), and `listing`, which lists its objects lazily, anew
    on each call, without resolving the selection again."""

    description: str
    listing: Callable[[], Iterator[T | Malformed]]

    def list(self) -> Iterator[T | Malformed]:
        """A new listing of the selected objects."""
        return self.listing()


def select_jobs(
    client: Client,
    *,
    algorithm: str | None = None,
    algorithm_image: str | None = None,
    jobs: Iterable[str] | None = None,
    malformed: bool = False,
) -> Selection[Job]:
    """Resolve the selection and return the jobs it names (every status; filter later).

    `malformed`: yield a job of the wrong shape as a `Malformed` instead of raising. Jobs
    selected by pk are each looked up at once (an unknown pk raises here), and again by each
    later listing."""
    job_pks = list(dict.fromkeys(jobs or ()))
    if job_pks and (algorithm or algorithm_image):
        raise ConfigurationError("Select jobs either by algorithm / algorithm image or by pk.")
    if job_pks:
        return Selection(f"{len(job_pks)} job(s)", _by_pk(client, job_pks, malformed))
    if algorithm:
        algo = _algorithm(client, algorithm)
        if algorithm_image:
            return Selection(
                f"algorithm {algorithm}, image {algorithm_image}",
                lambda: _of_image(_jobs_of_algorithm(client, algo.pk, malformed), algorithm_image),
            )
        return Selection(
            f"algorithm {algorithm}", lambda: _jobs_of_algorithm(client, algo.pk, malformed)
        )
    if algorithm_image:
        image = _algorithm_image(client, algorithm_image)
        algo_pk, image_pk = pk_from_url(image.algorithm), pk_from_url(image.api_url)
        return Selection(
            f"algorithm image {algorithm_image}",
            lambda: _of_image(_jobs_of_algorithm(client, algo_pk, malformed), image_pk),
        )
    raise ConfigurationError(
        "Nothing selected: give an algorithm slug, an algorithm image pk or job pks."
    )


def _by_pk(
    client: Client, job_pks: list[str], malformed: bool
) -> Callable[[], Iterator[Job | Malformed]]:
    """Look each job up now (an unknown pk raises here); the first listing gives these, each
    later one looks them up again."""
    first = [[_job(client, pk, n, malformed) for n, pk in enumerate(job_pks)]]

    def listing() -> Iterator[Job | Malformed]:
        if first:
            return iter(first.pop())
        return (_job(client, pk, n, malformed) for n, pk in enumerate(job_pks))

    return listing


def _jobs_of_algorithm(
    client: Client, algorithm_pk: str, malformed: bool
) -> Iterator[Job | Malformed]:
    # The server ignores ?algorithm_image= and ?status=; those are filtered on the client.
    params = {"algorithm_image__algorithm": algorithm_pk}
    jobs = client.algorithm_jobs
    if malformed:
        yield from jobs.iterate_items(params, ahead=PAGES_AHEAD)
    else:
        yield from jobs.iterate_all(params, ahead=PAGES_AHEAD)


def _of_image(jobs: Iterator[Job | Malformed], image_pk: str) -> Iterator[Job | Malformed]:
    """The jobs of one image; a malformed job is kept unless its raw image URL is another's."""
    return (job for job in jobs if pk_from_url(_image_url(job) or image_pk) == image_pk)


def _image_url(job: Job | Malformed) -> str | None:
    if not isinstance(job, Malformed):
        return job.algorithm_image
    url = job.raw.get("algorithm_image") if isinstance(job.raw, dict) else None
    return url if isinstance(url, str) else None


def _algorithm(client: Client, slug: str):
    try:
        return client.algorithms.detail(slug=slug)
    except ObjectNotFound as exc:
        hint = _suggest(client, slug)
        raise ObjectNotFound(
            f"No algorithm with the slug {slug!r} is visible to you.{hint} "
            "The slug is the last part of the algorithm's page URL "
            "(https://grand-challenge.org/algorithms/<slug>/).",
            status_code=404,
            url=exc.url,
        ) from exc


def _suggest(client: Client, slug: str) -> str:
    try:
        slugs = [algo.slug for algo in client.algorithms.iterate_all()]
    except Exception:  # a hint only; never hide the real error
        logger.debug("could not list algorithms for suggestions", exc_info=True)
        return ""
    close = difflib.get_close_matches(slug, slugs, n=3, cutoff=0.6)
    return f" Did you mean: {', '.join(close)}?" if close else ""


def _algorithm_image(client: Client, pk: str):
    try:
        return client.algorithm_images.detail(pk=pk)
    except ObjectNotFound as exc:
        raise ObjectNotFound(
            f"Algorithm image {pk} does not exist or you cannot read it: only editors of an "
            "algorithm can read its algorithm images. If you can see the algorithm's jobs, "
            f"use --algorithm SLUG --algorithm-image {pk}: the jobs of that image are then "
            "kept by URL without reading the image itself.",
            status_code=404,
            url=exc.url,
        ) from exc


def _job(client: Client, pk: str, position: int, malformed: bool) -> Job | Malformed:
    try:
        return client.algorithm_jobs.detail(pk=pk)
    except ObjectNotFound as exc:
        raise ObjectNotFound(
            f"Job {pk} does not exist or you cannot see it (only its creator and the users "
            "it was shared with can). Check the pk on the job's page.",
            status_code=404,
            url=exc.url,
        ) from exc
    except UnexpectedResponse as exc:
        if not malformed or not exc.field:  # not JSON, or not an object: no job to blame
            raise
        return Malformed(position, {"pk": pk}, exc)
