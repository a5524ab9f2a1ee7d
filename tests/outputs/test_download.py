"""download_outputs against the shared demo sandbox: tree, records, re-runs, selection."""

from __future__ import annotations

import csv
import fcntl
import hashlib
import json
import logging
import threading

import pytest
from tests.outputs.helpers import CountingTransport

from gcfetch.client import Client
from gcfetch.errors import ConfigurationError, ObjectNotFound
from gcfetch.outputs import download_outputs
from gcfetch.outputs.destination import destination_lock
from gcfetch.sandbox import tables
from gcfetch.transfer import stream_file


@pytest.fixture(scope="module")
def editor_client(sandbox, demo):
    with Client(token=demo.tokens["editor"], base_url=sandbox.base_url) as client:
        yield client


@pytest.fixture(scope="module")
def first_run(sandbox, demo, editor_client, tmp_path_factory):
    out = tmp_path_factory.mktemp("download")
    summary = download_outputs(
        editor_client, algorithm=demo.public_algorithm, output_directory=out, workers=4
    )
    return out, summary


def _jobs(client, demo, slug):
    return list(
        client.algorithm_jobs.iterate_all(
            params={"algorithm_image__algorithm": demo.algorithms[slug]}
        )
    )


def test_download_outputs_writes_gcapi_tree_when_algorithm_selected(
    sandbox, demo, editor_client, first_run
) -> None:
    out, summary = first_run
    assert summary.ok and summary.failures == []
    jobs = _jobs(editor_client, demo, demo.public_algorithm)
    succeeded = [j for j in jobs if j.status == "Succeeded"]
    assert summary.selected_jobs == len(succeeded) > 0
    blobs = sandbox.settings.blob_dir
    expected: set[str] = set()
    with sandbox.apps.sessionmaker() as session:
        for job in succeeded:
            for sv in job.outputs:
                rel = f"{job.pk}/{sv.interface.relative_path}"
                target = out / rel
                if sv.interface.super_kind == "Image":
                    image = session.get(tables.Image, sv.image.rstrip("/").rsplit("/", 1)[-1])
                    for image_file in image.files:
                        name = f"{image.pk}.{image_file.key.rsplit('.', 1)[-1]}"
                        assert (target / name).read_bytes() == (blobs / image_file.key).read_bytes()
                        expected.add(f"{rel}/{name}")
                elif sv.interface.super_kind == "Value":
                    assert target.read_text() == json.dumps(sv.value, indent=2)
                    expected.add(rel)
                else:
                    key = session.get(tables.SocketValue, sv.pk).file_key
                    assert target.read_bytes() == (blobs / key).read_bytes()
                    expected.add(rel)
    written = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert written - expected == {"manifest.jsonl", "results.csv", "jobs.jsonl"}  # no lock left
    assert {"images/segmentation", "metrics/score.json", "files/report.pdf"} <= {
        sv.interface.relative_path for j in succeeded for sv in j.outputs
    }
    assert summary.files_downloaded == len(expected)


def test_download_outputs_copies_file_outputs_byte_for_byte_when_json(
    sandbox, demo, editor_client, first_run
) -> None:
    out, _ = first_run
    records = [json.loads(x) for x in (out / "manifest.jsonl").read_text().splitlines()]
    predictions = [r for r in records if r["socket"] == "predictions"]
    assert predictions
    for rec in predictions:
        data = (out / rec["path"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == rec["sha256"]
        assert len(data) == rec["size"]
        with stream_file(editor_client.http, rec["url"]) as response:
            assert response.read() == data


def test_download_outputs_writes_manifest_line_per_file_when_done(demo, first_run) -> None:
    out, summary = first_run
    lines = (out / "manifest.jsonl").read_text().splitlines()
    records = [json.loads(line) for line in lines]
    assert len(records) == summary.files_downloaded
    for rec in records:
        assert set(rec) == {"job", "socket", "super_kind", "path", "size", "sha256", "etag", "url"}
        path = out / rec["path"]
        assert path.stat().st_size == rec["size"]
        assert hashlib.sha256(path.read_bytes()).hexdigest() == rec["sha256"]
        assert rec["path"].startswith(rec["job"] + "/")
        assert demo.tokens["editor"] not in json.dumps(rec)
        if rec["super_kind"] != "Value":
            assert rec["etag"] and "/media/" in rec["url"]
        else:
            assert rec["url"].endswith(f"/algorithms/jobs/{rec['job']}/")


def test_download_outputs_writes_results_row_per_job_when_done(
    demo, editor_client, first_run
) -> None:
    out, summary = first_run
    with (out / "results.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == summary.selected_jobs
    jobs = {j.pk: j for j in _jobs(editor_client, demo, demo.public_algorithm)}
    row = rows[0]
    job = jobs[row["job"]]
    assert row["status"] == "Succeeded"
    assert job.algorithm_image.rstrip("/").endswith(row["algorithm_image"])
    values = {
        sv.interface.slug: sv.value for sv in job.outputs if sv.interface.super_kind == "Value"
    }
    inputs = ["input:generic-medical-image", "input:generic-medical-image:pk"]
    assert list(rows[0]) == ["job", "algorithm_image", "status", *inputs, *sorted(values)]
    assert row["probability"] == str(values["probability"])
    assert json.loads(row["results"]) == values["results"]
    for row in rows:  # every input image named, by the image the job really read
        image_url = jobs[row["job"]].inputs[0].image
        assert row[inputs[1]] == image_url.rstrip("/").rsplit("/", 1)[-1]
        assert row[inputs[0]] == editor_client.images.detail(api_url=image_url).name
        assert row[inputs[0]].startswith("case-")


def test_download_outputs_sends_no_file_or_image_request_when_run_again(
    sandbox, demo, first_run
) -> None:
    out, first = first_run
    transport = CountingTransport()
    with Client(
        token=demo.tokens["editor"], base_url=sandbox.base_url, transport=transport
    ) as client:
        again = download_outputs(client, algorithm=demo.public_algorithm, output_directory=out)
    assert again.ok and again.bytes_transferred == 0 and again.files_downloaded == 0
    assert again.files_present == first.files_downloaded
    assert transport.to_origin(sandbox.storage_url) == []
    assert transport.paths("/media/") == []
    assert transport.paths("/api/v1/cases/images/") == []
    pages = -(-sum(again.jobs_by_status.values()) // 100)
    assert len(transport.paths("/api/v1/algorithms/jobs/")) <= pages


def test_download_outputs_counts_other_statuses_when_only_succeeded_selected(
    demo, first_run
) -> None:
    _, summary = first_run
    listed = [s for pk, s in demo.jobs.items() if demo.job_algorithms[pk] == demo.public_algorithm]
    assert sum(summary.jobs_by_status.values()) <= len(listed)
    assert summary.unselected_by_status
    assert "Succeeded" not in summary.unselected_by_status
    assert sum(summary.unselected_by_status.values()) == (
        sum(summary.jobs_by_status.values()) - summary.selected_jobs
    )


def test_download_outputs_takes_only_that_version_when_algorithm_image_selected(
    demo, editor_client, tmp_path
) -> None:
    image_pk = demo.algorithm_images[demo.public_algorithm][0]
    summary = download_outputs(
        editor_client,
        algorithm_image=image_pk,
        output_directory=tmp_path,
        statuses=("Succeeded", "Failed"),
    )
    jobs = [
        j
        for j in _jobs(editor_client, demo, demo.public_algorithm)
        if j.algorithm_image.rstrip("/").endswith(image_pk)
    ]
    assert summary.selected_jobs == len([j for j in jobs if j.status in ("Succeeded", "Failed")])
    assert summary.ok and summary.selected_jobs > 0
    dirs = {p.name for p in tmp_path.iterdir() if p.is_dir()}
    assert dirs == {j.pk for j in jobs if j.status == "Succeeded" and j.outputs}


def test_download_outputs_explains_editor_rule_when_image_unreadable(
    sandbox, demo, tmp_path
) -> None:
    image_pk = demo.algorithm_images["tissue-overlay"][0]
    with Client(token=demo.tokens["viewer"], base_url=sandbox.base_url) as client:
        with pytest.raises(ObjectNotFound, match=r"only editors.*--algorithm SLUG"):
            download_outputs(client, algorithm_image=image_pk, output_directory=tmp_path)
        summary = download_outputs(
            client, algorithm="tissue-overlay", algorithm_image=image_pk, output_directory=tmp_path
        )
    assert (
        summary.ok
        and summary.selected_jobs == len([p for p in tmp_path.iterdir() if p.is_dir()]) > 0
    )


def test_download_outputs_fetches_given_jobs_when_pks_selected(
    demo, editor_client, first_run, tmp_path
) -> None:
    out, _ = first_run
    pks = sorted(p.name for p in out.iterdir() if p.is_dir())[:2]
    summary = download_outputs(editor_client, jobs=pks + pks[:1], output_directory=tmp_path)
    assert summary.selected_jobs == 2
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_dir()) == pks


def test_download_outputs_raises_not_found_when_job_pk_unknown(editor_client, tmp_path) -> None:
    with pytest.raises(ObjectNotFound, match="Job 00000000-0000-4000-8000-000000000000"):
        download_outputs(
            editor_client, jobs=["00000000-0000-4000-8000-000000000000"], output_directory=tmp_path
        )


def test_download_outputs_suggests_near_match_when_slug_unknown(editor_client, tmp_path) -> None:
    with pytest.raises(ObjectNotFound, match="Did you mean: lung-nodule-detector"):
        download_outputs(editor_client, algorithm="lung-nodule-detectr", output_directory=tmp_path)


def test_download_outputs_refuses_destination_when_it_is_a_file(
    editor_client, demo, tmp_path
) -> None:
    target = tmp_path / "file"
    target.write_text("x")
    with pytest.raises(ConfigurationError, match="is a file"):
        download_outputs(editor_client, algorithm=demo.public_algorithm, output_directory=target)


def test_download_outputs_refuses_destination_when_another_run_holds_it(
    editor_client, demo, tmp_path
) -> None:
    with destination_lock(tmp_path), pytest.raises(ConfigurationError, match="Another gcfetch"):
        download_outputs(editor_client, algorithm=demo.public_algorithm, output_directory=tmp_path)


def test_lock_is_removed_at_the_end_and_a_removed_lock_file_blocks_no_one(tmp_path) -> None:
    with destination_lock(tmp_path):
        assert (tmp_path / ".gcfetch.lock").exists()
    assert not (tmp_path / ".gcfetch.lock").exists()
    with (tmp_path / ".gcfetch.lock").open("a+") as orphan:  # a run's lock, then removed
        fcntl.flock(orphan.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        (tmp_path / ".gcfetch.lock").unlink()
        with destination_lock(tmp_path):
            assert (tmp_path / ".gcfetch.lock").exists()


def test_download_outputs_writes_nothing_when_dry_run(editor_client, demo, tmp_path) -> None:
    out = tmp_path / "never"
    summary = download_outputs(
        editor_client, algorithm=demo.public_algorithm, output_directory=out, dry_run=True
    )
    assert not out.exists()
    assert summary.dry_run and len(summary.would_download) > summary.selected_jobs > 0
    assert summary.files_downloaded == 0 and summary.bytes_transferred == 0


def test_download_outputs_stops_and_resumes_when_cancelled(sandbox, demo, tmp_path) -> None:
    import threading

    from gcfetch.outputs import TaskFinished

    cancel = threading.Event()

    def on_progress(event) -> None:
        if isinstance(event, TaskFinished):
            cancel.set()

    with Client(token=demo.tokens["editor"], base_url=sandbox.base_url) as client:
        partial = download_outputs(
            client,
            algorithm=demo.public_algorithm,
            workers=2,
            output_directory=tmp_path,
            on_progress=on_progress,
            cancel=cancel,
        )
        assert partial.interrupted and not partial.ok
        records = [json.loads(x) for x in (tmp_path / "manifest.jsonl").read_text().splitlines()]
        assert all((tmp_path / r["path"]).stat().st_size == r["size"] for r in records)
        rest = download_outputs(client, algorithm=demo.public_algorithm, output_directory=tmp_path)
    assert rest.ok and rest.files_downloaded > 0
    assert rest.files_present >= partial.files_downloaded
    assert not list(tmp_path.rglob("*.part"))


def _worker_threads(sandbox, demo, tmp_path, **kwargs) -> set[str]:
    """The names of the threads that started outputs in a run with a one-connection client."""
    names: set[str] = set()

    def on_progress(event) -> None:
        if type(event).__name__ == "TaskStarted":
            names.add(threading.current_thread().name)

    with Client(
        token=demo.tokens["editor"], base_url=sandbox.base_url, max_concurrent_downloads=1
    ) as client:
        summary = download_outputs(
            client,
            algorithm=demo.public_algorithm,
            output_directory=tmp_path,
            on_progress=on_progress,
            **kwargs,
        )
    assert summary.files_downloaded > 1 and not summary.failures
    return names


def test_workers_default_to_client_pool_size(sandbox, demo, tmp_path) -> None:
    assert len(_worker_threads(sandbox, demo, tmp_path)) == 1


def test_workers_beyond_client_pool_are_reduced_with_warning(
    sandbox, demo, tmp_path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="gcfetch"):
        assert len(_worker_threads(sandbox, demo, tmp_path, workers=8)) == 1
    assert "max_concurrent_downloads=1" in caplog.text
