"""Archive items and display sets on the outputs engine, DICOM image sets included."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest
from tests.outputs.helpers import CountingTransport

from gcfetch.client import Client
from gcfetch.errors import ObjectNotFound
from gcfetch.outputs import download_archive, download_display_sets
from gcfetch.sandbox.faults import Fault, FaultSettings
from gcfetch.sandbox.storage import dicom_instance_key

ARCHIVE = "demo-archive"
STUDY = "demo-reader-study"


@pytest.fixture(scope="module")
def editor(sandbox, demo):
    with Client(token=demo.tokens["editor"], base_url=sandbox.base_url) as client:
        yield client


@pytest.fixture(scope="module")
def archive_run(editor, tmp_path_factory):
    out = tmp_path_factory.mktemp("archive")
    return out, download_archive(editor, archive=ARCHIVE, output_directory=out)


def _items(root: Path) -> list[dict]:
    return [json.loads(line) for line in (root / "items.jsonl").read_text().splitlines()]


def _dicom_files(sandbox, editor, image_pk: str) -> dict[str, bytes]:
    """The stored bytes of each instance of a DICOM image, by `<sop>.dcm`."""
    image = editor.images.detail(pk=image_pk)
    set_id = image.dicom_image_set["image_set_id"]
    sops = {i.sop_instance_uid for i in editor.images.dicom_instances(image_pk)}
    blobs = sandbox.settings.blob_dir
    return {f"{sop}.dcm": (blobs / dicom_instance_key(set_id, sop)).read_bytes() for sop in sops}


def test_archive_values_land_under_item_pk_as_download_socket_value_writes_them(
    sandbox, demo, editor, archive_run
) -> None:
    out, summary = archive_run
    assert summary.ok and summary.noun == "item"
    items = _items(out)
    assert sorted(i["pk"] for i in items) == sorted(
        pk for pk, slug in demo.archive_items.items() if slug == ARCHIVE
    )
    assert summary.selected_jobs == len(items)
    dicom_seen = 0
    for item in items:
        for value in item["values"]:
            socket = value["interface"]
            path = out / item["pk"] / socket["relative_path"]
            if socket["super_kind"] == "Value":
                assert json.loads(path.read_text()) == value["value"]
            elif socket["super_kind"] == "File":
                assert path.stat().st_size > 0
            else:
                image_pk = value["image"].rstrip("/").rsplit("/", 1)[-1]
                if image_pk in demo.dicom_images:
                    dicom_seen += 1
                    written = {p.name: p.read_bytes() for p in path.glob("*.dcm")}
                    assert written == _dicom_files(sandbox, editor, image_pk)
                else:
                    assert [p.name for p in path.iterdir()] == [f"{image_pk}.mha"]
    assert dicom_seen == 1


def test_archive_records_one_row_and_one_line_per_item(archive_run) -> None:
    out, summary = archive_run
    with (out / "results.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == summary.selected_jobs and next(iter(rows[0])) == "item"
    manifest = [json.loads(x) for x in (out / "manifest.jsonl").read_text().splitlines()]
    assert len(manifest) == summary.files_downloaded
    dicom = [r for r in manifest if r["path"].endswith(".dcm")]
    assert dicom and all("/dicom/instances/#" in r["url"] for r in dicom)
    assert all("Signature" not in r["url"] and "X-Amz" not in r["url"] for r in manifest)


def test_archive_run_again_sends_listing_requests_only(sandbox, demo, archive_run) -> None:
    out, first = archive_run
    transport = CountingTransport()
    token = demo.tokens["editor"]
    with Client(token=token, base_url=sandbox.base_url, transport=transport) as client:
        again = download_archive(client, archive=ARCHIVE, output_directory=out)
    assert (
        again.ok and again.files_downloaded == 0 and again.files_present == first.files_downloaded
    )
    paths = {r.url.path for r in transport.requests}
    assert paths == {"/api/v1/archives/", "/api/v1/archives/items/"}


def test_display_sets_keep_one_file_per_sop_instance_of_a_multi_frame_set(
    sandbox, demo, editor, tmp_path
) -> None:
    summary = download_display_sets(editor, reader_study=STUDY, output_directory=tmp_path)
    assert summary.ok and summary.noun == "display set"
    assert summary.selected_jobs == sum(1 for s in demo.display_sets.values() if s == STUDY)
    multi = list(demo.dicom_images)[1]  # one instance is listed once per frame
    listed = editor.images.dicom_instances(multi)
    assert len(listed) == len(set(demo.dicom_images[multi]))
    written = {p.name for p in tmp_path.rglob("*.dcm")}
    assert written == {f"{sop}.dcm" for sop in demo.dicom_images[multi]}


def test_expired_dicom_requests_are_renewed(faulty, demo, tmp_path) -> None:
    faulty.set_faults(FaultSettings(rules=(Fault("expired", first=1, path="*/dicom/instances/"),)))
    with Client(token=demo.tokens["editor"], base_url=faulty.base_url) as client:
        summary = download_archive(client, archive=ARCHIVE, output_directory=tmp_path)
    assert summary.ok and any(tmp_path.rglob("*.dcm"))
    assert faulty.faults_injected.get("expired", 0) >= 1


def test_unknown_archive_names_where_the_slug_is(editor, tmp_path) -> None:
    with pytest.raises(ObjectNotFound, match=re.escape("grand-challenge.org/archives/<slug>/")):
        download_archive(editor, archive="no-such-archive", output_directory=tmp_path)
