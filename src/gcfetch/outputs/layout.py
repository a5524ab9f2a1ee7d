"""Where and how outputs land: gcapi's layout (the default) or an evaluation container's.

default: `<job pk>/<relative_path>`, as gcapi 0.16's `download_socket_value` writes: an image
as `<relative_path>/<image pk>.<ext>` for each of its files, a value as `json.dumps(value,
indent=2)`.

evaluation: `<job pk>/output/<relative_path>`, as Grand Challenge provisions algorithm outputs
for an evaluation container (`input_prefixes` of `<job pk>/output/`, then the socket's
relative path): an image as its stored file's own name (only the MHD and TIFF files, the ones
GC copies), a value as compact `json.dumps(value)`, a file as its bytes.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Literal

from gcfetch.paths import image_file_name, stored_file_name

if TYPE_CHECKING:
    from gcfetch.models import ImageFile

LayoutName = Literal["default", "evaluation"]
LAYOUTS: tuple[LayoutName, ...] = ("default", "evaluation")


class Layout:
    """gcapi's layout."""

    name: LayoutName = "default"

    def job_parts(self, job_pk: str) -> list[str]:
        """The directories of a job's outputs, below the destination."""
        return [job_pk]

    def value_text(self, value: Any) -> str:
        """A value output's file content."""
        return json.dumps(value, indent=2)

    def image_files(self, files: list[ImageFile]) -> list[ImageFile]:
        """The files of an image that are written."""
        return files

    def image_file_name(self, image_pk: str, file_url: str, *, under: str) -> str:
        """An image file's name in its output directory, checked to be safe."""
        return image_file_name(image_pk, file_url, under=under)


class EvaluationLayout(Layout):
    """What an evaluation container reads below `/input/`."""

    name: LayoutName = "evaluation"

    def job_parts(self, job_pk: str) -> list[str]:
        return [job_pk, "output"]

    def value_text(self, value: Any) -> str:
        return json.dumps(value)

    def image_files(self, files: list[ImageFile]) -> list[ImageFile]:
        return [file for file in files if file.image_type.upper() in ("MHD", "TIFF")]

    def image_file_name(self, image_pk: str, file_url: str, *, under: str) -> str:
        return stored_file_name(file_url, under=under)


def layout_named(name: str) -> Layout:
    """The layout called `name`; ValueError names the choices."""
    if name == "default":
        return Layout()
    if name == "evaluation":
        return EvaluationLayout()
    raise ValueError(f"layout must be one of {', '.join(LAYOUTS)}, not {name!r}")
