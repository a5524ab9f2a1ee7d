"""results.csv: columns (inputs before outputs), cells, and merging with earlier runs."""

from __future__ import annotations

import csv
from pathlib import Path

from gcfetch.models import Job
from gcfetch.outputs.results import ResultsTable, job_row

IMAGES = "http://h/api/v1/cases/images/"


def _socket(n: int, slug: str, kind: str) -> dict:
    return {"pk": n, "slug": slug, "super_kind": kind, "relative_path": f"{slug}.json"}


def _job(pk: str, status: str, values: dict, inputs: list | None = None) -> Job:
    outputs = [
        {
            "pk": n,
            "interface": {
                "pk": n,
                "slug": slug,
                "super_kind": "Value",
                "relative_path": f"{slug}.json",
            },
            "value": value,
        }
        for n, (slug, value) in enumerate(values.items())
    ]
    return Job.model_validate(
        {
            "pk": pk,
            "api_url": f"http://h/api/v1/algorithms/jobs/{pk}/",
            "algorithm_image": "http://h/api/v1/algorithms/images/img1/",
            "status": status,
            "outputs": outputs,
            "inputs": inputs or [],
        }
    )


def test_results_table_writes_scalars_plain_and_others_compact_json_when_merged(
    tmp_path: Path,
) -> None:
    table = ResultsTable(tmp_path)
    table.add(
        job_row(_job("j1", "Succeeded", {"score": 0.5, "note": "hi", "res": {"a": [1, 2]}}), {})
    )
    table.write()
    table = ResultsTable(tmp_path)
    table.add(job_row(_job("j2", "Succeeded", {"score": 1, "flag": True, "note": None}), {}))
    table.write()
    with (tmp_path / "results.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["job", "algorithm_image", "status", "flag", "note", "res", "score"]
    assert rows[0] == {
        "job": "j1",
        "algorithm_image": "img1",
        "status": "Succeeded",
        "flag": "",
        "note": "hi",
        "res": '{"a":[1,2]}',
        "score": "0.5",
    }
    assert rows[1]["flag"] == "True" and rows[1]["score"] == "1" and rows[1]["note"] == ""


def _inputs() -> list[dict]:
    return [
        {"pk": 1, "interface": _socket(1, "ct", "Image"), "image": f"{IMAGES}im-1/"},
        {"pk": 2, "interface": _socket(2, "age", "Value"), "value": {"years": 61}},
        {
            "pk": 3,
            "interface": _socket(3, "notes", "File"),
            "file": "http://h/media/x/my%20notes.pdf",
        },
        {"pk": 4, "interface": _socket(4, "b-flag", "Value"), "value": False},
    ]


def _rows(root: Path) -> list[dict]:
    with (root / "results.csv").open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_results_table_puts_inputs_by_slug_before_outputs_with_image_name_and_pk(
    tmp_path: Path,
) -> None:
    table = ResultsTable(tmp_path)
    table.add(job_row(_job("j1", "Succeeded", {"score": 0.5}, _inputs()), {"im-1": "case-7.mha"}))
    table.write()
    [row] = _rows(tmp_path)
    assert list(row) == [
        "job", "algorithm_image", "status",
        "input:age", "input:b-flag", "input:ct", "input:ct:pk", "input:notes",
        "score",
    ]  # fmt: skip
    assert row["input:ct"] == "case-7.mha" and row["input:ct:pk"] == "im-1"
    assert row["input:age"] == '{"years":61}' and row["input:b-flag"] == "False"
    assert row["input:notes"] == "my notes.pdf"


def test_results_table_keeps_an_earlier_image_name_when_this_run_has_none(
    tmp_path: Path,
) -> None:
    first = ResultsTable(tmp_path)
    first.add(job_row(_job("j1", "Succeeded", {"score": 0.5}, _inputs()), {"im-1": "case-7.mha"}))
    first.write()
    again = ResultsTable(tmp_path)
    assert again.image_names() == {"im-1": "case-7.mha"}
    again.add(job_row(_job("j1", "Succeeded", {"score": 0.5}, _inputs()), {}))
    again.write()
    [row] = _rows(tmp_path)
    assert row["input:ct"] == "case-7.mha" and row["score"] == "0.5"
