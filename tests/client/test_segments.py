"""Large files against a real sandbox: N ranged requests in parallel once one stream proves
slow, resume of the missing pieces only, fallback to one stream, one link renewal for all
pieces; a long one-stream body handed to the disk as it comes."""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import random
import shutil
import threading
from pathlib import Path

import pytest
from sqlalchemy import select
from tests.reliability.helpers import make_client, wait_idle

from gcfetch import Client, config, segments
from gcfetch.errors import TransferCancelled
from gcfetch.sandbox import Sandbox, SandboxSettings
from gcfetch.sandbox.demo import DemoInfo
from gcfetch.sandbox.faults import Fault, FaultSettings
from gcfetch.sandbox.tables import ImageFile

SIZE = 1024 * 1024
THRESHOLD = 256 * 1024
PIECES = ["", "bytes=262144-524287", "bytes=524288-786431", "bytes=786432-1048575"]


@pytest.fixture(autouse=True)
def _slow_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """The probe finds every stream slow at its first bytes: the pieces start at once (the
    probe itself is tested on a capped link at the end)."""
    monkeypatch.setattr(config, "SEGMENT_PROBE_SECONDS", 0.0)


def _large_file(sandbox: Sandbox) -> tuple[str, bytes]:
    """(/media/ URL, bytes) of a .tif image file made SIZE random bytes long."""
    with sandbox.apps.sessionmaker() as session:
        key = min(k for k in session.scalars(select(ImageFile.key)) if k.endswith(".tif"))
    data = random.Random(6).randbytes(SIZE)
    (sandbox.settings.blob_dir / key).write_bytes(data)
    return f"{sandbox.settings.api_origin}/media/{key}", data


@pytest.fixture(scope="module")
def large(faulty: Sandbox) -> tuple[str, bytes]:
    return _large_file(faulty)


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


def _cancelled_part(sandbox: Sandbox, demo: DemoInfo, url: str, target: Path) -> int:
    """Start a segmented download, each piece at 256 KiB/s (about 1 s), cancel it a third of
    the way (progress comes every 0.2 s or 256 KiB); bytes kept."""
    sandbox.set_faults(FaultSettings(storage_bytes_per_second=SIZE / 4))
    cancel = threading.Event()
    seen = 0

    def on_bytes(count: int) -> None:
        nonlocal seen
        seen += count
        if seen >= SIZE // 3:
            cancel.set()

    with _client(sandbox, demo) as client, pytest.raises(TransferCancelled):
        client.download_file(url, target, on_bytes=on_bytes, cancel=cancel)
    record = json.loads(target.with_name(target.name + ".part.json").read_text())
    assert len(record["pieces"]) == 4
    sandbox.set_faults(FaultSettings())
    wait_idle(sandbox)  # the cancelled answers are logged once the sandbox sees them closed
    return sum(next_byte - start for start, _, next_byte in record["pieces"])


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
    assert sorted(r.range or "" for r in served) == PIECES
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
    done = _cancelled_part(faulty, demo, url, target)
    assert 0 < done < SIZE
    faulty.traffic.clear()
    with _client(faulty, demo) as client:
        result = client.download_file(url, target)
    assert target.read_bytes() == data and result.resumed
    served = _storage(faulty, url)
    assert sum(r.body_bytes for r in served) == SIZE - done
    assert all(r.status == 206 for r in served)


def test_storage_ignoring_range_falls_back_to_one_stream(
    faulty: Sandbox, demo: DemoInfo, large, tmp_path: Path
) -> None:
    url, data = large
    faulty.set_faults(FaultSettings(rules=(Fault("norange", rate=1.0),)))
    faulty.traffic.clear()
    with _client(faulty, demo) as client:
        result = client.download_file(url, tmp_path / "big.tif")
    assert (tmp_path / "big.tif").read_bytes() == data and result.size == SIZE
    served = _storage(faulty, url)
    assert all(r.status == 200 for r in served)
    assert 1 <= sum(1 for r in served if r.range) <= 3  # pieces asked for, answered 200
    assert sum(1 for r in served if r.range is None) == 2  # the first answer, then one stream
    assert not list(tmp_path.glob("*.part*"))


def test_pieces_under_other_etags_start_over_as_one_stream(
    faulty: Sandbox, demo: DemoInfo, large, tmp_path: Path
) -> None:
    url, data = large
    faulty.set_faults(FaultSettings(rules=(Fault("etag", rate=1.0),)))  # a new ETag each time
    faulty.traffic.clear()
    with _client(faulty, demo) as client:
        client.download_file(url, tmp_path / "big.tif")
    assert (tmp_path / "big.tif").read_bytes() == data
    served = _storage(faulty, url)
    assert sum(1 for r in served if r.range is None) == 2  # the first answer, then one stream
    assert any(r.range is None and r.body_bytes == SIZE for r in served)


def test_expired_link_is_renewed_once_for_all_pieces(
    faulty: Sandbox, demo: DemoInfo, large, tmp_path: Path
) -> None:
    url, data = large
    target = tmp_path / "big.tif"
    _cancelled_part(faulty, demo, url, target)
    media_path = "/media/" + url.split("/media/", 1)[1]
    faulty.set_faults(FaultSettings(rules=(Fault("expired", first=1, path=media_path),)))
    faulty.traffic.clear()
    with _client(faulty, demo) as client:
        client.download_file(url, target)
    assert target.read_bytes() == data
    refused = [r for r in _storage(faulty, url) if r.status == 403]
    assert len(refused) >= 2  # the pieces saw the expired link ...
    assert len(_media(faulty, url)) == 2  # ... and one new /media/ request served them all


def test_more_pieces_than_segments_are_taken_in_turn(
    faulty: Sandbox, demo: DemoInfo, large, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, data = large
    monkeypatch.setattr(segments, "PIECE_MAX", 128 * 1024)  # 8 pieces for 5 connections
    faulty.traffic.clear()
    with _client(faulty, demo, max_concurrent_downloads=1, segments=8) as client:
        result = client.download_file(url, tmp_path / "big.tif")
    assert (tmp_path / "big.tif").read_bytes() == data
    assert result.sha256 == hashlib.sha256(data).hexdigest()
    assert sorted(r.range is None for r in _storage(faulty, url)) == [False] * 7 + [True]


def test_link_expiring_mid_file_is_renewed_once_for_the_later_pieces(
    demo_dir: Path, demo: DemoInfo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data_dir = tmp_path / "data"
    shutil.copytree(demo_dir, data_dir)
    # links live 2-3 s (whole seconds); each piece takes 4 s, so the second round of pieces
    # surely finds the link expired (2 s per piece was on the edge: flaky under load), and its
    # pieces, starting up to 2 s apart, share one renewal (1-2 s links made a loaded machine,
    # whose fsyncs delayed some pieces, renew twice)
    slow = FaultSettings(storage_conn_bytes_per_second=32 * 1024)
    settings = SandboxSettings(data_dir=data_dir, link_lifetime=2, faults=slow)
    monkeypatch.setattr(segments, "PIECE_MAX", 128 * 1024)  # 8 pieces for 4 segments
    with Sandbox(settings) as sandbox:
        url, data = _large_file(sandbox)
        with _client(sandbox, demo) as client:
            result = client.download_file(url, tmp_path / "big.tif")
        assert (tmp_path / "big.tif").read_bytes() == data
        assert result.sha256 == hashlib.sha256(data).hexdigest()
        served = _storage(sandbox, url)
        # the first later piece to find the link expired renews it; the others use the new one
        assert sum(1 for r in served if r.status == 403) >= 1
        assert sum(1 for r in served if r.status == 206) == 7
        assert len(_media(sandbox, url)) == 2


def test_images_download_follows_the_clients_segment_options(
    faulty: Sandbox, demo: DemoInfo, large, tmp_path: Path
) -> None:
    url, data = large
    faulty.traffic.clear()
    files = [{"file": url, "image_type": "TIFF"}]
    with _client(faulty, demo, segment_threshold=0) as client:
        client.images.download(files=files, output_directory=tmp_path / "off")
    with _client(faulty, demo) as client:
        client.images.download(files=files, output_directory=tmp_path / "on")
    ranges = [r.range for r in _storage(faulty, url)]
    assert ranges.count(None) == 2 and len(ranges) == 5  # one stream, then four segments
    assert [p.read_bytes() for p in (tmp_path / "on").iterdir()] == [data]


@pytest.mark.parametrize(("rate", "ranges"), [(4 * SIZE, [""]), (SIZE / 4, PIECES)])
def test_one_stream_goes_on_in_pieces_only_when_slow(
    faulty: Sandbox,
    demo: DemoInfo,
    large,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    rate: float,
    ranges: list[str],
) -> None:
    url, data = large
    # slow: the first 200 KiB take more than 0.2 s (under 1 MiB/s)
    monkeypatch.setattr(config, "SEGMENT_PROBE_SECONDS", 0.2)
    monkeypatch.setattr(config, "SEGMENT_PROBE_BYTES", 200 * 1024)
    faulty.set_faults(FaultSettings(storage_conn_bytes_per_second=rate))  # a long path
    faulty.traffic.clear()
    with _client(faulty, demo) as client:
        result = client.download_file(url, tmp_path / "big.tif")
    assert (tmp_path / "big.tif").read_bytes() == data
    assert result.sha256 == hashlib.sha256(data).hexdigest()
    # slow, the first answer's bytes so far (<= 192 KiB: a 64 KiB send, then paced) are kept
    # and it carries on the first piece
    assert sorted(r.range or "" for r in _storage(faulty, url)) == ranges


def test_long_body_is_handed_to_the_disk_as_it_comes(
    faulty: Sandbox, demo: DemoInfo, large, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, data = large
    monkeypatch.setattr(config, "WRITEBACK_EVERY", 256 * 1024)
    real, handed = os.posix_fadvise, []

    def recording(fd: int, offset: int, length: int, advice: int) -> None:
        handed.append((offset, length, advice))
        real(fd, offset, length, advice)

    monkeypatch.setattr(os, "posix_fadvise", recording)
    with _client(faulty, demo, segment_threshold=0) as client:
        result = client.download_file(url, tmp_path / "big.tif")
    assert result.sha256 == hashlib.sha256(data).hexdigest()
    # every range once, in order, from the first byte: (0, n), (n, m), ... within the file
    assert len(handed) >= 2 and handed[0][0] == 0
    assert all(a + n == b for (a, n, _), (b, _, _) in itertools.pairwise(handed))
    assert handed[-1][0] + handed[-1][1] <= SIZE
    assert {advice for *_, advice in handed} == {os.POSIX_FADV_DONTNEED}
