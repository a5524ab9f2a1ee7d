"""`gcfetch outputs --segments N --segment-threshold SIZE` against a real sandbox."""

from __future__ import annotations

import hashlib
import random
from pathlib import Path

import pytest
import typer
from sqlalchemy import select
from tests.reliability.helpers import MATRIX_ALGORITHM, manifest, wait_idle
from typer.testing import CliRunner

from gcfetch import config
from gcfetch.cli import app
from gcfetch.cli.options import parse_size
from gcfetch.sandbox import Sandbox
from gcfetch.sandbox.demo import DemoInfo
from gcfetch.sandbox.tables import ImageFile

BIG = 600 * 1024


@pytest.mark.parametrize(
    ("text", "size"),
    [("0", 0), ("65536", 65536), ("64M", 64 << 20), ("64MiB", 64 << 20), ("1g", 1 << 30)],
)
def test_parse_size_reads_bytes_and_binary_suffixes(text: str, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "M", "12X", "-5", "1.5G"])
def test_parse_size_refuses_what_is_not_a_size(text: str) -> None:
    with pytest.raises(typer.BadParameter):
        parse_size(text)


def test_outputs_exits_2_when_segment_threshold_is_not_a_size(tmp_path: Path) -> None:
    args = ["outputs", "-a", "x", "-o", str(tmp_path), "--segment-threshold", "12X"]
    result = CliRunner().invoke(app, args, env={"GRAND_CHALLENGE_AUTHORIZATION": "t"})
    assert result.exit_code == 2


def _run(sandbox: Sandbox, demo: DemoInfo, dest: Path, *options: str) -> None:
    env = {
        "GRAND_CHALLENGE_API_URL": sandbox.base_url,
        "GRAND_CHALLENGE_AUTHORIZATION": demo.tokens["editor"],
    }
    args = ["outputs", "-a", MATRIX_ALGORITHM, "-o", str(dest), "--quiet", *options]
    result = CliRunner().invoke(app, args, env=env)
    assert result.exit_code == 0, result.output


def test_outputs_fetches_large_files_in_segments_when_asked(
    fresh_sandbox: Sandbox, demo: DemoInfo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(config, "SEGMENT_PROBE_SECONDS", 0.0)  # every stream counts as slow
    with fresh_sandbox.apps.sessionmaker() as session:
        keys = [k for k in session.scalars(select(ImageFile.key)) if k.endswith(".tif")]
    rng = random.Random(3)
    for key in keys:
        (fresh_sandbox.settings.blob_dir / key).write_bytes(rng.randbytes(BIG))
    # one worker: the pool's four spare connections are free for its segments
    options = ("--workers", "1", "--segments", "3", "--segment-threshold", "256K")
    _run(fresh_sandbox, demo, tmp_path / "a", *options)
    wait_idle(fresh_sandbox)
    tifs = [r for r in fresh_sandbox.traffic if r.path.endswith(".tif") and r.origin == "storage"]
    assert len(tifs) == 3 * len(keys) and sum(1 for r in tifs if r.range) == 2 * len(keys)
    for record in manifest(tmp_path / "a").values():
        data = (tmp_path / "a" / record["path"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == record["sha256"]
    fresh_sandbox.traffic.clear()
    _run(fresh_sandbox, demo, tmp_path / "b", "--segment-threshold", "0")
    wait_idle(fresh_sandbox)
    assert not [r for r in fresh_sandbox.traffic if r.range]


@pytest.mark.parametrize("value", ["-1", "33"])
def test_outputs_exits_2_when_segments_out_of_range(tmp_path: Path, value: str) -> None:
    args = ["outputs", "-a", "x", "-o", str(tmp_path), "--segments", value]
    result = CliRunner().invoke(app, args, env={"GRAND_CHALLENGE_AUTHORIZATION": "t"})
    assert result.exit_code == 2
