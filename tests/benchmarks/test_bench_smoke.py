"""The benchmark harness in --quick mode on a tiny data set, so that it cannot rot.

No timed assertions: only that it ran every scenario and wrote its table and JSON.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_bench_writes_a_table_and_json_of_every_scenario_when_quick(tmp_path: Path):
    output = tmp_path / "latest.json"
    command = [sys.executable, "-m", "benchmarks", "--quick", "--workdir", str(tmp_path / "w")]
    command += ["--output", str(output), "--gcapi", "cached"]  # no registry in a smoke run
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=120)

    assert done.returncode == 0, done.stderr[-3000:]
    document = json.loads(output.read_text())
    scenarios = {row["scenario"][0] for row in document["results"]}
    assert scenarios == {"1", "2", "3", "4", "5", "6"}
    contenders = {row["contender"].split(" ")[0] for row in document["results"]}
    assert {"gcfetch", "raw", "curl"} <= contenders
    assert all(row["median_seconds"] > 0 and row["peak_rss_mb"] > 0 for row in document["results"])
    rerun = next(row for row in document["results"] if row["scenario"].startswith("3"))
    assert rerun["extra"]["file_requests"] == 0
    assert "| Scenario | Contender |" in done.stdout and "Targets:" in done.stdout
    assert "Requests per 100 jobs (scenario 1):" in done.stdout
    assert "Requests per 100 jobs (scenario 5" in done.stdout
    gcfetch = next(r for r in document["results"] if r["contender"] == "gcfetch")
    requests = gcfetch["extra"]["server"]["requests"]
    assert requests.get("image-detail", 0) == 0 and requests["image-list"] > 0
    many = [r for r in document["results"] if r["scenario"].startswith("1")]
    for row in (r for r in many if r["contender"].startswith(("gcfetch", "raw"))):
        assert row["cpu_seconds"] > 0 and row["throughput"]["cpu_s_per_1000_files"] > 0
    assert any("client CPU" in t["target"] for t in document["targets"] if t["target"][0] == "1")
    realistic = [r for r in document["results"] if r["scenario"].startswith("5")]
    assert {r["contender"].split(" ")[0] for r in realistic} >= {"gcfetch"}
    assert any(r["contender"].startswith("gcfetch --workers") for r in realistic)
    assert all(r["extra"]["server"]["requests"]["storage"] > 0 for r in realistic)
    assert not list((tmp_path / "w").glob("run-*")), "the harness left data behind"
