"""Server shapes gcfetch meets on real GC: older socket values, null durations, jsonb key order."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from gcfetch.cli import app
from gcfetch.client import Client
from gcfetch.outputs import download_outputs
from gcfetch.sandbox import Sandbox, SandboxSettings

RECORDS = {"manifest.jsonl", "results.csv", "jobs.jsonl"}


def _tree(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in root.rglob("*")
        if p.is_file() and p.name not in RECORDS
    }


@pytest.fixture(scope="module")
def older_sandbox(demo_dir, tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("older") / "data"
    shutil.copytree(demo_dir, data_dir)
    with Sandbox(SandboxSettings(data_dir=data_dir, interface_only=True)) as running:
        yield running


def test_older_servers_socket_values_have_interface_only(older_sandbox, demo) -> None:
    headers = {"Authorization": f"Bearer {demo.tokens['editor']}"}
    url = f"{older_sandbox.base_url}algorithms/jobs/{demo.public_jobs[0]}/"
    job = httpx.get(url, headers=headers).json()
    assert all("interface" in v and "socket" not in v for v in job["inputs"] + job["outputs"])


def test_download_writes_the_same_tree_from_older_and_newer_shapes(
    sandbox, older_sandbox, demo, tmp_path
) -> None:
    trees = []
    for server in (sandbox, older_sandbox):
        out = tmp_path / server.settings.api_origin.rsplit(":", 1)[-1]
        with Client(token=demo.tokens["editor"], base_url=server.base_url) as client:
            summary = download_outputs(
                client, algorithm=demo.public_algorithm, output_directory=out
            )
        assert summary.ok and summary.files_downloaded > 0
        trees.append(_tree(out))
    assert trees[0] == trees[1]


def test_jobs_with_null_durations_are_listed_and_shown(sandbox, demo, tmp_path) -> None:
    with Client(token=demo.tokens["editor"], base_url=sandbox.base_url) as client:
        jobs = list(client.algorithm_jobs.iterate_all())
        summary = download_outputs(
            client,
            algorithm=demo.public_algorithm,
            output_directory=tmp_path,
            statuses=("Failed", "Cancelled"),
        )
    unmeasured = [j for j in jobs if j.status in ("Failed", "Cancelled") and not j.invoke_duration]
    assert unmeasured and any(j.exec_duration is None for j in unmeasured)
    assert summary.ok and summary.selected_jobs >= 2
    env = {
        "GRAND_CHALLENGE_API_URL": sandbox.base_url,
        "GRAND_CHALLENGE_AUTHORIZATION": demo.tokens["editor"],
    }
    result = CliRunner().invoke(app, ["jobs", "-a", demo.public_algorithm, "--json"], env=env)
    assert result.exit_code == 0, result.output
    listed = [json.loads(line) for line in result.stdout.splitlines()]
    assert any(job["exec_duration"] is None for job in listed)


def test_values_come_back_in_jsonb_key_order(sandbox, demo) -> None:
    headers = {"Authorization": f"Bearer {demo.tokens['editor']}"}
    url = f"{sandbox.base_url}algorithms/jobs/{demo.public_jobs[0]}/"
    job = httpx.get(url, headers=headers).json()
    objects = [v["value"] for v in job["outputs"] if isinstance(v["value"], dict)]
    assert objects
    for value in objects:
        keys = list(value)
        assert keys == sorted(keys, key=lambda k: (len(k.encode()), k.encode()))
