"""Two-file images (.mhd + .zraw, older uploads) from the server: warned of, or fixed with
fix_mhd, the manifest matching the rewritten header so that a re-run transfers nothing."""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk
from tests.outputs.helpers import add_output
from tests.outputs.test_mhd import write_pair

from gcfetch.client import Client
from gcfetch.outputs import download_outputs
from gcfetch.sandbox.storage import image_file_key
from gcfetch.sandbox.tables import Image, ImageFile

SOCKETS = ["old-upload-0", "old-upload-1"]


@pytest.fixture
def two_file_job(fresh_sandbox, demo, tmp_path: Path):
    """A succeeded job given two image outputs, each stored as `x.mhd` + `x.zraw` made by
    SimpleITK; (sandbox, job pk, {socket slug: (image pk, the image written)})."""
    job_pk = next(pk for pk, status in demo.jobs.items() if status == "Succeeded")
    images = {}
    for n, slug in enumerate(SOCKETS):
        upload = tmp_path / f"upload-{n}"
        written = write_pair(upload)
        image_pk = str(uuid.uuid4())
        with fresh_sandbox.apps.sessionmaker() as session:
            session.add(Image(pk=image_pk, name=f"scan-{n}.mhd", width=4, height=3, depth=2))
            session.flush()
            for name in ("x.mhd", "x.zraw"):
                key = image_file_key(image_pk, str(uuid.uuid4()), name)
                blob = fresh_sandbox.settings.blob_dir / key
                blob.parent.mkdir(parents=True, exist_ok=True)
                blob.write_bytes((upload / name).read_bytes())
                session.add(
                    ImageFile(pk=str(uuid.uuid4()), image_pk=image_pk, image_type="MHD", key=key)
                )
            session.commit()
        add_output(fresh_sandbox, job_pk, slug, slug, "Image", image_pk=image_pk)
        images[slug] = (image_pk, written)
    return fresh_sandbox, job_pk, images


def _download(sandbox, demo, dest: Path, **kwargs):
    with Client(token=demo.tokens["editor"], base_url=sandbox.base_url) as client:
        return download_outputs(client, jobs=[kwargs.pop("job")], output_directory=dest, **kwargs)


def _manifest(dest: Path) -> dict[str, dict]:
    lines = (dest / "manifest.jsonl").read_text().splitlines()
    return {rec["path"]: rec for rec in map(json.loads, lines)}


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "--fix-mhd" in r.getMessage()]


def test_without_the_fix_headers_are_kept_and_warned_of_once(
    two_file_job, demo, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    sandbox, job_pk, images = two_file_job
    dest = tmp_path / "dest"
    with caplog.at_level(logging.WARNING, logger="gcfetch"):
        summary = _download(sandbox, demo, dest, job=job_pk)
    assert not summary.failures
    for n, slug in enumerate(SOCKETS):
        image_pk, _ = images[slug]
        saved = dest / job_pk / slug
        assert (saved / f"{image_pk}.zraw").is_file()
        header = saved / f"{image_pk}.mhd"
        upload = tmp_path / f"upload-{n}" / "x.mhd"
        assert header.read_bytes() == upload.read_bytes()  # names x.zraw, as uploaded
    [warning] = _warnings(caplog)
    assert "x.zraw" in warning and "--fix-mhd" in warning


def test_with_the_fix_the_saved_pair_opens_and_a_rerun_transfers_nothing(
    two_file_job, demo, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    sandbox, job_pk, images = two_file_job
    dest = tmp_path / "dest"
    with caplog.at_level(logging.WARNING, logger="gcfetch"):
        summary = _download(sandbox, demo, dest, job=job_pk, fix_mhd=True)
    assert not summary.failures
    assert not _warnings(caplog)
    manifest = _manifest(dest)
    for n, slug in enumerate(SOCKETS):
        image_pk, written = images[slug]
        header = dest / job_pk / slug / f"{image_pk}.mhd"
        upload = (tmp_path / f"upload-{n}" / "x.mhd").read_bytes()
        assert header.read_bytes() == upload.replace(b"= x.zraw\n", f"= {image_pk}.zraw\n".encode())
        read = sitk.ReadImage(str(header))
        assert np.array_equal(sitk.GetArrayFromImage(read), sitk.GetArrayFromImage(written))
        assert read.GetSpacing() == written.GetSpacing()
        rec = manifest[f"{job_pk}/{slug}/{image_pk}.mhd"]
        data = header.read_bytes()
        assert rec["size"] == len(data)
        assert rec["sha256"] == hashlib.sha256(data).hexdigest()

    again = _download(sandbox, demo, dest, job=job_pk, fix_mhd=True)
    assert again.files_downloaded == 0 and again.bytes_transferred == 0
    assert not again.failures
    without = _download(sandbox, demo, dest, job=job_pk)
    assert without.files_downloaded == 0 and not without.failures


def test_the_fix_after_a_plain_run_rewrites_a_header_downloaded_again(
    two_file_job, demo, tmp_path: Path
) -> None:
    """A header left by a run without the fix is fixed when its data file is fetched again
    (the header itself is kept: its record is updated to the rewritten file)."""
    sandbox, job_pk, images = two_file_job
    dest = tmp_path / "dest"
    _download(sandbox, demo, dest, job=job_pk)
    slug = SOCKETS[0]
    image_pk, written = images[slug]
    (dest / job_pk / slug / f"{image_pk}.zraw").unlink()
    summary = _download(sandbox, demo, dest, job=job_pk, fix_mhd=True)
    assert summary.files_downloaded == 1 and not summary.failures
    header = dest / job_pk / slug / f"{image_pk}.mhd"
    read = sitk.ReadImage(str(header))
    assert np.array_equal(sitk.GetArrayFromImage(read), sitk.GetArrayFromImage(written))
    assert _manifest(dest)[f"{job_pk}/{slug}/{image_pk}.mhd"]["size"] == header.stat().st_size
    assert _download(sandbox, demo, dest, job=job_pk, fix_mhd=True).files_downloaded == 0


def test_the_fix_on_a_finished_tree_rewrites_headers_without_transferring_anything(
    two_file_job, demo, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    sandbox, job_pk, images = two_file_job
    dest = tmp_path / "dest"
    _download(sandbox, demo, dest, job=job_pk)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="gcfetch"):
        plain = _download(sandbox, demo, dest, job=job_pk)  # a re-run warns again, once
    assert plain.files_downloaded == 0 and len(_warnings(caplog)) == 1
    fixed = _download(sandbox, demo, dest, job=job_pk, fix_mhd=True)
    assert fixed.files_downloaded == 0 and fixed.bytes_transferred == 0 and not fixed.failures
    manifest = _manifest(dest)
    for slug in SOCKETS:
        image_pk, written = images[slug]
        header = dest / job_pk / slug / f"{image_pk}.mhd"
        read = sitk.ReadImage(str(header))
        assert np.array_equal(sitk.GetArrayFromImage(read), sitk.GetArrayFromImage(written))
        rec = manifest[f"{job_pk}/{slug}/{image_pk}.mhd"]
        assert rec["sha256"] == hashlib.sha256(header.read_bytes()).hexdigest()
    again = _download(sandbox, demo, dest, job=job_pk)
    assert again.files_downloaded == 0 and again.files_present == fixed.files_present
