"""The loopback limit: the same GETs as a downloader, concurrently, with nothing else.

Usage: raw_httpx.py BASE_URL ALGORITHM_SLUG OUTPUT_DIR WORKERS (token in
GRAND_CHALLENGE_AUTHORIZATION). Lists the jobs page by page; per output: the image's detail,
then per file the /media/ hop (with the token) and the storage hop (without), body to disk. No
checks, no hashing, no fsync, no resume: what a perfect downloader could reach on this server.
"""

import json
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

base_url, slug, output_dir, workers = sys.argv[1], sys.argv[2], Path(sys.argv[3]), int(sys.argv[4])
auth = {"Authorization": f"Bearer {os.environ['GRAND_CHALLENGE_AUTHORIZATION']}"}
limits = httpx.Limits(max_connections=workers + 4, max_keepalive_connections=workers + 4)
client = httpx.Client(limits=limits, timeout=60)


def fetch(media_url: str, target: Path) -> None:
    hop = client.get(media_url, headers=auth)
    target.parent.mkdir(parents=True, exist_ok=True)
    with client.stream("GET", hop.headers["Location"]) as body, target.open("wb") as out:
        body.raise_for_status()
        for chunk in body.iter_raw():
            out.write(chunk)


def output(job_dir: Path, value: dict) -> None:
    socket = value["interface"]
    target = job_dir / socket["relative_path"]
    if socket["super_kind"] == "Image":
        image = client.get(value["image"], headers=auth).json()
        for item in image["files"]:
            fetch(item["file"], target / f"{image['pk']}.{item['file'].rsplit('.', 1)[-1]}")
    elif socket["super_kind"] == "File":
        fetch(value["file"], target)
    else:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(value["value"], indent=2))


def main() -> None:
    found = client.get(f"{base_url}algorithms/", params={"slug": slug}, headers=auth).json()
    url = f"{base_url}algorithms/jobs/"
    params: dict | None = {"algorithm_image__algorithm": found["results"][0]["pk"], "limit": 100}
    with ThreadPoolExecutor(workers) as pool:
        futures = []
        while url:
            page = client.get(url, params=params, headers=auth).json()
            url, params = page["next"], None
            for job in page["results"]:
                if job["status"] == "Succeeded":
                    job_dir = output_dir / job["pk"]
                    futures += [pool.submit(output, job_dir, v) for v in job["outputs"]]
        for future in futures:
            future.result()


main()
