"""The official gcapi in a cached venv of its own, shared by the benchmarks and the compat tests."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
VENV_CACHE = REPO / ".cache" / "compat"


class GcapiVenvMissing(RuntimeError):
    """The venv of a gcapi version is not built and could not be built (no package registry)."""


def gcapi_python(version: str, cache: Path = VENV_CACHE) -> Path:
    """The interpreter of a cached venv holding gcapi==version from the registry.

    Raises GcapiVenvMissing, naming the venv and pip's last error line, when it cannot be built;
    a half-built venv is removed.
    """
    venv = cache / f"gcapi-{version}"
    python = venv / "bin" / "python"
    ready = venv / ".ready"
    if not ready.exists():
        shutil.rmtree(venv, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        pip = [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
        done = subprocess.run([*pip, f"gcapi=={version}"], capture_output=True, text=True)
        if done.returncode != 0:
            shutil.rmtree(venv, ignore_errors=True)
            said = [line for line in done.stderr.splitlines() if line.strip()]
            raise GcapiVenvMissing(
                f"gcapi {version} venv missing at {venv} and could not be built "
                f"({said[-1] if said else f'pip exited {done.returncode}'}); it needs the "
                "package registry once, e.g. a `make test` with the registry reachable."
            )
        ready.write_text(version)
    return python


def gcapi_ready(version: str, cache: Path = VENV_CACHE) -> bool:
    """True if the venv of gcapi==version is already built (no network needed)."""
    return (cache / f"gcapi-{version}" / ".ready").exists()
