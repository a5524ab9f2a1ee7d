"""A full disk: a clear error naming the directory, nothing wrong at a final path, and the next
run with space completes. A small tmpfs where this machine lets us mount one (root), else a
write path that fails with ENOSPC after a byte budget."""

from __future__ import annotations

import errno
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.reliability.helpers import MATRIX_ALGORITHM, make_client, run_outputs, tree

from gcfetch import download_outputs, transfer
from gcfetch.sandbox import Sandbox
from gcfetch.sandbox.demo import DemoInfo

SMALL = 64 * 1024  # the tissue-overlay outputs need about 130 kB


def _mount(path: Path, options: str) -> bool:
    command = ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)]
    return subprocess.run(command, capture_output=True).returncode == 0


class _FillingFile:
    """A file whose writes fail with ENOSPC once `budget` bytes were written in total."""

    def __init__(self, handle, budget: list[int]) -> None:
        self._handle = handle
        self._budget = budget

    def write(self, data: bytes) -> int:
        if len(data) > self._budget[0]:
            raise OSError(errno.ENOSPC, "No space left on device")
        self._budget[0] -= len(data)
        return self._handle.write(data)

    def __getattr__(self, name: str):
        return getattr(self._handle, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc: object) -> None:
        self._handle.close()


@pytest.fixture(params=["tmpfs", "write-fault"])
def small_disk(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Path, object]]:
    """(directory with about SMALL bytes free, a callable that gives it plenty of space)."""
    disk = tmp_path / "disk"
    disk.mkdir()
    if request.param == "tmpfs":
        if not _mount(disk, f"size={SMALL}"):
            pytest.skip("cannot mount a tmpfs here (not root?); the write-fault variant runs")
        yield disk, lambda: _mount(disk, "remount,size=16m")
        subprocess.run(["umount", str(disk)], check=False)
        return
    budget = [SMALL]

    def filling_open(path, mode="r", *args, **kwargs):
        handle = open(path, mode, *args, **kwargs)  # noqa: SIM115 (closed by the wrapper)
        return _FillingFile(handle, budget) if "b" in mode and "r" not in mode else handle

    monkeypatch.setattr(transfer, "open", filling_open, raising=False)
    yield disk, lambda: budget.__setitem__(0, 1 << 40)


@pytest.fixture(scope="module")
def expected(faulty: Sandbox, demo: DemoInfo, tmp_path_factory) -> dict[str, str]:
    """The tree of a run with space (made before any disk is filled)."""
    root = tmp_path_factory.mktemp("reference")
    with make_client(faulty, demo) as client:
        assert download_outputs(client, algorithm=MATRIX_ALGORITHM, output_directory=root).ok
    return tree(root)


def test_outputs_names_directory_and_resumes_when_disk_fills_up(
    faulty: Sandbox, demo: DemoInfo, expected: dict[str, str], small_disk
):
    disk, make_room = small_disk
    dest = disk / "out"
    result = run_outputs(faulty, demo, dest)
    assert result.exit_code == 1, result.output
    assert "No space left on the device" in result.stderr
    assert str(dest) in result.stderr
    assert "Traceback" not in result.output
    with make_client(faulty, demo) as client:
        final = {p: h for p, h in tree(dest).items() if not p.endswith((".part", ".part.json"))}
        assert all(expected[path] == digest for path, digest in final.items())
        assert len(final) < len(expected)
        make_room()
        assert download_outputs(client, algorithm=MATRIX_ALGORITHM, output_directory=dest).ok
    assert tree(dest) == expected
