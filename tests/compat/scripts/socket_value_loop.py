"""The guide's loop with gcapi 0.16's `download_socket_value`.

Usage: socket_value_loop.py BASE_URL ALGORITHM_SLUG ALGORITHM_IMAGE_PK|- OUTPUT_DIR
"""

import sys
from pathlib import Path

import gcapi

base_url, algorithm_slug, algorithm_image_pk, output_dir = sys.argv[1:5]
client = gcapi.Client(base_url=base_url)

if algorithm_image_pk == "-":
    algorithm = client.algorithms.detail(slug=algorithm_slug)
    jobs = client.algorithm_jobs.iterate_all(
        params={"algorithm_image__algorithm": algorithm.pk},
    )
else:
    algorithm_image = client.algorithm_images.detail(pk=algorithm_image_pk)
    algorithm = client.algorithms.detail(api_url=algorithm_image.algorithm)
    jobs = client.algorithm_jobs.iterate_all(
        params={"algorithm_image__algorithm": algorithm.pk},
    )
    jobs = [job for job in jobs if job.algorithm_image == algorithm_image.api_url]

output_path = Path(output_dir)

for job in jobs:
    if job.status != "Succeeded":
        continue
    item_path = output_path / job.pk
    item_path.mkdir(parents=True, exist_ok=True)
    for socket_value in job.outputs:
        client.download_socket_value(socket_value, output_directory=item_path)
