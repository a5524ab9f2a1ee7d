"""`gcfetch jobs`: the table of jobs and the counts per status."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from gcfetch.cli import app


def _env(sandbox, demo, user: str = "editor") -> dict[str, str]:
    return {
        "GRAND_CHALLENGE_API_URL": sandbox.base_url,
        "GRAND_CHALLENGE_AUTHORIZATION": demo.tokens[user],
    }


def test_jobs_prints_counts_per_status_when_algorithm_given(sandbox, demo) -> None:
    result = CliRunner().invoke(
        app, ["jobs", "--algorithm", demo.public_algorithm], env=_env(sandbox, demo)
    )
    assert result.exit_code == 0, result.output
    assert "jobs per status" in result.stdout and "Succeeded" in result.stdout
    assert "total" in result.stdout


def test_jobs_lists_only_that_image_when_json_requested(sandbox, demo) -> None:
    image_pk = demo.algorithm_images[demo.public_algorithm][0]
    result = CliRunner().invoke(
        app,
        ["jobs", "--algorithm-image", image_pk, "--json", "--status", "Succeeded"],
        env=_env(sandbox, demo),
    )
    assert result.exit_code == 0, result.output
    jobs = [json.loads(line) for line in result.stdout.splitlines()]
    assert jobs and all(j["algorithm_image"].rstrip("/").endswith(image_pk) for j in jobs)
    assert {j["status"] for j in jobs} == {"Succeeded"}


def test_jobs_exits_two_when_slug_unknown(sandbox, demo) -> None:
    result = CliRunner().invoke(app, ["jobs", "--algorithm", "nope-nope"], env=_env(sandbox, demo))
    assert result.exit_code == 2 and "nope-nope" in result.stderr
