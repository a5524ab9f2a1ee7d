"""The gcapi guide "Download Outputs", as a script: run it with gcfetch or with the official gcapi.

    python examples/gcapi_download_outputs.py BASE_URL ALGORITHM_SLUG OUTPUT_DIR
        [--algorithm-image PK] [--style guide|socket-value]

The token comes from GRAND_CHALLENGE_AUTHORIZATION, as in gcapi. `--style guide` is the guide's
own loop (gcapi 0.13's API: `images.download(url=, filename=)`, the raw call for files,
`json.dump` for values); `--style socket-value` is the same with gcapi 0.14+'s
`client.download_socket_value`. `--algorithm-image` keeps the jobs of one algorithm image, as
the guide's tip does. The official client runs this file unchanged but for the import line.

The guide's typos are fixed (`client.algorithms`, `[job for job in jobs if ...]`) and so are
three bugs it has against a real server: parent folders of nested relative paths are created,
a JSON *file* comes back from the raw call already parsed (so it is re-serialised instead of
calling `raise_for_status()` on it), and jobs that did not succeed are skipped rather than
failing the guide's `assert`.
"""

import argparse
import json
from pathlib import Path

import gcfetch as gcapi

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("base_url")
parser.add_argument("algorithm_slug")
parser.add_argument("output_dir", type=Path)
parser.add_argument("--algorithm-image", metavar="PK")
parser.add_argument("--style", choices=("guide", "socket-value"), default="guide")
args = parser.parse_args()

client = gcapi.Client(base_url=args.base_url)

if args.algorithm_image is None:
    algorithm = client.algorithms.detail(slug=args.algorithm_slug)
    jobs = client.algorithm_jobs.iterate_all(
        params={"algorithm_image__algorithm": algorithm.pk},
    )
else:
    algorithm_image = client.algorithm_images.detail(pk=args.algorithm_image)
    algorithm = client.algorithms.detail(api_url=algorithm_image.algorithm)
    jobs = client.algorithm_jobs.iterate_all(
        params={"algorithm_image__algorithm": algorithm.pk},
    )
    jobs = [job for job in jobs if job.algorithm_image == algorithm_image.api_url]


def download_as_in_the_guide(socket_value, item_path: Path) -> None:
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


for job in jobs:
    if job.status != "Succeeded":
        continue

    item_path = args.output_dir / job.pk
    item_path.mkdir(parents=True, exist_ok=True)

    for socket_value in job.outputs:
        if args.style == "guide":
            download_as_in_the_guide(socket_value, item_path)
        else:
            client.download_socket_value(socket_value, output_directory=item_path)
