"""The guide's loop runs unchanged bar the import against the sandbox, in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from gcfetch import Client
from gcfetch.sandbox import Sandbox
from gcfetch.sandbox.demo import DemoInfo

SCRIPT = Path(__file__).parents[2] / "examples" / "gcapi_download_outputs.py"


def test_guide_loop_writes_gcapi_tree_when_run_with_gcfetch(
    sandbox: Sandbox, demo: DemoInfo, tmp_path: Path
) -> None:
    out = tmp_path / "download"
    env = {**os.environ, "GRAND_CHALLENGE_AUTHORIZATION": f"Bearer {demo.tokens['editor']}"}
    run = subprocess.run(
        [sys.executable, str(SCRIPT), sandbox.base_url, demo.public_algorithm, str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert demo.tokens["editor"] not in run.stdout + run.stderr

    with Client(token=demo.tokens["editor"], base_url=sandbox.base_url) as client:
        jobs = [
            job
            for job in client.algorithm_jobs.iterate_all(
                params={"algorithm_image__algorithm": demo.algorithms[demo.public_algorithm]}
            )
            if job.status == "Succeeded"
        ]
    assert jobs
    assert sorted(p.name for p in out.iterdir()) == sorted(job.pk for job in jobs)
    for job in jobs:
        for value in job.outputs:
            target = out / job.pk / value.interface.relative_path
            if value.interface.super_kind == "Image":
                assert target.with_name(target.name + ".mha").is_file()
            elif value.interface.super_kind == "Value":
                assert json.loads(target.read_text()) == value.value
            else:
                assert target.stat().st_size > 0
