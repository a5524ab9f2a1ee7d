"""Job -> tasks and checked targets, without a server."""

from __future__ import annotations

import os
import unicodedata
from pathlib import Path

import pytest

from gcfetch.errors import UnsafePathError
from gcfetch.models import Job
from gcfetch.outputs.plan import Planner
from gcfetch.paths import CASE_PROBE_NAME, is_case_sensitive

API = "http://127.0.0.1:1/api/v1/"


def _socket(slug: str, super_kind: str, relative_path: str) -> dict:
    return {
        "pk": 1,
        "slug": slug,
        "title": slug,
        "description": "",
        "kind": "x",
        "super_kind": super_kind,
        "relative_path": relative_path,
        "default_value": None,
        "overlay_segments": [],
        "look_up_table": None,
    }


def _job(pk: str, outputs: list[tuple[str, str, str]]) -> Job:
    values = []
    for number, (slug, kind, path) in enumerate(outputs):
        sv = {
            "pk": number,
            "interface": _socket(slug, kind, path),
            "value": None,
            "file": None,
            "image": None,
        }
        if kind == "Value":
            sv["value"] = {"n": number}
        elif kind == "File":
            sv["file"] = f"{API[:-8]}/media/components/x/{number}/{path.rsplit('/', 1)[-1]}"
        else:
            sv["image"] = f"{API}cases/images/img-{number}/"
        values.append(sv)
    return Job.model_validate(
        {
            "pk": pk,
            "api_url": f"{API}algorithms/jobs/{pk}/",
            "algorithm_image": f"{API}algorithms/images/i/",
            "status": "Succeeded",
            "inputs": [],
            "outputs": values,
        }
    )


def _plan(planner: Planner, job: Job) -> tuple[list, list]:
    return planner.plan(job.pk, job.outputs, job.api_url)


def test_plan_job_maps_every_kind_to_gcapi_tree_when_paths_are_safe(tmp_path: Path) -> None:
    root = tmp_path.resolve()
    job = _job(
        "j1",
        [
            ("seg", "Image", "images/segmentation"),
            ("legacy", "image", ""),
            ("score", "Value", "metrics/score.json"),
            ("report", "File", "files/report.pdf"),
        ],
    )
    tasks, refused = _plan(Planner(root), job)
    assert refused == []
    assert [(t.super_kind, t.relpath) for t in tasks] == [
        ("Image", "j1/images/segmentation"),
        ("Image", "j1"),
        ("Value", "j1/metrics/score.json"),
        ("File", "j1/files/report.pdf"),
    ]
    assert tasks[2].value == {"n": 2}
    assert tasks[2].source == job.api_url
    assert tasks[3].source.endswith("/report.pdf")


def test_plan_job_refuses_only_escaping_output_when_one_is_hostile(tmp_path: Path) -> None:
    job = _job("j1", [("evil", "Value", "../../evil.json"), ("ok", "Value", "ok.json")])
    tasks, refused = _plan(Planner(tmp_path.resolve()), job)
    assert [t.relpath for t in tasks] == ["j1/ok.json"]
    assert [(f.socket_slug, f.error_type) for f in refused] == [("evil", "UnsafePathError")]
    assert "'../../evil.json'" in refused[0].error and "'..'" in refused[0].error
    assert list(tmp_path.iterdir()) == []  # planning writes nothing (its case probe is gone)


def test_plan_job_refuses_second_output_when_two_map_to_same_target(tmp_path: Path) -> None:
    job = _job("j1", [("a", "Value", "same.json"), ("b", "File", "same.json")])
    tasks, refused = _plan(Planner(tmp_path.resolve()), job)
    assert [t.socket_slug for t in tasks] == ["a"]
    assert refused[0].socket_slug == "b" and "already writes there" in refused[0].error


def test_plan_job_refuses_output_when_job_pk_is_a_path(tmp_path: Path) -> None:
    tasks, refused = _plan(Planner(tmp_path.resolve()), _job("..", [("a", "Value", "a.json")]))
    assert tasks == [] and refused[0].error_type == "UnsafePathError"


def test_image_file_target_uses_image_pk_and_url_extension_when_safe(tmp_path: Path) -> None:
    root = tmp_path.resolve()
    planner = Planner(root)
    (task,), _ = _plan(planner, _job("j1", [("seg", "Image", "images/seg")]))
    target = planner.image_file_target(task, "img-0", "http://h/media/images/a/b/x/y/z.tar.mha")
    assert target == root / "j1" / "images" / "seg" / "img-0.mha"


def test_image_file_target_reads_extension_from_url_path_when_url_has_query(
    tmp_path: Path,
) -> None:
    planner = Planner(tmp_path.resolve())
    (task,), _ = _plan(planner, _job("j1", [("seg", "Image", "images/seg")]))
    target = planner.image_file_target(task, "img-0", "http://h/media/z.mha?sig=a.b")
    assert target.name == "img-0.mha"


@pytest.mark.parametrize("url", ["http://h/media/noext", "http://h/media/x.a\nb"])
def test_image_file_target_refuses_name_when_extension_is_unsafe(tmp_path: Path, url: str) -> None:
    planner = Planner(tmp_path.resolve())
    (task,), _ = _plan(planner, _job("j1", [("seg", "Image", "images/seg")]))
    with pytest.raises(UnsafePathError):
        planner.image_file_target(task, "img-0", url)


def _refused_of(outputs: list[tuple[str, str, str]], root: Path, **planner) -> tuple[list, list]:
    tasks, refused = _plan(Planner(root.resolve(), **planner), _job("j1", outputs))
    return [t.socket_slug for t in tasks], [f.socket_slug for f in refused]


@pytest.mark.parametrize(
    ("first", "second"),
    [("Result.json", "result.json"), ("A/x.json", "a/x.json"), ("ÉTÉ.json", "été.json")],
)
def test_plan_job_refuses_case_clash_when_destination_ignores_case(
    tmp_path: Path, first: str, second: str
) -> None:
    outputs = [("a", "Value", first), ("b", "File", second)]
    assert _refused_of(outputs, tmp_path, case_sensitive=False) == (["a"], ["b"])
    assert _refused_of(outputs, tmp_path, case_sensitive=True) == (["a", "b"], [])


def test_plan_job_accepts_case_variants_when_probe_finds_case_sensitive_tmp_dir(
    tmp_path: Path,
) -> None:
    assert is_case_sensitive(tmp_path)  # Linux tmp dirs tell case apart
    assert is_case_sensitive(tmp_path / "not" / "yet")  # probed in the nearest ancestor
    outputs = [("a", "Value", "Result.json"), ("b", "Value", "result.json")]
    assert _refused_of(outputs, tmp_path) == (["a", "b"], [])
    assert list(tmp_path.iterdir()) == []  # the probe file is removed


def test_is_case_sensitive_removes_a_probe_file_a_killed_run_left(tmp_path: Path) -> None:
    (tmp_path / CASE_PROBE_NAME).write_text("left by a run killed while probing")
    assert is_case_sensitive(tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_is_case_sensitive_returns_false_when_probe_finds_one_file_under_both_cases(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_lexists = os.path.lexists
    monkeypatch.setattr(os.path, "lexists", lambda p: real_lexists(str(p).lower()))
    monkeypatch.setattr(os.path, "samefile", lambda a, b: True)
    assert not is_case_sensitive(tmp_path)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("case_sensitive", [True, False])
def test_plan_job_refuses_unicode_form_clash_on_every_filesystem(
    tmp_path: Path, case_sensitive: bool
) -> None:
    nfc, nfd = (unicodedata.normalize(form, "café/x.json") for form in ("NFC", "NFD"))
    assert nfc != nfd
    outputs = [("a", "Value", nfd), ("b", "Value", nfc)]
    assert _refused_of(outputs, tmp_path, case_sensitive=case_sensitive) == (["a"], ["b"])


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("x.json", "x.json.part"),
        ("x.json.part", "x.json"),
        ("x.json", "x.json.part.json"),
        ("x.json.part.json", "x.json"),
    ],
)
def test_plan_job_refuses_part_name_clash_in_either_order(
    tmp_path: Path, first: str, second: str
) -> None:
    outputs = [("a", "Value", first), ("b", "File", second)]
    assert _refused_of(outputs, tmp_path, case_sensitive=True) == (["a"], ["b"])


@pytest.mark.parametrize(
    "outputs",
    [
        [("a", "Value", "x.json"), ("b", "Image", "x.json.part")],
        [("a", "Image", "x.json.part"), ("b", "Value", "x.json")],
        [("a", "Value", "seg"), ("b", "Image", "seg")],
        [("a", "Image", "seg"), ("b", "Value", "seg")],
    ],
)
def test_plan_job_refuses_file_and_directory_on_one_name(tmp_path: Path, outputs) -> None:
    assert _refused_of(outputs, tmp_path, case_sensitive=True) == (["a"], ["b"])


def test_plan_job_accepts_distinct_names_when_only_similar(tmp_path: Path) -> None:
    outputs = [
        ("a", "Value", "x.json"),
        ("b", "Value", "x.jsonpart"),
        ("c", "Value", "x.part"),
        ("d", "Image", "x.json.d"),
        ("e", "Image", "x.json.d"),  # two images may share a directory
    ]
    assert _refused_of(outputs, tmp_path, case_sensitive=False)[1] == []


@pytest.mark.parametrize(
    ("pk", "case_sensitive"),
    [
        ("manifest.jsonl", True),
        ("results.csv", True),
        (".gcfetch.lock", True),
        (".manifest.jsonl.tmp", True),
        ("Manifest.JSONL", False),
    ],
)
def test_plan_job_refuses_job_whose_directory_would_take_a_run_file_name(
    tmp_path: Path, pk: str, case_sensitive: bool
) -> None:
    planner = Planner(tmp_path.resolve(), case_sensitive=case_sensitive)
    tasks, refused = _plan(planner, _job(pk, [("a", "Value", "a.json")]))
    assert tasks == [] and refused[0].error_type == "UnsafePathError"
    assert "gcfetch's own files" in refused[0].error


def test_plan_job_accepts_job_named_like_a_run_file_in_other_case_when_case_sensitive(
    tmp_path: Path,
) -> None:
    planner = Planner(tmp_path.resolve(), case_sensitive=True)
    tasks, refused = _plan(planner, _job("Manifest.JSONL", [("a", "Value", "a.json")]))
    assert refused == [] and tasks[0].relpath == "Manifest.JSONL/a.json"
