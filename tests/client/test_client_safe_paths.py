"""The client names files only after safe server-supplied names: a hostile image pk, URL
extension or relative path raises UnsafePathError before anything is written."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from tests.outputs.helpers import add_output_row

from gcfetch import Client, UnsafePathError
from gcfetch.models import SocketValue
from gcfetch.sandbox import Sandbox
from gcfetch.sandbox.demo import DemoInfo
from gcfetch.sandbox.tables import Image, ImageFile, Job

ESCAPING_PK = "../../escaped"
# URL names whose extension (after the last "." of the URL path) is no safe file name.
HOSTILE_FILE_NAMES = ["x.a\nb", "x.mha/..", "x.mha/../../../evil", "x." + "m" * 300]


@pytest.fixture
def work(tmp_path: Path) -> Path:
    """An empty directory for the test's output (a fresh sandbox keeps its data in tmp_path)."""
    path = tmp_path / "work"
    path.mkdir()
    return path


def _files_below(path: Path) -> set[Path]:
    return set(path.rglob("*"))


@pytest.fixture
def hostile_sandbox(fresh_sandbox: Sandbox, demo: DemoInfo) -> tuple[Sandbox, str]:
    """A sandbox serving an image whose pk is `ESCAPING_PK` and one whose file URL ends in
    "x.a\\nb", both downloadable (their bytes are a copy of a demo image's file) and visible
    to the editor as outputs of a public job; returns (sandbox, that job's pk)."""
    blobs = fresh_sandbox.settings.blob_dir
    with fresh_sandbox.apps.sessionmaker() as session:
        job = next(
            j
            for j in session.scalars(select(Job).where(Job.status == "Succeeded"))
            if j.pk in demo.public_jobs and any(v.image_pk for v in j.outputs)
        )
        like = next(v.image for v in job.outputs if v.image_pk)
        for pk, name, file_name in [
            (ESCAPING_PK, "hostile-pk", "x.mha"),
            (str(uuid.uuid4()), "hostile-ext", "x.a\nb"),
        ]:
            columns = {c.key: getattr(like, c.key) for c in Image.__table__.columns}
            session.add(Image(**{**columns, "pk": pk, "name": name}))
            session.flush()
            # below the demo image's pk, so that /media/ finds a visible image and serves it
            key = f"images/{like.pk[:2]}/{like.pk[2:4]}/{like.pk}/{uuid.uuid4()}/{file_name}"
            (blobs / key).parent.mkdir(parents=True)
            shutil.copyfile(blobs / like.files[0].key, blobs / key)
            session.add(ImageFile(pk=str(uuid.uuid4()), image_pk=pk, image_type="MHD", key=key))
            add_output_row(session, job.pk, name, name, "Image", image_pk=pk)
        session.commit()
        return fresh_sandbox, job.pk


@pytest.fixture
def hostile_client(hostile_sandbox: tuple[Sandbox, str], demo: DemoInfo) -> Iterator[Client]:
    sandbox, _ = hostile_sandbox
    with Client(token=demo.tokens["editor"], base_url=sandbox.base_url) as client:
        yield client


@pytest.mark.parametrize("name", ["hostile-pk", "hostile-ext"])
def test_images_download_refuses_hostile_name_when_sandbox_serves_it(
    hostile_client: Client, work: Path, name: str
) -> None:
    out = work / "a" / "b" / "out"
    with pytest.raises(UnsafePathError, match="refused server-supplied path"):
        hostile_client.images.download(name=name, output_directory=out)
    assert _files_below(work) == set()


def test_images_download_keeps_caller_filename_when_pk_is_hostile(
    hostile_client: Client, work: Path
) -> None:
    download = hostile_client.images.download
    written = download(name="hostile-pk", output_directory=work, filename="seg")
    assert written == [work / "seg.mha"]
    assert written[0].read_bytes().startswith(b"ObjectType")


def test_download_socket_value_refuses_image_when_url_extension_is_hostile(
    hostile_sandbox: tuple[Sandbox, str], hostile_client: Client, work: Path
) -> None:
    _, job_pk = hostile_sandbox
    job = hostile_client.algorithm_jobs.detail(pk=job_pk)
    value = next(v for v in job.outputs if v.interface.slug == "hostile-ext")
    out = work / "out"
    with pytest.raises(UnsafePathError, match=r"x\.a\\nb"):
        hostile_client.download_socket_value(value, output_directory=out)
    assert _files_below(work) == set()


@pytest.mark.parametrize("file_name", HOSTILE_FILE_NAMES)
def test_images_download_refuses_url_extension_without_request_when_hostile(
    client: Client, recorder, tmp_path: Path, file_name: str
) -> None:
    files = [{"file": f"{client.base_url[:-8]}/media/images/{file_name}", "image_type": "MHD"}]
    out = tmp_path / "out"
    with pytest.raises(UnsafePathError):
        client.images.download(files=files, output_directory=out)
    with pytest.raises(UnsafePathError):
        client.images.download(files=files, filename=out / "seg")
    assert recorder.requests == []
    assert _files_below(tmp_path) == set()


# The sandbox's image detail view finds an image only by its canonical UUID (as Grand Challenge
# does), so it cannot answer `pk=` or `url=` with an image whose pk is a path: these cases use
# a mock transport that answers like a hostile server.
API = "http://127.0.0.1:9/api/v1/"
IMAGE_URL = f"{API}cases/images/0c0ffee0-0000-4000-8000-000000000000/"


def _hostile_server(request: httpx.Request) -> httpx.Response:
    if request.url.path.startswith("/api/v1/cases/images/"):
        files = [{"pk": "f", "image": "i", "file": f"{API[:-8]}/media/x.mha", "image_type": "MHD"}]
        return httpx.Response(200, json={"pk": ESCAPING_PK, "api_url": IMAGE_URL, "files": files})
    if request.url.path == "/media/x.mha":
        return httpx.Response(200, content=b"ObjectType = Image\n")
    return httpx.Response(404, json={"detail": "Not found."})


@pytest.fixture
def mock_client() -> Iterator[Client]:
    with Client(token="t", base_url=API, transport=httpx.MockTransport(_hostile_server)) as c:
        yield c


def _value(relative_path: str, super_kind: str = "Image") -> SocketValue:
    """A socket value as the hostile server would list it; its file and image are served."""
    socket = {"pk": 1, "slug": "s", "super_kind": super_kind, "relative_path": relative_path}
    file = f"{API[:-8]}/media/x.mha"
    return SocketValue.model_validate(
        {"pk": 1, "interface": socket, "value": {"n": 1}, "file": file, "image": IMAGE_URL}
    )


@pytest.mark.parametrize(
    "download",
    [
        lambda c, out: c.images.download(pk=IMAGE_URL.split("/")[-2], output_directory=out),
        lambda c, out: c.images.download(url=IMAGE_URL, output_directory=out),
        lambda c, out: c.download_socket_value(_value("seg"), output_directory=out),
    ],
    ids=["images.download(pk=)", "images.download(url=)", "download_socket_value"],
)
def test_client_refuses_image_pk_when_it_is_a_path(
    mock_client: Client, tmp_path: Path, download
) -> None:
    out = tmp_path / "a" / "b" / "out"
    with pytest.raises(UnsafePathError, match=r"\.\./\.\./escaped"):
        download(mock_client, out)
    assert _files_below(tmp_path) == set()


def test_client_writes_pk_named_file_when_mock_server_is_honest(tmp_path: Path) -> None:
    def honest(request: httpx.Request) -> httpx.Response:
        response = _hostile_server(request)
        if request.url.path.startswith("/api/v1/cases/images/"):
            body = response.json()
            response = httpx.Response(200, json={**body, "pk": "img"})
        return response

    with Client(token="t", base_url=API, transport=httpx.MockTransport(honest)) as client:
        assert client.images.download(url=IMAGE_URL, output_directory=tmp_path) == [
            tmp_path / "img.mha"
        ]


@pytest.mark.parametrize(
    ("relative_path", "super_kind"),
    [
        ("../escaped.json", "Value"),
        ("new\nline.json", "Value"),
        ("sub/../x.json", "Value"),
        ("C:x.json", "File"),
        ("a\\b.json", "Value"),
        ("images/..", "Image"),
    ],
)
def test_download_socket_value_refuses_relative_path_when_hostile(
    mock_client: Client, tmp_path: Path, relative_path: str, super_kind: str
) -> None:
    value = _value(relative_path, super_kind)
    out = tmp_path / "out"
    with pytest.raises(UnsafePathError):
        mock_client.download_socket_value(value, output_directory=out)
    assert _files_below(tmp_path) == set()
