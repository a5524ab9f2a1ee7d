"""A segmented download killed (SIGKILL) mid-file resumes only the missing bytes of its pieces."""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import select
from tests.reliability.helpers import make_client, wait_idle

from gcfetch.sandbox import Sandbox
from gcfetch.sandbox.demo import DemoInfo
from gcfetch.sandbox.faults import FaultSettings
from gcfetch.sandbox.tables import ImageFile

SIZE = 2 * 1024 * 1024
SCRIPT = """
import sys
from gcfetch import Client
with Client(token=sys.argv[1], base_url=sys.argv[2], segment_threshold=256 * 1024) as client:
    client.download_file(sys.argv[3], sys.argv[4])
"""


def _recorded(sidecar: Path) -> list[list[int]]:
    try:
        return json.loads(sidecar.read_text()).get("pieces", [])
    except (OSError, ValueError):
        return []


def test_killed_segmented_download_resumes_only_missing_bytes(
    fresh_sandbox: Sandbox, demo: DemoInfo, tmp_path: Path
) -> None:
    with fresh_sandbox.apps.sessionmaker() as session:
        key = min(k for k in session.scalars(select(ImageFile.key)) if k.endswith(".tif"))
    data = random.Random(5).randbytes(SIZE)
    (fresh_sandbox.settings.blob_dir / key).write_bytes(data)
    url = f"{fresh_sandbox.settings.api_origin}/media/{key}"
    target = tmp_path / "big.tif"
    sidecar = tmp_path / "big.tif.part.json"
    fresh_sandbox.set_faults(FaultSettings(storage_conn_bytes_per_second=1024 * 1024))
    command = [sys.executable, "-c", SCRIPT, demo.tokens["editor"], fresh_sandbox.base_url]
    process = subprocess.Popen([*command, url, str(target)], env=os.environ.copy())
    deadline = time.monotonic() + 30
    # kill once every piece has recorded some bytes, well before the ~0.5 s the file takes
    while time.monotonic() < deadline and process.poll() is None:
        pieces = _recorded(sidecar)
        if len(pieces) == 4 and all(p[2] > p[0] for p in pieces):
            process.send_signal(signal.SIGKILL)
            break
        time.sleep(0.005)
    process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL and not target.exists()
    missing = sum(end - next_byte for _, end, next_byte in _recorded(sidecar))
    assert 0 < missing < SIZE
    fresh_sandbox.set_faults(FaultSettings())
    wait_idle(fresh_sandbox)
    fresh_sandbox.traffic.clear()
    with make_client(fresh_sandbox, demo, segment_threshold=256 * 1024) as client:
        result = client.download_file(url, target)
    assert target.read_bytes() == data and result.resumed
    assert result.sha256 == hashlib.sha256(data).hexdigest()
    wait_idle(fresh_sandbox)
    served = [r for r in fresh_sandbox.traffic if r.origin == "storage" and r.path == "/" + key]
    assert all(r.status == 206 and r.range for r in served)
    assert sum(r.body_bytes for r in served) == missing == result.bytes_received
