"""Interrupted runs: `gcfetch outputs` killed (SIGKILL) or stopped (SIGINT) mid-transfer, then
run again: the tree equals an uninterrupted run's and no half-done file is fetched again in full."""

from __future__ import annotations

import csv
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from tests.reliability.helpers import MATRIX_ALGORITHM, make_client, manifest, tree, wait_idle

from gcfetch import config, download_outputs
from gcfetch.outputs.job_records import JOBS_NAME
from gcfetch.outputs.manifest import MANIFEST_NAME
from gcfetch.outputs.results import RESULTS_NAME
from gcfetch.paths import CASE_PROBE_NAME
from gcfetch.retry import RetryPolicy
from gcfetch.sandbox import Sandbox, SandboxSettings
from gcfetch.sandbox.demo import DemoInfo
from gcfetch.sandbox.faults import Fault, FaultSettings
from gcfetch.sandbox.tables import ImageFile

BIG = 512 * 1024  # each .tif becomes this large, so that kills land mid-transfer
SLOW_LINK = FaultSettings(storage_bytes_per_second=4 * 1024 * 1024)
STOP_BOUND = 3.0  # seconds from SIGINT to exit: the promise, with a margin for a loaded machine


@pytest.fixture(scope="module")
def slow(demo_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    """A sandbox whose .tif files are BIG random blobs, served at 4 MiB/s per file."""
    data_dir = tmp_path_factory.mktemp("interrupted") / "data"
    shutil.copytree(demo_dir, data_dir)
    settings = SandboxSettings(data_dir=data_dir, faults=SLOW_LINK)
    rng = random.Random(8)
    with Sandbox(settings) as running:
        with running.apps.sessionmaker() as session:
            keys = [k for k in session.scalars(select(ImageFile.key)) if k.endswith(".tif")]
        for key in keys:
            (settings.blob_dir / key).write_bytes(rng.randbytes(BIG))
        yield running


@pytest.fixture(scope="module")
def uninterrupted(slow: Sandbox, demo: DemoInfo, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("uninterrupted")
    with make_client(slow, demo) as client:
        assert download_outputs(client, algorithm=MATRIX_ALGORITHM, output_directory=root).ok
    return root


def _popen(command: list[str], **kwargs) -> subprocess.Popen[bytes]:
    """Start `command` with Ctrl-C (SIGINT) at its default, even if this test run was started
    with it ignored (as a shell starts a background job): children inherit it, and a Python
    started with SIGINT ignored never raises KeyboardInterrupt."""
    return subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        **kwargs,
    )


def _start(sandbox: Sandbox, demo: DemoInfo, root: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "GRAND_CHALLENGE_API_URL": sandbox.base_url,
        "GRAND_CHALLENGE_AUTHORIZATION": demo.tokens["editor"],
    }
    command = [sys.executable, "-m", "gcfetch.cli", "outputs", "-a", MATRIX_ALGORITHM]
    command += ["-o", str(root), "--workers", "4", "--quiet"]
    return _popen(command, env=env)


def _parts(root: Path, *, resumable: bool = True) -> dict[str, int]:
    """Size of each `.part` file with (or, `resumable=False`, without) a sidecar naming its
    version, keyed by the final file's relative path."""
    return {
        p.relative_to(root).as_posix().removesuffix(".part"): p.stat().st_size
        for p in root.rglob("*.part")
        if p.with_name(p.name + ".json").exists() == resumable
    }


def _wait_for_part(root: Path, process: subprocess.Popen[bytes]) -> None:
    while not any(root.rglob("*.part")) and process.poll() is None:
        time.sleep(0.005)


def _wait_for_tif_bytes(root: Path, process: subprocess.Popen[bytes]) -> None:
    """Wait until a BIG file is mid-transfer (a small file's `.part` lives only for an instant)."""
    while process.poll() is None and not any(map(_size, root.rglob("*.tif.part"))):
        time.sleep(0.005)


def _size(path: Path) -> int:
    """The size of a file that may be renamed at any moment (0 once gone)."""
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def _rows(root: Path) -> list[list[str]]:
    with (root / RESULTS_NAME).open(newline="") as handle:
        rows = list(csv.reader(handle))
    return [rows[0], *sorted(rows[1:])]


def _storage_path(record: dict) -> str:
    return httpx.URL(record["url"]).path.removeprefix("/media")


# a kill during the records' atomic rewrite leaves its temp file, one during the case probe the
# probe file; the next run replaces them
LEFT_BY_A_KILL = {f".{name}.tmp" for name in (MANIFEST_NAME, RESULTS_NAME, JOBS_NAME)}
LEFT_BY_A_KILL.add(CASE_PROBE_NAME)


def interrupted_trial(
    sandbox: Sandbox,
    demo: DemoInfo,
    reference: Path,
    root: Path,
    rng: random.Random,
    *,
    exact: bool = True,
) -> dict[str, int]:
    """Kill a run at a random moment, check what it left, run again, check the result."""
    process = _start(sandbox, demo, root)
    if rng.random() < 0.5:
        time.sleep(rng.uniform(0.3, 1.2))
    else:
        _wait_for_part(root, process)
        time.sleep(rng.uniform(0.0, 0.1))
    process.kill()
    process.communicate(timeout=30)
    wait_idle(sandbox)
    expected = tree(reference)
    left = tree(root)
    for path, digest in left.items():  # nothing half-written at a final path
        in_flight = path.endswith((".part", ".part.json")) or path in LEFT_BY_A_KILL
        assert in_flight or digest == expected[path], path
    for path, rec in (manifest(root) if (root / "manifest.jsonl").exists() else {}).items():
        assert left[path] == rec["sha256"]
    parts, unresumable = _parts(root), _parts(root, resumable=False)
    before = sandbox.traffic.byte_totals()
    with make_client(sandbox, demo) as client:
        summary = download_outputs(client, algorithm=MATRIX_ALGORITHM, output_directory=root)
    wait_idle(sandbox)
    after = sandbox.traffic.byte_totals()
    assert summary.ok
    assert tree(root) == expected
    records = manifest(root)
    assert {p: r["sha256"] for p, r in records.items()} == expected
    assert _rows(root) == _rows(reference)
    for path, kept in parts.items():  # a .part is continued, never fetched again in full
        if not kept:
            continue
        storage = _storage_path(records[path])
        sent = after.get(storage, 0) - before.get(storage, 0)
        # exact: only the missing bytes (+1: a complete .part is confirmed with a 1-byte
        # request); under drop faults, bytes lost in flight are sent again, never the whole file.
        limit = records[path]["size"] - kept + 1 if exact else records[path]["size"] - 1
        assert sent <= limit, f"{path}: {kept} bytes kept, {sent} sent"
    for path, kept in unresumable.items():  # only a file of one block is fetched again whole
        assert not kept or records[path]["size"] <= config.WRITE_BLOCK, (path, kept)
    return {"parts_resumed": sum(1 for s in parts.values() if s), "files": len(expected)}


def test_download_outputs_renames_part_without_refetching_when_part_is_complete(
    slow: Sandbox, demo: DemoInfo, uninterrupted: Path, tmp_path: Path
):
    root = tmp_path / "out"
    shutil.copytree(uninterrupted, root)
    path, rec = next((p, r) for p, r in manifest(root).items() if p.endswith(".tif"))
    (root / path).rename(root / f"{path}.part")
    (root / f"{path}.part.json").write_text(json.dumps({"etag": rec["etag"], "url": rec["url"]}))
    before = slow.traffic.bytes_sent("storage", _storage_path(rec))
    with make_client(slow, demo) as client:
        summary = download_outputs(client, algorithm=MATRIX_ALGORITHM, output_directory=root)
    wait_idle(slow)
    assert summary.ok and summary.files_downloaded == 1
    assert tree(root) == tree(uninterrupted)
    assert slow.traffic.bytes_sent("storage", _storage_path(rec)) - before <= 1


def test_download_outputs_removes_stray_sidecars_when_killed_right_after_rename(
    slow: Sandbox, demo: DemoInfo, uninterrupted: Path, tmp_path: Path
):
    root = tmp_path / "out"
    shutil.copytree(uninterrupted, root)
    (root / "manifest.jsonl").unlink()  # the killed run had not recorded them yet
    strays = [p for p in tree(root) if p.endswith((".tif", "predictions.json"))][:4]
    for path in strays:
        (root / f"{path}.part.json").write_text('{"etag": "x", "url": "y"}')
    with make_client(slow, demo) as client:
        summary = download_outputs(client, algorithm=MATRIX_ALGORITHM, output_directory=root)
    assert summary.ok and summary.bytes_transferred == 0
    assert tree(root) == tree(uninterrupted)


def test_outputs_resumes_to_identical_tree_when_killed_at_random_moments(
    slow: Sandbox, demo: DemoInfo, uninterrupted: Path, tmp_path: Path
):
    rng = random.Random(2024)
    resumed = 0
    for trial in range(20):
        resumed += interrupted_trial(slow, demo, uninterrupted, tmp_path / str(trial), rng)[
            "parts_resumed"
        ]
    assert resumed > 0, "no kill landed mid-transfer"


@pytest.mark.soak
@pytest.mark.timeout(1800)
def test_outputs_resumes_to_identical_tree_when_killed_often_under_faults(
    slow: Sandbox, demo: DemoInfo, uninterrupted: Path, tmp_path: Path, soak_stats
):
    rng = random.Random(77)
    chaos = (
        Fault("status", status=503, rate=0.05, retry_after=0.01),
        Fault("drop", rate=0.05, after_bytes=100_000),
    )
    for trial in range(100):
        slow.set_faults(FaultSettings(seed=trial, storage_bytes_per_second=4 << 20, rules=chaos))
        root = tmp_path / str(trial)
        found = interrupted_trial(slow, demo, uninterrupted, root, rng, exact=False)
        soak_stats["kill trials"] += 1
        soak_stats["kill .part files resumed"] += found["parts_resumed"]
        soak_stats["kill files verified"] += found["files"]
    slow.set_faults(SLOW_LINK)
    soak_stats["kill faults injected"] += sum(slow.faults_injected.values())


def test_outputs_stops_cleanly_with_130_when_interrupted_by_sigint(
    slow: Sandbox, demo: DemoInfo, uninterrupted: Path, tmp_path: Path
):
    process = _start(slow, demo, tmp_path)
    _wait_for_tif_bytes(tmp_path, process)
    process.send_signal(signal.SIGINT)
    sent = time.monotonic()
    _, stderr = process.communicate(timeout=30)
    stopped_after = time.monotonic() - sent
    assert process.returncode == 130
    assert b"Interrupted" in stderr and b"Traceback" not in stderr
    assert stopped_after < STOP_BOUND
    assert _parts(tmp_path), "the half-done file is kept for a resume"
    with make_client(slow, demo) as client:
        assert download_outputs(client, algorithm=MATRIX_ALGORITHM, output_directory=tmp_path).ok
    assert tree(tmp_path) == tree(uninterrupted)


STORAGE_BUSY = FaultSettings(
    rules=(Fault("status", status=503, origin="storage", rate=1.0, retry_after=60),)
)
STORAGE_STALLED = FaultSettings(rules=(Fault("slow", rate=1.0, delay_ms=20_000),))


def _wait_for_503(sandbox: Sandbox, process: subprocess.Popen[bytes]) -> None:
    """Return once the storage answered 503 (the run then waits out the Retry-After)."""
    deadline = time.monotonic() + 30
    while not any(r.origin == "storage" and r.status == 503 for r in sandbox.traffic):
        assert process.poll() is None, process.communicate()[1].decode()
        assert time.monotonic() < deadline, "the storage never saw the faulty request"
        time.sleep(0.01)
    time.sleep(0.2)  # the answer reaches the client, which starts to wait


def _stop(process: subprocess.Popen[bytes], signals: int = 1) -> tuple[float, bytes]:
    """Send SIGINT `signals` times (0.3 s apart); seconds from the first to the exit, stderr."""
    process.send_signal(signal.SIGINT)
    sent = time.monotonic()
    for _ in range(signals - 1):
        time.sleep(0.3)
        process.send_signal(signal.SIGINT)
    try:
        _, stderr = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise
    return time.monotonic() - sent, stderr


def _assert_clean_stop(process: subprocess.Popen[bytes], took: float, stderr: bytes) -> None:
    assert process.returncode == 130, stderr.decode()
    assert took < STOP_BOUND, f"stopped {took:.1f} s after SIGINT"
    assert b"Traceback" not in stderr and b"Cannot send a request" not in stderr, stderr.decode()
    assert b"Interrupted" in stderr


@pytest.mark.parametrize("signals", [1, 2], ids=["one-sigint", "two-sigints"])
def test_outputs_stops_promptly_with_130_when_sigint_arrives_during_a_retry_after_wait(
    faulty: Sandbox, demo: DemoInfo, tmp_path: Path, signals: int
):
    faulty.set_faults(STORAGE_BUSY)
    faulty.traffic.clear()  # an earlier test's 503s must not count
    process = _start(faulty, demo, tmp_path)
    _wait_for_503(faulty, process)
    took, stderr = _stop(process, signals=signals)
    _assert_clean_stop(process, took, stderr)
    assert b"failed" not in stderr, "a cancelled wait is not a failure"


def test_outputs_stops_at_the_second_sigint_with_130_when_storage_stalls_a_body(
    faulty: Sandbox, demo: DemoInfo, tmp_path: Path
):
    faulty.set_faults(STORAGE_STALLED)  # a read blocks; only a second Ctrl-C may abandon it
    process = _start(faulty, demo, tmp_path)
    _wait_for_part(tmp_path, process)  # the headers came; the body stalls
    time.sleep(0.2)
    took, stderr = _stop(process, signals=2)
    _assert_clean_stop(process, took, stderr)


def _cancel_once_waiting(sandbox: Sandbox, cancel: threading.Event) -> dict[str, float]:
    """Set `cancel` in a thread once the sandbox answered 503; the dict receives when."""
    when: dict[str, float] = {}

    def run() -> None:
        while not any(r.status == 503 for r in sandbox.traffic):
            time.sleep(0.01)
        time.sleep(0.2)  # the answer reaches the client, which starts to wait
        cancel.set()
        when["set"] = time.monotonic()

    threading.Thread(target=run, daemon=True).start()
    return when


@pytest.mark.parametrize(
    ("origin", "path"),
    [
        ("api", "*"),  # the selection's first request
        ("api", "*/algorithms/jobs/"),  # the listing of jobs
        ("storage", "*"),  # the file transfers
    ],
)
def test_download_outputs_returns_interrupted_promptly_when_cancelled_during_a_retry_after_wait(
    faulty: Sandbox, demo: DemoInfo, tmp_path: Path, origin: str, path: str
):
    busy = Fault("status", status=503, origin=origin, path=path, rate=1.0, retry_after=60)  # type: ignore[arg-type]
    faulty.set_faults(FaultSettings(rules=(busy,)))
    faulty.traffic.clear()
    cancel = threading.Event()
    with make_client(faulty, demo, retry=RetryPolicy()) as client:  # waits the whole 60 s
        when = _cancel_once_waiting(faulty, cancel)
        summary = download_outputs(
            client, algorithm=MATRIX_ALGORITHM, output_directory=tmp_path, cancel=cancel
        )
        took = time.monotonic() - when["set"]
        faulty.set_faults(FaultSettings())
        assert client.algorithms.detail(slug=MATRIX_ALGORITHM).slug == MATRIX_ALGORITHM, (
            "the client works again after the cancelled run"
        )
    assert took < STOP_BOUND
    assert summary.interrupted and not summary.failures


LIBRARY_RUN = """
import sys
from gcfetch import Client, download_outputs
with Client(token=sys.argv[1], base_url=sys.argv[2]) as client:
    download_outputs(client, algorithm=sys.argv[3], output_directory=sys.argv[4])
"""


def test_download_outputs_stops_promptly_when_ctrl_c_interrupts_its_wait_for_the_workers(
    faulty: Sandbox, demo: DemoInfo, tmp_path: Path
):
    """Python's own Ctrl-C (KeyboardInterrupt, no handler of gcfetch) cancels the workers'
    Retry-After waits: the program ends instead of waiting for them at exit."""
    faulty.set_faults(STORAGE_BUSY)
    faulty.traffic.clear()
    args = [demo.tokens["editor"], faulty.base_url, MATRIX_ALGORITHM, str(tmp_path)]
    process = _popen([sys.executable, "-c", LIBRARY_RUN, *args])
    _wait_for_503(faulty, process)
    took, stderr = _stop(process)
    assert took < STOP_BOUND, f"stopped {took:.1f} s after SIGINT"
    assert process.returncode != 0 and b"KeyboardInterrupt" in stderr, stderr.decode()
    assert b"Cannot send a request" not in stderr
