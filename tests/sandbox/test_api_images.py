"""Images (`cases/images/`) of the sandbox API (§5.7)."""

from __future__ import annotations

import re

import httpx
import pytest

from gcfetch.sandbox.demo import DemoInfo

IMAGE_KEYS = {
    "pk", "name", "files", "dicom_image_set", "width", "height", "depth", "color_space",
    "modality", "eye_choice", "stereoscopic_choice", "field_of_view", "shape_without_color",
    "shape", "voxel_width_mm", "voxel_height_mm", "voxel_depth_mm", "api_url", "patient_id",
    "patient_name", "patient_age", "patient_sex", "patient_birth_date", "study_date",
    "study_instance_uid", "series_instance_uid", "study_description", "series_description",
    "window_center", "window_width", "segments",
}  # fmt: skip
IMAGE_FILE_KEYS = {"pk", "image", "file", "image_type"}


@pytest.fixture(scope="module")
def images(editor: httpx.Client) -> list[dict]:
    return editor.get("cases/images/", params={"limit": "1000"}).json()["results"]


def test_images_have_exact_fields_gcapi_013_can_parse_when_listed(
    editor: httpx.Client, images: list[dict]
) -> None:
    assert images
    for image in images:
        assert set(image) == IMAGE_KEYS
        assert isinstance(image["width"], int) and isinstance(image["height"], int)
        assert image["color_space"] in {"GRAY", "RGB", "RGBA", "YCBCR"}
        assert image["api_url"] == f"{editor.base_url}cases/images/{image['pk']}/"
        assert image["shape_without_color"][-2:] == [image["height"], image["width"]]
        for field in ("patient_id", "patient_name", "study_description", "series_description"):
            assert isinstance(image[field], str)


def test_image_files_point_to_media_keys_when_listed(
    editor: httpx.Client, images: list[dict]
) -> None:
    origin = str(editor.base_url).removesuffix("/api/v1/")
    types = set()
    for image in images:
        pk = image["pk"]
        if image["dicom_image_set"] is not None:  # converted from DICOM: no files
            assert image["files"] == []
            continue
        assert image["files"]
        for image_file in image["files"]:
            assert set(image_file) == IMAGE_FILE_KEYS
            assert image_file["image"] == pk
            file_pk = image_file["pk"]
            pattern = rf"^{origin}/media/images/{pk[:2]}/{pk[2:4]}/{pk}/{file_pk}/{pk}\.[a-z]+$"
            assert re.match(pattern, image_file["file"])
            types.add(image_file["image_type"])
    assert {"MHD", "TIFF"} <= types


def test_images_are_ordered_by_name_when_listed(images: list[dict]) -> None:
    names = [image["name"] for image in images]
    assert names == sorted(names)


def test_images_filter_by_job_input_and_output_when_given(
    editor: httpx.Client, demo: DemoInfo
) -> None:
    jobs = editor.get("algorithms/jobs/", params={"limit": "1000"}).json()["results"]
    job = next(j for j in jobs if any(v["image"] for v in j["outputs"]))
    expected_in = {v["image"] for v in job["inputs"] if v["image"]}
    expected_out = {v["image"] for v in job["outputs"] if v["image"]}
    body = editor.get("cases/images/", params={"job_input": job["pk"]}).json()
    assert {image["api_url"] for image in body["results"]} == expected_in
    body = editor.get("cases/images/", params={"job_output": job["pk"]}).json()
    assert {image["api_url"] for image in body["results"]} == expected_out
    other = next(j for j in jobs if j["pk"] != job["pk"] and any(v["image"] for v in j["inputs"]))
    params = [("job_input", job["pk"]), ("job_input", other["pk"])]
    body = editor.get("cases/images/", params=params).json()
    assert body["count"] == len(expected_in | {v["image"] for v in other["inputs"] if v["image"]})


def test_images_filter_by_exact_name_when_name_is_given(
    editor: httpx.Client, images: list[dict]
) -> None:
    name = images[0]["name"]
    body = editor.get("cases/images/", params={"name": name}).json()
    assert body["count"] >= 1
    assert {image["name"] for image in body["results"]} == {name}
    assert editor.get("cases/images/", params={"name": name[:-1]}).json()["count"] == 0


@pytest.mark.parametrize(
    ("params", "body"),
    [({"job_input": "x"}, {"job_input": ["\u201cx\u201d is not a valid UUID."]}),
     ({"job_output": "00000000-0000-4000-8000-000000000000"},
      {"job_output": ["Select a valid choice. 00000000-0000-4000-8000-000000000000 is not one "
                      "of the available choices."]})],
)  # fmt: skip
def test_images_answer_400_when_job_filter_is_invalid(
    editor: httpx.Client, params: dict[str, str], body: dict
) -> None:
    response = editor.get("cases/images/", params=params)
    assert response.status_code == 400
    assert response.json() == body


def test_image_detail_equals_list_entry_when_fetched(
    editor: httpx.Client, images: list[dict]
) -> None:
    assert editor.get(images[0]["api_url"]).json() == images[0]
