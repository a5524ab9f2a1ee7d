"""Blob makers for the demo data set: real images, documents and a streamed large `.mha`.

Each maker writes one template file; `place()` then puts a template at many storage keys by
hard link (falling back to a copy), so a large data set costs no re-encoding.
"""

from __future__ import annotations

import gzip
import io
import json
import math
import os
import shutil
import tarfile
from pathlib import Path
from typing import Any

import numpy as np
import SimpleITK as sitk

_CHUNK = 1024 * 1024


def place(template: Path, target: Path) -> None:
    """Put `template`'s bytes at `target`: a hard link where possible, else a copy."""
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(template, target)
    except OSError:
        shutil.copyfile(template, target)


def write_bytes(target: Path, data: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)


def _ball(shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    """A smooth blob at a random centre, values in [0, 1]."""
    grids = np.meshgrid(*(np.linspace(-1, 1, n) for n in shape), indexing="ij")
    centre = rng.uniform(-0.4, 0.4, size=len(shape))
    dist2 = sum((g - c) ** 2 for g, c in zip(grids, centre, strict=True))
    return np.exp(-dist2 / 0.15)


def write_ct_image(target: Path, rng: np.random.Generator) -> dict[str, Any]:
    """A small 3D int16 CT-like volume as compressed `.mha`; returns its Image fields."""
    shape = (8, 48, 48)
    noise = rng.normal(0, 30, size=shape)
    data = (-1000 + 1100 * _ball(shape, rng) + noise).astype(np.int16)
    return _write_sitk(
        target,
        data,
        spacing=(0.7, 0.7, 2.5),
        extra={"modality": {"modality": "CT"}, "window_center": 40.0, "window_width": 400.0},
    )


def write_segmentation(target: Path, rng: np.random.Generator) -> dict[str, Any]:
    """A 3D uint8 label map (0, 1, 2) as compressed `.mha`."""
    ball = _ball((8, 48, 48), rng)
    data = (ball > 0.3).astype(np.uint8) + (ball > 0.7).astype(np.uint8)
    return _write_sitk(target, data, spacing=(0.7, 0.7, 2.5), extra={"segments": [0, 1, 2]})


def write_heat_map(target: Path, rng: np.random.Generator) -> dict[str, Any]:
    """A 3D float32 probability map as compressed `.mha`."""
    data = _ball((8, 48, 48), rng).astype(np.float32)
    return _write_sitk(target, data, spacing=(0.7, 0.7, 2.5), extra={})


def write_tiff(target: Path, rng: np.random.Generator) -> dict[str, Any]:
    """A 2D uint8 overlay as `.tif`."""
    data = (255 * _ball((96, 128), rng)).astype(np.uint8)
    return _write_sitk(target, data, spacing=(0.25, 0.25), extra={})


def write_png(target: Path, rng: np.random.Generator) -> None:
    """A small grayscale PNG thumbnail."""
    data = (255 * _ball((32, 32), rng)).astype(np.uint8)
    target.parent.mkdir(parents=True, exist_ok=True)
    sitk.WriteImage(sitk.GetImageFromArray(data), str(target))


def _write_sitk(
    target: Path, data: np.ndarray, *, spacing: tuple[float, ...], extra: dict[str, Any]
) -> dict[str, Any]:
    target.parent.mkdir(parents=True, exist_ok=True)
    image = sitk.GetImageFromArray(data)
    image.SetSpacing(spacing)
    sitk.WriteImage(image, str(target), useCompression=target.suffix == ".mha")
    return _image_fields(list(data.shape), spacing) | extra


def _image_fields(shape: list[int], spacing: tuple[float, ...]) -> dict[str, Any]:
    """width/height/depth plus the `extra` fields of an Image of this shape (z, y, x order)."""
    fields: dict[str, Any] = {
        "width": shape[-1],
        "height": shape[-2],
        "depth": shape[-3] if len(shape) > 2 else None,
        "shape": shape,
        "shape_without_color": shape,
        "voxel_width_mm": spacing[0],
        "voxel_height_mm": spacing[1],
        "voxel_depth_mm": spacing[2] if len(spacing) > 2 else None,
    }
    return fields


BENCH_SHAPE = (8, 256, 256)  # float32: 2 MiB
BENCH_SMALL_SHAPE = (5, 32, 32)  # float32: 20 KiB


def write_bench_image(
    target: Path, rng: np.random.Generator, shape: tuple[int, int, int] = BENCH_SHAPE
) -> dict[str, Any]:
    """A 3D float32 probability map as uncompressed `.mha` (the benchmark's image, 2 MiB)."""
    data = (_ball(shape, rng) + rng.normal(0, 0.01, shape)).astype(np.float32)
    target.parent.mkdir(parents=True, exist_ok=True)
    image = sitk.GetImageFromArray(data)
    image.SetSpacing((0.7, 0.7, 2.5))
    sitk.WriteImage(image, str(target), useCompression=False)
    return _image_fields(list(data.shape), (0.7, 0.7, 2.5))


def bench_json_bytes(rng: np.random.Generator, findings: int = 600) -> bytes:
    """About 50 KB of GC-style JSON: a list of findings with coordinates and probabilities."""
    points = rng.uniform(0, 256, size=(findings, 3)).round(3).tolist()
    scores = rng.uniform(0, 1, size=findings).round(5).tolist()
    return gc_json_bytes(
        {
            "type": "Multiple points",
            "points": [
                {"name": f"finding-{n}", "point": point, "probability": score}
                for n, (point, score) in enumerate(zip(points, scores, strict=True))
            ],
            "version": {"major": 1, "minor": 0},
        }
    )


def write_large_mha(target: Path, mib: int, seed: int) -> dict[str, Any]:
    """An uncompressed uint8 `.mha` of 1024 x 1024 x `mib` voxels, streamed in 1 MiB chunks."""
    header = (
        "ObjectType = Image\nNDims = 3\nBinaryData = True\nBinaryDataByteOrderMSB = False\n"
        "CompressedData = False\nTransformMatrix = 1 0 0 0 1 0 0 0 1\nOffset = 0 0 0\n"
        "CenterOfRotation = 0 0 0\nAnatomicalOrientation = RAI\nElementSpacing = 1 1 1\n"
        f"DimSize = 1024 1024 {mib}\nElementType = MET_UCHAR\nElementDataFile = LOCAL\n"
    )
    chunk = np.random.default_rng(seed).integers(0, 256, _CHUNK, dtype=np.uint8).tobytes()
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("wb") as out:
        out.write(header.encode("ascii"))
        for _ in range(mib):
            out.write(chunk)
    return _image_fields([mib, 1024, 1024], (1.0, 1.0, 1.0))


def pdf_bytes(title: str) -> bytes:
    """A minimal valid one-page PDF showing `title`."""
    text = title.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    stream = f"BT /F1 18 Tf 72 720 Td ({text}) Tj ET".encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n%s\nendobj\n" % (number, body))
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(
        b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    )
    return out.getvalue()


def tarball_bytes(name: str) -> bytes:
    """A deterministic gzipped tar holding one small file, standing in for a container image."""
    payload = f"container image {name}\n".encode()
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        info = tarfile.TarInfo("manifest.txt")
        info.size = len(payload)
        tar.addfile(info, io.BytesIO(payload))
    return gzip.compress(raw.getvalue(), mtime=0)


def gc_json_bytes(value: Any) -> bytes:
    """JSON as GC stores an output file: one line, default separators, NaN/Infinity as null."""
    return json.dumps(_finite(value)).encode()


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value
