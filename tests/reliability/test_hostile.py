"""Hostile server data: paths and names that try to leave the destination are refused (or are
plain names, kept inside it); nothing is written outside and every other output completes."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from sqlalchemy import select
from tests.outputs.helpers import add_output_row
from tests.reliability.helpers import MATRIX_ALGORITHM, make_client, tree

from gcfetch import download_outputs
from gcfetch.sandbox import Sandbox
from gcfetch.sandbox.demo import DemoInfo
from gcfetch.sandbox.tables import Image, ImageFile, Job

# (relative_path, super_kind): each must be refused with UnsafePathError.
REFUSED = [
    ("../x", "File"),
    ("../../etc/passwd", "File"),
    ("/abs/path", "File"),
    ("a/../../b", "File"),
    ("C:\\x", "File"),
    ("C:x.json", "File"),
    ("\\\\host\\share\\x", "File"),
    ("..\\..\\x.json", "Value"),
    ("images/..", "Image"),
    ("../", "Image"),
    ("/", "Image"),
    ("nul\x00.json", "File"),
    ("new\nline.json", "Value"),
    ("tab\x7f.json", "Value"),
    ("x" * 300 + ".json", "File"),
    ("ok/" + "y" * 256 + "/z.json", "Value"),
    (".", "File"),
    ("..", "File"),
    ("", "File"),
    ("dir/", "Value"),
    ("sub/../x.json", "Value"),
    ("escape/x.json", "Value"),  # through a symlink placed in the destination, see below
    ("dup.json", "Value"),  # a second socket writing the same target
]
# Odd but plain names: kept, inside the destination.
KEPT = ["%2e%2e/x.json", "~/x.json", "a/./b.json", "...json", "dup.json"]
# Image file URLs whose extension would make a bad file name.
HOSTILE_IMAGE_NAMES = ["x.mha/../../../evil", "x.\nmha", "x." + "m" * 300]


def _hostile_image(session, like: Image, name: str) -> str:
    """A copy of image `like` (same blob) whose one file has the URL name `name`."""
    pk = str(uuid.uuid4())
    session.add(Image(**{**_columns(like), "pk": pk}))
    session.flush()
    key = f"images/{pk[:2]}/{pk[2:4]}/{pk}/{uuid.uuid4()}/{name}"
    session.add(ImageFile(pk=str(uuid.uuid4()), image_pk=pk, image_type="MHD", key=key))
    return pk


def _columns(row) -> dict:
    return {c.key: getattr(row, c.key) for c in row.__table__.columns}


@pytest.fixture
def hostile(fresh_sandbox: Sandbox, tmp_path: Path) -> tuple[Sandbox, str, Path, Path]:
    """A tissue-overlay job given every hostile output; (sandbox, job pk, dest, outside)."""
    outside = tmp_path / "outside"
    outside.mkdir()
    dest = tmp_path / "dest"
    with fresh_sandbox.apps.sessionmaker() as session:
        job = next(
            j
            for j in session.scalars(select(Job).where(Job.status == "Succeeded"))
            if j.algorithm_image.algorithm.slug == MATRIX_ALGORITHM
        )
        file_key = next(v.file_key for v in job.outputs if v.file_key)
        image = next(v.image for v in job.outputs if v.image_pk)
        for n, (path, kind) in enumerate(REFUSED):
            content = {"File": {"file_key": file_key}, "Value": {"value": n}}
            add_output_row(
                session, job.pk, f"bad-{n}", path, kind, **content.get(kind, {"image": image})
            )
        for n, path in enumerate(KEPT):
            add_output_row(session, job.pk, f"odd-{n}", path, "Value", value={"n": n})
        for n, name in enumerate(HOSTILE_IMAGE_NAMES):
            image_pk = _hostile_image(session, image, name)
            add_output_row(
                session, job.pk, f"bad-image-{n}", f"hostile-{n}", "Image", image_pk=image_pk
            )
        session.commit()
        job_pk = job.pk
    (dest / job_pk).mkdir(parents=True)
    os.symlink(outside, dest / job_pk / "escape")
    return fresh_sandbox, job_pk, dest, outside


def test_download_outputs_refuses_each_hostile_path_and_completes_rest_when_server_hostile(
    hostile, demo: DemoInfo, tmp_path: Path
):
    sandbox, job_pk, dest, outside = hostile
    with make_client(sandbox, demo) as client:
        summary = download_outputs(client, algorithm=MATRIX_ALGORITHM, output_directory=dest)
    refused = {f.socket_slug for f in summary.failures}
    expected = {f"bad-{n}" for n in range(len(REFUSED))}
    expected |= {f"bad-image-{n}" for n in range(len(HOSTILE_IMAGE_NAMES))}
    duplicates = {"bad-22", "odd-4"}  # both write dup.json: exactly one of them is refused
    assert refused - duplicates == expected - duplicates
    assert len(refused & duplicates) == 1
    assert {f.error_type for f in summary.failures} == {"UnsafePathError"}
    assert all("refused server-supplied path" in f.error for f in summary.failures)
    assert list(outside.iterdir()) == []
    written = {p.resolve() for p in tmp_path.rglob("*") if p.is_file()}
    assert all(p.is_relative_to(dest.resolve()) for p in written - {*sandbox_files(tmp_path)})
    files = tree(dest)
    for name in ["%2e%2e/x.json", "~/x.json", "a/b.json", "...json", "dup.json"]:
        assert f"{job_pk}/{name}" in files
    assert summary.files_downloaded == 30 + len(KEPT)


def sandbox_files(tmp_path: Path) -> list[Path]:
    """Files of the fresh sandbox's own data directory (below tmp_path too)."""
    return [p.resolve() for p in (tmp_path / "sandbox-data").rglob("*") if p.is_file()]
