"""Algorithm jobs and their socket values in the sandbox API (§5.4, §5.6)."""

from __future__ import annotations

import posixpath
import re

import httpx
import pytest

from gcfetch.sandbox.demo import DemoInfo

JOB_KEYS = {"pk", "url", "api_url", "algorithm_image", "algorithm", "inputs", "outputs",
            "status", "hanging_protocol", "optional_hanging_protocols", "view_content",
            "exec_duration", "invoke_duration"}  # fmt: skip
VALUE_KEYS = {"socket", "interface", "value", "file", "image", "pk"}
DURATION = re.compile(r"^P\d+DT\d\dH\d\dM\d\d(\.\d{6})?S$")
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
# the order GC gives: JSON kinds, thumbnails, charts, other files, images; by slug inside
OUTPUT_ORDER = ["is-referable", "metrics-score", "nodule-count", "optional-note", "predictions",
                "probability", "results", "thumbnail", "measurements", "report", "heat-map",
                "segmentation", "tissue-overlay"]  # fmt: skip
UNKNOWN_UUID = "00000000-0000-4000-8000-000000000000"


@pytest.fixture(scope="module")
def jobs(editor: httpx.Client) -> list[dict]:
    return editor.get("algorithms/jobs/", params={"limit": "1000"}).json()["results"]


def _origin(client: httpx.Client) -> str:
    return str(client.base_url).removesuffix("/api/v1/")


def test_jobs_are_ordered_by_creation_when_listed(jobs: list[dict], demo: DemoInfo) -> None:
    created_order = [pk for pk in demo.jobs if pk in {job["pk"] for job in jobs}]
    assert [job["pk"] for job in jobs] == created_order


def test_jobs_have_exact_fields_and_types_when_listed(
    editor: httpx.Client, jobs: list[dict], demo: DemoInfo
) -> None:
    api = str(editor.base_url)
    for job in jobs:
        assert set(job) == JOB_KEYS
        assert UUID.match(job["pk"])
        assert job["status"] == demo.jobs[job["pk"]]
        assert job["api_url"] == f"{api}algorithms/jobs/{job['pk']}/"
        slug = demo.job_algorithms[job["pk"]]
        assert job["algorithm"] == f"{api}algorithms/{demo.algorithms[slug]}/"
        image_pk = job["algorithm_image"].removeprefix(f"{api}algorithms/images/").rstrip("/")
        assert image_pk in demo.algorithm_images[slug]
        assert job["url"] == f"{_origin(editor)}/algorithms/{slug}/jobs/{job['pk']}/"
        assert job["hanging_protocol"] is None
        assert job["optional_hanging_protocols"] == []
        assert job["view_content"] == {}
        for value in job["inputs"] + job["outputs"]:
            assert set(value) == VALUE_KEYS
            assert value["socket"] == value["interface"]
            assert isinstance(value["pk"], int)


def test_job_durations_are_null_when_job_was_not_measured(jobs: list[dict]) -> None:
    statuses = {job["status"] for job in jobs}
    assert {"Succeeded", "Queued"} <= statuses
    for job in jobs:
        for field in ("exec_duration", "invoke_duration"):
            if job["status"] == "Queued":
                assert job[field] is None
            if job[field] is not None:
                assert DURATION.match(job[field])
    assert any(job["exec_duration"] for job in jobs if job["status"] == "Succeeded")


def test_socket_values_follow_super_kind_rules_when_serialized(
    editor: httpx.Client, jobs: list[dict]
) -> None:
    origin = _origin(editor)
    kinds_seen = set()
    for job in jobs:
        for value in job["inputs"] + job["outputs"]:
            socket = value["socket"]
            kinds_seen.add(socket["super_kind"])
            if socket["super_kind"] == "File":
                pk = value["pk"]
                hexed = f"{pk:04x}"
                name = posixpath.basename(socket["relative_path"])
                assert value["file"] == (
                    f"{origin}/media/components/componentinterfacevalue/"
                    f"{hexed[-4:-2]}/{hexed[-2:]}/{pk}/{name}"
                )
                assert value["value"] is None and value["image"] is None
            elif socket["super_kind"] == "Image":
                assert re.match(rf"^{origin}/api/v1/cases/images/[0-9a-f-]{{36}}/$", value["image"])
                assert value["value"] is None and value["file"] is None
            else:
                assert value["file"] is None and value["image"] is None
    assert kinds_seen == {"File", "Image", "Value"}


def test_socket_values_keep_falsy_json_values_when_serialized(jobs: list[dict]) -> None:
    values = [v["value"] for job in jobs for v in job["outputs"]
              if v["socket"]["super_kind"] == "Value"]  # fmt: skip
    assert False in values
    assert None in values


def test_job_outputs_are_sorted_by_kind_group_then_slug_when_serialized(
    jobs: list[dict],
) -> None:
    checked = 0
    for job in jobs:
        slugs = [value["socket"]["slug"] for value in job["outputs"]]
        assert slugs == [slug for slug in OUTPUT_ORDER if slug in slugs]
        checked += len(slugs) > 3
    assert checked


def test_jobs_filter_by_algorithm_when_algorithm_image__algorithm_is_given(
    editor: httpx.Client, demo: DemoInfo
) -> None:
    slug = "tissue-overlay"
    params = {"algorithm_image__algorithm": demo.algorithms[slug].upper(), "limit": "1000"}
    body = editor.get("algorithms/jobs/", params=params).json()
    assert body["count"] > 0
    assert {demo.job_algorithms[job["pk"]] for job in body["results"]} == {slug}


@pytest.mark.parametrize(
    ("params", "body"),
    [({"algorithm_image__algorithm": "nope"},
      {"algorithm_image__algorithm": ["Select a valid choice. That choice is not one of the "
                                      "available choices."]}),
     ({"algorithm_image__algorithm": UNKNOWN_UUID},
      {"algorithm_image__algorithm": ["Select a valid choice. That choice is not one of the "
                                      "available choices."]}),
     ({"input_image": "nope"}, {"input_image": ["\u201cnope\u201d is not a valid UUID."]}),
     ({"output_image": UNKNOWN_UUID},
      {"output_image": [f"Select a valid choice. {UNKNOWN_UUID} is not one of the available "
                        "choices."]})],
)  # fmt: skip
def test_jobs_answer_400_with_field_keyed_body_when_filter_value_is_invalid(
    editor: httpx.Client, params: dict[str, str], body: dict
) -> None:
    response = editor.get("algorithms/jobs/", params=params)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/json"
    assert response.json() == body


@pytest.mark.parametrize(
    "params", [{"algorithm_image": UNKNOWN_UUID}, {"status": "Failed"}, {"image": "x"},
               {"algorithm": "x"}, {"ordering": "-created"}, {"algorithm_image__algorithm": ""}],
)  # fmt: skip
def test_jobs_ignore_parameter_when_it_is_not_a_filter(
    editor: httpx.Client, jobs: list[dict], params: dict[str, str]
) -> None:
    body = editor.get("algorithms/jobs/", params={**params, "limit": "1000"}).json()
    assert [job["pk"] for job in body["results"]] == [job["pk"] for job in jobs]


def _image_pk(value: dict) -> str:
    return value["image"].rstrip("/").rsplit("/", 1)[1]


def test_jobs_filter_by_input_and_output_images_when_repeated(
    editor: httpx.Client, jobs: list[dict]
) -> None:
    first, second = jobs[0], jobs[1]
    inputs = [_image_pk(v) for job in (first, second) for v in job["inputs"] if v["image"]]
    body = editor.get("algorithms/jobs/", params=[("input_image", pk) for pk in inputs]).json()
    assert {first["pk"], second["pk"]} <= {job["pk"] for job in body["results"]}
    for job in body["results"]:
        assert {_image_pk(v) for v in job["inputs"] if v["image"]} & set(inputs)
    with_output = next(job for job in jobs if any(v["image"] for v in job["outputs"]))
    output = next(_image_pk(v) for v in with_output["outputs"] if v["image"])
    body = editor.get("algorithms/jobs/", params={"output_image": output}).json()
    assert [job["pk"] for job in body["results"]] == [with_output["pk"]]


def test_job_detail_equals_list_entry_when_fetched(editor: httpx.Client, jobs: list[dict]) -> None:
    job = jobs[-1]
    assert editor.get(job["api_url"]).json() == job
