"""Helpers of the reliability tests: the client they use and checks of a downloaded tree."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import httpx
from typer.testing import CliRunner, Result

from gcfetch import Client
from gcfetch.cli import app
from gcfetch.outputs.destination import LOCK_NAME
from gcfetch.outputs.job_records import JOBS_NAME
from gcfetch.outputs.kinds import ITEMS_NAME
from gcfetch.outputs.manifest import MANIFEST_NAME
from gcfetch.outputs.results import RESULTS_NAME
from gcfetch.retry import RetryPolicy
from gcfetch.sandbox import Sandbox
from gcfetch.sandbox.demo import DemoInfo

RECORDS = {MANIFEST_NAME, RESULTS_NAME, JOBS_NAME, ITEMS_NAME, LOCK_NAME}
MATRIX_ALGORITHM = "tissue-overlay"  # 10 jobs: a .tif image, a JSON file and a value each
FAST_RETRY = RetryPolicy(backoff_factor=0.01, backoff_max=0.05, retry_after_max=2.0)


def make_client(sandbox: Sandbox, demo: DemoInfo, **kwargs) -> Client:
    """The editor's client, with short retry waits unless `retry` is given."""
    kwargs.setdefault("retry", FAST_RETRY)
    return Client(token=demo.tokens["editor"], base_url=sandbox.base_url, **kwargs)


def tree(root: Path) -> dict[str, str]:
    """sha256 of every file below `root` except the run's records, by POSIX relative path."""
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name not in RECORDS
    }


def manifest(root: Path) -> dict[str, dict]:
    lines = (root / MANIFEST_NAME).read_text().splitlines()
    return {rec["path"]: rec for rec in map(json.loads, lines)}


def blob_sha256(sandbox: Sandbox, url: str) -> str:
    """sha256 of the blob behind a `/media/` URL, read from the sandbox's disk."""
    key = httpx.URL(url).path.removeprefix("/media/")
    return hashlib.sha256((sandbox.settings.blob_dir / key).read_bytes()).hexdigest()


def wait_idle(sandbox: Sandbox) -> None:
    """Wait until the sandbox has answered every request it received."""
    while sandbox.traffic.in_flight:
        time.sleep(0.02)


def run_outputs(sandbox: Sandbox, demo: DemoInfo, dest: Path) -> Result:
    """`gcfetch outputs -a MATRIX_ALGORITHM -o dest --quiet` as the editor, in-process."""
    env = {
        "GRAND_CHALLENGE_API_URL": sandbox.base_url,
        "GRAND_CHALLENGE_AUTHORIZATION": demo.tokens["editor"],
    }
    args = ["outputs", "-a", MATRIX_ALGORITHM, "-o", str(dest), "--quiet"]
    return CliRunner().invoke(app, args, env=env)
