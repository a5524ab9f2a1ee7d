"""The "Download Outputs" guide's loop, gcapi 0.13 API, its two typos fixed.

Usage: guide_loop.py BASE_URL ALGORITHM_SLUG ALGORITHM_IMAGE_PK|- OUTPUT_DIR
The token comes from GRAND_CHALLENGE_AUTHORIZATION, as in gcapi. The only deviation from the
guide: jobs that did not succeed are skipped instead of failing its `assert`.
"""

import json
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
        filename = item_path / socket_value.interface.relative_path
        super_kind = socket_value.interface.super_kind.casefold()

        if super_kind == "image":
            client.images.download(
                url=socket_value.image,
                filename=filename,
            )
        elif super_kind == "value":
            filename.parent.mkdir(parents=True, exist_ok=True)
            with open(filename, "w") as f:
                json.dump(socket_value.value, f, indent=2)
        elif super_kind == "file":
            filename.parent.mkdir(parents=True, exist_ok=True)
            resp = client(url=socket_value.file, follow_redirects=True)
            if not isinstance(resp, (dict, list)):
                resp.raise_for_status()
                content = resp.content
            else:
                content = json.dumps(resp).encode()
            with open(filename, "wb") as f:
                f.write(content)
        else:
            raise ValueError(f"Unexpected super_kind {socket_value.interface.super_kind}")
