"""`gcfetch outputs`: exit codes and messages, through typer's CliRunner against the sandbox."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from tests.outputs.helpers import add_output
from typer.testing import CliRunner

from gcfetch.cli import app
from gcfetch.sandbox import Sandbox, SandboxSettings


@pytest.fixture
def run(sandbox, demo):
    def invoke(*args: str, token: str | None = "editor", base_url: str | None = None):
        env = {"GRAND_CHALLENGE_API_URL": base_url or sandbox.base_url}
        if token:
            env["GRAND_CHALLENGE_AUTHORIZATION"] = demo.tokens.get(token, token)
        return CliRunner().invoke(app, ["outputs", *args], env=env)

    return invoke


def test_outputs_exits_zero_and_prints_summary_when_all_done(run, demo, tmp_path: Path) -> None:
    result = run("--algorithm", demo.public_algorithm, "-o", str(tmp_path), "--workers", "4")
    assert result.exit_code == 0, result.output
    assert "files downloaded" in result.stdout and "jobs Succeeded" in result.stdout
    assert "jobs Failed" not in result.stdout
    line = next(x for x in result.stdout.splitlines() if x.startswith("not downloaded: "))
    assert " Failed" in line
    assert (tmp_path / "results.csv").exists()
    again = run("--algorithm", demo.public_algorithm, "-o", str(tmp_path), "--quiet")
    assert again.exit_code == 0 and again.stdout == ""


def test_outputs_exits_two_with_fix_when_token_missing(run, demo, tmp_path: Path) -> None:
    result = run("--algorithm", demo.public_algorithm, "-o", str(tmp_path), token=None)
    assert result.exit_code == 2
    assert "GRAND_CHALLENGE_AUTHORIZATION" in result.stderr and "--token" in result.stderr


def test_outputs_exits_two_with_fix_when_token_refused(run, demo, tmp_path: Path) -> None:
    result = run("--algorithm", demo.public_algorithm, "-o", str(tmp_path), token="f" * 64)
    assert result.exit_code == 2
    assert "401" in result.stderr and "GRAND_CHALLENGE_AUTHORIZATION" in result.stderr
    assert "--token" in result.stderr
    assert "f" * 64 not in result.output


def test_outputs_exits_two_with_suggestion_when_slug_unknown(run, tmp_path: Path) -> None:
    result = run("--algorithm", "lung-nodule", "-o", str(tmp_path))
    assert result.exit_code == 2
    assert "Did you mean: lung-nodule-detector" in result.stderr


def test_outputs_exits_two_when_job_unknown(run, tmp_path: Path) -> None:
    result = run("--job", "00000000-0000-4000-8000-000000000000", "-o", str(tmp_path))
    assert result.exit_code == 2 and "does not exist or you cannot see it" in result.stderr


def test_outputs_exits_two_naming_editors_when_image_unreadable(run, demo, tmp_path) -> None:
    image_pk = demo.algorithm_images["tissue-overlay"][0]
    result = run("--algorithm-image", image_pk, "-o", str(tmp_path), token="viewer")
    assert result.exit_code == 2
    assert "only editors" in result.stderr and "--algorithm SLUG" in result.stderr


def test_outputs_exits_two_when_output_is_a_file(run, demo, tmp_path: Path) -> None:
    target = tmp_path / "taken"
    target.write_text("")
    result = run("--algorithm", demo.public_algorithm, "-o", str(target))
    assert result.exit_code == 2 and "is a file" in result.stderr and "-o" in result.stderr


def test_outputs_exits_two_when_output_cannot_be_created(run, demo, tmp_path: Path) -> None:
    (tmp_path / "plain-file").write_text("")
    result = run("--algorithm", demo.public_algorithm, "-o", str(tmp_path / "plain-file" / "sub"))
    assert result.exit_code == 2
    assert "Cannot create the output directory" in result.stderr and "-o" in result.stderr


def test_outputs_exits_two_when_base_url_is_plain_http_to_another_host(run, demo, tmp_path) -> None:
    result = run(
        "--algorithm",
        demo.public_algorithm,
        "-o",
        str(tmp_path),
        base_url="http://grand-challenge.example/api/v1/",
    )
    assert result.exit_code == 2 and "http" in result.stderr


def test_outputs_exits_two_when_no_selection(run, tmp_path: Path) -> None:
    result = run("-o", str(tmp_path))
    assert result.exit_code == 2 and "--algorithm SLUG" in result.stderr


def test_outputs_lists_paths_and_writes_nothing_when_dry_run(run, demo, tmp_path) -> None:
    out = tmp_path / "dry"
    result = run("--algorithm", demo.public_algorithm, "-o", str(out), "--dry-run")
    assert result.exit_code == 0 and "would download" in result.stdout
    assert not out.exists()


def test_outputs_exits_one_naming_failed_output_when_path_hostile(
    fresh_sandbox, demo, tmp_path: Path
) -> None:
    job_pk = next(
        pk
        for pk, status in demo.jobs.items()
        if status == "Succeeded" and demo.job_algorithms[pk] == "tissue-overlay"
    )
    add_output(fresh_sandbox, job_pk, "evil", "/etc/evil.json", "Value", value=1)
    env = {
        "GRAND_CHALLENGE_API_URL": fresh_sandbox.base_url,
        "GRAND_CHALLENGE_AUTHORIZATION": demo.tokens["editor"],
    }
    result = CliRunner().invoke(app, ["outputs", "--job", job_pk, "-o", str(tmp_path)], env=env)
    assert result.exit_code == 1
    assert "evil" in result.stdout and "UnsafePathError" in result.stdout
    assert "1 output(s) failed" in result.stderr
    assert (tmp_path / job_pk / "probability.json").exists()


def test_outputs_drops_manifest_line_with_warning_and_exits_zero_when_job_key_missing(
    run, demo, tmp_path: Path, caplog
) -> None:
    assert run("-a", "tissue-overlay", "-o", str(tmp_path), "-q").exit_code == 0
    manifest = tmp_path / "manifest.jsonl"
    lines = manifest.read_text().splitlines()
    damaged = json.loads(lines[1])
    del damaged["job"]
    manifest.write_text("\n".join([lines[0], json.dumps(damaged), *lines[2:]]) + "\n")
    result = run("-a", "tissue-overlay", "-o", str(tmp_path), "-q")
    assert result.exit_code == 0, result.output
    assert result.output == "" and "Traceback" not in result.output
    assert f"ignoring line 2 of {manifest}: 'job' is missing" in caplog.text
    records = [json.loads(line) for line in manifest.read_text().splitlines()]
    assert len(records) == len(lines) and all("job" in rec for rec in records)


def test_outputs_watch_waits_for_running_jobs_then_exits_zero(demo_dir, demo, tmp_path) -> None:
    data_dir = tmp_path / "data"
    shutil.copytree(demo_dir, data_dir)
    settings = SandboxSettings(data_dir=data_dir, finish_jobs_after=2.0)
    with Sandbox(settings) as sandbox:
        env = {
            "GRAND_CHALLENGE_API_URL": sandbox.base_url,
            "GRAND_CHALLENGE_AUTHORIZATION": demo.tokens["editor"],
        }
        args = ["outputs", "-a", demo.public_algorithm, "-o", str(tmp_path / "out")]
        result = CliRunner().invoke(app, [*args, "--watch", "--interval", "1"], env=env)
    assert result.exit_code == 0, result.output
    assert "jobs still running; next check in 1 s" in result.stderr
    assert "not final yet" not in result.output


def test_outputs_exits_two_when_watch_and_dry_run_together(run, demo, tmp_path) -> None:
    result = run("-a", demo.public_algorithm, "-o", str(tmp_path), "--watch", "--dry-run")
    assert result.exit_code == 2 and "drop --watch or --dry-run" in result.stderr


def test_outputs_writes_the_evaluation_layout_when_asked(run, demo, tmp_path) -> None:
    result = run("-a", demo.public_algorithm, "-o", str(tmp_path), "--layout", "evaluation")
    assert result.exit_code == 0, result.output
    predictions = json.loads((tmp_path / "predictions.json").read_text())
    assert predictions and all((tmp_path / job["pk"] / "output").is_dir() for job in predictions)
    wrong = run("-a", demo.public_algorithm, "-o", str(tmp_path), "--layout", "flat")
    assert wrong.exit_code == 2 and "evaluation" in wrong.stderr


def test_outputs_shows_requests_by_kind_when_verbose(run, demo, tmp_path) -> None:
    result = run("-a", demo.public_algorithm, "-o", str(tmp_path), "-v")
    assert result.exit_code == 0, result.output
    line = next(x for x in result.stdout.splitlines() if x.startswith("requests: "))
    assert "job pages" in line and "0 image details" in line and "0 retries" in line
    quiet = run("-a", demo.public_algorithm, "-o", str(tmp_path))
    assert "requests: " not in quiet.stdout


def test_outputs_reports_the_written_size_of_value_outputs(run, demo, tmp_path) -> None:
    result = run("-a", demo.public_algorithm, "-o", str(tmp_path), "--workers", "2")
    assert result.exit_code == 0, result.output
    lines = [x for x in result.stderr.splitlines() if x.endswith("B)") and "probability" in x]
    assert lines
    for line in lines:
        path = line.removeprefix("downloaded ").rsplit(" (", 1)[0]
        assert line.endswith(f"({(tmp_path / path).stat().st_size} B)")  # not "(0 B)"


def test_archive_and_display_sets_commands_download_and_name_what_they_listed(
    sandbox, demo, tmp_path
) -> None:
    env = {
        "GRAND_CHALLENGE_API_URL": sandbox.base_url,
        "GRAND_CHALLENGE_AUTHORIZATION": demo.tokens["editor"],
    }
    runner = CliRunner()
    archive = runner.invoke(app, ["archive", "demo-archive", "-o", str(tmp_path / "a")], env=env)
    assert archive.exit_code == 0, archive.output
    assert "items selected" in archive.stdout and (tmp_path / "a" / "items.jsonl").exists()
    sets = runner.invoke(
        app, ["display-sets", "demo-reader-study", "-o", str(tmp_path / "d")], env=env
    )
    assert sets.exit_code == 0, sets.output
    assert "display sets selected" in sets.stdout
    missing = runner.invoke(app, ["archive", "nope", "-o", str(tmp_path / "x")], env=env)
    assert missing.exit_code == 2 and "archives/<slug>/" in missing.stderr
