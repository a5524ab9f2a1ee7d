"""Archive downloads under stress: killed and resumed, and hostile paths in item values."""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from tests.outputs.helpers import add_value_row
from tests.reliability.helpers import make_client, manifest, tree, wait_idle

from gcfetch import download_archive
from gcfetch.sandbox import Sandbox, SandboxSettings
from gcfetch.sandbox.demo import DemoInfo
from gcfetch.sandbox.faults import FaultSettings
from gcfetch.sandbox.tables import Archive, ArchiveItem, ImageFile, archive_item_values

ARCHIVE = "demo-archive"
BIG = 512 * 1024  # each archive image file becomes this large, so that a kill lands mid-file


def _archive_items(session) -> list[ArchiveItem]:
    archive = session.scalar(select(Archive).where(Archive.slug == ARCHIVE))
    return list(session.scalars(select(ArchiveItem).where(ArchiveItem.archive_pk == archive.pk)))


@pytest.fixture(scope="module")
def slow(demo_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    """The demo archive with BIG image files, served at 2 MiB/s per file."""
    data_dir = tmp_path_factory.mktemp("items-slow") / "data"
    shutil.copytree(demo_dir, data_dir)
    faults = FaultSettings(storage_bytes_per_second=2 * 1024 * 1024)
    rng = random.Random(16)
    with Sandbox(SandboxSettings(data_dir=data_dir, faults=faults)) as running:
        with running.apps.sessionmaker() as session:
            images = {v.image_pk for i in _archive_items(session) for v in i.values if v.image_pk}
            keys = session.scalars(select(ImageFile.key).where(ImageFile.image_pk.in_(images)))
            for key in keys:
                (running.settings.blob_dir / key).write_bytes(rng.randbytes(BIG))
        yield running


def _start(sandbox: Sandbox, demo: DemoInfo, root: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "GRAND_CHALLENGE_API_URL": sandbox.base_url,
        "GRAND_CHALLENGE_AUTHORIZATION": demo.tokens["editor"],
    }
    command = [sys.executable, "-m", "gcfetch.cli", "archive", ARCHIVE, "-o", str(root), "-q"]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_archive_download_killed_mid_file_resumes_to_the_same_tree(
    slow: Sandbox, demo: DemoInfo, tmp_path: Path
) -> None:
    reference = tmp_path / "reference"
    with make_client(slow, demo) as client:
        assert download_archive(client, archive=ARCHIVE, output_directory=reference).ok
    root = tmp_path / "killed"
    process = _start(slow, demo, root)
    deadline = time.monotonic() + 60
    while not any(root.rglob("*.part")) and process.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.005)
    process.kill()
    process.communicate(timeout=30)
    wait_idle(slow)
    assert any(root.rglob("*.part"))  # killed mid-file
    with make_client(slow, demo) as client:
        summary = download_archive(client, archive=ARCHIVE, output_directory=root)
    assert summary.ok
    assert tree(root) == tree(reference)
    assert {p: r["sha256"] for p, r in manifest(root).items()} == tree(reference)


# (relative_path, super_kind): each must be refused, the rest of the item downloaded
HOSTILE = [("../x.json", "Value"), ("/abs.json", "Value"), ("a/../../b", "File"), ("..", "Image")]


def test_hostile_paths_in_item_values_are_refused_and_the_rest_completes(
    fresh_sandbox: Sandbox, demo: DemoInfo, tmp_path: Path
) -> None:
    with fresh_sandbox.apps.sessionmaker() as session:
        item = _archive_items(session)[0]
        file_key = next(v.file_key for i in _archive_items(session) for v in i.values if v.file_key)
        link = {"table": archive_item_values, "item_pk": item.pk}
        for n, (path, kind) in enumerate(HOSTILE):
            content = {"Value": {"value": n}, "File": {"file_key": file_key}}.get(kind, {})
            add_value_row(session, link, f"bad-{n}", path, kind, **content)
        session.commit()
    dest = tmp_path / "dest"
    with make_client(fresh_sandbox, demo) as client:
        summary = download_archive(client, archive=ARCHIVE, output_directory=dest)
    assert {f.socket_slug for f in summary.failures} == {f"bad-{n}" for n in range(len(HOSTILE))}
    assert {f.error_type for f in summary.failures} == {"UnsafePathError"}
    assert summary.files_downloaded > 0
    outside = [p for p in tmp_path.rglob("*") if p.is_file() and dest not in p.parents]
    assert [p for p in outside if "sandbox-data" not in p.parts] == []
