"""Downloads against the sandbox: raw call, images.download, download_socket_value, resume.

The storage origin refuses any request that carries an Authorization header (403), so every
successful download here also proves that the token stayed on the API origin.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import httpx
import pytest

from gcfetch import Client, ConfigurationError, ObjectNotFound
from gcfetch.auth import origin_of
from gcfetch.models import Job, SocketValue
from gcfetch.sandbox import Sandbox
from gcfetch.sandbox.demo import DemoInfo
from gcfetch.transfer import download, stream_file


@pytest.fixture(scope="module")
def full_job(sandbox: Sandbox, demo: DemoInfo) -> Job:
    """A succeeded job of the public algorithm with outputs of every super kind."""
    with Client(token=demo.tokens["editor"], base_url=sandbox.base_url) as client:
        for pk, status in demo.jobs.items():
            if status != "Succeeded" or demo.job_algorithms[pk] != demo.public_algorithm:
                continue
            job = client.algorithm_jobs.detail(pk=pk)
            kinds = {v.interface.super_kind for v in job.outputs}
            if kinds == {"Image", "Value", "File"}:
                return job
    raise AssertionError("the demo has no job with outputs of every super kind")


def _output(job: Job, slug: str) -> SocketValue:
    return next(v for v in job.outputs if v.interface.slug == slug)


def _storage_bytes(client: Client, media_url: str) -> bytes:
    with stream_file(client.http, media_url) as response:
        return response.read()


def test_raw_call_returns_parsed_json_when_content_type_is_json(client: Client) -> None:
    body = client(path="algorithms/", params={"limit": 1})
    assert isinstance(body, dict) and body["results"]


def test_raw_call_returns_response_when_body_is_not_json(client: Client, full_job: Job) -> None:
    response = client(url=_output(full_job, "report").file, follow_redirects=True)
    assert isinstance(response, httpx.Response)
    response.raise_for_status()
    assert response.content.startswith(b"%PDF")
    assert origin_of(response.url) != origin_of(client.base_url)


def test_raw_call_returns_parsed_json_when_file_is_json(client: Client, full_job: Job) -> None:
    value = _output(full_job, "predictions")
    parsed = client(url=value.file, follow_redirects=True)
    assert parsed == json.loads(_storage_bytes(client, value.file))


def test_raw_call_raises_when_redirect_is_not_followed(client: Client, full_job: Job) -> None:
    with pytest.raises(Exception) as caught:
        client(url=_output(full_job, "report").file)
    assert getattr(caught.value, "status_code", None) == 302


def test_raw_call_refuses_storage_url_without_request(
    client: Client, sandbox: Sandbox, recorder
) -> None:
    with pytest.raises(ConfigurationError, match="Invalid target URL"):
        client(url=sandbox.storage_url + "images/x.mha")
    assert recorder.requests == []


def test_storage_hop_carries_no_token_when_following_redirect(
    client: Client, full_job: Job, recorder
) -> None:
    client(url=_output(full_job, "report").file, follow_redirects=True)
    first, second = recorder.requests
    assert "Authorization" in first.headers
    assert "Authorization" not in second.headers


def test_images_download_writes_gcapi_013_path_when_filename_given(
    client: Client, full_job: Job, tmp_path: Path
) -> None:
    url = _output(full_job, "segmentation").image
    written = client.images.download(url=url, filename=tmp_path / "out" / "seg")
    assert written == [tmp_path / "out" / "seg.mha"]
    again = client.images.download(url=url, filename=tmp_path / "out" / "seg")
    assert again == written  # overwritten silently, as gcapi 0.13 does
    assert written[0].read_bytes().startswith(b"ObjectType")


def test_images_download_writes_pk_named_file_when_output_directory_given(
    client: Client, full_job: Job, tmp_path: Path
) -> None:
    url = _output(full_job, "segmentation").image
    image = client.images.detail(api_url=url)
    written = client.images.download(url=url, output_directory=tmp_path)
    assert written == [tmp_path / f"{image.pk}.mha"]
    with pytest.raises(FileExistsError):
        client.images.download(pk=image.pk, output_directory=tmp_path)
    named = client.images.download(pk=image.pk, output_directory=tmp_path, filename="seg")
    assert named == [tmp_path / "seg.mha"]
    assert named[0].read_bytes() == written[0].read_bytes()


def test_images_download_names_file_image_when_files_given(
    client: Client, full_job: Job, tmp_path: Path
) -> None:
    image = client.images.detail(api_url=_output(full_job, "heat-map").image)
    written = client.images.download(files=image.files, output_directory=tmp_path)
    assert written == [tmp_path / "image.mha"]


def test_images_download_matches_image_type_case_insensitively(
    client: Client, full_job: Job, tmp_path: Path
) -> None:
    url = _output(full_job, "heat-map").image
    download = client.images.download
    assert download(url=url, output_directory=tmp_path / "a", image_type="TIFF") == []
    assert len(download(url=url, output_directory=tmp_path / "b", image_type="mhd")) == 1


def test_images_download_raises_when_selectors_are_not_exactly_one(
    client: Client, tmp_path: Path
) -> None:
    with pytest.raises(ValueError):
        client.images.download(output_directory=tmp_path)
    with pytest.raises(ValueError):
        client.images.download(pk="x", url="y", output_directory=tmp_path)


def test_download_socket_value_writes_gcapi_tree_for_every_output(
    client: Client, full_job: Job, tmp_path: Path
) -> None:
    out = tmp_path / full_job.pk
    for value in full_job.outputs:
        client.download_socket_value(value, output_directory=out)
    for value in full_job.outputs:
        socket = value.interface
        target = out / socket.relative_path
        if socket.super_kind == "Image":
            image = client.images.detail(api_url=value.image)
            assert sorted(p.name for p in target.iterdir()) == [f"{image.pk}.mha"]
        elif socket.super_kind == "Value":
            assert target.read_text() == json.dumps(value.value, indent=2)
        else:
            assert target.read_bytes() == _storage_bytes(client, value.file)
    assert (out / "metrics" / "score.json").is_file()
    assert not list(out.rglob("*.part*"))


def test_download_socket_value_puts_image_in_output_directory_when_relative_path_empty(
    client: Client, full_job: Job, tmp_path: Path
) -> None:
    value = next(v for v in full_job.inputs if v.interface.relative_path == "")
    image = client.images.detail(api_url=value.image)
    assert client.download_socket_value(value, output_directory=tmp_path) == [
        tmp_path / f"{image.pk}.mha"
    ]


def test_download_socket_value_raises_when_target_exists(
    client: Client, full_job: Job, tmp_path: Path
) -> None:
    for slug in ("metrics-score", "report"):
        value = _output(full_job, slug)
        client.download_socket_value(value, output_directory=tmp_path)
        with pytest.raises(FileExistsError):
            client.download_socket_value(value, output_directory=tmp_path)


def test_download_socket_value_keeps_json_file_bytes_when_file_is_json(
    client: Client, full_job: Job, tmp_path: Path
) -> None:
    value = _output(full_job, "predictions")
    [path] = client.download_socket_value(value, output_directory=tmp_path)
    assert path.read_bytes() == _storage_bytes(client, value.file)


def test_download_socket_value_raises_not_found_when_user_may_not_see_file(
    sandbox: Sandbox, demo: DemoInfo, client: Client, tmp_path: Path
) -> None:
    private = next(
        pk
        for pk in demo.job_viewers["editor"]
        if pk not in demo.public_jobs and demo.jobs[pk] == "Succeeded"
    )
    value = next(v for v in client.algorithm_jobs.detail(pk=private).outputs if v.file)
    with (
        Client(token=demo.tokens["outsider"], base_url=sandbox.base_url) as outsider,
        pytest.raises(ObjectNotFound),
    ):
        outsider.download_socket_value(value, output_directory=tmp_path)
    assert not (tmp_path / value.interface.relative_path).exists()


def test_transfer_resumes_part_file_requesting_only_missing_bytes(
    client: Client, full_job: Job, tmp_path: Path, recorder
) -> None:
    url = _output(full_job, "segmentation").image
    file_url = client.images.detail(api_url=url).files[0].file
    whole = download(client.http, file_url, tmp_path / "whole.mha")
    keep = whole.size // 3
    target = tmp_path / "resumed.mha"
    Path(f"{target}.part").write_bytes(whole.path.read_bytes()[:keep])
    Path(f"{target}.part.json").write_text(json.dumps({"etag": whole.etag, "url": file_url}))
    recorder.requests.clear()

    result = download(client.http, file_url, target, chunk_size=1024)

    assert result.resumed
    assert result.bytes_received == whole.size - keep
    assert recorder.requests[-1].headers["Range"] == f"bytes={keep}-"
    assert result.sha256 == whole.sha256 == hashlib.sha256(target.read_bytes()).hexdigest()
    assert not Path(f"{target}.part").exists() and not Path(f"{target}.part.json").exists()


def test_transfer_starts_over_when_etag_of_part_no_longer_matches(
    client: Client, full_job: Job, tmp_path: Path
) -> None:
    file_url = _output(full_job, "report").file
    target = tmp_path / "report.pdf"
    Path(f"{target}.part").write_bytes(b"stale bytes of another version")
    Path(f"{target}.part.json").write_text(json.dumps({"etag": '"old"', "url": file_url}))
    result = download(client.http, file_url, target)
    assert not result.resumed
    assert result.bytes_received == result.size == target.stat().st_size
    assert target.read_bytes().startswith(b"%PDF")


def test_transfer_reports_progress_and_etag(client: Client, full_job: Job, tmp_path: Path) -> None:
    seen: list[int] = []
    result = download(
        client.http, _output(full_job, "report").file, tmp_path / "r.pdf", on_bytes=seen.append
    )
    assert sum(seen) == result.size == result.bytes_received
    assert result.etag
