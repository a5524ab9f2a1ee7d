"""Limit/offset pagination of the sandbox API (§3)."""

from __future__ import annotations

import httpx
import pytest

from gcfetch.sandbox.pagination import PageParams, next_link, previous_link


@pytest.fixture(scope="module")
def job_count(editor: httpx.Client) -> int:
    return editor.get("algorithms/jobs/").json()["count"]


@pytest.mark.parametrize(
    ("query", "limit", "offset"),
    [({}, 100, 0), ({"limit": "0"}, 100, 0), ({"limit": "-5"}, 100, 0),
     ({"limit": "abc"}, 100, 0), ({"limit": "5000"}, 1000, 0), ({"limit": "1_0"}, 10, 0),
     ({"offset": "-1"}, 100, 0), ({"offset": "x"}, 100, 0), ({"offset": "0"}, 100, 0),
     ({"limit": "7", "offset": "3"}, 7, 3)],
)  # fmt: skip
def test_page_params_fall_back_like_drf_when_values_are_invalid(
    query: dict[str, str], limit: int, offset: int
) -> None:
    assert PageParams.from_query(query) == PageParams(limit=limit, offset=offset)


def test_next_link_sorts_params_and_keeps_unknown_ones_when_more_pages_remain() -> None:
    url = (
        "http://h:1/api/v1/algorithms/jobs/?status=Failed&offset=2&algorithm_image__algorithm=x&b="
    )
    link = next_link(url, PageParams(limit=2, offset=2), count=10)
    assert link == (
        "http://h:1/api/v1/algorithms/jobs/?algorithm_image__algorithm=x&b=&limit=2&offset=4"
        "&status=Failed"
    )


def test_previous_link_drops_offset_when_it_would_reach_zero() -> None:
    url = "http://h:1/api/v1/x/?offset=3&limit=5&z=1&z=2"
    assert (
        previous_link(url, PageParams(limit=5, offset=3)) == "http://h:1/api/v1/x/?limit=5&z=1&z=2"
    )
    assert previous_link(url, PageParams(limit=5, offset=0)) is None
    assert previous_link(url, PageParams(limit=1, offset=3)) == (
        "http://h:1/api/v1/x/?limit=1&offset=2&z=1&z=2"
    )


def test_jobs_list_uses_default_limit_when_limit_is_zero(
    editor: httpx.Client, job_count: int
) -> None:
    body = editor.get("algorithms/jobs/", params={"limit": "0"}).json()
    assert len(body["results"]) == min(job_count, 100)
    assert body["count"] == job_count


def test_jobs_list_cuts_limit_to_1000_when_limit_is_larger(
    editor: httpx.Client, job_count: int
) -> None:
    body = editor.get("algorithms/jobs/", params={"limit": "5000", "offset": "1"}).json()
    assert len(body["results"]) == job_count - 1
    assert body["next"] is None
    assert body["previous"] == f"{editor.base_url}algorithms/jobs/?limit=1000"


def test_jobs_list_is_empty_with_count_kept_when_offset_is_past_the_end(
    editor: httpx.Client, job_count: int
) -> None:
    params = {"limit": "2", "offset": str(job_count + 5)}
    body = editor.get("algorithms/jobs/", params=params).json()
    assert body["results"] == []
    assert body["count"] == job_count
    assert body["next"] is None
    assert body["previous"] == (f"{editor.base_url}algorithms/jobs/?limit=2&offset={job_count + 3}")


def test_jobs_list_links_are_exact_with_sorted_params_when_paging(
    editor: httpx.Client, job_count: int
) -> None:
    params = {"status": "Succeeded", "limit": "10", "offset": "10", "algorithm": "ignored"}
    body = editor.get("algorithms/jobs/", params=params).json()
    base = f"{editor.base_url}algorithms/jobs/"
    assert body["next"] == f"{base}?algorithm=ignored&limit=10&offset=20&status=Succeeded"
    assert body["previous"] == f"{base}?algorithm=ignored&limit=10&status=Succeeded"
    assert body["count"] == job_count


def test_jobs_pages_cover_every_job_once_when_walked_by_next(
    editor: httpx.Client, job_count: int
) -> None:
    seen: list[str] = []
    url: str | None = "algorithms/jobs/?limit=7"
    while url:
        body = editor.get(url).json()
        seen += [job["pk"] for job in body["results"]]
        url = body["next"]
    assert len(seen) == job_count
    assert len(set(seen)) == job_count


def test_list_envelope_has_exactly_four_keys_when_listing(editor: httpx.Client) -> None:
    body = editor.get("algorithms/").json()
    assert list(body) == ["count", "next", "previous", "results"]
    assert body["previous"] is None
