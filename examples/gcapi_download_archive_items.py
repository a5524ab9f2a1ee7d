"""The gcapi guide "Download archive items", as a script: run it with gcfetch or the official gcapi.

    python examples/gcapi_download_archive_items.py BASE_URL ARCHIVE_SLUG OUTPUT_DIR
        [--style items|images]

The token comes from GRAND_CHALLENGE_AUTHORIZATION, as in gcapi. `--style items` is the guide's
"complex archive items" loop: every value of every item through `client.download_socket_value`
(gcapi 0.14+), into `OUTPUT_DIR/<item pk>/<relative path>`. `--style images` is its
"image-only" loop over `client.images.iterate_all(params={"archive": ...})` (gcapi 0.13's
`images.download(files=, filename=)`). The official client runs this file unchanged but for the
import line.

Three bugs of the guide are fixed: the image-only loop names each file after `image.file`, which
images do not have (the image's pk is used, as gcapi does by default), and it calls
`images.download` without the `output_directory` that gcapi 0.14+ requires (the 0.13 form with
`filename=` is kept, which both gcapi 0.13 and gcfetch accept). An image converted from DICOM
has no files, and `images.download(files=[])` raises ValueError: the image-only loop skips it
(the items loop downloads its instances as `<relative path>/<SOP instance UID>.dcm`).
"""

import argparse
from pathlib import Path

import gcfetch as gcapi

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("base_url")
parser.add_argument("archive_slug")
parser.add_argument("output_dir", type=Path)
parser.add_argument("--style", choices=("items", "images"), default="items")
args = parser.parse_args()

client = gcapi.Client(base_url=args.base_url)
archive = client.archives.detail(slug=args.archive_slug)

if args.style == "images":
    images = client.images.iterate_all(params={"archive": archive.pk})
    for image in images:
        if image.files:  # an image converted from DICOM has none: gcapi raises on files=[]
            client.images.download(files=image.files, filename=Path(args.output_dir, image.pk))
else:
    archive_items = list(client.archive_items.iterate_all(params={"archive": archive.pk}))
    for item in archive_items:
        item_path = args.output_dir / item.pk
        item_path.mkdir(parents=True, exist_ok=True)
        for socket_value in item.values:
            client.download_socket_value(socket_value, output_directory=item_path)
