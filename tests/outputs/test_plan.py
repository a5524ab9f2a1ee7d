"""Job -> tasks and checked targets, without a server."""

from __future__ import annotations

from pathlib import Path

import pytest

from gcfetch.errors import UnsafePathError
from gcfetch.models import Job
from gcfetch.outputs.plan import Planner

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
    tasks, refused = Planner(root).plan_job(job)
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
    tasks, refused = Planner(tmp_path.resolve()).plan_job(job)
    assert [t.relpath for t in tasks] == ["j1/ok.json"]
    assert [(f.socket_slug, f.error_type) for f in refused] == [("evil", "UnsafePathError")]
    assert not (tmp_path.parent / "evil.json").exists()


def test_plan_job_refuses_second_output_when_two_map_to_same_target(tmp_path: Path) -> None:
    job = _job("j1", [("a", "Value", "same.json"), ("b", "File", "same.json")])
    tasks, refused = Planner(tmp_path.resolve()).plan_job(job)
    assert [t.socket_slug for t in tasks] == ["a"]
    assert refused[0].socket_slug == "b" and "already writes there" in refused[0].error


def test_plan_job_refuses_output_when_job_pk_is_a_path(tmp_path: Path) -> None:
    tasks, refused = Planner(tmp_path.resolve()).plan_job(_job("..", [("a", "Value", "a.json")]))
    assert tasks == [] and refused[0].error_type == "UnsafePathError"


def test_image_file_target_uses_image_pk_and_url_extension_when_safe(tmp_path: Path) -> None:
    root = tmp_path.resolve()
    planner = Planner(root)
    (task,), _ = planner.plan_job(_job("j1", [("seg", "Image", "images/seg")]))
    target = planner.image_file_target(task, "img-0", "http://h/media/images/a/b/x/y/z.tar.mha")
    assert target == root / "j1" / "images" / "seg" / "img-0.mha"


def test_image_file_target_reads_extension_from_url_path_when_url_has_query(
    tmp_path: Path,
) -> None:
    planner = Planner(tmp_path.resolve())
    (task,), _ = planner.plan_job(_job("j1", [("seg", "Image", "images/seg")]))
    target = planner.image_file_target(task, "img-0", "http://h/media/z.mha?sig=a.b")
    assert target.name == "img-0.mha"


@pytest.mark.parametrize("url", ["http://h/media/noext", "http://h/media/x.a\nb"])
def test_image_file_target_refuses_name_when_extension_is_unsafe(tmp_path: Path, url: str) -> None:
    planner = Planner(tmp_path.resolve())
    (task,), _ = planner.plan_job(_job("j1", [("seg", "Image", "images/seg")]))
    with pytest.raises(UnsafePathError):
        planner.image_file_target(task, "img-0", url)
