"""download_outputs on a sandbox of its own: new jobs, resumed .part, hostile and legacy paths."""

from __future__ import annotations

import json

import pytest
from tests.outputs.helpers import CountingTransport, add_output, clone_job, image_pk_of_input

from gcfetch.client import Client
from gcfetch.outputs import download_outputs


@pytest.fixture
def downloaded(fresh_sandbox, demo, tmp_path):
    out = tmp_path / "out"
    transport = CountingTransport()
    client = Client(
        token=demo.tokens["editor"], base_url=fresh_sandbox.base_url, transport=transport
    )
    with client:
        first = download_outputs(client, algorithm=demo.public_algorithm, output_directory=out)
        assert first.ok
        yield client, out, transport


def _succeeded_job(out):
    return sorted(p.name for p in out.iterdir() if p.is_dir())[0]


def test_download_outputs_fetches_only_new_job_when_one_succeeded_since(
    fresh_sandbox, demo, downloaded
) -> None:
    client, out, _ = downloaded
    new_pk = clone_job(fresh_sandbox, _succeeded_job(out))
    again = download_outputs(client, algorithm=demo.public_algorithm, output_directory=out)
    files_of_new = [p for p in (out / new_pk).rglob("*") if p.is_file()]
    assert again.ok and again.files_downloaded == len(files_of_new) > 0
    rows = (out / "results.csv").read_text().splitlines()
    assert rows[-1].startswith(new_pk) and len(rows) == again.selected_jobs + 1


def test_download_outputs_requests_only_missing_bytes_when_part_file_left(
    fresh_sandbox, demo, downloaded
) -> None:
    client, out, transport = downloaded
    report = out / _succeeded_job(out) / "files" / "report.pdf"
    data = report.read_bytes()
    report.unlink()
    records = [json.loads(x) for x in (out / "manifest.jsonl").read_text().splitlines()]
    (rec,) = [r for r in records if out / r["path"] == report]
    report.with_name("report.pdf.part").write_bytes(data[:100])  # as an interrupted run leaves
    sidecar = {"etag": rec["etag"], "url": rec["url"]}
    report.with_name("report.pdf.part.json").write_text(json.dumps(sidecar))
    transport.requests.clear()
    again = download_outputs(client, algorithm=demo.public_algorithm, output_directory=out)
    assert report.read_bytes() == data
    assert again.files_downloaded == 1 and again.bytes_transferred == len(data) - 100
    storage = transport.to_origin(fresh_sandbox.storage_url)
    assert [r.headers.get("range") for r in storage] == ["bytes=100-"]


def test_download_outputs_refuses_escaping_path_while_rest_completes_when_socket_hostile(
    fresh_sandbox, demo, downloaded
) -> None:
    client, out, _ = downloaded
    job_pk = _succeeded_job(out)
    add_output(fresh_sandbox, job_pk, "evil", "../../evil.json", "Value", value={"x": 1})
    add_output(
        fresh_sandbox,
        job_pk,
        "generic-medical-image",
        "",
        "Image",
        image_pk=image_pk_of_input(fresh_sandbox, job_pk),
    )
    (out / job_pk / "results.json").unlink()
    again = download_outputs(client, algorithm=demo.public_algorithm, output_directory=out)
    assert [(f.job_pk, f.socket_slug, f.error_type) for f in again.failures] == [
        (job_pk, "evil", "UnsafePathError")
    ]
    assert not again.ok
    assert not (out.parent.parent / "evil.json").exists()
    assert (out / job_pk / "results.json").exists()
    legacy = [p for p in (out / job_pk).iterdir() if p.suffix == ".mha"]
    assert [p.name for p in legacy] == [f"{image_pk_of_input(fresh_sandbox, job_pk)}.mha"]
    records = [json.loads(x) for x in (out / "manifest.jsonl").read_text().splitlines()]
    assert f"{job_pk}/{legacy[0].name}" in {r["path"] for r in records}
