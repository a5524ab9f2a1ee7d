"""Rows -> the exact JSON shapes of the contract (§4, §5). No row is ever returned raw.

Every absolute URL is built from the origin the request used (scheme, host and port), the
sandbox rule of §1.2, so that gcapi's host check passes whatever name the client chose.
JSON values come back with their object keys in PostgreSQL's jsonb order (shorter keys first,
then bytewise), as GC returns them, not in the order they were stored: clients must not rely
on key order. With `interface_only`, socket values have `interface` and no `socket`, the
shape of GC before `socket` was added.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from gcfetch.sandbox.tables import (
    Algorithm,
    AlgorithmImage,
    Archive,
    ArchiveItem,
    DisplaySet,
    Image,
    ImageFile,
    Job,
    ReaderStudy,
    Socket,
    SocketValue,
)

JSON_KINDS = frozenset(
    {
        "String", "Integer", "Float", "Bool", "Anything", "Chart", "2D bounding box",
        "Multiple 2D bounding boxes", "Distance measurement", "Multiple distance measurements",
        "Point", "Multiple points", "Polygon", "Multiple polygons", "Line", "Multiple lines",
        "Angle", "Multiple angles", "Ellipse", "Multiple ellipses", "Three-point angle",
        "Multiple three-point angles", "Affine transform registration", "Choice",
        "Multiple choice",
    }
)  # fmt: skip
FILE_KINDS = frozenset(
    {
        "CSV file", "ZIP file", "PDF file", "SQREG file", "Thumbnail jpg", "Thumbnail png",
        "OBJ file", "MP4 file", "Newick tree-format file", "BIOM format",
    }
)  # fmt: skip
IMAGE_KINDS = frozenset({"Image", "Segmentation", "Heat Map", "Displacement field",
                         "DICOM Image Set"})  # fmt: skip
THUMBNAIL_KINDS = frozenset({"Thumbnail jpg", "Thumbnail png"})

_COLOR_COMPONENTS = {"GRAY": 1, "RGB": 3, "RGBA": 4, "YCBCR": 3, "": 1}

# HyperlinkedImage fields that live in `Image.extra`, with the server's defaults.
IMAGE_EXTRA_DEFAULTS: Mapping[str, Any] = {
    "dicom_image_set": None,
    "modality": None,
    "eye_choice": "NA",
    "stereoscopic_choice": None,
    "field_of_view": None,
    "voxel_width_mm": None,
    "voxel_height_mm": None,
    "voxel_depth_mm": None,
    "patient_id": "",
    "patient_name": "",
    "patient_birth_date": None,
    "patient_age": "",
    "patient_sex": "",
    "study_date": None,
    "study_instance_uid": "",
    "series_instance_uid": "",
    "study_description": "",
    "series_description": "",
    "window_center": None,
    "window_width": None,
    "segments": None,
}

# ReaderStudySerializer fields that live in `ReaderStudy.extra`, with the model's defaults.
READER_STUDY_EXTRA_DEFAULTS: Mapping[str, Any] = {
    "help_text": "",
    "help_text_safe": "",
    "questions": [],
    "is_educational": False,
    "instant_verification": False,
    "has_ground_truth": False,
    "allow_answer_modification": False,
    "enable_autosaving": False,
    "allow_case_navigation": False,
    "allow_show_all_annotations": False,
    "roll_over_answers_for_n_cases": 0,
    "end_of_study_text_safe": "",
}


def iso_datetime(value: datetime) -> str:
    """DRF's rendering: ISO 8601 in UTC with `Z` (microseconds only when non-zero)."""
    aware = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    text = aware.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def iso_duration(seconds: float | None) -> str | None:
    """Django's `duration_iso_string`: `P<d>DT<HH>H<MM>M<SS>[.ffffff]S`; None stays None."""
    if seconds is None:
        return None
    duration = timedelta(seconds=seconds)
    sign = ""
    if duration < timedelta(0):
        sign, duration = "-", -duration
    minutes, secs = divmod(duration.seconds, 60)
    hours, minutes = divmod(minutes, 60)
    fraction = f".{duration.microseconds:06d}" if duration.microseconds else ""
    return f"{sign}P{duration.days}DT{hours:02d}H{minutes:02d}M{secs:02d}{fraction}S"


class Serializer:
    """Shapes rows for one request; `origin` is e.g. `http://127.0.0.1:8000` (no slash)."""

    def __init__(self, origin: str, *, interface_only: bool = False) -> None:
        self.origin = origin.rstrip("/")
        self.interface_only = interface_only
        self._api = f"{self.origin}/api/v1"
        self._sockets: dict[int, dict[str, Any]] = {}

    def media_url(self, key: str) -> str:
        return f"{self.origin}/media/{key}"

    def algorithm_api_url(self, pk: str) -> str:
        return f"{self._api}/algorithms/{pk}/"

    def algorithm_image_api_url(self, pk: str) -> str:
        return f"{self._api}/algorithms/images/{pk}/"

    def image_api_url(self, pk: str) -> str:
        return f"{self._api}/cases/images/{pk}/"

    def socket(self, socket: Socket) -> dict[str, Any]:
        """The Socket object; built once per socket and request, then shared."""
        if socket.pk not in self._sockets:
            self._sockets[socket.pk] = self._socket(socket)
        return self._sockets[socket.pk]

    def _socket(self, socket: Socket) -> dict[str, Any]:
        return {
            "title": socket.title,
            "description": socket.description,
            "slug": socket.slug,
            "kind": socket.kind,
            "pk": socket.pk,
            "default_value": socket.default_value,
            "super_kind": socket.super_kind,
            "relative_path": socket.relative_path,
            "overlay_segments": socket.overlay_segments or [],
            "look_up_table": socket.look_up_table,
        }

    def algorithm(self, algorithm: Algorithm, sockets: Mapping[str, Socket]) -> dict[str, Any]:
        """`sockets` maps slug -> Socket for every slug in `algorithm.interfaces`."""
        interfaces = [
            {
                "inputs": [self.socket(sockets[slug]) for slug in combo.get("inputs", [])],
                "outputs": [self.socket(sockets[slug]) for slug in combo.get("outputs", [])],
            }
            for combo in algorithm.interfaces or []
        ]
        return {
            "api_url": self.algorithm_api_url(algorithm.pk),
            "url": f"{self.origin}/algorithms/{algorithm.slug}/",
            "description": algorithm.description,
            "pk": algorithm.pk,
            "title": algorithm.title,
            "logo": algorithm.logo,
            "slug": algorithm.slug,
            "average_duration": algorithm.average_duration,
            "interfaces": interfaces,
        }

    def algorithm_image(self, image: AlgorithmImage) -> dict[str, Any]:
        return {
            "pk": image.pk,
            "url": f"{self.origin}/algorithms/{image.algorithm.slug}/images/{image.pk}/",
            "api_url": self.algorithm_image_api_url(image.pk),
            "algorithm": self.algorithm_api_url(image.algorithm_pk),
            "created": iso_datetime(image.created),
            "import_status": image.import_status,
            "image": self.media_url(image.image_key) if image.image_key else None,
        }

    def socket_value(self, value: SocketValue) -> dict[str, Any]:
        socket = self.socket(value.socket)
        super_kind = value.socket.super_kind
        file_url = None
        if super_kind == "File" and value.file_key:
            file_url = self.media_url(value.file_key)
        image_url = None
        if super_kind == "Image" and value.image_pk:
            image_url = self.image_api_url(value.image_pk)
        shaped = {
            "socket": socket,
            "interface": socket,
            "value": jsonb_order(value.value) if super_kind == "Value" else None,
            "file": file_url,
            "image": image_url,
            "pk": value.pk,
        }
        if self.interface_only:
            del shaped["socket"]
        return shaped

    def job(self, job: Job) -> dict[str, Any]:
        algorithm = job.algorithm_image.algorithm
        return {
            "pk": job.pk,
            "url": f"{self.origin}/algorithms/{algorithm.slug}/jobs/{job.pk}/",
            "api_url": f"{self._api}/algorithms/jobs/{job.pk}/",
            "algorithm_image": self.algorithm_image_api_url(job.algorithm_image_pk),
            "algorithm": self.algorithm_api_url(algorithm.pk),
            "inputs": [self.socket_value(v) for v in sort_socket_values(job.inputs)],
            "outputs": [self.socket_value(v) for v in sort_socket_values(job.outputs)],
            "status": job.status,
            "hanging_protocol": None,
            "optional_hanging_protocols": [],
            "view_content": {},
            "exec_duration": iso_duration(job.exec_duration),
            "invoke_duration": iso_duration(job.invoke_duration),
        }

    def archive_api_url(self, pk: str) -> str:
        return f"{self._api}/archives/{pk}/"

    def reader_study_api_url(self, pk: str) -> str:
        return f"{self._api}/reader-studies/{pk}/"

    def archive(self, archive: Archive) -> dict[str, Any]:
        """ArchiveSerializer."""
        return {
            "pk": archive.pk,
            "title": archive.title,
            "logo": archive.logo,
            "description": archive.description,
            "api_url": self.archive_api_url(archive.pk),
            "url": f"{self.origin}/archives/{archive.slug}/",
        }

    def archive_item(self, item: ArchiveItem) -> dict[str, Any]:
        """ArchiveItemSerializer; the archive has no hanging protocol nor view content."""
        return {
            "pk": item.pk,
            "title": item.title,
            "archive": self.archive_api_url(item.archive_pk),
            "values": [self.socket_value(v) for v in sort_socket_values(item.values)],
            "hanging_protocol": None,
            "optional_hanging_protocols": [],
            "view_content": {},
        }

    def reader_study(self, study: ReaderStudy) -> dict[str, Any]:
        """ReaderStudySerializer (no questions: the sandbox has none)."""
        extra = study.extra or {}
        fields = {name: extra.get(name, d) for name, d in READER_STUDY_EXTRA_DEFAULTS.items()}
        return {
            "api_url": self.reader_study_api_url(study.pk),
            "url": f"{self.origin}/reader-studies/{study.slug}/",
            "slug": study.slug,
            "logo": study.logo,
            "description": study.description,
            "help_text": fields.pop("help_text"),
            "help_text_safe": fields.pop("help_text_safe"),
            "pk": study.pk,
            "questions": fields.pop("questions"),
            "title": study.title,
            "title_safe": study.title,
            **fields,
        }

    def display_set(self, display_set: DisplaySet, index: int | None) -> dict[str, Any]:
        """DisplaySetSerializer; `index` is the set's position in its reader study."""
        return {
            "pk": display_set.pk,
            "title": display_set.title,
            "title_safe": display_set.title,
            "reader_study": self.reader_study_api_url(display_set.reader_study_pk),
            "values": [self.socket_value(v) for v in sort_socket_values(display_set.values)],
            "order": display_set.order,
            "api_url": f"{self._api}/reader-studies/display-sets/{display_set.pk}/",
            "hanging_protocol": None,
            "optional_hanging_protocols": [],
            "view_content": {},
            "description": "",
            "index": index,
        }

    def image_file(self, image_file: ImageFile) -> dict[str, Any]:
        return {
            "pk": image_file.pk,
            "image": image_file.image_pk,
            "file": self.media_url(image_file.key),
            "image_type": image_file.image_type,
        }

    def image(self, image: Image) -> dict[str, Any]:
        extra = image.extra or {}
        fields = {name: extra.get(name, default) for name, default in IMAGE_EXTRA_DEFAULTS.items()}
        shape_without_color = _shape_without_color(image, extra.get("timepoints"))
        shape = list(shape_without_color)
        components = _COLOR_COMPONENTS.get(image.color_space, 1)
        if components > 1:
            shape.append(components)
        files = sorted(image.files, key=lambda f: f.key)
        return {
            "pk": image.pk,
            "name": image.name,
            "files": [self.image_file(f) for f in files],
            "dicom_image_set": fields.pop("dicom_image_set"),
            "width": image.width,
            "height": image.height,
            "depth": image.depth,
            "color_space": image.color_space,
            "modality": fields.pop("modality"),
            "eye_choice": fields.pop("eye_choice"),
            "stereoscopic_choice": fields.pop("stereoscopic_choice"),
            "field_of_view": fields.pop("field_of_view"),
            "shape_without_color": shape_without_color,
            "shape": shape,
            "voxel_width_mm": fields.pop("voxel_width_mm"),
            "voxel_height_mm": fields.pop("voxel_height_mm"),
            "voxel_depth_mm": fields.pop("voxel_depth_mm"),
            "api_url": self.image_api_url(image.pk),
            **fields,
        }


def jsonb_order(value: Any) -> Any:
    """`value` with every object's keys in PostgreSQL jsonb order: by length, then bytewise."""
    if isinstance(value, dict):
        keys = sorted(value, key=lambda k: (len(k.encode()), k.encode()))
        return {key: jsonb_order(value[key]) for key in keys}
    if isinstance(value, list):
        return [jsonb_order(item) for item in value]
    return value


def sort_socket_values(values: Iterable[SocketValue]) -> list[SocketValue]:
    """GC's order: by socket slug, then grouped as JSON kinds (non-chart), thumbnails, charts,
    other files, images, anything else (`sort_civs` in grand-challenge.org)."""
    groups: list[list[SocketValue]] = [[], [], [], [], [], []]
    for value in sorted(values, key=lambda v: v.socket.slug):
        groups[_group(value.socket.kind)].append(value)
    return [value for group in groups for value in group]


def _group(kind: str) -> int:
    if kind in JSON_KINDS:
        return 2 if kind == "Chart" else 0
    if kind in FILE_KINDS:
        return 1 if kind in THUMBNAIL_KINDS else 3
    if kind in IMAGE_KINDS:
        return 4
    return 5


def _shape_without_color(image: Image, timepoints: int | None) -> list[int]:
    dims = (timepoints, image.depth, image.height, image.width)
    return [d for d in dims if d is not None]
