"""Fault injection in the sandbox: each fault as a client sees it over HTTP."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from gcfetch.sandbox import Sandbox, SandboxSettings
from gcfetch.sandbox.faults import FaultSettings, draw


def test_draw_is_the_same_when_seed_and_parts_are_the_same():
    assert draw(7, "x", "/a", 1) == draw(7, "x", "/a", 1)
    assert draw(7, "x", "/a", 1) != draw(8, "x", "/a", 1)
    assert 0 <= draw(0, "y") < 1


def test_latency_delays_every_request_when_latency_ms_set(demo_dir: Path):
    settings = SandboxSettings(data_dir=demo_dir, faults=FaultSettings(latency_ms=150.0))
    with Sandbox(settings) as sandbox, httpx.Client() as client:
        started = time.monotonic()
        api = client.get(sandbox.base_url)
        storage = client.get(sandbox.storage_url + "nothing")
        elapsed = time.monotonic() - started
    assert api.status_code == 200
    assert storage.status_code == 403
    assert elapsed >= 0.3


def test_latency_does_not_block_the_other_origin_when_storage_is_slow(demo_dir: Path):
    faults = FaultSettings(storage_latency_ms=2000.0)
    with Sandbox(SandboxSettings(data_dir=demo_dir, faults=faults)) as sandbox:
        with ThreadPoolExecutor(1) as pool, httpx.Client() as client:
            slow = pool.submit(httpx.get, sandbox.storage_url + "nothing")
            while not slow.running():
                time.sleep(0.01)
            fast = client.get(sandbox.base_url)
            assert fast.status_code == 200
            assert not slow.done()
            assert slow.result().status_code == 403


def test_set_faults_changes_latency_when_sandbox_is_running(demo_dir: Path):
    with Sandbox(SandboxSettings(data_dir=demo_dir)) as sandbox, httpx.Client() as client:
        sandbox.set_faults(FaultSettings(latency_ms=300.0))
        started = time.monotonic()
        client.get(sandbox.base_url)
        assert time.monotonic() - started >= 0.3
