"""Files already at their final paths without a manifest record (a tree gcapi left, a copy cut
short) are confirmed against the server before they count; recorded ones are not asked about."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from tests.reliability.helpers import wait_idle

from gcfetch.client import Client
from gcfetch.outputs import download_outputs
from gcfetch.sandbox import Sandbox

PROBE = "bytes=0-0"


@pytest.fixture
def reference(fresh_sandbox: Sandbox, demo, tmp_path: Path) -> tuple[Client, str, Path]:
    """(client, a job pk, that job's complete tree as gcfetch wrote it, manifest included)."""
    client = Client(token=demo.tokens["editor"], base_url=fresh_sandbox.base_url)
    with client:
        jobs = client.algorithm_jobs.iterate_all(
            params={"algorithm_image__algorithm": demo.algorithms[demo.public_algorithm]}
        )
        kinds = {"Image", "File", "Value"}
        pk = next(
            job.pk
            for job in jobs
            if job.status == "Succeeded" and {v.interface.super_kind for v in job.outputs} >= kinds
        )
        out = tmp_path / "reference"
        assert download_outputs(client, jobs=[pk], output_directory=out).ok
        yield client, pk, out


def _files(root: Path, kind: str) -> list[str]:
    """Relative paths of the files of one super_kind, from the manifest under `root`."""
    lines = (root / "manifest.jsonl").read_text().splitlines()
    return sorted(rec["path"] for rec in map(json.loads, lines) if rec["super_kind"] == kind)


def _seed(reference: Path, tmp_path: Path) -> Path:
    """A copy of the reference tree without its records, as gcapi would have left it."""
    seeded = tmp_path / "seeded"
    records = shutil.ignore_patterns("manifest.jsonl", "results.csv", "jobs.jsonl", ".gcfetch.lock")
    shutil.copytree(reference, seeded, ignore=records)
    return seeded


def _storage(sandbox: Sandbox) -> list:
    """The storage requests served since the last clear (a probe closed early is logged when
    the server has finished it: wait for that)."""
    wait_idle(sandbox)
    return [r for r in sandbox.traffic if r.origin == "storage"]


def test_download_outputs_keeps_and_records_unrecorded_files_after_one_probe_each_when_correct(
    fresh_sandbox, reference, tmp_path
) -> None:
    client, pk, ref = reference
    seeded = _seed(ref, tmp_path)
    fetched = _files(ref, "File") + _files(ref, "Image")
    fresh_sandbox.traffic.clear()
    summary = download_outputs(client, jobs=[pk], output_directory=seeded)
    assert summary.ok and summary.files_downloaded == 0 and summary.bytes_transferred == 0
    assert summary.files_present == len(fetched) + len(_files(ref, "Value"))
    storage = _storage(fresh_sandbox)
    assert [r.range for r in storage] == [PROBE] * len(fetched)
    assert all(r.status == 206 and r.body_bytes <= 1 for r in storage)
    assert _files(seeded, "File") + _files(seeded, "Image") == fetched
    records = {rec["path"]: rec for rec in map(json.loads, (seeded / "manifest.jsonl").open())}
    reference_records = [json.loads(x) for x in (ref / "manifest.jsonl").open()]
    for rec in reference_records:
        assert {k: v for k, v in records[rec["path"]].items()} == rec
    fresh_sandbox.traffic.clear()
    again = download_outputs(client, jobs=[pk], output_directory=seeded)
    assert again.ok and again.files_present == summary.files_present
    assert _storage(fresh_sandbox) == []


def test_download_outputs_downloads_again_when_unrecorded_file_is_truncated(
    fresh_sandbox, reference, tmp_path
) -> None:
    client, pk, ref = reference
    seeded = _seed(ref, tmp_path)
    report = next(p for p in _files(ref, "File") if p.endswith(".pdf"))
    value = _files(ref, "Value")[0]
    (seeded / report).write_bytes((ref / report).read_bytes()[:100])
    (seeded / value).write_text('{"changed": true}')
    fresh_sandbox.traffic.clear()
    summary = download_outputs(client, jobs=[pk], output_directory=seeded)
    assert summary.ok and summary.files_downloaded == 2
    assert (seeded / report).read_bytes() == (ref / report).read_bytes()
    assert (seeded / value).read_bytes() == (ref / value).read_bytes()
    full = [r for r in _storage(fresh_sandbox) if r.range is None]
    assert len(full) == 1 and full[0].body_bytes == (ref / report).stat().st_size
    assert not list(seeded.rglob("*.part*"))


def test_download_outputs_downloads_again_when_unrecorded_image_file_is_truncated(
    fresh_sandbox, reference, tmp_path
) -> None:
    client, pk, ref = reference
    seeded = _seed(ref, tmp_path)
    image_files = _files(ref, "Image")
    (seeded / image_files[0]).write_bytes((ref / image_files[0]).read_bytes()[:10])
    fresh_sandbox.traffic.clear()
    summary = download_outputs(client, jobs=[pk], output_directory=seeded)
    assert summary.ok and summary.files_downloaded == 1
    for path in image_files:
        assert (seeded / path).read_bytes() == (ref / path).read_bytes()
    full = [r for r in _storage(fresh_sandbox) if r.range is None]
    assert [r.body_bytes for r in full] == [(ref / image_files[0]).stat().st_size]


def test_download_outputs_downloads_again_without_probe_when_recorded_file_size_differs(
    fresh_sandbox, reference
) -> None:
    client, pk, ref = reference
    report = next(p for p in _files(ref, "File") if p.endswith(".pdf"))
    data = (ref / report).read_bytes()
    (ref / report).write_bytes(data[:-1])
    fresh_sandbox.traffic.clear()
    summary = download_outputs(client, jobs=[pk], output_directory=ref)
    assert summary.ok and summary.files_downloaded == 1 and (ref / report).read_bytes() == data
    assert [(r.range, r.body_bytes) for r in _storage(fresh_sandbox)] == [(None, len(data))]
    assert "bytes=0-0" not in {r.range for r in fresh_sandbox.traffic}


def test_download_outputs_lists_unrecorded_files_without_requests_when_dry_run(
    fresh_sandbox, reference, tmp_path
) -> None:
    client, pk, ref = reference
    seeded = _seed(ref, tmp_path)
    before = sorted(p.relative_to(seeded) for p in seeded.rglob("*"))
    fresh_sandbox.traffic.clear()
    summary = download_outputs(client, jobs=[pk], output_directory=seeded, dry_run=True)
    assert sorted(summary.would_download) == sorted(
        [*_files(ref, "File"), *{p.rsplit("/", 1)[0] for p in _files(ref, "Image")}]
    )
    assert summary.files_present == len(_files(ref, "Value"))
    assert _storage(fresh_sandbox) == []
    assert sorted(p.relative_to(seeded) for p in seeded.rglob("*")) == before
