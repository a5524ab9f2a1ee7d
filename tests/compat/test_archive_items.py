"""The gcapi guide for archive items: gcapi and gcfetch make the same trees, DICOM included."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from gcfetch.sandbox import Sandbox
from gcfetch.sandbox.demo import DemoInfo

GCFETCH = "gcfetch"
ARCHIVE = "demo-archive"
EXAMPLE = "gcapi_download_archive_items.py"
RECORDS = {"manifest.jsonl", "results.csv", "items.jsonl"}


def _tree(root: Path) -> dict[str, bytes]:
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file() and path.name not in RECORDS
    }


def _assert_same(expected: dict[str, bytes], actual: dict[str, bytes]) -> None:
    """Same paths, same bytes; JSON, which gcapi re-serialises, compared parsed."""
    assert expected and sorted(actual) == sorted(expected)
    for relative, content in expected.items():
        if actual[relative] != content:
            assert relative.endswith(".json"), f"{relative} differs"
            assert json.loads(actual[relative]) == json.loads(content), f"{relative} differs"


def _guide(
    runner: Any, sandbox: Sandbox, demo: DemoInfo, style: str, name: str = ""
) -> dict[str, bytes]:
    out = runner.work / f"archive-{style}{name}"  # gcapi refuses to overwrite: a fresh one
    done = runner.run(
        EXAMPLE, sandbox.base_url, ARCHIVE, str(out), "--style", style,
        token=demo.tokens["editor"],
    )  # fmt: skip
    assert done.returncode == 0, f"{runner.version}: {done.stderr}"
    return _tree(out)


def test_items_guide_makes_the_same_tree_with_gcfetch_as_with_gcapi_0_16(
    runners: dict[str, Any], tls_sandbox: Sandbox, demo: DemoInfo
) -> None:
    gcapi = _guide(runners["0.16.1"], tls_sandbox, demo, "items")
    assert any(path.endswith(".dcm") for path in gcapi)  # the DICOM image set is in it
    _assert_same(gcapi, _guide(runners[GCFETCH], tls_sandbox, demo, "items"))


def test_images_guide_makes_the_same_tree_with_gcfetch_as_with_gcapi_0_13(
    runners: dict[str, Any], tls_sandbox: Sandbox, demo: DemoInfo
) -> None:
    gcapi = _guide(runners["0.13.4"], tls_sandbox, demo, "images")
    _assert_same(gcapi, _guide(runners[GCFETCH], tls_sandbox, demo, "images"))


def test_gcfetch_archive_makes_the_same_tree_as_the_guide_with_gcapi_0_16(
    runners: dict[str, Any], tls_sandbox: Sandbox, demo: DemoInfo, tmp_path: Path
) -> None:
    out = tmp_path / "archive"
    env = {
        **os.environ,
        "SSL_CERT_FILE": str(runners[GCFETCH].ca_path),
        "GRAND_CHALLENGE_AUTHORIZATION": demo.tokens["editor"],
    }
    command = [sys.executable, "-m", "gcfetch.cli", "archive", ARCHIVE, "-o", str(out), "-q"]
    command += ["--base-url", tls_sandbox.base_url]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    _assert_same(_guide(runners["0.16.1"], tls_sandbox, demo, "items", "-cli"), _tree(out))
