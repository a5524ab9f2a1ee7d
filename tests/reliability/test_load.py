"""Load: many jobs, 32 workers, a server answering 5 % of requests with 503: the run completes,
every file is correct, and the downloader's memory stays bounded."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from tests.reliability.helpers import blob_sha256, manifest

from gcfetch.sandbox import Sandbox, SandboxSettings
from gcfetch.sandbox.demo import DemoInfo, build_demo
from gcfetch.sandbox.faults import Fault, FaultSettings

BUSY = FaultSettings(seed=5, rules=(Fault("status", status=503, rate=0.05, retry_after=0.01),))
MAX_RSS = 300 * 1024 * 1024  # the downloader process, whatever the number of jobs


@pytest.fixture(scope="module")
def thousand(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Sandbox, DemoInfo]]:
    """A sandbox with 1,000 jobs, answering 5 % of requests with 503."""
    data_dir = tmp_path_factory.mktemp("load") / "data"
    info = build_demo(SandboxSettings(data_dir=data_dir), jobs=1000, seed=3)
    with Sandbox(SandboxSettings(data_dir=data_dir, faults=BUSY)) as running:
        yield running, info


def _download(sandbox: Sandbox, demo: DemoInfo, root: Path, *selection: str) -> tuple[int, int]:
    """Run `gcfetch outputs` with 32 workers; (exit code, peak RSS of the process in bytes)."""
    env = {
        **os.environ,
        "GRAND_CHALLENGE_API_URL": sandbox.base_url,
        "GRAND_CHALLENGE_AUTHORIZATION": demo.tokens["editor"],
    }
    command = [sys.executable, "-m", "gcfetch.cli", "outputs", *selection, "-o", str(root)]
    process = psutil.Popen(
        [*command, "--workers", "32", "--quiet"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    peak = 0
    while process.poll() is None:
        try:
            peak = max(peak, process.memory_info().rss)
        except psutil.NoSuchProcess:
            break
        time.sleep(0.05)
    return process.wait(), peak


def _check_all(sandbox: Sandbox, root: Path) -> int:
    records = manifest(root)
    for path, rec in records.items():
        data = (root / path).read_bytes()
        assert len(data) == rec["size"] and hashlib.sha256(data).hexdigest() == rec["sha256"]
        if rec["super_kind"] != "Value":
            assert blob_sha256(sandbox, rec["url"]) == rec["sha256"], path
    return len(records)


def test_outputs_completes_correctly_in_bounded_memory_when_server_often_busy(
    thousand, tmp_path: Path
):
    sandbox, demo = thousand
    code, peak = _download(sandbox, demo, tmp_path, "--algorithm", "tissue-overlay")
    assert code == 0
    assert _check_all(sandbox, tmp_path) >= 3 * 100
    assert sandbox.faults_injected["status"] >= 10
    assert peak < MAX_RSS


@pytest.mark.soak
@pytest.mark.timeout(1800)
def test_outputs_completes_all_thousand_jobs_when_server_often_busy(
    thousand, tmp_path: Path, soak_stats
):
    sandbox, demo = thousand
    for slug in demo.algorithms:
        code, peak = _download(sandbox, demo, tmp_path, "--algorithm", slug)
        assert code == 0
        assert peak < MAX_RSS
        soak_stats["load peak RSS MiB"] = max(soak_stats["load peak RSS MiB"], peak >> 20)
    soak_stats["load files verified"] += _check_all(sandbox, tmp_path)
    soak_stats["load 503s injected"] += sandbox.faults_injected["status"]
