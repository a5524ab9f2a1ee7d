"""gcapi 0.16.1 downloads the sandbox's DICOM image sets (issue 16): `images.download` asks
`cases/images/<pk>/dicom/instances/` and streams each instance request with httpx, into
`<output_directory>/<sop_instance_uid>.dcm`."""

from __future__ import annotations

import ssl
from typing import Any

import httpx

from gcfetch.sandbox import Sandbox
from gcfetch.sandbox.demo import DemoInfo
from gcfetch.sandbox.storage import dicom_instance_key


def _image_set_id(sandbox: Sandbox, demo: DemoInfo, pk: str) -> str:
    headers = {"Authorization": f"Bearer {demo.tokens['editor']}"}
    url = f"{sandbox.base_url}cases/images/{pk}/"
    verify = ssl.create_default_context(cafile=str(sandbox.ca_path))
    image = httpx.get(url, headers=headers, verify=verify).json()
    return image["dicom_image_set"]["image_set_id"]


def test_gcapi_0_16_downloads_a_dicom_image_set(
    runners: dict[str, Any], tls_sandbox: Sandbox, demo: DemoInfo
) -> None:
    runner = runners["0.16.1"]
    pk = next(iter(demo.dicom_images))  # the archive's: single-frame instances only
    out = runner.work / "dicom-single"
    seen = runner.run_json(
        "dicom_download.py", tls_sandbox.base_url, pk, str(out), token=demo.tokens["editor"]
    )
    names = sorted(f"{sop}.dcm" for sop in demo.dicom_images[pk])
    assert seen == {"error": None, "returned": names, "files": names}
    image_set_id = _image_set_id(tls_sandbox, demo, pk)
    for sop in demo.dicom_images[pk]:
        stored = tls_sandbox.settings.blob_dir / dicom_instance_key(image_set_id, sop)
        assert (out / f"{sop}.dcm").read_bytes() == stored.read_bytes()


def test_gcapi_0_16_trips_over_a_multi_frame_instance(
    runners: dict[str, Any], tls_sandbox: Sandbox, demo: DemoInfo
) -> None:
    """GC lists a multi-frame instance once per frame; gcapi 0.16.1 downloads each listing
    into the same `<sop_instance_uid>.dcm` and raises FileExistsError when one finished
    before the next began (a race between its threads: it may also write the file twice)."""
    runner = runners["0.16.1"]
    pk = list(demo.dicom_images)[1]  # the reader study's: one instance has three frames
    out = runner.work / "dicom-multi"
    seen = runner.run_json(
        "dicom_download.py", tls_sandbox.base_url, pk, str(out), token=demo.tokens["editor"]
    )
    assert seen["error"] in (None, "FileExistsError")
    assert seen["files"] == sorted(f"{sop}.dcm" for sop in demo.dicom_images[pk])
