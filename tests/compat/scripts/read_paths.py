"""gcapi's other read paths; prints one JSON document of what it saw, for comparison.

Usage: read_paths.py BASE_URL ALGORITHM_SLUG OUTPUT_DIR
"""

import json
import sys
from pathlib import Path

import gcapi

base_url, algorithm_slug, output_dir = sys.argv[1:4]
client = gcapi.Client(base_url=base_url)
seen = {}

algorithm = client.algorithms.detail(slug=algorithm_slug)
seen["algorithm"] = [algorithm.pk, algorithm.slug, algorithm.api_url]
again = client.algorithms.detail(api_url=algorithm.api_url)
seen["algorithm_by_api_url"] = again.pk

page = client.algorithm_jobs.page(
    offset=1, limit=3, params={"algorithm_image__algorithm": algorithm.pk}
)
seen["page"] = [page.offset, page.limit, page.total_count, [job.pk for job in page]]

jobs = list(client.algorithm_jobs.iterate_all(params={"algorithm_image__algorithm": algorithm.pk}))
seen["iterate_all"] = [job.pk for job in jobs]

job = client.algorithm_jobs.detail(pk=jobs[0].pk)
seen["job"] = [job.pk, job.status, [o.interface.slug for o in job.outputs]]

image_url = next(o.image for j in jobs for o in j.outputs if o.image)
image_pk = image_url.rstrip("/").rsplit("/", 1)[-1]
image = client.images.detail(pk=image_pk)
image_types = [getattr(f.image_type, "value", f.image_type) for f in image.files]
seen["image"] = [image.pk, image.name, image_types]

socket = client.interfaces.detail(slug=job.outputs[0].interface.slug)
seen["interface"] = [socket.pk, socket.slug, socket.super_kind, socket.relative_path]

try:
    client.images.download(pk=image_pk, output_directory=Path(output_dir))
except TypeError:  # gcapi 0.13: filename= instead of output_directory=
    client.images.download(pk=image_pk, filename=Path(output_dir) / image_pk)
seen["downloaded"] = sorted(p.name for p in Path(output_dir).iterdir())

try:
    client.algorithm_jobs.detail(pk="00000000-0000-4000-8000-000000000000")
except gcapi.exceptions.ObjectNotFound as error:
    seen["not_found"] = type(error).__name__

print(json.dumps(seen, default=str))
