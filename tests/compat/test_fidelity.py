"""The official gcapi against the sandbox, and gcfetch against gcapi: same workflows, same trees."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from gcfetch.sandbox import Sandbox
from gcfetch.sandbox.demo import DemoInfo
from gcfetch.sandbox.tables import Job

GCFETCH = "gcfetch"  # the runner that imports gcfetch as gcapi
ALGORITHM = "lung-nodule-detector"
EXAMPLE = "gcapi_download_outputs.py"  # in examples/
RECORDS = {"manifest.jsonl", "results.csv", "jobs.jsonl", ".gcfetch.lock"}


def _tree(root: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(root)): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file() and path.name not in RECORDS
    }


def _file_outputs(sandbox: Sandbox, job_pks: set[str]) -> dict[str, bytes]:
    """The stored bytes of every file output of these jobs, by `<job pk>/<relative_path>`."""
    assert sandbox.apps is not None
    blobs = {}
    with sandbox.apps.sessionmaker() as session:
        for job in session.scalars(select(Job).where(Job.pk.in_(job_pks))):
            for value in job.outputs:
                if value.file_key is not None:
                    path = sandbox.settings.blob_dir / value.file_key
                    blobs[f"{job.pk}/{value.socket.relative_path}"] = path.read_bytes()
    return blobs


def assert_same_tree(gcapi_root: Path, gcfetch_root: Path, sandbox: Sandbox) -> int:
    """Same paths, same bytes; JSON file outputs, which gcapi re-serialises, compared parsed.

    Returns the number of files compared.
    """
    expected, actual = _tree(gcapi_root), _tree(gcfetch_root)
    assert sorted(actual) == sorted(expected)
    assert expected, "gcapi downloaded nothing: the comparison would prove nothing"
    for relative, content in expected.items():
        if actual[relative] != content:
            assert relative.endswith(".json"), f"{relative} differs"
            assert json.loads(actual[relative]) == json.loads(content), f"{relative} differs"
    blobs = _file_outputs(sandbox, {relative.split("/", 1)[0] for relative in actual})
    stored = {relative: blob for relative, blob in blobs.items() if relative in actual}
    assert any(relative.endswith(".json") for relative in stored)
    for relative, blob in stored.items():
        assert actual[relative] == blob, f"{relative} is not byte-identical to the stored file"
    return len(expected)


def _run_tree(
    runner: Any, style: str, sandbox: Sandbox, image: str | None, token: str, name: str
) -> Path:
    """Run examples/gcapi_download_outputs.py in `style`; returns the tree it made."""
    out = runner.work / name
    selection = ["--algorithm-image", image] if image else []
    done = runner.run(
        EXAMPLE, sandbox.base_url, ALGORITHM, str(out), "--style", style, *selection, token=token
    )
    assert done.returncode == 0, f"{runner.version}: {done.stderr}"
    return out


@pytest.mark.parametrize("by_image", [False, True], ids=["all-jobs", "one-image"])
def test_guide_loop_makes_the_same_tree_with_gcfetch_as_with_gcapi_0_13(
    runners: dict[str, Any], tls_sandbox: Sandbox, demo: DemoInfo, by_image: bool
) -> None:
    image = demo.algorithm_images[ALGORITHM][-1] if by_image else None
    name = f"guide-{by_image}"
    token = demo.tokens["editor"]
    trees = [
        _run_tree(runners[v], "guide", tls_sandbox, image, token, name) for v in ("0.13.4", GCFETCH)
    ]
    assert assert_same_tree(*trees, tls_sandbox) > 0


@pytest.mark.parametrize("by_image", [False, True], ids=["all-jobs", "one-image"])
def test_socket_value_loop_makes_the_same_tree_with_gcfetch_as_with_gcapi_0_16(
    runners: dict[str, Any], tls_sandbox: Sandbox, demo: DemoInfo, by_image: bool
) -> None:
    image = demo.algorithm_images[ALGORITHM][0] if by_image else None
    name = f"values-{by_image}"
    token = demo.tokens["editor"]
    trees = [
        _run_tree(runners[v], "socket-value", tls_sandbox, image, token, name)
        for v in ("0.16.1", GCFETCH)
    ]
    assert assert_same_tree(*trees, tls_sandbox) > 0


def test_gcfetch_outputs_makes_the_same_tree_as_gcapi_0_16(
    runners: dict[str, Any], tls_sandbox: Sandbox, demo: DemoInfo, tmp_path: Path
) -> None:
    token = demo.tokens["editor"]
    gcapi_tree = _run_tree(
        runners["0.16.1"], "socket-value", tls_sandbox, None, token, "for-outputs"
    )
    out = tmp_path / "download"
    env = {
        **os.environ,
        "SSL_CERT_FILE": str(runners[GCFETCH].ca_path),
        "GRAND_CHALLENGE_AUTHORIZATION": token,
    }
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "gcfetch.cli",
            "outputs",
            "--algorithm",
            ALGORITHM,
            "--base-url",
            tls_sandbox.base_url,
            "-o",
            str(out),
            "--quiet",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert (out / "manifest.jsonl").exists()
    assert assert_same_tree(gcapi_tree, out, tls_sandbox) > 0


def test_read_paths_give_the_same_answers_with_gcfetch_as_with_gcapi(
    runners: dict[str, Any], tls_sandbox: Sandbox, demo: DemoInfo
) -> None:
    token = demo.tokens["editor"]
    seen = {
        version: runner.run_json(
            "read_paths.py",
            tls_sandbox.base_url,
            ALGORITHM,
            str(runner.work / "read-paths"),
            token=token,
        )
        for version, runner in runners.items()
    }
    assert seen[GCFETCH] == seen["0.16.1"]
    old, new = dict(seen["0.13.4"]), dict(seen[GCFETCH])
    assert old.pop("downloaded") == [f"{old['image'][0]}.mha"]  # filename=<image pk>
    new.pop("downloaded")
    assert old == new
    assert seen[GCFETCH]["not_found"] == "ObjectNotFound"
    assert seen[GCFETCH]["page"][:3] == [1, 3, len(seen[GCFETCH]["iterate_all"])]


def _probe(runner: Any, sandbox: Sandbox, demo: DemoInfo, token: str | None) -> dict:
    image = demo.algorithm_images[ALGORITHM][0]
    return runner.run_json("auth_probe.py", sandbox.base_url, ALGORITHM, image, token=token)


@pytest.mark.parametrize("version", ["0.13.4", "0.16.1"])
def test_gcapi_fails_as_the_contract_predicts_without_token_with_bad_token_and_as_viewer(
    runners: dict[str, Any], tls_sandbox: Sandbox, demo: DemoInfo, version: str
) -> None:
    runner = runners[version]
    missing = _probe(runner, tls_sandbox, demo, None)
    assert (missing["step"], missing["error"]) == ("construct", "RuntimeError")
    assert "Token must be set" in missing["message"]

    wrong = _probe(runner, tls_sandbox, demo, "f" * 64)
    assert (wrong["step"], wrong["error"], wrong["status"]) == ("algorithm", "HTTPStatusError", 401)

    viewer = _probe(runner, tls_sandbox, demo, demo.tokens["viewer"])
    assert (viewer["step"], viewer["error"]) == ("algorithm_image", "ObjectNotFound")

    assert _probe(runner, tls_sandbox, demo, demo.tokens["editor"])["step"] == "done"


def test_gcfetch_fails_where_gcapi_fails_with_errors_a_gcapi_script_still_catches(
    runners: dict[str, Any], tls_sandbox: Sandbox, demo: DemoInfo
) -> None:
    runner = runners[GCFETCH]
    missing = _probe(runner, tls_sandbox, demo, None)
    assert missing["step"] == "construct"
    assert "RuntimeError" in missing["bases"]
    assert "GRAND_CHALLENGE_AUTHORIZATION" in missing["message"]

    wrong = _probe(runner, tls_sandbox, demo, "f" * 64)
    assert (wrong["step"], wrong["status"]) == ("algorithm", 401)
    assert "GRAND_CHALLENGE_AUTHORIZATION" in wrong["message"]
    assert "f" * 64 not in wrong["message"]

    viewer = _probe(runner, tls_sandbox, demo, demo.tokens["viewer"])
    assert (viewer["step"], viewer["error"]) == ("algorithm_image", "ObjectNotFound")
