"""Fixtures for the fidelity checks: the official gcapi in venvs of its own, a TLS sandbox."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest

from gcfetch.sandbox import Sandbox, SandboxSettings

GCAPI_VERSIONS = ("0.13.4", "0.16.1")
REPO = Path(__file__).resolve().parents[2]
SCRIPTS = Path(__file__).parent / "scripts"
EXAMPLES = REPO / "examples"
_IMPORT = re.compile(r"^import gcfetch as gcapi$|^import gcapi$", re.MULTILINE)
GCFETCH = "gcfetch"


def _load_gcapi_venv() -> ModuleType:
    """benchmarks/gcapi_venv.py, shared with the benchmarks; loaded by path (not on sys.path)."""
    spec = importlib.util.spec_from_file_location("gcapi_venv", REPO / "benchmarks/gcapi_venv.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_gcapi_venv = _load_gcapi_venv()


@dataclass(frozen=True)
class Runner:
    """Runs one of the scripts with gcapi `version`, or with gcfetch when version is GCFETCH."""

    version: str
    python: Path
    ca_path: Path
    work: Path

    def run(self, script: str, *args: str, token: str | None) -> subprocess.CompletedProcess[str]:
        """Run `script` (from tests/compat/scripts/ or examples/) with this runner's client."""
        source = SCRIPTS / script if (SCRIPTS / script).exists() else EXAMPLES / script
        wanted = "import gcfetch as gcapi" if self.version == GCFETCH else "import gcapi"
        copy = self.work / f"{self.version}_{script}"
        copy.write_text(_IMPORT.sub(wanted, source.read_text(), count=1))
        env = {k: v for k, v in os.environ.items() if not k.startswith("GRAND_CHALLENGE")}
        env["SSL_CERT_FILE"] = str(self.ca_path)
        if token is not None:
            env["GRAND_CHALLENGE_AUTHORIZATION"] = token
        return subprocess.run(
            [str(self.python), str(copy), *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            cwd=self.work,
        )

    def run_json(self, script: str, *args: str, token: str | None) -> dict:
        done = self.run(script, *args, token=token)
        assert done.returncode == 0, f"{self.version} {script} failed:\n{done.stderr}"
        return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="session")
def tls_sandbox(demo_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    """A sandbox over HTTPS (trustme CA) on its own copy of the demo data."""
    data_dir = tmp_path_factory.mktemp("tls") / "data"
    shutil.copytree(demo_dir, data_dir)
    with Sandbox(SandboxSettings(data_dir=data_dir, tls=True)) as running:
        yield running


@pytest.fixture(scope="session")
def runners(tls_sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Runner]:
    """One runner per official gcapi version, and one for gcfetch in the project's venv."""
    assert tls_sandbox.ca_path is not None
    try:
        pythons = {version: _gcapi_venv.gcapi_python(version) for version in GCAPI_VERSIONS}
    except _gcapi_venv.GcapiVenvMissing as exc:
        pytest.skip(str(exc))
    pythons[GCFETCH] = Path(sys.executable)
    return {
        version: Runner(version, python, tls_sandbox.ca_path, tmp_path_factory.mktemp(version))
        for version, python in pythons.items()
    }
