"""What `make demo` runs: the whole workflow against a local sandbox, offline.

1. start `gcfetch sandbox serve --demo` (it stops by itself after SERVER_LIFETIME seconds);
2. list the algorithms with `gcfetch.Client` and the jobs with `gcfetch jobs`;
3. `gcfetch outputs` downloads every output of the succeeded jobs into download/;
4. show the first rows of download/results.csv: each job's input image, then its values;
5. run `gcfetch outputs` again: nothing is transferred twice;
6. download in the evaluation layout into download/evaluation/input/ and run a tiny
   evaluation (examples/evaluate.py) on it, as a challenge's evaluation container would;
7. download the demo archive (MHA images, a DICOM image set, files, values) into
   download/archive/;
8. stop the sandbox.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import gcfetch
from gcfetch.sandbox.demo.info import DEMO_VERSION

DATA_DIR = Path(".demo-data")
DOWNLOAD_DIR = Path("download")
DEMO_MARKER = DOWNLOAD_DIR / ".made-by-make-demo"
EVALUATION_DIR = DOWNLOAD_DIR / "evaluation"
EVALUATE = Path(__file__).with_name("evaluate.py")
ARCHIVE, ARCHIVE_DIR = "demo-archive", DOWNLOAD_DIR / "archive"
ALGORITHM = "lung-nodule-detector"
SERVER_LIFETIME = 600  # seconds; the server stops by itself even if this script is killed
GCFETCH = [sys.executable, "-m", "gcfetch.cli"]


def start_sandbox() -> tuple[subprocess.Popen[str], dict[str, str]]:
    """Start `gcfetch sandbox serve --demo` and read its `key: value` lines."""
    command = [
        *GCFETCH,
        "sandbox",
        "serve",
        "--demo",
        "--data",
        str(DATA_DIR),
        "--lifetime",
        str(SERVER_LIFETIME),
    ]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    assert server.stdout is not None
    info: dict[str, str] = {}
    for line in server.stdout:
        if line.startswith("#"):
            break
        key, _, value = line.strip().partition(": ")
        info[key] = value
    if "base_url" not in info:
        server.wait()
        raise SystemExit(f"the sandbox did not start (exit code {server.returncode})")
    return server, info


def step(title: str) -> None:
    print(f"\n=== {title}", flush=True)


def gcfetch_cli(*args: str, env: dict[str, str]) -> None:
    """Run the `gcfetch` command as a user would; exit codes 0 and 1 are both shown."""
    print("$ gcfetch " + " ".join(args), flush=True)
    done = subprocess.run([*GCFETCH, *args], env=env)
    if done.returncode not in (0, 1):
        raise SystemExit(f"gcfetch {args[0]} exited with {done.returncode}")


def show_algorithms(info: dict[str, str]) -> None:
    step(f"Sandbox API at {info['base_url']}; algorithms visible to the demo editor")
    with gcfetch.Client(token=info["token"], base_url=info["base_url"]) as client:
        for algorithm in client.algorithms.iterate_all():
            print(f"  {algorithm.slug:<24} {algorithm.pk}  {algorithm.title}")


def download_and_show_results(env: dict[str, str]) -> None:
    step(f"Download every output of its succeeded jobs into {DOWNLOAD_DIR}/")
    gcfetch_cli("outputs", "--algorithm", ALGORITHM, "-o", str(DOWNLOAD_DIR), env=env)
    DEMO_MARKER.touch()
    step(f"First rows of {DOWNLOAD_DIR}/results.csv (input image name and pk, then values)")
    with (DOWNLOAD_DIR / "results.csv").open() as results:
        for _, row in zip(range(4), results, strict=False):
            print("  " + row.rstrip())


def evaluate_locally(env: dict[str, str]) -> None:
    """The evaluation layout, then a tiny evaluation reading it as a container reads /input."""
    step("The evaluation layout: what a challenge's evaluation container reads as /input")
    inputs, outputs = EVALUATION_DIR / "input", EVALUATION_DIR / "output"
    gcfetch_cli(
        "outputs", "-a", ALGORITHM, "--layout", "evaluation", "-q", "-o", str(inputs), env=env
    )
    print(f"  {inputs}/predictions.json and {inputs}/<job pk>/output/...")
    step(f"A tiny evaluation on it (python {EVALUATE.name} --input {inputs})")
    command = [sys.executable, str(EVALUATE), "--input", str(inputs), "--output", str(outputs)]
    subprocess.run(command, check=True)


def drop_outdated_demo_data() -> None:
    """Remove .demo-data/ if an older gcfetch built it (the demo has grown since)."""
    info = DATA_DIR / "demo.json"
    if info.exists() and json.loads(info.read_text()).get("version", 1) != DEMO_VERSION:
        print(f"{DATA_DIR}/ was built by an older gcfetch: building it again")
        shutil.rmtree(DATA_DIR)


def main() -> None:
    if DOWNLOAD_DIR.exists() and not DEMO_MARKER.exists():
        raise SystemExit(f"{DOWNLOAD_DIR}/ exists and was not made by make demo: move it away.")
    shutil.rmtree(DOWNLOAD_DIR, ignore_errors=True)
    drop_outdated_demo_data()
    server, info = start_sandbox()
    env = {
        **os.environ,
        "GRAND_CHALLENGE_API_URL": info["base_url"],
        "GRAND_CHALLENGE_AUTHORIZATION": info["token"],
    }
    try:
        show_algorithms(info)
        step(f"Jobs of {ALGORITHM}")
        gcfetch_cli("jobs", "--algorithm", ALGORITHM, env=env)
        download_and_show_results(env)
        step("The same command again: everything is already present, nothing is transferred")
        gcfetch_cli("outputs", "--algorithm", ALGORITHM, "-o", str(DOWNLOAD_DIR), env=env)
        evaluate_locally(env)
        step(f"The demo archive's items into {ARCHIVE_DIR}/ (a DICOM image set among them)")
        gcfetch_cli("archive", ARCHIVE, "-o", str(ARCHIVE_DIR), env=env)
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(f"\nDone. The outputs are in {DOWNLOAD_DIR}/; the sandbox has stopped.")


if __name__ == "__main__":
    main()
