"""gcapi's DICOM image-set download; prints what it wrote (or the error it raised) as JSON.

Usage: dicom_download.py BASE_URL IMAGE_PK OUTPUT_DIR
"""

import json
import sys
from pathlib import Path

import gcapi

base_url, image_pk, output_dir = sys.argv[1:4]
client = gcapi.Client(base_url=base_url)
seen = {"error": None}
try:
    written = client.images.download(pk=image_pk, output_directory=output_dir)
    seen["returned"] = sorted(Path(p).name for p in written)
except Exception as exc:  # reported, for the test to compare
    seen["error"] = type(exc).__name__
out = Path(output_dir)
seen["files"] = sorted(p.name for p in out.iterdir()) if out.exists() else []
print(json.dumps(seen))
