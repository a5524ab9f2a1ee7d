"""The gcapi "Download Outputs" guide's loop, run with `import gcfetch as gcapi`.

Usage: guide_loop.py BASE_URL ALGORITHM_SLUG OUTPUT_DIR [TOKEN]
Without TOKEN the token comes from GRAND_CHALLENGE_AUTHORIZATION, as in gcapi.
The guide's code (gcapi 0.13 API) with its typos fixed: `client.algorithms` (not `algorithm`),
parent directories created for nested relative paths, and a JSON *file* accepted as parsed JSON
(gcapi returns it parsed because storage sends application/json, so `resp.raise_for_status()`
would fail on it). Jobs that did not succeed are skipped instead of failing the guide's assert.
"""

import json
import sys
from pathlib import Path

import gcfetch as gcapi

base_url, algorithm_slug, output_dir = sys.argv[1:4]
token = sys.argv[4] if len(sys.argv) > 4 else None
client = gcapi.Client(token=token, base_url=base_url)

algorithm = client.algorithms.detail(slug=algorithm_slug)
jobs = client.algorithm_jobs.iterate_all(
    params={"algorithm_image__algorithm": algorithm.pk},
)

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
            client.images.download(url=socket_value.image, filename=filename)
        elif super_kind == "value":
            filename.parent.mkdir(parents=True, exist_ok=True)
            with open(filename, "w") as f:
                json.dump(socket_value.value, f, indent=2)
        elif super_kind == "file":
            filename.parent.mkdir(parents=True, exist_ok=True)
            resp = client(url=socket_value.file, follow_redirects=True)
            if isinstance(resp, (dict, list)):
                content = json.dumps(resp).encode()
            else:
                resp.raise_for_status()
                content = resp.content
            with open(filename, "wb") as f:
                f.write(content)
        else:
            raise ValueError(f"Unexpected super_kind {socket_value.interface.super_kind}")
