"""Faults on the download path, injected by a real sandbox (`gcfetch.sandbox.faults`).

Each test sets one fault rule on the module's own `faulty` sandbox and drives an HttpSession
whose waits are recorded instead of slept.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select
from tests.reliability.helpers import wait_idle

from gcfetch.http import HttpSession
from gcfetch.retry import RetryPolicy
from gcfetch.sandbox import Sandbox
from gcfetch.sandbox.demo import DemoInfo
from gcfetch.sandbox.faults import Fault, FaultSettings
from gcfetch.sandbox.tables import ImageFile
from gcfetch.transfer import download


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def http(faulty: Sandbox, demo: DemoInfo, sleeps: list[float]):
    session = HttpSession(
        faulty.base_url,
        demo.tokens["editor"],
        retry=RetryPolicy(rng=lambda: 0.5),
        sleep=sleeps.append,
    )
    yield session
    session.close()


@pytest.fixture(scope="module")
def blob(faulty: Sandbox) -> tuple[str, str, bytes]:
    """(`/media/` URL, storage key, bytes) of the largest image file of the demo (tens of kB)."""
    with faulty.apps.sessionmaker() as session:
        keys = list(session.scalars(select(ImageFile.key)))
    key = max(keys, key=lambda k: (faulty.settings.blob_dir / k).stat().st_size)
    url = faulty.settings.api_origin + "/media/" + key
    return url, key, (faulty.settings.blob_dir / key).read_bytes()


def _inject(sandbox: Sandbox, rule: Fault) -> None:
    sandbox.set_faults(FaultSettings(rules=(rule,)))
    sandbox.traffic.clear()


def test_request_waits_retry_after_then_succeeds_when_server_is_busy(
    faulty: Sandbox, http: HttpSession, sleeps: list[float]
) -> None:
    _inject(faulty, Fault("status", path="*/algorithms/", first=1, status=503, retry_after=3))
    assert http.request("GET", faulty.base_url + "algorithms/").status_code == 200
    assert sleeps == [3.0]


def test_transfer_truncates_part_when_ranged_request_gets_200(
    faulty: Sandbox, http: HttpSession, blob: tuple[str, str, bytes], tmp_path: Path
) -> None:
    url, key, body = blob
    target = tmp_path / "file.mha"
    Path(f"{target}.part").write_bytes(b"x" * 500)
    Path(f"{target}.part.json").write_text(json.dumps({"etag": '"stale"', "url": url}))
    faulty.traffic.clear()  # no fault: the sandbox's If-Range fails on the stale ETag
    result = download(http, url, target)
    wait_idle(faulty)
    storage = [r for r in faulty.traffic if r.origin == "storage" and r.path == "/" + key]
    assert storage[0].range == "bytes=500-" and storage[0].status == 200
    assert not result.resumed
    assert target.read_bytes() == body


def test_transfer_renews_link_via_media_url_when_storage_answers_403(
    faulty: Sandbox, http: HttpSession, blob: tuple[str, str, bytes], tmp_path: Path
) -> None:
    url, _, body = blob
    _inject(faulty, Fault("expired", first=1))
    result = download(http, url, tmp_path / "file.mha")
    assert result.size == len(body)
    wait_idle(faulty)
    served = list(faulty.traffic)
    assert [(r.origin, r.status) for r in served] == [
        ("api", 302),
        ("storage", 403),
        ("api", 302),
        ("storage", 200),
    ]
    assert not any(r.authorization for r in served if r.origin == "storage")


def test_transfer_resumes_with_range_when_connection_drops_mid_body(
    faulty: Sandbox, http: HttpSession, blob: tuple[str, str, bytes], tmp_path: Path
) -> None:
    url, key, body = blob
    _inject(faulty, Fault("drop", first=1, after_bytes=1000))
    result = download(http, url, tmp_path / "file.mha")
    assert result.resumed
    assert (tmp_path / "file.mha").read_bytes() == body
    assert result.bytes_received == len(body)
    wait_idle(faulty)
    ranges = [r.range for r in faulty.traffic if r.origin == "storage" and r.path == "/" + key]
    assert ranges == [None, "bytes=1000-"]
