"""What `make demo` runs: start a sandbox with the demo data, list it through the API, stop it.

The sandbox runs as a subprocess (`gcfetch sandbox serve --demo`); everything else is plain
httpx against its API, as any client would do.
"""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

import httpx

DATA_DIR = Path(".demo-data")
SERVER_LIFETIME = 600  # seconds; the server stops by itself even if this script is killed


def start_sandbox() -> tuple[subprocess.Popen[str], dict[str, str]]:
    """Start `gcfetch sandbox serve --demo` and read its `key: value` lines."""
    command = [
        sys.executable,
        "-c",
        "from gcfetch.cli import main; main()",
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


def fetch_all(client: httpx.Client, path: str) -> list[dict]:
    """Every object of a list endpoint, following `next`."""
    results: list[dict] = []
    url: str | None = path
    while url:
        page = client.get(url, params={"limit": 1000} if url == path else None)
        page.raise_for_status()
        body = page.json()
        results += body["results"]
        url = body["next"]
    return results


def version_labels(algorithms: list[dict], images: list[dict]) -> dict[str, str]:
    """`<algorithm slug> v<n>` for each algorithm image's API URL (images come oldest first)."""
    slugs = {algorithm["api_url"]: algorithm["slug"] for algorithm in algorithms}
    seen: Counter[str] = Counter()
    labels = {}
    for image in images:
        slug = slugs.get(image["algorithm"], "?")
        seen[slug] += 1
        labels[image["api_url"]] = f"{slug} v{seen[slug]}"
    return labels


def main() -> None:
    server, info = start_sandbox()
    try:
        print(f"sandbox API at {info['base_url']} (token {info['token'][:8]}...)\n")
        headers = {"Authorization": f"Bearer {info['token']}"}
        with httpx.Client(base_url=info["base_url"], headers=headers, timeout=30) as client:
            algorithms = fetch_all(client, "algorithms/")
            print("Algorithms:")
            for algorithm in algorithms:
                print(f"  {algorithm['slug']:<24} {algorithm['pk']}  {algorithm['title']}")
            versions = version_labels(algorithms, fetch_all(client, "algorithms/images/"))
            jobs = fetch_all(client, "algorithms/jobs/")
        print(f"\nJobs ({len(jobs)} visible to the demo editor):")
        print(f"  {'pk':<36}  {'status':<30}  {'algorithm image':<26}  outputs")
        for job in jobs:
            version = versions.get(job["algorithm_image"], "(not visible)")
            print(f"  {job['pk']}  {job['status']:<30}  {version:<26}  {len(job['outputs'])}")
        print("\nJobs per status:")
        for status, count in Counter(job["status"] for job in jobs).most_common():
            print(f"  {status:<30} {count}")
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
