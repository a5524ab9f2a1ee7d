"""Algorithms, algorithm images and interfaces of the sandbox API (§5.2, §5.3, §5.5)."""

from __future__ import annotations

import re

import httpx
import pytest

from gcfetch.sandbox import Sandbox
from gcfetch.sandbox.demo import DemoInfo

ALGORITHM_KEYS = {"api_url", "url", "description", "pk", "title", "logo", "slug",
                  "average_duration", "interfaces"}  # fmt: skip
SOCKET_KEYS = {"title", "description", "slug", "kind", "pk", "default_value", "super_kind",
               "relative_path", "overlay_segments", "look_up_table"}  # fmt: skip
ALGORITHM_IMAGE_KEYS = {"pk", "url", "api_url", "algorithm", "created", "import_status", "image"}
DATETIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?Z$")
INVALID_CHOICE = ["Select a valid choice. That choice is not one of the available choices."]


def test_algorithms_have_exact_fields_and_types_when_listed(
    editor: httpx.Client, demo: DemoInfo
) -> None:
    response = editor.get("algorithms/")
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert [a["slug"] for a in body["results"]] == list(demo.algorithms)  # created ascending
    for algorithm in body["results"]:
        assert set(algorithm) == ALGORITHM_KEYS
        assert algorithm["pk"] == demo.algorithms[algorithm["slug"]]
        assert algorithm["api_url"] == f"{editor.base_url}algorithms/{algorithm['pk']}/"
        assert algorithm["url"].endswith(f"/algorithms/{algorithm['slug']}/")
        assert isinstance(algorithm["logo"], str)
        assert isinstance(algorithm["description"], str)
        assert algorithm["average_duration"] is None or isinstance(
            algorithm["average_duration"], float
        )
        assert algorithm["interfaces"]
        for combo in algorithm["interfaces"]:
            assert set(combo) == {"inputs", "outputs"}
            for socket in combo["inputs"] + combo["outputs"]:
                assert set(socket) == SOCKET_KEYS


def test_algorithms_filter_by_slug_when_slug_is_given(editor: httpx.Client, demo: DemoInfo) -> None:
    body = editor.get("algorithms/", params={"slug": "tissue-overlay"}).json()
    assert [a["pk"] for a in body["results"]] == [demo.algorithms["tissue-overlay"]]
    assert editor.get("algorithms/", params={"slug": "no-such"}).json()["count"] == 0


def test_algorithm_detail_equals_list_entry_when_fetched_by_api_url(editor: httpx.Client) -> None:
    listed = editor.get("algorithms/").json()["results"][0]
    assert editor.get(listed["api_url"]).json() == listed


def test_algorithm_images_have_exact_fields_when_editor_lists_them(
    editor: httpx.Client, demo: DemoInfo
) -> None:
    body = editor.get("algorithms/images/").json()
    assert body["count"] == sum(len(pks) for pks in demo.algorithm_images.values())
    for image in body["results"]:
        assert set(image) == ALGORITHM_IMAGE_KEYS
        assert DATETIME.match(image["created"])
        assert image["api_url"] == f"{editor.base_url}algorithms/images/{image['pk']}/"
        assert image["import_status"] == "Completed"
        assert image["image"] is None or image["image"].startswith(
            f"{str(editor.base_url).removesuffix('api/v1/')}media/docker/images/algorithms/"
            f"algorithmimage/{image['pk']}/"
        )
    created = [image["created"] for image in body["results"]]
    assert created == sorted(created)


def test_algorithm_images_filter_by_algorithm_when_algorithm_is_given(
    editor: httpx.Client, demo: DemoInfo
) -> None:
    pk = demo.algorithms["lung-nodule-detector"]
    body = editor.get("algorithms/images/", params={"algorithm": pk}).json()
    assert [i["pk"] for i in body["results"]] == demo.algorithm_images["lung-nodule-detector"]
    assert {i["algorithm"] for i in body["results"]} == {f"{editor.base_url}algorithms/{pk}/"}


@pytest.mark.parametrize("value", ["not-a-uuid", "00000000-0000-4000-8000-000000000000"])
def test_algorithm_images_answer_400_when_algorithm_filter_is_invalid(
    editor: httpx.Client, value: str
) -> None:
    response = editor.get("algorithms/images/", params={"algorithm": value})
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"algorithm": INVALID_CHOICE}


def test_algorithm_images_list_is_empty_when_algorithm_is_invisible(
    sandbox: Sandbox, demo: DemoInfo
) -> None:
    headers = {"Authorization": f"Bearer {demo.tokens['outsider']}"}
    params = {"algorithm": demo.algorithms["tissue-overlay"]}
    response = httpx.get(sandbox.base_url + "algorithms/images/", headers=headers, params=params)
    assert response.status_code == 200
    assert response.json()["count"] == 0


def test_interfaces_have_exact_fields_and_pk_order_when_listed(
    editor: httpx.Client, demo: DemoInfo
) -> None:
    body = editor.get("components/interfaces/").json()
    pks = [socket["pk"] for socket in body["results"]]
    assert pks == sorted(demo.sockets.values())
    for socket in body["results"]:
        assert set(socket) == SOCKET_KEYS
        assert socket["super_kind"] in {"Image", "File", "Value"}
        assert isinstance(socket["overlay_segments"], list)


def test_interfaces_filter_by_slug_and_detail_by_int_pk_when_requested(
    editor: httpx.Client, demo: DemoInfo
) -> None:
    body = editor.get("components/interfaces/", params={"slug": "generic-medical-image"}).json()
    [socket] = body["results"]
    assert socket["relative_path"] == ""
    assert socket["pk"] == demo.sockets["generic-medical-image"]
    assert editor.get(f"components/interfaces/{socket['pk']}/").json() == socket
