"""A body whose size is not announced, and a kill while a changed file starts over.

The sandbox's `nolength` fault sends bodies without Content-Length (chunked) and, as
`nolength=star`, 206 answers with `Content-Range: bytes a-b/*`; a `drop` firing with it ends
the body cleanly, short, as a dropped close-delimited body looks to a client.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select
from tests.reliability.helpers import make_client, wait_idle

from gcfetch import IntegrityError, config, transfer
from gcfetch.client import Client
from gcfetch.sandbox import Sandbox
from gcfetch.sandbox.demo import DemoInfo
from gcfetch.sandbox.fault_copies import changed_copy
from gcfetch.sandbox.faults import Fault, FaultSettings
from gcfetch.sandbox.tables import ImageFile
from gcfetch.transfer import download

NOLENGTH = Fault("nolength", rate=1.0)
STAR = Fault("nolength", rate=1.0, star_total=True)
DROP_ONCE = Fault("drop", first=1, after_bytes=1000)


class _Killed(BaseException):
    """Stands for a SIGKILL: nothing of gcfetch's may catch it."""


@pytest.fixture
def client(faulty: Sandbox, demo: DemoInfo):
    with make_client(faulty, demo) as c:
        yield c


@pytest.fixture(scope="module")
def blob(faulty: Sandbox, demo: DemoInfo) -> tuple[str, str, bytes]:
    """(`/media/` URL, storage key, bytes) of the largest image file of the demo (tens of kB)."""
    with faulty.apps.sessionmaker() as session:
        keys = list(session.scalars(select(ImageFile.key)))
    key = max(keys, key=lambda k: (faulty.settings.blob_dir / k).stat().st_size)
    url = faulty.settings.api_origin + "/media/" + key
    return url, key, (faulty.settings.blob_dir / key).read_bytes()


def _ranges(sandbox: Sandbox, key: str) -> list[str | None]:
    """The Range header of each storage request for `key`, in order."""
    wait_idle(sandbox)
    return [r.range for r in sandbox.traffic if r.origin == "storage" and r.path == "/" + key]


def _leftovers(target: Path) -> list[Path]:
    return [p for p in target.parent.iterdir() if p.name.startswith(target.name)]


def test_download_verifies_size_by_probe_when_body_is_chunked(
    faulty: Sandbox, client: Client, blob, tmp_path: Path
):
    url, key, data = blob
    faulty.set_faults(FaultSettings(rules=(NOLENGTH,)))
    faulty.traffic.clear()
    result = download(client.http, url, tmp_path / "file")
    assert (tmp_path / "file").read_bytes() == data and result.size == len(data)
    assert _ranges(faulty, key) == [None, "bytes=0-0"]  # the body, then the size probe


def test_download_never_promotes_short_chunked_body_when_probe_knows_size(
    faulty: Sandbox, client: Client, blob, tmp_path: Path
):
    url, _, data = blob
    faulty.set_faults(FaultSettings(rules=(NOLENGTH, DROP_ONCE)))
    target = tmp_path / "file"
    with pytest.raises(
        IntegrityError, match=f"received 1000 bytes but the server announced {len(data)}"
    ):
        download(client.http, url, target)
    assert _leftovers(target) == []
    assert download(client.http, url, target).size == len(data) and target.read_bytes() == data


def test_download_never_promotes_short_body_when_size_unknown_to_probe_too(
    faulty: Sandbox, client: Client, blob, tmp_path: Path
):
    url, _, _ = blob
    faulty.set_faults(FaultSettings(rules=(STAR, DROP_ONCE)))
    target = tmp_path / "file"
    with pytest.raises(IntegrityError, match="no size to check"):
        download(client.http, url, target)
    assert _leftovers(target) == []


def test_download_never_promotes_short_body_when_resume_total_is_star(
    faulty: Sandbox, client: Client, blob, tmp_path: Path
):
    url, _, data = blob
    whole = download(client.http, url, tmp_path / "whole")
    target = tmp_path / "file"
    Path(f"{target}.part").write_bytes(data[:500])
    Path(f"{target}.part.json").write_text(json.dumps({"etag": whole.etag, "url": url}))
    faulty.set_faults(FaultSettings(rules=(STAR, DROP_ONCE)))
    with pytest.raises(IntegrityError, match="no size to check"):
        download(client.http, url, target)
    assert _leftovers(target) == []


def test_download_is_not_corrupt_when_killed_after_sidecar_of_changed_file(
    faulty: Sandbox, client: Client, blob, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    url, key, data = blob
    monkeypatch.setattr(config, "WRITE_BLOCK", 1024)  # the blob is a file of several blocks
    whole = download(client.http, url, tmp_path / "whole")
    target = tmp_path / "file"
    part, sidecar = Path(f"{target}.part"), Path(f"{target}.part.json")
    part.write_bytes(data[:1000])  # a run stopped here, before the file changed
    sidecar.write_text(json.dumps({"etag": whole.etag, "url": url}))
    faulty.set_faults(FaultSettings(rules=(Fault("changed", rate=1.0),)))

    def write_then_die(path: Path, record: dict[str, object]) -> None:
        path.write_text(json.dumps(record))
        raise _Killed

    with monkeypatch.context() as patch:
        patch.setattr(transfer, "_write_json", write_then_die)
        with pytest.raises(_Killed):
            download(client.http, url, target)
    assert json.loads(sidecar.read_text())["etag"] != whole.etag
    assert part.stat().st_size == 0, "old bytes kept under the new ETag"

    download(client.http, url, target)
    source = faulty.settings.blob_dir / key
    assert target.read_bytes() == changed_copy(faulty.settings, key, source).read_bytes()


def test_small_file_of_changed_version_drops_old_sidecar_before_writing(
    faulty: Sandbox, client: Client, blob, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """A file of one block gets no sidecar of its own: the old version's goes first."""
    url, key, data = blob
    whole = download(client.http, url, tmp_path / "whole")
    target = tmp_path / "file"
    part, sidecar = Path(f"{target}.part"), Path(f"{target}.part.json")
    part.write_bytes(data[:1000])
    sidecar.write_text(json.dumps({"etag": whole.etag, "url": url}))
    faulty.set_faults(FaultSettings(rules=(Fault("changed", rate=1.0),)))

    def die(*args: object) -> None:
        raise _Killed

    with monkeypatch.context() as patch:
        patch.setattr(transfer, "_fill_part", die)
        with pytest.raises(_Killed):
            download(client.http, url, target)
    assert not sidecar.exists() and part.stat().st_size == 0

    download(client.http, url, target)
    source = faulty.settings.blob_dir / key
    assert target.read_bytes() == changed_copy(faulty.settings, key, source).read_bytes()


def test_download_starts_over_when_storage_ignores_if_range_for_a_changed_file(
    faulty: Sandbox, client: Client, blob, tmp_path: Path
):
    url, key, data = blob
    faulty.set_faults(FaultSettings())
    old = download(client.http, url, tmp_path / "old")
    target = tmp_path / "file"
    half = len(data) // 2
    target.with_name("file.part").write_bytes(data[:half])  # a .part of the old version
    sidecar = {"etag": old.etag, "url": url}
    target.with_name("file.part.json").write_text(json.dumps(sidecar))
    changed = Fault("changed", rate=1.0)
    faulty.set_faults(FaultSettings(rules=(changed, Fault("ifrange", rate=1.0))))
    faulty.traffic.clear()

    download(client.http, url, target)

    now = changed_copy(faulty.settings, key, faulty.settings.blob_dir / key).read_bytes()
    assert now != data and target.read_bytes() == now  # never old bytes followed by new ones
    assert _ranges(faulty, key)[0] == f"bytes={half}-"  # the resume was asked for first
