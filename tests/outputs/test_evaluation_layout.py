"""--layout evaluation: predictions.json and <job pk>/output/..., read by a tiny evaluation."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from gcfetch.client import Client
from gcfetch.errors import UnsafePathError
from gcfetch.models import ImageFile, Job, from_api
from gcfetch.outputs import download_outputs
from gcfetch.outputs.job_records import Predictions
from gcfetch.outputs.layout import EvaluationLayout, layout_named

EXAMPLES = Path(__file__).parents[2] / "examples"
RECORDS = {"manifest.jsonl", "results.csv", "jobs.jsonl", "predictions.json"}


@pytest.fixture(scope="module")
def evaluation_run(sandbox, demo, tmp_path_factory):
    root = tmp_path_factory.mktemp("evaluation") / "input"
    with Client(token=demo.tokens["editor"], base_url=sandbox.base_url) as client:
        summary = download_outputs(
            client, algorithm=demo.public_algorithm, output_directory=root, layout="evaluation"
        )
    return root, summary


def _jobs(root: Path) -> list[dict]:
    return [json.loads(line) for line in (root / "jobs.jsonl").read_text().splitlines()]


def test_predictions_json_lists_the_selected_jobs_with_images_as_pk_and_name(
    evaluation_run,
) -> None:
    root, summary = evaluation_run
    predictions = json.loads((root / "predictions.json").read_text())
    assert summary.ok and len(predictions) == summary.selected_jobs
    api = {job["pk"]: job for job in _jobs(root)}
    for job in predictions:
        assert job["status"] == "Succeeded"
        raw = api[job["pk"]]
        pairs = zip(
            [*job["inputs"], *job["outputs"]], [*raw["inputs"], *raw["outputs"]], strict=True
        )
        for got, sent in pairs:
            if sent.get("image"):
                assert sent["image"].rstrip("/").endswith(got["image"]["pk"])
                assert got["image"]["name"]  # the user's file name, looked up in bulk
            else:
                assert got == sent
    names = [v["image"]["name"] for job in predictions for v in job["inputs"]]
    assert all(name.startswith("case-") for name in names)


def test_outputs_land_under_job_output_as_gc_provisions_them(evaluation_run) -> None:
    root, _ = evaluation_run
    for job in _jobs(root):
        for value in job["outputs"]:
            socket = value["interface"]
            path = root / job["pk"] / "output" / socket["relative_path"]
            if socket["super_kind"] == "Value":
                assert path.read_text() == json.dumps(value["value"])  # compact, as GC writes
            elif socket["super_kind"] == "Image":
                assert [p.suffix for p in path.iterdir()] in ([".mha"], [".tif"])
            else:
                assert path.stat().st_size > 0
    tops = {p.name for p in root.iterdir()}
    assert tops - {job["pk"] for job in _jobs(root)} == RECORDS
    assert {p.name for job in _jobs(root) for p in (root / job["pk"]).iterdir()} == {"output"}


def test_a_tiny_evaluation_reads_the_download_as_a_container_would(
    evaluation_run, tmp_path
) -> None:
    root, summary = evaluation_run
    run = subprocess.run(
        [sys.executable, EXAMPLES / "evaluate.py", "--input", root, "--output", tmp_path],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    probabilities = [
        v["value"] for job in _jobs(root) for v in job["outputs"]
        if v["interface"]["slug"] == "probability"
    ]  # fmt: skip
    assert metrics["jobs"] == summary.selected_jobs
    assert metrics["mean"] == pytest.approx(sum(probabilities) / len(probabilities))
    assert metrics["files_read"] == summary.files_downloaded
    assert f"mean probability: {metrics['mean']}" in run.stdout


def test_evaluation_layout_transfers_nothing_and_rewrites_predictions_when_run_again(
    sandbox, demo, evaluation_run
) -> None:
    root, first = evaluation_run
    (root / "predictions.json").write_text("[]")
    with Client(token=demo.tokens["editor"], base_url=sandbox.base_url) as client:
        again = download_outputs(
            client, algorithm=demo.public_algorithm, output_directory=root, layout="evaluation"
        )
    assert again.ok and again.bytes_transferred == 0
    assert again.files_present == first.files_downloaded
    assert len(json.loads((root / "predictions.json").read_text())) == first.selected_jobs


def test_evaluation_layout_names_an_image_file_as_stored_and_refuses_unsafe_names() -> None:
    layout = EvaluationLayout()
    url = "https://h/media/images/ab/cd/pk/fk/my%20scan.mha?X-Amz-Signature=s"
    assert layout.image_file_name("pk", url, under="1/output/images/ct") == "my scan.mha"
    with pytest.raises(UnsafePathError):
        layout.image_file_name("pk", "https://h/media/images/..%2F..%2Fevil.mha", under="x")
    files = [
        ImageFile(file=f"https://h/{n}", image_type=t) for n, t in [("a", "MHD"), ("b", "DZI")]
    ]
    assert [f.file for f in layout.image_files(files)] == ["https://h/a"]
    assert layout_named("default").image_files(files) == files
    with pytest.raises(ValueError, match="default, evaluation"):
        layout_named("flat")


def _job(pk: str) -> Job:
    raw = {
        "pk": pk,
        "api_url": f"https://h/api/v1/algorithms/jobs/{pk}/",
        "algorithm_image": "https://h/api/v1/algorithms/images/i/",
        "status": "Succeeded",
        "inputs": [
            {
                "pk": 1,
                "interface": {"pk": 1, "slug": "ct", "super_kind": "Image", "relative_path": ""},
                "image": "https://h/api/v1/cases/images/im-1/",
            }
        ],
    }
    return from_api(Job, raw)


def test_predictions_keep_the_earlier_file_when_the_listing_did_not_finish(tmp_path) -> None:
    (tmp_path / "predictions.json").write_text('["earlier"]')
    cut = Predictions(tmp_path)
    cut.add(_job("j1"), {"im-1": "case-1.mha"})
    cut.finish(complete=False)
    assert json.loads((tmp_path / "predictions.json").read_text()) == ["earlier"]
    assert [p.name for p in tmp_path.iterdir()] == ["predictions.json"]  # no temp file left
    whole = Predictions(tmp_path)
    whole.add(_job("j1"), {"im-1": "case-1.mha"})
    whole.add(_job("j2"), {})
    whole.finish(complete=True)
    written = json.loads((tmp_path / "predictions.json").read_text())
    assert [job["pk"] for job in written] == ["j1", "j2"]
    assert written[0]["inputs"][0]["image"] == {"pk": "im-1", "name": "case-1.mha"}
    assert written[1]["inputs"][0]["image"] == {"pk": "im-1", "name": ""}
    empty = Predictions(tmp_path)
    empty.finish(complete=True)
    assert json.loads((tmp_path / "predictions.json").read_text()) == []
