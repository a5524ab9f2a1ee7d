"""Faults from the command line: `parse_fault` and `gcfetch sandbox serve --fault/--latency-ms`."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from gcfetch.sandbox.faults import Fault, parse_fault


@pytest.mark.parametrize(
    ("spec", "fault"),
    [
        ("status=503,rate=0.05", Fault("status", status=503, rate=0.05)),
        (
            "status=429,first=2,retry-after-date=3,origin=storage",
            Fault(
                "status",
                status=429,
                first=2,
                retry_after=3,
                retry_after_date=True,
                origin="storage",
            ),
        ),
        ("status=502,retry-after=1.5", Fault("status", status=502, retry_after=1.5)),
        (
            "drop=1000,first=1,path=/images/*",
            Fault("drop", after_bytes=1000, first=1, path="/images/*"),
        ),
        ("short=10,rate=1", Fault("short", after_bytes=10, rate=1.0)),
        ("slow=500,rate=0.1", Fault("slow", delay_ms=500, rate=0.1)),
        ("expired,first=1", Fault("expired", first=1)),
        ("etag, first=1", Fault("etag", first=1)),
        ("changed,rate=0.5", Fault("changed", rate=0.5)),
        ("gzip,path=*.json", Fault("gzip", path="*.json")),
        ("gzip=always,first=1", Fault("gzip", always=True, first=1)),
        ("nolength,rate=1", Fault("nolength", rate=1.0)),
        ("nolength=star,first=1", Fault("nolength", star_total=True, first=1)),
    ],
)
def test_parse_fault_builds_rule_when_spec_valid(spec: str, fault: Fault):
    assert parse_fault(spec) == fault


@pytest.mark.parametrize(
    "spec",
    [
        "",
        "boom",
        "status=404",
        "expired=3",
        "drop=x",
        "drop=10,colour=red",
        "slow,rate=2",
        "gzip=sometimes",
        "gzip=1",
        "nolength=always",
    ],
)
def test_parse_fault_raises_value_error_naming_spec_when_invalid(spec: str):
    with pytest.raises(ValueError, match="fault"):
        parse_fault(spec)


def test_serve_injects_faults_when_flags_given(tmp_path: Path):
    command = _serve(
        tmp_path,
        "--lifetime",
        "60",
        "--latency-ms",
        "200",
        "--storage-kib-per-second",
        "512",
        "--conn-kib-per-second",
        "1024",
        "--fault",
        "status=503,first=1,retry-after=7",
    )
    server = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        base_url = server.stdout.readline().strip().removeprefix("base_url: ")
        started = time.monotonic()
        first = httpx.get(base_url + "gcapi/", timeout=30)
        second = httpx.get(base_url + "gcapi/", timeout=30)
        elapsed = time.monotonic() - started
    finally:
        server.terminate()
        server.wait(timeout=30)
        server.stdout.close()
    assert (first.status_code, first.headers["retry-after"]) == (503, "7")
    assert second.status_code == 200
    assert elapsed >= 0.4


def test_serve_exits_with_usage_error_when_fault_spec_bad(tmp_path: Path):
    command = _serve(tmp_path, "--fault", "status=404")
    result = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "--fault" in result.stderr and "status must be one of" in result.stderr


def _serve(data: Path, *flags: str) -> list[str]:
    """The command line of `gcfetch sandbox serve --data DATA FLAGS...`."""
    return [sys.executable, "-m", "gcfetch.cli", "sandbox", "serve", "--data", str(data), *flags]
