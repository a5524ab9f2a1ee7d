"""The official gcapi in a cached venv of its own, shared by the benchmarks and the compat tests."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
VENV_CACHE = REPO / ".cache" / "compat"


def gcapi_python(version: str, cache: Path = VENV_CACHE) -> Path:
    """The interpreter of a cached venv holding gcapi==version from the registry."""
    venv = cache / f"gcapi-{version}"
    python = venv / "bin" / "python"
    ready = venv / ".ready"
    if not ready.exists():
        shutil.rmtree(venv, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run(
            [
                str(python),
                "-m",
                "pip",
                "install",
                "-q",
                "--disable-pip-version-check",
                f"gcapi=={version}",
            ],
            check=True,
        )
        ready.write_text(version)
    return python


def gcapi_ready(version: str, cache: Path = VENV_CACHE) -> bool:
    """True if the venv of gcapi==version is already built (no network needed)."""
    return (cache / f"gcapi-{version}" / ".ready").exists()
