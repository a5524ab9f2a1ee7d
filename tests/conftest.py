"""Fixtures: a real sandbox on 127.0.0.1 with the demo data, reached over HTTP."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from gcfetch.sandbox import Sandbox, SandboxSettings
from gcfetch.sandbox.demo import DemoInfo, build_demo, load_demo_info
from gcfetch.sandbox.faults import FaultSettings


@pytest.fixture(autouse=True)
def _clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees the developer's own token or API URL."""
    monkeypatch.delenv("GRAND_CHALLENGE_AUTHORIZATION", raising=False)
    monkeypatch.delenv("GRAND_CHALLENGE_API_URL", raising=False)


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory holding the default demo data set, built once per test session."""
    data_dir = tmp_path_factory.mktemp("demo-data")
    build_demo(SandboxSettings(data_dir=data_dir))
    return data_dir


@pytest.fixture(scope="session")
def demo(demo_dir: Path) -> DemoInfo:
    """What the demo holds: users and their tokens, algorithms, images, jobs."""
    return load_demo_info(demo_dir)


@pytest.fixture(scope="session")
def sandbox(demo_dir: Path) -> Iterator[Sandbox]:
    """A shared sandbox over plain HTTP on the demo data; tests must not change its data."""
    with Sandbox(SandboxSettings(data_dir=demo_dir)) as running:
        yield running


@pytest.fixture
def fresh_sandbox(demo_dir: Path, tmp_path: Path) -> Iterator[Sandbox]:
    """A sandbox of its own on a copy of the demo data, for tests that change data."""
    data_dir = tmp_path / "sandbox-data"
    shutil.copytree(demo_dir, data_dir)
    with Sandbox(SandboxSettings(data_dir=data_dir)) as running:
        yield running


@pytest.fixture(scope="module")
def faulty(demo_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    """A sandbox of the test module's own, on a copy of the demo data; tests set its faults."""
    data_dir = tmp_path_factory.mktemp("faulty") / "data"
    shutil.copytree(demo_dir, data_dir)
    with Sandbox(SandboxSettings(data_dir=data_dir)) as running:
        yield running


@pytest.fixture(autouse=True)
def _no_faults_after(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every test that set faults on `faulty` leaves it faultless for the next one."""
    yield
    if "faulty" in request.fixturenames:
        request.getfixturevalue("faulty").set_faults(FaultSettings())
