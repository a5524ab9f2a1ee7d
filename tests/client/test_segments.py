"""Segmented downloads of large files against a real sandbox: N ranged requests in parallel,
resume of the missing pieces only, fallback to one stream, one link renewal for all pieces."""

from __future__ import annotations

import hashlib
import json
import random
import threading
from pathlib import Path

import pytest
from sqlalchemy import select
from tests.reliability.helpers import make_client, wait_idle

from gcfetch import Client
from gcfetch.errors import TransferCancelled
from gcfetch.sandbox import Sandbox
from gcfetch.sandbox.demo import DemoInfo
from gcfetch.sandbox.faults import FaultSettings
from gcfetch.sandbox.tables import ImageFile

SIZE = 1024 * 1024
THRESHOLD = 256 * 1024


@pytest.fixture(scope="module")
def large(faulty: Sandbox) -> tuple[str, bytes]:
    """(/media/ URL, bytes) of a .tif image file made SIZE random bytes long."""
    with faulty.apps.sessionmaker() as session:
        key = min(k for k in session.scalars(select(ImageFile.key)) if k.endswith(".tif"))
    data = random.Random(6).randbytes(SIZE)
    (faulty.settings.blob_dir / key).write_bytes(data)
    return f"{faulty.settings.api_origin}/media/{key}", data


def _client(sandbox: Sandbox, demo: DemoInfo, **kwargs) -> Client:
    kwargs.setdefault("segment_threshold", THRESHOLD)
    return make_client(sandbox, demo, **kwargs)


def _storage(sandbox: Sandbox, url: str) -> list:
    wait_idle(sandbox)
    key = "/" + url.split("/media/", 1)[1]
    return [r for r in sandbox.traffic if r.origin == "storage" and r.path == key]


def _media(sandbox: Sandbox, url: str) -> list:
    wait_idle(sandbox)
    path = "/media/" + url.split("/media/", 1)[1]
    return [r for r in sandbox.traffic if r.origin == "api" and r.path == path]


def test_segmented_download_writes_file_from_ranged_requests(
    faulty: Sandbox, demo: DemoInfo, large, tmp_path: Path
) -> None:
    url, data = large
    faulty.traffic.clear()
    with _client(faulty, demo) as client:
        result = client.download_file(url, tmp_path / "big.tif")
    assert (tmp_path / "big.tif").read_bytes() == data
    assert result.sha256 == hashlib.sha256(data).hexdigest() and result.size == SIZE
    assert not list(tmp_path.glob("*.part*"))
    served = _storage(faulty, url)
    # the first answer (no Range) carries the first piece; three ranged requests the others
    assert sorted(r.range or "" for r in served) == [
        "",
        "bytes=262144-524287",
        "bytes=524288-786431",
        "bytes=786432-1048575",
    ]
    assert all(r.status in (200, 206) and not r.authorization for r in served)
    assert len(_media(faulty, url)) == 1


def test_small_file_or_segments_off_is_one_stream(
    faulty: Sandbox, demo: DemoInfo, large, tmp_path: Path
) -> None:
    url, data = large
    faulty.traffic.clear()
    with _client(faulty, demo, segment_threshold=SIZE + 1) as client:
        client.download_file(url, tmp_path / "a.tif")
        client.download_file(url, tmp_path / "b.tif", segments=1, segment_threshold=THRESHOLD)
        client.download_file(url, tmp_path / "c.tif", segment_threshold=0)
    assert [r.range for r in _storage(faulty, url)] == [None, None, None]
    assert (tmp_path / "c.tif").read_bytes() == data


def test_segments_take_only_free_connection_slots(
    faulty: Sandbox, demo: DemoInfo, large, tmp_path: Path
) -> None:
    url, data = large
    faulty.traffic.clear()
    with _client(faulty, demo, max_concurrent_downloads=1, segments=8) as client:
        # a pool of 1 + 4 extra connections: the worker's slot and at most 4 more
        client.download_file(url, tmp_path / "big.tif")
    assert (tmp_path / "big.tif").read_bytes() == data
    assert len(_storage(faulty, url)) == 5


def test_cancelled_segmented_download_resumes_only_missing_bytes(
    faulty: Sandbox, demo: DemoInfo, large, tmp_path: Path
) -> None:
    url, data = large
    target = tmp_path / "big.tif"
    faulty.set_faults(FaultSettings(storage_bytes_per_second=SIZE))  # ~1 s per whole file
    cancel = threading.Event()
    seen = 0

    def on_bytes(count: int) -> None:
        nonlocal seen
        seen += count
        if seen >= SIZE // 3:
            cancel.set()

    with _client(faulty, demo) as client, pytest.raises(TransferCancelled):
        client.download_file(url, target, on_bytes=on_bytes, cancel=cancel)
    record = json.loads(target.with_name("big.tif.part.json").read_text())
    done = sum(next_byte - start for start, _, next_byte in record["pieces"])
    assert 0 < done < SIZE and len(record["pieces"]) == 4
    faulty.set_faults(FaultSettings())
    wait_idle(faulty)  # the cancelled answers are logged once the sandbox sees them closed
    faulty.traffic.clear()
    with _client(faulty, demo) as client:
        result = client.download_file(url, target)
    assert target.read_bytes() == data and result.resumed
    served = _storage(faulty, url)
    assert sum(r.body_bytes for r in served) == SIZE - done
    assert all(r.status == 206 for r in served)
