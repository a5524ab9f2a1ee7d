"""The command line of each contender, and the signed storage URL curl needs."""

from __future__ import annotations

import sys
from pathlib import Path

import httpx

from benchmarks.server import Bench

SCRIPTS = Path(__file__).parent / "scripts"
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "gcapi_download_outputs.py"


def gcfetch(bench: Bench, out: Path, workers: int | None = None) -> list[str]:
    """`gcfetch outputs` as users run it; default settings unless `workers` is given."""
    command = [sys.executable, "-m", "gcfetch.cli", "outputs"]
    command += ["--algorithm", bench.info.public_algorithm, "-o", str(out)]
    command += ["--base-url", bench.base_url]
    return command + (["--workers", str(workers)] if workers else [])


def raw_httpx(bench: Bench, out: Path, workers: int) -> list[str]:
    """The loopback limit: the same GETs, `workers` at a time, nothing else."""
    script = str(SCRIPTS / "raw_httpx.py")
    slug = bench.info.public_algorithm
    return [sys.executable, script, bench.base_url, slug, str(out), str(workers)]


def gcapi_example(directory: Path) -> Path:
    """The project's example of the guide, its `import gcfetch as gcapi` made `import gcapi`."""
    source = EXAMPLE.read_text()
    rewritten = source.replace("\nimport gcfetch as gcapi\n", "\nimport gcapi\n", 1)
    if rewritten == source:
        raise RuntimeError(f"{EXAMPLE} has no 'import gcfetch as gcapi' line")
    directory.mkdir(parents=True, exist_ok=True)
    script = directory / EXAMPLE.name
    script.write_text(rewritten)
    return script


def gcapi_loop(bench: Bench, out: Path, python: Path, script: Path) -> list[str]:
    """The guide's loop with `download_socket_value` (the example rewritten by gcapi_example)."""
    command = [str(python), str(script), bench.base_url, bench.info.public_algorithm, str(out)]
    return [*command, "--style", "socket-value"]


def curl(bench: Bench, out: Path, url: str) -> list[str]:
    """curl fetching one signed storage URL straight to a file (the server's and disk's speed)."""
    target = str(out / "large.mha")
    ca = str(bench.sandbox.ca_path)
    return ["curl", "-sS", "--fail", "--create-dirs", "--cacert", ca, "-o", target, url]


def signed_url_of_large_file(bench: Bench) -> str:
    """Ask /media/ once for the large job's image file; return the signed storage URL."""
    auth = {"Authorization": f"Bearer {bench.token}"}
    with httpx.Client(verify=str(bench.sandbox.ca_path), headers=auth, timeout=60) as client:
        job = client.get(f"{bench.base_url}algorithms/jobs/{bench.info.large_file_job}/").json()
        image_url = next(v["image"] for v in job["outputs"] if v["image"])
        media_url = client.get(image_url).json()["files"][0]["file"]
        return client.get(media_url).headers["Location"]
