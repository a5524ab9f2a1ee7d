"""Archives, archive items, reader studies and display sets of the sandbox API (issue 16).

Fields, filters, orderings and visibility as GC's ArchiveViewSet, ArchiveItemViewSet,
ReaderStudyViewSet and DisplaySetViewSet serve them (grand-challenge.org `archives/` and
`reader_studies/` serializers, views and models' permissions).
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from gcfetch.sandbox import Sandbox
from gcfetch.sandbox.demo import DemoInfo

ARCHIVE_KEYS = {"pk", "title", "logo", "description", "api_url", "url"}
ITEM_KEYS = {
    "pk", "title", "archive", "values", "hanging_protocol", "optional_hanging_protocols",
    "view_content",
}  # fmt: skip
READER_STUDY_KEYS = {
    "api_url", "url", "slug", "logo", "description", "help_text", "help_text_safe", "pk",
    "questions", "title", "title_safe", "is_educational", "instant_verification",
    "has_ground_truth", "allow_answer_modification", "enable_autosaving",
    "allow_case_navigation", "allow_show_all_annotations", "roll_over_answers_for_n_cases",
    "end_of_study_text_safe",
}  # fmt: skip
DISPLAY_SET_KEYS = {
    "pk", "title", "title_safe", "reader_study", "values", "order", "api_url",
    "hanging_protocol", "optional_hanging_protocols", "view_content", "description", "index",
}  # fmt: skip
VALUE_KEYS = {"socket", "interface", "value", "file", "image", "pk"}
INVALID_CHOICE = "Select a valid choice. That choice is not one of the available choices."


def _client(sandbox: Sandbox, token: str | None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(base_url=sandbox.base_url, headers=headers)


@pytest.fixture(scope="module")
def viewer(sandbox: Sandbox, demo: DemoInfo) -> Iterator[httpx.Client]:
    with _client(sandbox, demo.tokens["viewer"]) as client:
        yield client


@pytest.fixture(scope="module")
def outsider(sandbox: Sandbox, demo: DemoInfo) -> Iterator[httpx.Client]:
    with _client(sandbox, demo.tokens["outsider"]) as client:
        yield client


@pytest.fixture(scope="module")
def anonymous(sandbox: Sandbox) -> Iterator[httpx.Client]:
    with _client(sandbox, None) as client:
        yield client


def _all(client: httpx.Client, path: str, **params: str) -> list[dict]:
    response = client.get(path, params={"limit": "1000", **params})
    assert response.status_code == 200, response.text
    return response.json()["results"]


# archives


def test_archives_have_gc_fields_and_urls(editor: httpx.Client, demo: DemoInfo) -> None:
    archives = _all(editor, "archives/")
    assert [a["pk"] for a in archives] == list(demo.archives.values())  # by `created`
    origin = str(editor.base_url).removesuffix("/api/v1/")
    for archive, slug in zip(archives, demo.archives, strict=True):
        assert set(archive) == ARCHIVE_KEYS
        assert archive["api_url"] == f"{editor.base_url}archives/{archive['pk']}/"
        assert archive["url"] == f"{origin}/archives/{slug}/"
        assert editor.get(archive["api_url"]).json() == archive


def test_archives_filter_by_slug(editor: httpx.Client, demo: DemoInfo) -> None:
    found = _all(editor, "archives/", slug="demo-archive")
    assert [a["pk"] for a in found] == [demo.archives["demo-archive"]]
    assert _all(editor, "archives/", slug="no-such-archive") == []


def test_archives_visible_to_members_and_public_ones_to_all(
    viewer: httpx.Client, outsider: httpx.Client, anonymous: httpx.Client, demo: DemoInfo
) -> None:
    assert {a["pk"] for a in _all(viewer, "archives/")} == set(demo.archives.values())
    public = [demo.archives["public-archive"]]
    assert [a["pk"] for a in _all(outsider, "archives/")] == public
    assert [a["pk"] for a in _all(anonymous, "archives/")] == public
    private = demo.archives["demo-archive"]
    for client in (outsider, anonymous):
        response = client.get(f"archives/{private}/")
        assert response.status_code == 404
        assert response.json() == {"detail": "No Archive matches the given query."}


def test_archives_paginate(editor: httpx.Client, demo: DemoInfo) -> None:
    body = editor.get("archives/", params={"limit": "1"}).json()
    assert body["count"] == len(demo.archives)
    assert len(body["results"]) == 1
    assert body["next"] is not None and body["previous"] is None
    second = editor.get(body["next"]).json()
    assert second["results"][0]["pk"] == list(demo.archives.values())[1]


# archive items


def _items(client: httpx.Client, demo: DemoInfo, slug: str = "demo-archive") -> list[dict]:
    return _all(client, "archives/items/", archive=demo.archives[slug])


def test_archive_items_have_gc_fields_and_socket_values(
    editor: httpx.Client, demo: DemoInfo
) -> None:
    items = _items(editor, demo)
    expected = [pk for pk, slug in demo.archive_items.items() if slug == "demo-archive"]
    assert [item["pk"] for item in items] == expected
    archive_url = f"{editor.base_url}archives/{demo.archives['demo-archive']}/"
    kinds = set()
    for item in items:
        assert set(item) == ITEM_KEYS
        assert item["archive"] == archive_url
        assert item["hanging_protocol"] is None
        assert item["optional_hanging_protocols"] == []
        assert item["view_content"] == {}
        assert item["values"]
        for value in item["values"]:
            assert set(value) == VALUE_KEYS
            assert value["socket"] == value["interface"]
            kinds.add(value["socket"]["super_kind"])
        assert editor.get(f"archives/items/{item['pk']}/").json() == item
    assert kinds == {"Image", "File", "Value"}


def test_archive_items_values_are_shaped_like_job_values(
    editor: httpx.Client, demo: DemoInfo
) -> None:
    origin = str(editor.base_url).removesuffix("/api/v1/")
    values = [value for item in _items(editor, demo) for value in item["values"]]
    by_kind: dict[str, list[dict]] = {}
    for value in values:
        by_kind.setdefault(value["socket"]["super_kind"], []).append(value)
    for value in by_kind["Image"]:
        assert value["image"].startswith(f"{editor.base_url}cases/images/")
        assert value["file"] is None and value["value"] is None
    for value in by_kind["File"]:
        assert value["file"].startswith(f"{origin}/media/components/componentinterfacevalue/")
        assert editor.get(value["file"]).status_code == 302
    slugs = {value["socket"]["slug"] for value in values}
    assert {"dicom-image-set", "generic-medical-image", "ct-image", "report"} <= slugs
    empty = [v for v in values if v["socket"]["slug"] == "generic-medical-image"]
    assert empty[0]["socket"]["relative_path"] == ""


def test_archive_items_filter_by_archive(editor: httpx.Client, demo: DemoInfo) -> None:
    public = _items(editor, demo, "public-archive")
    assert [i["pk"] for i in public] == [
        pk for pk, slug in demo.archive_items.items() if slug == "public-archive"
    ]
    assert len(_all(editor, "archives/items/")) == len(demo.archive_items)


@pytest.mark.parametrize("raw", ["not-a-uuid", "00000000-0000-4000-8000-000000000000"])
def test_archive_items_filter_rejects_bad_archive(editor: httpx.Client, raw: str) -> None:
    response = editor.get("archives/items/", params={"archive": raw})
    assert response.status_code == 400
    assert response.json() == {"archive": [INVALID_CHOICE]}


def test_archive_items_are_never_public(
    viewer: httpx.Client, outsider: httpx.Client, anonymous: httpx.Client, demo: DemoInfo
) -> None:
    """Archive users see the items; the public archive's item is its editor's only."""
    assert len(_items(viewer, demo)) == 6
    assert _items(viewer, demo, "public-archive") == []
    for client in (outsider, anonymous):
        assert _all(client, "archives/items/") == []
        for pk in demo.archive_items:
            response = client.get(f"archives/items/{pk}/")
            assert response.status_code == 404
            assert response.json() == {"detail": "No ArchiveItem matches the given query."}


def test_archive_item_images_and_files_follow_item_visibility(
    editor: httpx.Client, viewer: httpx.Client, outsider: httpx.Client, demo: DemoInfo
) -> None:
    item = _items(editor, demo)[0]
    image = next(v["image"] for v in item["values"] if v["image"])
    report = next(v["file"] for v in item["values"] if v["file"])
    assert viewer.get(image).status_code == 200
    assert viewer.get(report).status_code == 302
    assert outsider.get(image).status_code == 404
    assert outsider.get(report).status_code == 404


def test_archive_item_detail_404s(editor: httpx.Client) -> None:
    assert editor.get("archives/items/not-a-uuid/").json() == {"detail": "Not found."}
    response = editor.get("archives/items/00000000-0000-4000-8000-000000000000/")
    assert response.status_code == 404


def test_images_filter_by_archive_and_reader_study(editor: httpx.Client, demo: DemoInfo) -> None:
    archive = demo.archives["demo-archive"]
    study = demo.reader_studies["demo-reader-study"]
    in_archive = {i["pk"] for i in _all(editor, "cases/images/", archive=archive)}
    expected = {
        v["image"].rstrip("/").rsplit("/", 1)[-1]
        for item in _items(editor, demo)
        for v in item["values"]
        if v["image"]
    }
    assert in_archive == expected and len(in_archive) == 6
    in_study = {i["pk"] for i in _all(editor, "cases/images/", reader_study=study)}
    assert len(in_study) == 4
    both = {i["pk"] for i in _all(editor, "cases/images/", archive=archive, reader_study=study)}
    assert both == in_archive & in_study and len(both) == 2
    response = editor.get("cases/images/", params={"archive": "nope"})
    assert response.status_code == 400
    assert response.json() == {"archive": ["\u201cnope\u201d is not a valid UUID."]}
    many = editor.get(
        "cases/images/",
        params=[("archive", archive), ("archive", demo.archives["public-archive"])],
    )
    assert {i["pk"] for i in many.json()["results"]} == in_archive


# reader studies and display sets


def test_reader_studies_have_gc_fields(editor: httpx.Client, demo: DemoInfo) -> None:
    studies = _all(editor, "reader-studies/")
    assert [s["pk"] for s in studies] == list(demo.reader_studies.values())
    origin = str(editor.base_url).removesuffix("/api/v1/")
    study = studies[0]
    assert set(study) == READER_STUDY_KEYS
    assert study["slug"] == "demo-reader-study"
    assert study["url"] == f"{origin}/reader-studies/demo-reader-study/"
    assert study["api_url"] == f"{editor.base_url}reader-studies/{study['pk']}/"
    assert study["questions"] == []
    assert editor.get(study["api_url"]).json() == study
    assert _all(editor, "reader-studies/", slug="demo-reader-study") == [study]
    assert _all(editor, "reader-studies/", slug="other") == []


def test_reader_studies_visible_to_editors_and_readers_only(
    viewer: httpx.Client, outsider: httpx.Client, anonymous: httpx.Client, demo: DemoInfo
) -> None:
    pk = demo.reader_studies["demo-reader-study"]
    assert [s["pk"] for s in _all(viewer, "reader-studies/")] == [pk]
    for client in (outsider, anonymous):
        assert _all(client, "reader-studies/") == []
        response = client.get(f"reader-studies/{pk}/")
        assert response.status_code == 404
        assert response.json() == {"detail": "No ReaderStudy matches the given query."}


def test_display_sets_have_gc_fields_order_and_index(editor: httpx.Client, demo: DemoInfo) -> None:
    study = demo.reader_studies["demo-reader-study"]
    sets = _all(editor, "reader-studies/display-sets/", reader_study=study)
    assert {s["pk"] for s in sets} == set(demo.display_sets)
    orders = [s["order"] for s in sets]
    assert orders == sorted(orders) and orders[0] == 5
    assert [s["index"] for s in sets] == list(range(len(sets)))
    for display_set in sets:
        assert set(display_set) == DISPLAY_SET_KEYS
        assert display_set["reader_study"] == f"{editor.base_url}reader-studies/{study}/"
        assert display_set["api_url"] == (
            f"{editor.base_url}reader-studies/display-sets/{display_set['pk']}/"
        )
        assert display_set["values"]
        assert all(set(v) == VALUE_KEYS for v in display_set["values"])
        assert editor.get(display_set["api_url"]).json() == display_set
    page = editor.get("reader-studies/display-sets/", params={"limit": "1", "offset": "2"})
    assert page.json()["results"][0]["index"] == 2


def test_display_sets_filter_and_visibility(
    editor: httpx.Client,
    viewer: httpx.Client,
    outsider: httpx.Client,
    anonymous: httpx.Client,
    demo: DemoInfo,
) -> None:
    response = editor.get("reader-studies/display-sets/", params={"reader_study": "x"})
    assert response.status_code == 400
    assert response.json() == {"reader_study": [INVALID_CHOICE]}
    assert len(_all(viewer, "reader-studies/display-sets/")) == len(demo.display_sets)
    pk = next(iter(demo.display_sets))
    for client in (outsider, anonymous):
        assert _all(client, "reader-studies/display-sets/") == []
        response = client.get(f"reader-studies/display-sets/{pk}/")
        assert response.status_code == 404
        assert response.json() == {"detail": "No DisplaySet matches the given query."}


@pytest.mark.parametrize(
    "path", ["archives/items/", "archives/", "reader-studies/display-sets/", "reader-studies/"]
)
def test_new_resources_are_read_only(editor: httpx.Client, path: str) -> None:
    assert editor.post(path, json={}).status_code == 405
