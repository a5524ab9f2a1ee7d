"""Fixtures of the reliability tests: a sandbox of their own, whose faults each test sets."""

from __future__ import annotations

import shutil
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from gcfetch.sandbox import Sandbox, SandboxSettings
from gcfetch.sandbox.faults import FaultSettings


@pytest.fixture(scope="module")
def faulty(demo_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    """A sandbox of this module's own, on a copy of the demo data; tests set its faults."""
    data_dir = tmp_path_factory.mktemp("reliability") / "data"
    shutil.copytree(demo_dir, data_dir)
    with Sandbox(SandboxSettings(data_dir=data_dir)) as running:
        yield running


@pytest.fixture(autouse=True)
def _no_faults_after(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "faulty" in request.fixturenames:
        request.getfixturevalue("faulty").set_faults(FaultSettings())


SOAK_STATS: Counter[str] = Counter()


@pytest.fixture(scope="session")
def soak_stats() -> Counter[str]:
    """Figures of the soak tests, printed at the end of the run (README "Reliability")."""
    return SOAK_STATS


def pytest_terminal_summary(terminalreporter) -> None:
    if SOAK_STATS:
        figures = ", ".join(f"{k} {v}" for k, v in SOAK_STATS.items())
        terminalreporter.write_line(f"soak figures: {figures}")
