"""The Download Outputs guide's loop with gcapi 0.16's `download_socket_value`.

Usage: gcapi_loop.py BASE_URL ALGORITHM_SLUG OUTPUT_DIR (token in GRAND_CHALLENGE_AUTHORIZATION).
Runs in gcapi's own venv; only succeeded jobs are downloaded, as in the guide.
"""

import sys
from pathlib import Path

import gcapi

base_url, algorithm_slug, output_dir = sys.argv[1:4]
client = gcapi.Client(base_url=base_url)
algorithm = client.algorithms.detail(slug=algorithm_slug)
jobs = client.algorithm_jobs.iterate_all(params={"algorithm_image__algorithm": algorithm.pk})

output_path = Path(output_dir)
for job in jobs:
    if job.status != "Succeeded":
        continue
    item_path = output_path / job.pk
    item_path.mkdir(parents=True, exist_ok=True)
    for socket_value in job.outputs:
        client.download_socket_value(socket_value, output_directory=item_path)
