"""Pydantic models of the API objects on the download path (contract §5).

Unknown fields are ignored, and fields the download path does not need have defaults, so a
server that adds or drops a field does not break parsing. Durations may be null. URLs are plain
`str`, so `job.algorithm_image == algorithm_image.api_url` holds. gcapi 0.13/0.14's dict-style
access (`job["pk"]`) still works, with a DeprecationWarning as there.
gcapi's model names are kept as aliases (`HyperlinkedJob`, `HyperlinkedImage`, ...).
"""

from __future__ import annotations

import warnings
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, PrivateAttr, model_validator


def pk_from_url(url: str) -> str:
    """The pk at the end of an API URL such as `.../algorithms/images/<pk>/`."""
    return url.rstrip("/").rsplit("/", 1)[-1]


M = TypeVar("M", bound="Model")


def from_api(model: type[M], data: Any) -> M:
    """`model` validated from `data`, the JSON the API sent, which `api_json` then returns;
    pydantic's ValidationError if it does not fit."""
    parsed = model.model_validate(data)
    parsed._api_json = data
    return parsed


def api_json(model: Model) -> Any:
    """The JSON object the server sent for `model`, unchanged (None if it was not made by
    `from_api`)."""
    return model._api_json


class Model(BaseModel):
    """Base: unknown fields ignored; attribute access, and deprecated item access."""

    model_config = ConfigDict(extra="ignore", frozen=False)
    _api_json: Any = PrivateAttr(default=None)  # set by the resource that parsed it

    def __getitem__(self, key: str) -> Any:
        warnings.warn(
            f"Dict-style access ({type(self).__name__}[{key!r}]) is deprecated, as in gcapi; "
            f"use attribute access (.{key}).",
            DeprecationWarning,
            stacklevel=2,
        )
        try:
            return getattr(self, key)
        except AttributeError:
            raise KeyError(key) from None


class Socket(Model):
    """A component interface ("socket"): where and how a value is stored."""

    pk: int
    slug: str
    title: str = ""
    description: str | None = None
    kind: str = ""
    super_kind: str
    relative_path: str
    default_value: Any = None
    overlay_segments: list[Any] = []
    look_up_table: dict[str, Any] | None = None


class SocketValue(Model):
    """One input or output of a job, archive item or display set."""

    pk: int
    interface: Socket
    socket: Socket | None = None
    value: Any = None
    file: str | None = None
    image: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _interface_from_socket(cls, data: Any) -> Any:
        """Newer servers may send only `socket`; older ones only `interface`."""
        if isinstance(data, dict) and "interface" not in data and "socket" in data:
            return {**data, "interface": data["socket"]}
        return data


class AlgorithmInterface(Model):
    inputs: list[Socket] = []
    outputs: list[Socket] = []


class Algorithm(Model):
    pk: str
    api_url: str
    url: str = ""
    slug: str
    title: str = ""
    description: str | None = None
    logo: str | None = None
    average_duration: float | None = None
    interfaces: list[AlgorithmInterface] = []


class AlgorithmImage(Model):
    pk: str
    url: str = ""
    api_url: str
    algorithm: str
    created: str | None = None
    import_status: str = ""
    image: str | None = None


class Job(Model):
    pk: str
    url: str = ""
    api_url: str
    algorithm_image: str
    algorithm: str = ""
    inputs: list[SocketValue] = []
    outputs: list[SocketValue] = []
    status: str
    hanging_protocol: Any = None
    optional_hanging_protocols: list[Any] = []
    view_content: Any = None
    exec_duration: str | None = None
    invoke_duration: str | None = None


class ImageFile(Model):
    pk: str | None = None
    image: str | None = None
    file: str
    image_type: str


class Image(Model):
    pk: str
    name: str = ""
    api_url: str = ""
    files: list[ImageFile] = []
    dicom_image_set: dict[str, Any] | None = None
    width: int | None = None
    height: int | None = None
    depth: int | None = None
    color_space: str = ""
    modality: dict[str, Any] | None = None
    eye_choice: str | None = None
    stereoscopic_choice: str | None = None
    field_of_view: str | None = None
    shape_without_color: list[int] = []
    shape: list[int] = []
    voxel_width_mm: float | None = None
    voxel_height_mm: float | None = None
    voxel_depth_mm: float | None = None
    patient_id: str = ""
    patient_name: str = ""
    patient_birth_date: str | None = None
    patient_age: str = ""
    patient_sex: str = ""
    study_date: str | None = None
    study_instance_uid: str = ""
    series_instance_uid: str = ""
    study_description: str = ""
    series_description: str = ""
    window_center: float | None = None
    window_width: float | None = None
    segments: list[int] | None = None


class InstanceRequest(Model):
    """A signed storage request for one DICOM instance: sent as given, without the token."""

    url: str
    method: str = "GET"
    headers: dict[str, str] = {}
    data: Any = None


class DicomInstance(Model):
    """One entry of `cases/images/<pk>/dicom/instances/` (one per frame: UIDs may repeat)."""

    sop_instance_uid: str
    get_instance: InstanceRequest


class Archive(Model):
    pk: str
    title: str = ""
    slug: str = ""
    logo: str | None = None
    description: str | None = None
    api_url: str = ""
    url: str = ""


class ArchiveItem(Model):
    pk: str
    title: str = ""
    archive: str = ""
    values: list[SocketValue] = []
    hanging_protocol: Any = None
    optional_hanging_protocols: list[Any] = []
    view_content: Any = None


class DisplaySet(Model):
    pk: str
    title: str = ""
    reader_study: str = ""
    values: list[SocketValue] = []
    order: int = 0
    api_url: str = ""
    hanging_protocol: Any = None
    optional_hanging_protocols: list[Any] = []
    view_content: Any = None
    description: str | None = None
    index: int | None = None


class ReaderStudy(Model):
    pk: str
    slug: str = ""
    title: str = ""
    api_url: str = ""
    url: str = ""
    description: str | None = None


# gcapi's names for the same models.
ComponentInterface = Socket
HyperlinkedComponentInterfaceValue = SocketValue
HyperlinkedJob = Job
HyperlinkedImage = Image
