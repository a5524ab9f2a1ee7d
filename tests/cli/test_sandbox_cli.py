"""`gcfetch sandbox serve` and `gcfetch sandbox demo` as a user or a script runs them."""

from __future__ import annotations

import json
import ssl
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from gcfetch.cli import app

_GCFETCH = [sys.executable, "-c", "from gcfetch.cli import main; main()"]


def _read_header(server: subprocess.Popen[str]) -> dict[str, str]:
    """The `key: value` lines printed before the first `#` line."""
    assert server.stdout is not None
    lines: dict[str, str] = {}
    for line in server.stdout:
        if line.startswith("#"):
            break
        key, _, value = line.rstrip("\n").partition(": ")
        lines[key] = value
    return lines


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[..., tuple[subprocess.Popen[str], dict[str, str]]]]:
    servers: list[subprocess.Popen[str]] = []

    def start(*args: str) -> tuple[subprocess.Popen[str], dict[str, str]]:
        command = [*_GCFETCH, "sandbox", "serve", "--data", str(tmp_path / "data"), *args]
        server = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        servers.append(server)
        return server, _read_header(server)

    yield start
    for server in servers:
        if server.poll() is None:
            server.kill()
        server.wait(timeout=30)
        if server.stdout is not None:
            server.stdout.close()


def test_serve_prints_lines_and_answers_with_demo_token_when_demo_given(serve, tmp_path: Path):
    server, lines = serve("--demo", "--lifetime", "120")
    assert lines["base_url"].startswith("http://127.0.0.1:")
    assert lines["base_url"].endswith("/api/v1/")
    assert "ca_bundle" not in lines
    demo = json.loads((tmp_path / "data" / "demo.json").read_text())
    assert lines["token"] == demo["tokens"]["editor"]
    response = httpx.get(
        lines["base_url"] + "algorithms/", headers={"Authorization": f"Bearer {lines['token']}"}
    )
    assert response.status_code == 200 and response.json()["count"] == 2
    server.terminate()
    assert server.wait(timeout=30) == 0


def test_serve_prints_a_working_token_when_data_has_no_demo(serve):
    server, lines = serve("--lifetime", "120")
    headers = {"Authorization": f"Bearer {lines['token']}"}
    response = httpx.get(lines["base_url"] + "components/interfaces/", headers=headers)
    assert response.status_code == 200
    server.terminate()
    assert server.wait(timeout=30) == 0


def test_serve_prints_ca_bundle_and_serves_https_when_tls_given(serve):
    server, lines = serve("--tls", "--lifetime", "120")
    assert lines["base_url"].startswith("https://")
    assert Path(lines["ca_bundle"]).is_file()
    context = ssl.create_default_context(cafile=lines["ca_bundle"])
    assert httpx.get(lines["base_url"] + "gcapi/", verify=context).status_code == 200
    server.terminate()
    assert server.wait(timeout=30) == 0


def test_serve_finishes_jobs_later_and_shapes_values_as_older_gc_when_asked(serve):
    server, lines = serve("--demo", "--lifetime", "120", "--finish-jobs-after", "1")
    headers = {"Authorization": f"Bearer {lines['token']}"}
    url = lines["base_url"] + "algorithms/jobs/?limit=1000"
    before = {job["status"] for job in httpx.get(url, headers=headers).json()["results"]}
    time.sleep(2)
    after = httpx.get(url, headers=headers).json()["results"]
    assert before - {"Succeeded", "Failed", "Cancelled"}  # some were still running
    assert {job["status"] for job in after} <= {"Succeeded", "Failed", "Cancelled"}
    server.terminate()
    assert server.wait(timeout=30) == 0
    older, lines = serve("--lifetime", "120", "--interface-only")
    jobs = httpx.get(lines["base_url"] + "algorithms/jobs/", headers=headers).json()["results"]
    values = [value for job in jobs for value in job["outputs"]]
    assert values and all("interface" in v and "socket" not in v for v in values)
    older.terminate()


def test_serve_stops_by_itself_when_lifetime_passes(serve):
    server, lines = serve("--lifetime", "0.5")
    assert "base_url" in lines
    assert server.wait(timeout=60) == 0


def test_demo_builds_the_requested_jobs_when_jobs_given(tmp_path: Path):
    runner = CliRunner()
    result = runner.invoke(app, ["sandbox", "demo", "--data", str(tmp_path), "--jobs", "5"])
    assert result.exit_code == 0, result.output
    assert "jobs: 5" in result.output
    assert len(json.loads((tmp_path / "demo.json").read_text())["jobs"]) == 5
    again = runner.invoke(app, ["sandbox", "demo", "--data", str(tmp_path), "--jobs", "6"])
    assert again.exit_code == 1


@pytest.mark.parametrize("command", ["serve", "demo"])
def test_sandbox_help_shows_examples_when_asked(command: str):
    result = CliRunner().invoke(app, ["sandbox", command, "--help"])
    assert result.exit_code == 0
    assert "Examples" in result.output and f"gcfetch sandbox {command}" in result.output
