"""The demo builder's `bench` profile: one algorithm, succeeded jobs with three outputs each."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from gcfetch.sandbox import SandboxSettings
from gcfetch.sandbox.db import make_engine
from gcfetch.sandbox.demo import build_demo
from gcfetch.sandbox.tables import ImageFile, SocketValue, job_outputs


def test_build_demo_makes_three_outputs_per_succeeded_job_when_profile_is_bench(tmp_path: Path):
    settings = SandboxSettings(data_dir=tmp_path)
    info = build_demo(settings, profile="bench", jobs=4, large_file_mib=2)

    assert info.profile == "bench"
    assert list(info.algorithms) == [info.public_algorithm] == ["throughput-benchmark"]
    assert set(info.jobs.values()) == {"Succeeded"} and len(info.jobs) == 5
    engine = make_engine(settings)
    with Session(engine) as session:
        rows = session.execute(
            select(job_outputs.c.job_pk, SocketValue).join(
                SocketValue, SocketValue.pk == job_outputs.c.value_pk
            )
        ).all()
        files = {f.image_pk: f.key for f in session.scalars(select(ImageFile))}
        per_job: dict[str, dict[str, SocketValue]] = {}
        for job_pk, value in rows:
            per_job.setdefault(job_pk, {})[value.socket.slug] = value
    engine.dispose()
    small = [outs for pk, outs in per_job.items() if pk != info.large_file_job]
    assert len(small) == 4
    for outputs in small:
        assert set(outputs) == {"heat-map", "predictions", "probability"}
        image = settings.blob_dir / files[outputs["heat-map"].image_pk]
        assert 2 * 2**20 <= image.stat().st_size < 2 * 2**20 + 4096
        document = settings.blob_dir / outputs["predictions"].file_key
        assert 45_000 < document.stat().st_size < 60_000
    large = per_job[info.large_file_job]["heat-map"]
    assert (settings.blob_dir / files[large.image_pk]).stat().st_size > 2 * 2**20


def test_build_demo_refuses_another_profile_when_a_demo_exists(tmp_path: Path):
    settings = SandboxSettings(data_dir=tmp_path)
    first = build_demo(settings, profile="bench", jobs=2)

    assert build_demo(settings, profile="bench", jobs=2) == first
    with pytest.raises(FileExistsError, match="profile=bench"):
        build_demo(settings, jobs=2)


def test_build_demo_makes_small_files_when_profile_is_bench_small(tmp_path: Path):
    settings = SandboxSettings(data_dir=tmp_path)
    info = build_demo(settings, profile="bench-small", jobs=3)

    assert info.profile == "bench-small" and len(info.jobs) == 3
    engine = make_engine(settings)
    with Session(engine) as session:
        files = {f.image_pk: settings.blob_dir / f.key for f in session.scalars(select(ImageFile))}
        values = list(session.scalars(select(SocketValue)))
        slugs = [(v, v.socket.slug) for v in values]
        heat_maps = [files[v.image_pk] for v, slug in slugs if slug == "heat-map"]
        documents = [settings.blob_dir / v.file_key for v, slug in slugs if slug == "predictions"]
    engine.dispose()
    assert len(heat_maps) == len(documents) == 3
    assert all(20 * 2**10 <= path.stat().st_size < 24 * 2**10 for path in heat_maps)
    assert all(4_000 < path.stat().st_size < 6_000 for path in documents)
