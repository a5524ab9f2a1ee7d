"""A job object of the wrong shape fails that job alone; the other jobs download."""

from __future__ import annotations

import pytest
from tests.outputs.helpers import corrupt_job
from typer.testing import CliRunner

from gcfetch.cli import app
from gcfetch.client import Client
from gcfetch.outputs import download_outputs


@pytest.fixture
def corrupted(fresh_sandbox, demo) -> tuple[str, list[str]]:
    """(the corrupted job's pk, the other Succeeded jobs with outputs of the public algorithm)."""
    with Client(token=demo.tokens["editor"], base_url=fresh_sandbox.base_url) as client:
        jobs = client.algorithm_jobs.iterate_all(
            params={"algorithm_image__algorithm": demo.algorithms[demo.public_algorithm]}
        )
        succeeded = [job.pk for job in jobs if job.status == "Succeeded" and job.outputs]
    bad = succeeded[len(succeeded) // 2]
    corrupt_job(fresh_sandbox, bad)
    return bad, [pk for pk in succeeded if pk != bad]


def test_download_outputs_fails_only_malformed_job_and_downloads_others_when_one_is_bad(
    fresh_sandbox, demo, corrupted, tmp_path
) -> None:
    bad, others = corrupted
    out = tmp_path / "out"
    with Client(token=demo.tokens["editor"], base_url=fresh_sandbox.base_url) as client:
        summary = download_outputs(client, algorithm=demo.public_algorithm, output_directory=out)
    assert [(f.job_pk, f.error_type) for f in summary.failures] == [(bad, "UnexpectedResponse")]
    assert "look_up_table" in summary.failures[0].error and not summary.ok
    assert {p.name for p in out.iterdir() if p.is_dir()} == set(others)
    assert summary.selected_jobs == len(others) + 1 and summary.files_downloaded > len(others)


def test_outputs_exits_one_naming_malformed_job_when_one_is_bad(
    fresh_sandbox, demo, corrupted, tmp_path
) -> None:
    bad, others = corrupted
    out = tmp_path / "out"
    env = {
        "GRAND_CHALLENGE_API_URL": fresh_sandbox.base_url,
        "GRAND_CHALLENGE_AUTHORIZATION": demo.tokens["editor"],
    }
    args = ["outputs", "-a", demo.public_algorithm, "-o", str(out), "--quiet"]
    result = CliRunner().invoke(app, args, env=env)
    assert result.exit_code == 1, result.output
    assert bad in result.stderr and "UnexpectedResponse" in result.stderr
    assert "Traceback" not in result.output
    assert all((out / pk).is_dir() for pk in others)


def test_download_outputs_counts_malformed_job_without_failing_when_its_status_unselected(
    fresh_sandbox, demo, corrupted, tmp_path
) -> None:
    with Client(token=demo.tokens["editor"], base_url=fresh_sandbox.base_url) as client:
        summary = download_outputs(
            client,
            algorithm=demo.public_algorithm,
            output_directory=tmp_path / "out",
            statuses=("Failed",),
        )
    assert summary.ok and summary.failures == []
    assert summary.jobs_by_status["Succeeded"] == len(corrupted[1]) + 1
