"""Each fault x a full download: every file is correct or reported failed, nothing else."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from tests.reliability.helpers import (
    MATRIX_ALGORITHM,
    blob_sha256,
    make_client,
    manifest,
    run_outputs,
    tree,
    wait_idle,
)

from gcfetch import download_outputs
from gcfetch.errors import ServerError
from gcfetch.outputs.summary import DownloadSummary
from gcfetch.sandbox import Sandbox
from gcfetch.sandbox.demo import DemoInfo
from gcfetch.sandbox.faults import Fault, FaultSettings

S = FaultSettings
# (id, faults, the run must complete). Where it need not, every file is correct or reported.
CASES = [
    ("503-rate", S(seed=1, rules=(Fault("status", status=503, rate=0.3, retry_after=0.01),)), True),
    ("429-first", S(rules=(Fault("status", status=429, first=1, retry_after=0.01),)), True),
    ("502-rate", S(seed=2, rules=(Fault("status", status=502, rate=0.25),)), True),
    ("504-rate", S(seed=3, rules=(Fault("status", status=504, rate=0.25),)), True),
    ("507-rate", S(seed=4, rules=(Fault("status", status=507, rate=0.25),)), True),
    ("500-first", S(rules=(Fault("status", status=500, first=1),)), True),
    ("500-always", S(rules=(Fault("status", status=500, rate=1.0, path="/media/*"),)), False),
    ("drop-first", S(rules=(Fault("drop", first=1, after_bytes=40),)), True),
    ("drop-always", S(rules=(Fault("drop", rate=1.0, after_bytes=40),)), False),
    ("short-first", S(rules=(Fault("short", first=1, after_bytes=5),)), True),
    ("short-always", S(rules=(Fault("short", rate=1.0, after_bytes=5),)), False),
    ("expired-first", S(rules=(Fault("expired", first=1),)), True),
    ("expired-always", S(rules=(Fault("expired", rate=1.0),)), False),
    ("slow-first-byte", S(seed=5, rules=(Fault("slow", rate=0.5, delay_ms=30),)), True),
    (
        "etag-then-drop",
        S(rules=(Fault("etag", first=1), Fault("drop", first=1, after_bytes=40))),
        True,
    ),
    (
        "changed-then-drop",
        S(rules=(Fault("changed", first=1), Fault("drop", first=1, after_bytes=40))),
        True,
    ),
    ("gzip", S(rules=(Fault("gzip", rate=1.0),)), True),
    ("gzip-always", S(rules=(Fault("gzip", rate=1.0, always=True),)), False),
    ("nolength", S(rules=(Fault("nolength", rate=1.0),)), True),
    (
        "nolength-drop-first",
        S(rules=(Fault("nolength", rate=1.0), Fault("drop", first=1, after_bytes=40))),
        False,
    ),
    ("nolength-star", S(rules=(Fault("nolength", rate=1.0, star_total=True),)), False),
    ("latency-jitter", S(seed=6, latency_ms=5, jitter_ms=10), True),
]


@pytest.fixture(scope="module")
def reference(faulty: Sandbox, demo: DemoInfo, tmp_path_factory) -> dict[str, str]:
    """The tree of a run without faults, each downloaded file checked against its blob."""
    root = tmp_path_factory.mktemp("reference")
    with make_client(faulty, demo) as client:
        summary = download_outputs(client, algorithm=MATRIX_ALGORITHM, output_directory=root)
    assert summary.ok and summary.files_downloaded == 30
    files = tree(root)
    records = manifest(root)
    assert set(records) == set(files)
    for path, rec in records.items():
        assert rec["sha256"] == files[path]
        if rec["super_kind"] != "Value":
            assert blob_sha256(faulty, rec["url"]) == files[path], path
    return files


def _run(sandbox: Sandbox, demo: DemoInfo, root: Path, **client_kwargs) -> DownloadSummary:
    with make_client(sandbox, demo, **client_kwargs) as client:
        return download_outputs(client, algorithm=MATRIX_ALGORITHM, output_directory=root)


def _check(summary: DownloadSummary, root: Path, reference: dict[str, str]) -> set[str]:
    """Every final file correct, every missing one under a reported failure; returns missing."""
    files = {p: h for p, h in tree(root).items() if not p.endswith((".part", ".part.json"))}
    assert set(files) <= set(reference), "a file that should not exist"
    for path, digest in files.items():
        assert digest == reference[path], f"corrupt file {path}"
    missing = set(reference) - set(files)
    reported = [f.path for f in summary.failures]
    for path in missing:
        assert any(path == r or path.startswith(r.rstrip("/") + "/") for r in reported), path
    for item in summary.failures:
        assert item.error and item.error_type
    assert summary.ok == (not missing)
    return missing


@pytest.mark.parametrize(("faults", "completes"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_download_outputs_ends_correct_or_reported_when_fault_injected(
    faulty: Sandbox, demo: DemoInfo, reference, tmp_path: Path, faults, completes
):
    faulty.set_faults(faults)
    before = sum(faulty.faults_injected.values())
    summary = _run(faulty, demo, tmp_path)
    wait_idle(faulty)
    faulty.set_faults(FaultSettings())
    assert faults.latency_ms or sum(faulty.faults_injected.values()) > before, "nothing injected"
    missing = _check(summary, tmp_path, reference)
    if completes:
        assert not missing and summary.ok
        assert not [p for p in tree(tmp_path) if p.endswith(".part")]
    else:
        assert missing and summary.failures
    again = _run(faulty, demo, tmp_path)
    assert again.ok and tree(tmp_path) == reference
    assert set(manifest(tmp_path)) == set(reference)


def test_download_outputs_survives_read_timeout_when_first_byte_is_slow(
    faulty: Sandbox, demo: DemoInfo, reference, tmp_path: Path
):
    faulty.set_faults(S(rules=(Fault("slow", first=1, delay_ms=1200, path="*.tif"),)))
    summary = _run(faulty, demo, tmp_path, timeout=0.4)
    assert faulty.faults_injected["slow"] >= 10
    assert summary.ok and tree(tmp_path) == reference


GCAPI = "/api/v1/gcapi/"  # a cheap JSON view (the API root answers 403, as on GC)


def test_client_retries_500_once_then_reports_server_error_when_get_keeps_failing(
    faulty: Sandbox, demo: DemoInfo
):
    faulty.set_faults(S(rules=(Fault("status", status=500, first=2, path=GCAPI),)))
    with make_client(faulty, demo) as client:
        with pytest.raises(ServerError):
            client(path="gcapi/")
        served = [r.status for r in faulty.traffic if r.path == GCAPI][-2:]
        assert served == [500, 500]
        faulty.set_faults(S(rules=(Fault("status", status=500, first=1, path=GCAPI),)))
        assert "latest_version" in client(path="gcapi/")


@pytest.mark.parametrize("as_date", [False, True])
def test_client_waits_retry_after_when_server_sends_it(faulty: Sandbox, demo: DemoInfo, as_date):
    rule = Fault("status", status=503, first=1, path=GCAPI, retry_after=1, retry_after_date=as_date)
    faulty.set_faults(S(rules=(rule,)))
    with make_client(faulty, demo) as client:
        started = time.monotonic()
        client(path="gcapi/")
        assert time.monotonic() - started >= 0.9


def test_outputs_cli_exits_one_listing_failures_when_links_always_expired(
    faulty: Sandbox, demo: DemoInfo, tmp_path: Path
):
    faulty.set_faults(S(rules=(Fault("expired", rate=1.0),)))
    result = run_outputs(faulty, demo, tmp_path)
    assert result.exit_code == 1, result.output
    assert "20 output(s) failed" in result.stderr
    assert "predictions.json" in result.stderr
    faulty.set_faults(S())
    assert run_outputs(faulty, demo, tmp_path).exit_code == 0


CHAOS = (
    Fault("status", status=503, rate=0.05, retry_after=0.01),
    Fault("status", status=502, rate=0.03),
    Fault("status", status=500, rate=0.02),
    Fault("status", status=429, rate=0.03, retry_after=0.01),
    Fault("drop", rate=0.05, after_bytes=2000),
    Fault("short", rate=0.03, after_bytes=3),
    Fault("expired", rate=0.05),
    Fault("slow", rate=0.05, delay_ms=20),
    Fault("etag", rate=0.03),
)


@pytest.mark.soak
@pytest.mark.timeout(1800)
def test_download_outputs_never_corrupts_when_many_faults_mix(
    faulty: Sandbox, demo: DemoInfo, reference, tmp_path: Path, soak_stats
):
    for seed in range(40):
        root = tmp_path / str(seed)
        faulty.set_faults(FaultSettings(seed=seed, jitter_ms=3, rules=CHAOS))
        before = sum(faulty.faults_injected.values())
        summary = _run(faulty, demo, root)
        wait_idle(faulty)
        soak_stats["chaos faults injected"] += sum(faulty.faults_injected.values()) - before
        faulty.set_faults(FaultSettings())
        missing = _check(summary, root, reference)
        soak_stats["chaos runs"] += 1
        soak_stats["chaos files verified"] += len(reference) - len(missing)
        soak_stats["chaos outputs reported failed"] += len(summary.failures)
        assert _run(faulty, demo, root).ok and tree(root) == reference
