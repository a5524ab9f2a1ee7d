"""Answers of the wrong shape: one UnexpectedResponse naming the URL and the field."""

from __future__ import annotations

import re

import httpx
import pytest
from tests.outputs.helpers import corrupt_job

from gcfetch import Client, UnexpectedResponse, models
from gcfetch.resources import Resource
from gcfetch.sandbox import Sandbox
from gcfetch.sandbox.demo import DemoInfo

HINT = "Is the base URL the API root, ending in /api/v1/?"


class _VersionAsList(Resource[models.Algorithm]):
    """A list resource pointed at `gcapi/`, which answers a JSON object without `results`."""

    base_path = "gcapi/"
    model = models.Algorithm


def test_page_raises_unexpected_response_naming_url_and_field_when_results_missing(
    client: Client, sandbox: Sandbox
) -> None:
    with pytest.raises(UnexpectedResponse) as caught:
        _VersionAsList(client.http).page()
    url = f"{sandbox.base_url}gcapi/"
    assert caught.value.url == url and caught.value.field == "results"
    assert str(caught.value) == (
        f"The answer from {url} has an unexpected shape at results: missing or not a list. {HINT}"
    )
    with pytest.raises(UnexpectedResponse, match="at results: missing"):
        next(_VersionAsList(client.http).iterate_all())


def test_iterate_all_raises_unexpected_response_naming_field_when_a_job_is_malformed(
    fresh_sandbox: Sandbox, demo: DemoInfo
) -> None:
    job_pk = next(pk for pk, status in demo.jobs.items() if status == "Succeeded")
    corrupt_job(fresh_sandbox, job_pk)
    with Client(token=demo.tokens["editor"], base_url=fresh_sandbox.base_url) as client:
        with pytest.raises(UnexpectedResponse) as caught:
            list(client.algorithm_jobs.iterate_all())
        field = caught.value.field
        assert re.fullmatch(r"results\[\d+\]\.outputs\[\d+\]\.interface\.look_up_table", field)
        assert caught.value.url == f"{fresh_sandbox.base_url}algorithms/jobs/"
        assert f"at {field}: Input should be a valid dictionary. {HINT}" in str(caught.value)
        with pytest.raises(UnexpectedResponse, match=r"at outputs\[\d+\]\.interface\.look_up"):
            client.algorithm_jobs.detail(pk=job_pk)
        items = list(client.algorithm_jobs.iterate_items())
    (bad,) = [item for item in items if not isinstance(item, models.Job)]
    assert bad.pk == job_pk and bad.error.field.endswith("look_up_table")
    assert len(items) == len({item.pk for item in items}) > 1


def test_detail_raises_unexpected_response_when_body_is_not_json() -> None:
    # No server of the tests answers 2xx with a non-JSON body on an API path (the sandbox
    # answers HTML only with 404), so a mock transport plays a site that is not the API.
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, html="<html>Grand Challenge</html>")

    base = "https://example.org/"
    transport = httpx.MockTransport(handler)
    with (
        Client(token="t", base_url=base, transport=transport) as client,
        pytest.raises(UnexpectedResponse) as caught,
    ):
        client.algorithms.detail(slug="x")
    assert caught.value.url == f"{base}algorithms/" and caught.value.field == ""
    assert f"not JSON (text/html; charset=utf-8). {HINT}" in str(caught.value)
