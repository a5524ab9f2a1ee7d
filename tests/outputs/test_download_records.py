"""What a download records about each job: bulk image look-ups, jobs.jsonl, the fallback."""

from __future__ import annotations

import csv
import json
import logging
from urllib.parse import parse_qs

import httpx
import pytest
from tests.outputs.helpers import CountingTransport

from gcfetch.client import Client
from gcfetch.outputs import download_outputs, run
from gcfetch.outputs.image_lookup import request_groups
from gcfetch.retry import RetryPolicy
from gcfetch.sandbox.faults import Fault, FaultSettings

IMAGES = "/api/v1/cases/images/"
BATCH = 10


@pytest.fixture(scope="module")
def counted_run(sandbox, demo, tmp_path_factory):
    """A first download of the public algorithm in batches of 10 jobs, every request counted."""
    out = tmp_path_factory.mktemp("records")
    transport = CountingTransport()
    with (
        pytest.MonkeyPatch.context() as patch,
        Client(
            token=demo.tokens["editor"], base_url=sandbox.base_url, transport=transport
        ) as client,
    ):
        patch.setattr(run, "BATCH_JOBS", BATCH)
        summary = download_outputs(client, algorithm=demo.public_algorithm, output_directory=out)
    return out, summary, transport


def _image_requests(transport: CountingTransport) -> tuple[list[httpx.Request], list[str]]:
    """(list requests to cases/images/, paths of image detail requests)."""
    listed = [r for r in transport.requests if r.url.path == IMAGES]
    details = [p for p in transport.paths(IMAGES) if p != IMAGES]
    return listed, details


def test_download_asks_image_metadata_in_bulk_never_per_image(counted_run) -> None:
    _, summary, transport = counted_run
    assert summary.ok and summary.selected_jobs > 2 * BATCH
    listed, details = _image_requests(transport)
    assert details == []
    batches = -(-summary.selected_jobs // BATCH)
    by_filter = {"job_input": 0, "job_output": 0}
    for request in listed:
        query = parse_qs(request.url.query.decode())
        [name] = set(query) - {"offset", "limit"}
        assert 1 <= len(query[name]) <= BATCH
        assert len(str(request.url)) < 4000
        by_filter[name] += 1
    assert by_filter == {"job_input": batches, "job_output": batches}


def test_jobs_jsonl_holds_each_selected_job_as_the_api_returned_it(
    sandbox, demo, counted_run
) -> None:
    out, summary, _ = counted_run
    lines = (out / "jobs.jsonl").read_text().splitlines()
    assert len(lines) == summary.selected_jobs
    first = json.loads(lines[0])
    url = f"{sandbox.base_url}algorithms/jobs/{first['pk']}/"
    headers = {"Authorization": f"Bearer {demo.tokens['editor']}"}
    assert first == httpx.get(url, headers=headers).json()
    assert {json.loads(line)["status"] for line in lines} == {"Succeeded"}
    assert demo.tokens["editor"] not in (out / "jobs.jsonl").read_text()


def test_jobs_jsonl_keeps_one_line_per_job_when_run_again(sandbox, demo, counted_run) -> None:
    out, summary, _ = counted_run
    with Client(token=demo.tokens["editor"], base_url=sandbox.base_url) as client:
        again = download_outputs(client, algorithm=demo.public_algorithm, output_directory=out)
    assert again.ok and again.files_downloaded == 0
    pks = [json.loads(line)["pk"] for line in (out / "jobs.jsonl").read_text().splitlines()]
    assert len(pks) == len(set(pks)) == summary.selected_jobs


def _names(root) -> dict[str, str]:
    with (root / "results.csv").open(newline="") as handle:
        return {row["job"]: row["input:generic-medical-image"] for row in csv.DictReader(handle)}


def test_download_asks_per_image_when_the_bulk_request_fails(
    faulty, demo, counted_run, tmp_path, caplog
) -> None:
    faulty.set_faults(FaultSettings(rules=(Fault("status", path=IMAGES, first=10**6, status=500),)))
    transport = CountingTransport()
    caplog.set_level(logging.INFO, logger="gcfetch")
    with Client(
        token=demo.tokens["editor"],
        base_url=faulty.base_url,
        transport=transport,
        retry=RetryPolicy(server_error=0),
    ) as client:
        summary = download_outputs(
            client, algorithm=demo.public_algorithm, output_directory=tmp_path
        )
    assert summary.ok and summary.files_downloaded == counted_run[1].files_downloaded
    listed, details = _image_requests(transport)
    assert listed and details  # tried in bulk, then asked per image
    assert _names(tmp_path) == _names(counted_run[0])
    assert "asking per image" in caplog.text


def test_bulk_requests_split_to_stay_under_the_url_bound() -> None:
    pks = [f"{n:03d}" + "x" * 200 for n in range(40)]  # hostile, long pks
    groups = list(request_groups(len("https://h/api/v1/cases/images/"), "job_output", pks))
    assert [pk for group in groups for pk in group] == pks
    assert len(groups) > 1
    for group in groups:
        query = "&".join(f"job_output={pk}" for pk in group)
        assert len(f"https://h/api/v1/cases/images/?offset=0&limit=100&{query}") <= 4000


def test_summary_counts_the_requests_sent_by_kind(sandbox, counted_run) -> None:
    _, summary, transport = counted_run
    listed, _ = _image_requests(transport)
    storage = transport.to_origin(sandbox.storage_url)
    assert summary.requests["image lists"] == len(listed)
    assert summary.requests["image details"] == 0 and summary.requests["retries"] == 0
    assert summary.requests["job pages"] == len(transport.paths("/api/v1/algorithms/jobs/"))
    assert summary.requests["/media/"] == len(transport.paths("/media/")) == len(storage)
    assert summary.requests["storage"] == len(storage)
    assert sum(summary.requests.values()) == len(transport.requests)
