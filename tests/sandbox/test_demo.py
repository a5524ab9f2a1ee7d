"""The demo data set: content, storage layout, determinism and size options."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest
import SimpleITK as sitk
from sqlalchemy import select
from sqlalchemy.orm import Session

from gcfetch.sandbox import SandboxSettings
from gcfetch.sandbox.db import make_engine
from gcfetch.sandbox.demo import DemoInfo, build_demo, load_demo_info
from gcfetch.sandbox.deps import token_digest
from gcfetch.sandbox.tables import (
    Algorithm,
    ImageFile,
    Job,
    SocketValue,
    Token,
    User,
    job_outputs,
)

_UUID = "[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"


@pytest.fixture(scope="module")
def session(demo_dir: Path):
    engine = make_engine(SandboxSettings(data_dir=demo_dir))
    with Session(engine) as session:
        yield session
    engine.dispose()


def _outputs(session: Session) -> list[SocketValue]:
    query = select(SocketValue).join(job_outputs, job_outputs.c.value_pk == SocketValue.pk)
    return list(session.scalars(query))


def test_build_demo_has_outputs_of_every_super_kind_and_kind_when_default(session: Session):
    outputs = _outputs(session)
    super_kinds = {value.socket.super_kind for value in outputs}
    kinds = {value.socket.kind for value in outputs}
    assert super_kinds == {"Image", "File", "Value"}
    assert {"Segmentation", "Heat Map", "PDF file", "CSV file", "Thumbnail png"} <= kinds
    json_files = [
        v
        for v in outputs
        if v.socket.super_kind == "File" and v.socket.relative_path.endswith(".json")
    ]
    assert json_files and all(v.socket.kind == "Anything" for v in json_files)


def test_build_demo_has_value_outputs_that_are_falsy_or_null_when_default(session: Session):
    values = [v.value for v in _outputs(session) if v.socket.super_kind == "Value"]
    types = {type(value) for value in values}
    assert {float, int, bool, dict, type(None)} <= types
    assert any(value is False for value in values)
    assert any(value == 0 and type(value) is int for value in values)


def test_build_demo_has_nested_and_empty_relative_paths_when_default(
    demo: DemoInfo, session: Session
):
    paths = {v.socket.slug: v.socket.relative_path for v in session.scalars(select(SocketValue))}
    assert paths["generic-medical-image"] == ""
    assert "metrics/score.json" in paths.values()
    assert all(
        p == "" or p.startswith("images/")
        for s, p in paths.items()
        if s in ("generic-medical-image", "segmentation", "heat-map")
    )


def test_build_demo_spreads_statuses_with_null_durations_when_default(
    demo: DemoInfo, session: Session
):
    counts = Counter(demo.jobs.values())
    assert len(demo.jobs) == 60
    assert counts["Succeeded"] > len(demo.jobs) / 2
    assert {"Failed", "Cancelled", "Executing", "Queued"} <= set(counts)
    for job in session.scalars(select(Job)):
        if job.status in ("Queued", "Cancelled", "Executing"):
            assert job.exec_duration is None and job.invoke_duration is None
        if job.status == "Succeeded":
            assert isinstance(job.exec_duration, float) and job.exec_duration > 0


def test_build_demo_writes_readable_images_at_gc_keys_when_default(
    demo_dir: Path, session: Session
):
    files = list(session.scalars(select(ImageFile)))
    for image_file in files:
        pk = image_file.image_pk
        suffix = "tif" if image_file.image_type == "TIFF" else "mha"
        pattern = f"images/{pk[:2]}/{pk[2:4]}/{pk}/{_UUID}/{pk}\\.{suffix}"
        assert re.fullmatch(pattern, image_file.key)
    assert {"MHD", "TIFF"} == {f.image_type for f in files}
    for image_type in ("MHD", "TIFF"):
        key = next(f.key for f in files if f.image_type == image_type)
        image = sitk.ReadImage(str(SandboxSettings(data_dir=demo_dir).blob_dir / key))
        assert image.GetSize()[0] > 1


def test_build_demo_stores_value_files_at_hex_keys_when_default(demo_dir: Path, session: Session):
    blob_dir = SandboxSettings(data_dir=demo_dir).blob_dir
    files = [v for v in session.scalars(select(SocketValue)) if v.file_key]
    assert files
    for value in files:
        hexed = f"{value.pk:04x}"
        name = value.socket.relative_path.rsplit("/", 1)[-1]
        expected = (
            f"components/componentinterfacevalue/{hexed[-4:-2]}/{hexed[-2:]}/{value.pk}/{name}"
        )
        assert value.file_key == expected
        assert (blob_dir / value.file_key).is_file()
    data = next((blob_dir / v.file_key).read_bytes() for v in files if v.file_key.endswith(".json"))
    assert data == json.dumps(json.loads(data)).encode()
    pdf = next((blob_dir / v.file_key).read_bytes() for v in files if v.file_key.endswith(".pdf"))
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")


def test_build_demo_stores_only_token_digests_and_sets_permissions_when_default(
    demo: DemoInfo, session: Session
):
    digests = set(session.scalars(select(Token.digest)))
    for token in demo.tokens.values():
        assert re.fullmatch("[0-9a-f]{64}", token)
        assert token_digest(token) in digests and token not in digests
    users = {u.username: u for u in session.scalars(select(User))}
    assert not users["inactive"].is_active
    for algorithm in session.scalars(select(Algorithm)):
        assert users["editor"] in algorithm.editors
        assert users["viewer"] not in algorithm.editors
    assert any(users["viewer"] in a.users for a in session.scalars(select(Algorithm)))
    assert demo.job_viewers["outsider"] == []
    assert demo.public_jobs and all(
        demo.job_algorithms[pk] == demo.public_algorithm for pk in demo.public_jobs
    )
    assert len(demo.job_viewers["editor"]) > len(demo.jobs) / 2
    assert 0 < len(demo.job_viewers["viewer"]) < len(demo.jobs)


def test_build_demo_is_deterministic_when_seed_is_the_same(tmp_path: Path):
    first = build_demo(SandboxSettings(data_dir=tmp_path / "a"), jobs=5, seed=3)
    second = build_demo(SandboxSettings(data_dir=tmp_path / "b"), jobs=5, seed=3)
    other = build_demo(SandboxSettings(data_dir=tmp_path / "c"), jobs=5, seed=4)
    assert first == second
    assert other.tokens != first.tokens and set(other.jobs) != set(first.jobs)


def test_build_demo_returns_existing_or_refuses_when_data_exists(tmp_path: Path):
    settings = SandboxSettings(data_dir=tmp_path)
    info = build_demo(settings, jobs=5)
    assert build_demo(settings, jobs=5) == info
    with pytest.raises(FileExistsError):
        build_demo(settings, jobs=6)


def test_build_demo_creates_the_requested_number_of_jobs_when_jobs_given(tmp_path: Path):
    settings = SandboxSettings(data_dir=tmp_path)
    info = build_demo(settings, jobs=7)
    engine = make_engine(settings)
    with Session(engine) as session:
        assert len(list(session.scalars(select(Job.pk)))) == 7
    engine.dispose()
    assert len(info.jobs) == 7 and load_demo_info(tmp_path) == info


def test_build_demo_adds_a_large_mha_output_when_large_file_mib_given(tmp_path: Path):
    settings = SandboxSettings(data_dir=tmp_path)
    info = build_demo(settings, jobs=2, large_file_mib=3)
    assert info.large_file_job is not None and info.jobs[info.large_file_job] == "Succeeded"
    big = [p for p in settings.blob_dir.rglob("*.mha") if p.stat().st_size > 3 * 2**20]
    assert len(big) == 1
    reader = sitk.ImageFileReader()
    reader.SetFileName(str(big[0]))
    reader.ReadImageInformation()
    assert reader.GetSize() == (1024, 1024, 3)
    header = big[0].read_bytes()[:512].split(b"ElementDataFile = LOCAL\n")[0]
    assert big[0].stat().st_size == len(header) + len(b"ElementDataFile = LOCAL\n") + 3 * 2**20


def test_demo_built_by_an_older_gcfetch_is_refused_naming_the_fix(demo_dir, tmp_path) -> None:
    old = json.loads((demo_dir / "demo.json").read_text())
    del old["version"]  # as written before the field existed
    (tmp_path / "demo.json").write_text(json.dumps(old))
    with pytest.raises(FileExistsError, match=r"older gcfetch .*remove the directory"):
        build_demo(SandboxSettings(data_dir=tmp_path))
