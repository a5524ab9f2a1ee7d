"""Resources against the sandbox: page, iterate_all, detail, list, filters, errors."""

from __future__ import annotations

import math
import traceback
import uuid
from typing import Any

import pytest

from gcfetch import (
    AuthenticationError,
    Client,
    MultipleObjectsReturned,
    ObjectNotFound,
)
from gcfetch.models import Algorithm, Image, Job, Socket
from gcfetch.sandbox import Sandbox
from gcfetch.sandbox.demo import DemoInfo


def _list_requests(recorder: Any, path: str) -> list[str]:
    return [str(r.url) for r in recorder.requests if r.url.path.endswith(path)]


def test_algorithms_page_returns_models_with_counts(client: Client, demo: DemoInfo) -> None:
    page = client.algorithms.page(limit=1)
    assert page.total_count == len(demo.algorithms)
    assert (page.offset, page.limit, len(page)) == (0, 1, 1)
    assert isinstance(page[0], Algorithm)
    assert page[0].pk in demo.algorithms.values()


def test_algorithms_detail_finds_same_object_by_slug_pk_and_api_url(
    client: Client, demo: DemoInfo
) -> None:
    by_slug = client.algorithms.detail(slug=demo.public_algorithm)
    by_pk = client.algorithms.detail(pk=by_slug.pk)
    by_url = client.algorithms.detail(api_url=by_slug.api_url)
    assert by_slug == by_pk == by_url
    assert by_slug.pk == demo.algorithms[demo.public_algorithm]


def test_detail_raises_object_not_found_when_filter_matches_nothing(client: Client) -> None:
    with pytest.raises(ObjectNotFound):
        client.algorithms.detail(slug="no-such-algorithm")


def test_detail_raises_object_not_found_with_status_when_pk_unknown(client: Client) -> None:
    with pytest.raises(ObjectNotFound) as caught:
        client.algorithm_jobs.detail(pk=str(uuid.uuid4()))
    assert caught.value.status_code == 404
    assert caught.value.server_message


def test_detail_raises_multiple_objects_when_filter_matches_several(
    client: Client, demo: DemoInfo
) -> None:
    with pytest.raises(MultipleObjectsReturned):
        client.algorithm_jobs.detail(
            algorithm_image__algorithm=demo.algorithms[demo.public_algorithm]
        )


@pytest.mark.parametrize("selectors", [{}, {"pk": "x", "api_url": "y"}, {"pk": "x", "slug": "y"}])
def test_detail_raises_value_error_when_not_exactly_one_selector(
    client: Client, selectors: dict[str, str]
) -> None:
    with pytest.raises(ValueError):
        client.algorithms.detail(**selectors)


def test_iterate_all_follows_next_without_extra_request_when_pages_are_small(
    client: Client, demo: DemoInfo, recorder: Any
) -> None:
    params = {"algorithm_image__algorithm": demo.algorithms[demo.public_algorithm], "limit": 7}
    before = dict(params)
    jobs = list(client.algorithm_jobs.iterate_all(params=params))
    everything = client.algorithm_jobs.page(limit=1000, params=params)
    assert [j.pk for j in jobs] == [j.pk for j in everything]
    assert len(jobs) > 14  # at least three pages
    assert len(_list_requests(recorder, "/algorithms/jobs/")) == math.ceil(len(jobs) / 7) + 1
    assert params == before
    assert all(isinstance(j, Job) for j in jobs)


def test_iterate_all_ahead_lists_the_same_jobs_with_one_request_per_page(
    client: Client, demo: DemoInfo, recorder: Any
) -> None:
    params = {"algorithm_image__algorithm": demo.algorithms[demo.public_algorithm], "limit": 7}
    one_by_one = [j.pk for j in client.algorithm_jobs.iterate_all(params=params)]
    recorder.requests.clear()
    ahead = client.algorithm_jobs.iterate_all(params=params, ahead=2)
    first = next(ahead)
    assert len(_list_requests(recorder, "/algorithms/jobs/")) <= 3  # the first page, 2 ahead
    listed = [first.pk, *(j.pk for j in ahead)]
    assert listed == one_by_one and len(listed) > 14
    assert len(_list_requests(recorder, "/algorithms/jobs/")) == math.ceil(len(listed) / 7)
    offsets = sorted(int(r.url.params["offset"]) for r in recorder.requests)
    assert offsets == list(range(0, len(listed), 7))


def test_iterate_all_is_lazy_when_only_first_item_is_taken(client: Client, recorder: Any) -> None:
    iterator = client.algorithm_jobs.iterate_all(params={"limit": 2})
    assert recorder.requests == []
    next(iterator)
    assert len(recorder.requests) == 1


def test_page_does_not_mutate_params_when_given(client: Client) -> None:
    params = {"slug": "tissue-overlay"}
    client.algorithms.page(params=params)
    assert params == {"slug": "tissue-overlay"}


def test_list_returns_raw_envelope(client: Client, demo: DemoInfo) -> None:
    envelope = client.algorithms.list()
    assert set(envelope) >= {"count", "next", "previous", "results"}
    assert envelope["count"] == len(demo.algorithms)


def test_algorithm_images_filter_by_algorithm_returns_its_versions(
    client: Client, demo: DemoInfo
) -> None:
    slug = demo.public_algorithm
    images = list(client.algorithm_images.iterate_all(params={"algorithm": demo.algorithms[slug]}))
    assert [i.pk for i in images] == demo.algorithm_images[slug]
    algorithm = client.algorithms.detail(api_url=images[0].algorithm)
    assert algorithm.slug == slug


def test_job_algorithm_image_equals_image_api_url_when_compared(
    client: Client, demo: DemoInfo
) -> None:
    image = client.algorithm_images.detail(pk=demo.algorithm_images[demo.public_algorithm][0])
    jobs = client.algorithm_jobs.iterate_all(
        params={"algorithm_image__algorithm": demo.algorithms[demo.public_algorithm]}
    )
    assert any(job.algorithm_image == image.api_url for job in jobs)


def test_interfaces_detail_by_slug_returns_socket(client: Client, demo: DemoInfo) -> None:
    socket = client.interfaces.detail(slug="metrics-score")
    assert isinstance(socket, Socket)
    assert (socket.pk, socket.relative_path, socket.super_kind) == (
        demo.sockets["metrics-score"],
        "metrics/score.json",
        "Value",
    )


def test_images_detail_returns_files(client: Client, demo: DemoInfo) -> None:
    job = client.algorithm_jobs.detail(pk=next(iter(demo.jobs)))
    url = next(v.image for v in job.inputs if v.image)
    image = client.images.detail(api_url=url)
    assert isinstance(image, Image)
    assert image.files and image.files[0].file.startswith(client.base_url.split("/api/")[0])


def test_model_supports_deprecated_item_access(client: Client, demo: DemoInfo) -> None:
    algorithm = client.algorithms.detail(slug=demo.public_algorithm)
    with pytest.warns(DeprecationWarning):
        assert algorithm["slug"] == demo.public_algorithm


def test_archives_and_display_sets_list_the_sandbox_demo_ones(
    client: Client, demo: DemoInfo
) -> None:
    archives = client.archives.page()
    assert archives.total_count == len(demo.archives)  # the editor sees both
    display_sets = client.reader_studies.display_sets.page()
    assert display_sets.total_count == len(demo.display_sets)


def test_bad_token_raises_authentication_error_naming_the_fix(
    sandbox: Sandbox,
) -> None:
    bad = "0" * 64
    with (
        Client(token=bad, base_url=sandbox.base_url) as client,
        pytest.raises(AuthenticationError) as caught,
    ):
        client.algorithms.page()
    text = "".join(traceback.format_exception(caught.value))
    assert "GRAND_CHALLENGE_AUTHORIZATION" in str(caught.value)
    assert "personal API token" in str(caught.value)
    assert caught.value.status_code == 401
    assert bad not in text


def test_token_is_absent_from_traceback_when_request_fails(client: Client, demo: DemoInfo) -> None:
    with pytest.raises(ObjectNotFound) as caught:
        client.algorithms.detail(pk=str(uuid.uuid4()))
    text = "".join(traceback.format_exception(caught.value)) + repr(caught.value.__dict__)
    assert demo.tokens["editor"] not in text


def test_token_is_sent_as_bearer_only_to_api_origin(
    client: Client, demo: DemoInfo, recorder: Any
) -> None:
    client.algorithms.page()
    assert recorder.requests[-1].headers["Authorization"] == f"Bearer {demo.tokens['editor']}"
    assert recorder.requests[-1].headers["Accept"] == "application/json"
