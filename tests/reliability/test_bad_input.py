"""Bad input on the CLI not covered by tests/cli/test_outputs_cli.py: an unknown algorithm image
pk and an output directory that exists but cannot be written."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gcfetch.cli import app
from gcfetch.sandbox import Sandbox
from gcfetch.sandbox.demo import DemoInfo


@pytest.fixture
def run(sandbox: Sandbox, demo: DemoInfo):
    def invoke(*args: str):
        env = {
            "GRAND_CHALLENGE_API_URL": sandbox.base_url,
            "GRAND_CHALLENGE_AUTHORIZATION": demo.tokens["editor"],
        }
        return CliRunner().invoke(app, ["outputs", *args], env=env)

    return invoke


@pytest.fixture
def read_only_dir(tmp_path: Path) -> Iterator[Path]:
    """An existing directory this process cannot write to (a read-only tmpfs as root)."""
    path = tmp_path / "read-only"
    path.mkdir()
    if os.geteuid() != 0:
        path.chmod(0o555)
        yield path
        path.chmod(0o755)
        return
    mount = ["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", str(path)]
    if subprocess.run(mount, capture_output=True).returncode != 0:
        pytest.skip("root here, and no read-only tmpfs can be mounted")
    yield path
    subprocess.run(["umount", str(path)], check=False)


def test_outputs_exits_two_naming_pk_when_algorithm_image_unknown(run, tmp_path: Path):
    pk = "00000000-0000-4000-8000-000000000000"
    result = run("--algorithm-image", pk, "-o", str(tmp_path / "out"))
    assert result.exit_code == 2, result.output
    assert pk in result.stderr and "Traceback" not in result.output
    assert not (tmp_path / "out" / "manifest.jsonl").exists()


def test_outputs_exits_two_with_fix_when_output_directory_not_writable(
    run, demo: DemoInfo, read_only_dir: Path
):
    result = run("--algorithm", demo.public_algorithm, "-o", str(read_only_dir))
    assert result.exit_code == 2, result.output
    assert "is not writable" in result.stderr and "-o" in result.stderr
    assert list(read_only_dir.iterdir()) == []
