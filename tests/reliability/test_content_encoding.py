"""Storage that compresses (a CDN with gzip on): gcfetch asks for identity, refuses the rest.

The sandbox's `gzip` fault gzips `.json`, `.csv` and `.pdf` bodies for a client that accepts
gzip; `gzip=always` does so even for `Accept-Encoding: identity` (a broken CDN).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from tests.reliability.helpers import blob_sha256, make_client, manifest, tree, wait_idle
from typer.testing import CliRunner

from gcfetch import download_outputs
from gcfetch.cli import app
from gcfetch.sandbox import Sandbox
from gcfetch.sandbox.demo import DemoInfo
from gcfetch.sandbox.faults import Fault, FaultSettings
from gcfetch.transfer import ContentEncodingRefused, download, remote_size

SUFFIXES = {".json", ".csv", ".pdf"}
GZIP = FaultSettings(rules=(Fault("gzip", rate=1.0),))
ALWAYS = FaultSettings(rules=(Fault("gzip", rate=1.0, always=True),))


@pytest.fixture(scope="module")
def file_jobs(faulty: Sandbox, demo: DemoInfo) -> list[str]:
    """Pks of a few succeeded public jobs whose File outputs include .json, .csv and .pdf."""
    chosen: list[str] = []
    seen: set[str] = set()
    with make_client(faulty, demo) as client:
        for pk, status in demo.jobs.items():
            if status != "Succeeded" or demo.job_algorithms[pk] != demo.public_algorithm:
                continue
            found = {Path(v.interface.relative_path).suffix for v in _files(client, pk)}
            if found - seen:
                chosen.append(pk)
                seen |= found
            if seen >= SUFFIXES:
                return chosen
    raise AssertionError("the demo has no public jobs with .json, .csv and .pdf files")


def _files(client, pk: str) -> list:
    outputs = client.algorithm_jobs.detail(pk=pk).outputs
    return [v for v in outputs if v.interface.super_kind == "File" and v.file]


def _storage_key(url: str) -> str:
    return url.split("/media/", 1)[1].split("?", 1)[0]


def _storage_requests(sandbox: Sandbox) -> list:
    wait_idle(sandbox)
    return [r for r in sandbox.traffic if r.origin == "storage"]


def test_download_outputs_writes_original_bytes_when_storage_compresses(
    faulty: Sandbox, demo: DemoInfo, file_jobs: list[str], tmp_path: Path
):
    faulty.set_faults(GZIP)
    faulty.traffic.clear()
    with make_client(faulty, demo) as client:
        summary = download_outputs(client, jobs=file_jobs, output_directory=tmp_path)
    assert summary.ok, summary.failures
    files = tree(tmp_path)
    compressible = {
        path: rec
        for path, rec in manifest(tmp_path).items()
        if rec["super_kind"] == "File" and Path(path).suffix in SUFFIXES
    }
    assert {Path(p).suffix for p in compressible} == SUFFIXES
    for path, rec in compressible.items():
        assert files[path] == rec["sha256"] == blob_sha256(faulty, rec["url"]), path
    storage = _storage_requests(faulty)
    assert storage and {r.accept_encoding for r in storage} == {"identity"}


def test_download_socket_value_writes_original_bytes_when_storage_compresses(
    faulty: Sandbox, demo: DemoInfo, file_jobs: list[str], tmp_path: Path
):
    faulty.set_faults(GZIP)
    with make_client(faulty, demo) as client:
        values = [v for pk in file_jobs for v in _files(client, pk)]
        for value in values:
            [path] = client.download_socket_value(value, output_directory=tmp_path / str(value.pk))
            blob = faulty.settings.blob_dir / _storage_key(value.file)
            assert path.read_bytes() == blob.read_bytes(), path
    assert {Path(v.interface.relative_path).suffix for v in values} >= SUFFIXES


def test_remote_size_gives_file_size_when_storage_compresses(
    faulty: Sandbox, demo: DemoInfo, file_jobs: list[str]
):
    with make_client(faulty, demo) as client:
        url = _files(client, file_jobs[0])[0].file
        size = (faulty.settings.blob_dir / _storage_key(url)).stat().st_size
        plain = remote_size(client.http, url)
        faulty.set_faults(GZIP)
        assert remote_size(client.http, url) == plain == (size, plain[1])
        faulty.set_faults(ALWAYS)
        assert remote_size(client.http, url)[0] is None  # the compressed length is not the size


def test_download_promotes_complete_part_when_resume_gets_416_and_storage_compresses(
    faulty: Sandbox, demo: DemoInfo, file_jobs: list[str], tmp_path: Path
):
    with make_client(faulty, demo) as client:
        url = _files(client, file_jobs[0])[0].file
        whole = download(client.http, url, tmp_path / "whole")
        target = tmp_path / "resumed"
        Path(f"{target}.part").write_bytes(whole.path.read_bytes())
        Path(f"{target}.part.json").write_text(json.dumps({"etag": whole.etag, "url": url}))
        faulty.set_faults(GZIP)
        result = download(client.http, url, target)
    assert result.resumed and result.bytes_received == 0
    assert target.read_bytes() == whole.path.read_bytes()


def test_download_outputs_refuses_compressed_body_when_storage_ignores_identity(
    faulty: Sandbox, demo: DemoInfo, file_jobs: list[str], tmp_path: Path
):
    faulty.set_faults(ALWAYS)
    faulty.traffic.clear()
    with make_client(faulty, demo) as client:
        summary = download_outputs(client, jobs=file_jobs, output_directory=tmp_path)
        expected = {
            f"{pk}/{v.interface.relative_path}": _storage_key(v.file)
            for pk in file_jobs
            for v in _files(client, pk)
            if Path(v.interface.relative_path).suffix in SUFFIXES
        }
    asked = Counter(r.path.lstrip("/") for r in _storage_requests(faulty))
    failed = {f.path: f for f in summary.failures}
    assert set(failed) == set(expected)
    for path, item in failed.items():
        assert item.error_type == "ContentEncodingRefused"
        assert Path(path).name in item.error and "Content-Encoding: gzip" in item.error
        assert "Accept-Encoding: identity" in item.error and "\n" not in item.error
        assert not list(tmp_path.glob(f"{path}*")), "a file or .part was left"
    once_each = Counter(expected.values())  # two outputs may share one blob
    assert {key: asked[key] for key in once_each} == once_each, "asked again"
    written = tree(tmp_path)
    assert written and not set(written) & set(expected)
    for path, rec in manifest(tmp_path).items():
        if rec["super_kind"] != "Value":
            assert written[path] == blob_sha256(faulty, rec["url"]), path
    faulty.set_faults(FaultSettings())
    with make_client(faulty, demo) as client:
        again = download_outputs(client, jobs=file_jobs, output_directory=tmp_path)
    assert again.ok and set(expected) <= set(tree(tmp_path))


def test_download_raises_without_writing_when_storage_ignores_identity(
    faulty: Sandbox, demo: DemoInfo, file_jobs: list[str], tmp_path: Path
):
    faulty.set_faults(ALWAYS)
    with make_client(faulty, demo) as client:
        value = next(v for v in _files(client, file_jobs[0]) if v.file.endswith(".json"))
        with pytest.raises(ContentEncodingRefused, match="gzip"):
            client.download_socket_value(value, output_directory=tmp_path)
    assert not [p for p in tmp_path.rglob("*") if p.is_file()], "a file or .part was left"


def test_outputs_cli_exits_one_with_one_line_reason_when_storage_ignores_identity(
    faulty: Sandbox, demo: DemoInfo, file_jobs: list[str], tmp_path: Path
):
    faulty.set_faults(ALWAYS)
    env = {
        "GRAND_CHALLENGE_API_URL": faulty.base_url,
        "GRAND_CHALLENGE_AUTHORIZATION": demo.tokens["editor"],
        "COLUMNS": "1000",
    }
    jobs = [arg for pk in file_jobs for arg in ("--job", pk)]
    result = CliRunner().invoke(app, ["outputs", *jobs, "-o", str(tmp_path), "--quiet"], env=env)
    assert result.exit_code == 1, result.output
    reasons = [line for line in result.stderr.splitlines() if "ContentEncodingRefused" in line]
    assert reasons and all("Accept-Encoding: identity" in line for line in reasons)
    assert all("Content-Encoding: gzip" in line for line in reasons)
