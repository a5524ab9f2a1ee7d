"""DICOM image sets: `cases/images/<pk>/dicom/instances/` and the instance requests it hands
out (issue 16), as GC's `ImageViewSet.dicom_instances` answers (grand-challenge.org
`cases/views.py`, `DICOMImageSet.instance_requests`, `serialize_aws_request`).

GC lists one instance request per frame of `image_frame_metadata`, so a multi-frame instance
repeats; each request is an AWS SigV4 request signed in its headers (`Accept`, `X-Amz-Date`,
`Authorization`) with `data` null. The sandbox's requests go to its storage origin, signed in
the same headers with its own secret, and expire with the storage links.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
import SimpleITK as sitk

from gcfetch.sandbox import Sandbox
from gcfetch.sandbox.demo import DemoInfo
from gcfetch.sandbox.faults import Fault, FaultSettings
from gcfetch.sandbox.storage import DicomRequest, signer_for

ACCEPT = "application/dicom; transfer-syntax=1.2.840.10008.1.2.1"
AUTHORIZATION = (
    r"^AWS4-HMAC-SHA256 Credential=APKA[0-9A-F]{16}/\d{8}/sandbox/medical-imaging/aws4_request, "
    r"SignedHeaders=accept;host;x-amz-date, Signature=[0-9a-f]{64}$"
)


@pytest.fixture(scope="module")
def dicom(demo: DemoInfo) -> tuple[str, str]:
    """(archive image pk: single-frame instances, reader study image pk: one multi-frame)."""
    archive_image, study_image = demo.dicom_images
    return archive_image, study_image


@pytest.fixture(scope="module")
def instances(editor: httpx.Client, dicom: tuple[str, str]) -> Iterator[list[dict]]:
    yield [editor.get(f"cases/images/{pk}/dicom/instances/").json() for pk in dicom]


def test_dicom_image_has_image_set_and_no_files(editor: httpx.Client, dicom) -> None:
    for pk in dicom:
        image = editor.get(f"cases/images/{pk}/").json()
        assert image["files"] == []
        assert set(image["dicom_image_set"]) == {"image_set_id"}
        assert re.fullmatch(r"[0-9a-f]{32}", image["dicom_image_set"]["image_set_id"])


def test_dicom_instances_have_gc_shape(
    editor: httpx.Client, sandbox: Sandbox, dicom, instances: list[dict]
) -> None:
    for pk, body in zip(dicom, instances, strict=True):
        image = editor.get(f"cases/images/{pk}/").json()
        assert list(body) == ["image_set_id", "instances"]
        assert body["image_set_id"] == image["dicom_image_set"]["image_set_id"]
        for instance in body["instances"]:
            assert list(instance) == ["sop_instance_uid", "get_instance"]
            request = instance["get_instance"]
            assert list(request) == ["url", "method", "data", "headers"]
            assert request["method"] == "GET" and request["data"] is None
            assert list(request["headers"]) == ["Accept", "X-Amz-Date", "Authorization"]
            assert request["headers"]["Accept"] == ACCEPT
            assert re.fullmatch(r"\d{8}T\d{6}Z", request["headers"]["X-Amz-Date"])
            assert re.match(AUTHORIZATION, request["headers"]["Authorization"])
            url = urlsplit(request["url"])
            assert f"{url.scheme}://{url.netloc}/" == sandbox.storage_url
            assert url.path.endswith(f"/instances/{instance['sop_instance_uid']}")
            assert url.query == f"imageSetId={body['image_set_id']}"


def test_multi_frame_instance_is_listed_once_per_frame(
    demo: DemoInfo, dicom, instances: list[dict]
) -> None:
    single, multi = ([i["sop_instance_uid"] for i in body["instances"]] for body in instances)
    assert single == demo.dicom_images[dicom[0]] and len(set(single)) == 3
    unique = demo.dicom_images[dicom[1]]
    assert len(multi) == 5 and list(dict.fromkeys(multi)) == unique
    assert multi.count(unique[1]) == 3


def test_instance_requests_download_dicom_files_without_the_token(
    instances: list[dict], tmp_path: Path
) -> None:
    for body in instances:
        for instance in body["instances"]:
            response = httpx.request(**instance["get_instance"])
            assert response.status_code == 200, response.text
            assert response.headers["content-type"] == "application/dicom"
            assert response.content[128:132] == b"DICM"
            path = tmp_path / f"{instance['sop_instance_uid']}.dcm"
            path.write_bytes(response.content)
            image = sitk.ReadImage(str(path))
            assert image.GetMetaData("0008|0018") == instance["sop_instance_uid"]


def test_instance_requests_refuse_changed_or_missing_signed_headers(
    editor: httpx.Client, instances: list[dict]
) -> None:
    request = instances[0]["instances"][0]["get_instance"]
    url, headers = request["url"], request["headers"]
    assert httpx.get(url).status_code == 403
    token = editor.headers["authorization"]
    refused = [
        {**headers, "Authorization": token},  # the GC token is no signature
        {k: v for k, v in headers.items() if k != "Accept"},
        {**headers, "Accept": "application/dicom"},
        {**headers, "X-Amz-Date": "20200101T000000Z"},
    ]
    for changed in refused:
        response = httpx.get(url, headers=changed)
        assert response.status_code == 403
        assert set(response.json()) == {"message"}
    other = instances[0]["instances"][1]["get_instance"]["url"]
    assert httpx.get(other, headers=headers).status_code == 403
    assert httpx.head(url, headers=headers).status_code == 200


def test_instance_requests_expire(sandbox: Sandbox, instances: list[dict]) -> None:
    request = instances[0]["instances"][0]["get_instance"]
    url = urlsplit(request["url"])
    signer = DicomRequest(signer_for(sandbox.settings))
    stale = time.time() - signer.signer.lifetime - 60
    headers = signer.headers("GET", url.netloc, url.path, url.query, ACCEPT, now=stale)
    response = httpx.get(request["url"], headers=headers)
    assert response.status_code == 403
    assert response.json() == {"message": "Signature expired."}
    fresh = signer.headers("GET", url.netloc, url.path, url.query, ACCEPT, now=None)
    assert httpx.get(request["url"], headers=fresh).status_code == 200


def test_expired_fault_hands_out_expired_instance_requests(
    faulty: Sandbox, demo: DemoInfo, dicom
) -> None:
    faulty.set_faults(FaultSettings(rules=(Fault("expired", first=1),)))
    auth = {"Authorization": f"Bearer {demo.tokens['editor']}"}
    path = f"cases/images/{dicom[0]}/dicom/instances/"
    with httpx.Client(base_url=faulty.base_url, headers=auth) as client:
        stale = client.get(path).json()["instances"][0]["get_instance"]
        fresh = client.get(path).json()["instances"][0]["get_instance"]
    assert httpx.request(**stale).status_code == 403
    assert httpx.request(**fresh).status_code == 200


def test_dicom_instances_follow_image_visibility(
    sandbox: Sandbox, demo: DemoInfo, editor: httpx.Client, dicom
) -> None:
    def get(token: str | None, pk: str) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.get(f"{sandbox.base_url}cases/images/{pk}/dicom/instances/", headers=headers)

    archive_image, study_image = dicom
    assert get(demo.tokens["viewer"], archive_image).status_code == 200  # an archive user
    assert get(demo.tokens["viewer"], study_image).status_code == 200  # a reader
    missing = get(demo.tokens["outsider"], archive_image)
    assert missing.status_code == 404
    assert missing.json() == {"detail": "No Image matches the given query."}
    assert get(None, archive_image).status_code == 401
    assert get(demo.tokens["editor"], "not-a-uuid").json() == {"detail": "Not found."}
    plain = editor.get("cases/images/", params={"limit": "1"}).json()["results"][0]
    assert plain["dicom_image_set"] is None
    response = get(demo.tokens["editor"], plain["pk"])
    assert response.status_code == 404
    assert response.json() == {"detail": "This image does not have a DICOM Image Set."}
