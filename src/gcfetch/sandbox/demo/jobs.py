"""Rows and blobs of the demo's jobs: inputs, outputs of every super kind, viewers.

`JobFactory` collects rows and inserts them in bulk every few hundred jobs; blobs are hard
links to a handful of `Templates` encoded once, so ten thousand jobs cost no re-encoding.
"""

from __future__ import annotations

import random
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import insert
from sqlalchemy.orm import Session

from gcfetch.sandbox.demo import files
from gcfetch.sandbox.settings import SandboxSettings
from gcfetch.sandbox.storage import image_file_key, value_file_key
from gcfetch.sandbox.tables import (
    Image,
    ImageFile,
    Job,
    SocketValue,
    job_inputs,
    job_outputs,
    job_viewers,
)

_VARIANTS = 3
_BATCH = 500
_IMAGE_COLUMNS = ("width", "height", "depth")


@dataclass(frozen=True)
class Template:
    path: Path
    fields: dict[str, Any]  # Image columns and `extra` fields


@dataclass(frozen=True)
class Templates:
    """A few encoded files per kind, in a scratch directory removed by `JobFactory.flush()`."""

    directory: Path
    images: dict[str, list[Template]]  # "ct", "segmentation", "heat-map", "tissue-overlay"
    documents: dict[str, list[Path]]  # "report", "thumbnail"
    bench: tuple[list[Template], list[Path]] | None = None  # 2 MiB images, 50 KB JSON files

    @classmethod
    def build(
        cls, data_dir: Path, seed: int, *, bench: bool = False, small: bool = False
    ) -> Templates:
        """`bench` adds the benchmark's files; `small` makes them ~20 KB images, ~5 KB JSON."""
        directory = data_dir / ".demo-templates"
        directory.mkdir(parents=True, exist_ok=True)
        rng = np.random.default_rng(seed)
        images = _image_templates(directory, rng)
        documents = _document_templates(directory, rng)
        if not bench:
            return cls(directory, images, documents)
        return cls(directory, images, documents, _bench_templates(directory, rng, small=small))


_Maker = Callable[[Path, np.random.Generator], dict[str, Any]]


def _image_templates(directory: Path, rng: np.random.Generator) -> dict[str, list[Template]]:
    makers: dict[str, tuple[str, _Maker]] = {
        "ct": (".mha", files.write_ct_image),
        "segmentation": (".mha", files.write_segmentation),
        "heat-map": (".mha", files.write_heat_map),
        "tissue-overlay": (".tif", files.write_tiff),
    }
    return {
        kind: [
            Template(path, make(path, rng))
            for v in range(_VARIANTS)
            for path in [directory / f"{kind}-{v}{suffix}"]
        ]
        for kind, (suffix, make) in makers.items()
    }


def _document_templates(directory: Path, rng: np.random.Generator) -> dict[str, list[Path]]:
    documents: dict[str, list[Path]] = {"report": [], "thumbnail": []}
    for v in range(_VARIANTS):
        report = directory / f"report-{v}.pdf"
        files.write_bytes(report, files.pdf_bytes(f"gcfetch demo report, variant {v}"))
        thumbnail = directory / f"thumbnail-{v}.png"
        files.write_png(thumbnail, rng)
        documents["report"].append(report)
        documents["thumbnail"].append(thumbnail)
    return documents


def _bench_templates(
    directory: Path, rng: np.random.Generator, *, small: bool
) -> tuple[list[Template], list[Path]]:
    shape = files.BENCH_SMALL_SHAPE if small else files.BENCH_SHAPE
    findings = 60 if small else 600
    images = [
        Template(path, files.write_bench_image(path, rng, shape))
        for v in range(_VARIANTS)
        for path in [directory / f"bench-{v}.mha"]
    ]
    documents = [directory / f"bench-{v}.json" for v in range(_VARIANTS)]
    for path in documents:
        files.write_bytes(path, files.bench_json_bytes(rng, findings))
    return images, documents


@dataclass(frozen=True)
class JobSpec:
    """What a job's row says: its algorithm, status, who made and sees it, when, how long."""

    algorithm: str  # slug
    algorithm_image: str  # pk
    created: datetime
    status: str = "Succeeded"
    creator: str = "editor"  # user name
    viewers: frozenset[str] = frozenset({"editor"})  # user names
    public: bool = False
    durations: tuple[float | None, float | None] = (None, None)  # exec, invoke (seconds)


class JobFactory:
    """Adds demo jobs; `statuses`, `algorithms`, `public_jobs` and `viewers` record them."""

    def __init__(
        self,
        session: Session,
        settings: SandboxSettings,
        rng: random.Random,
        templates: Templates,
        *,
        sockets: dict[str, tuple[int, list[str]]],
        user_ids: dict[str, int],
    ) -> None:
        self._session = session
        self._blob_dir = settings.blob_dir
        self._rng = rng
        self._templates = templates
        self._sockets = sockets  # slug -> (pk, [title, kind, super_kind, relative_path])
        self._user_ids = user_ids
        self._rows: dict[Any, list[dict[str, Any]]] = {}
        self._next_value_pk = 1
        self._last_input: str | None = None
        self.statuses: dict[str, str] = {}
        self.algorithms: dict[str, str] = {}
        self.public_jobs: list[str] = []
        self.viewers: dict[str, list[str]] = {name: [] for name in user_ids}

    def _uuid(self) -> str:
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def _add(self, table: Any, **row: Any) -> None:
        self._rows.setdefault(table, []).append(row)

    def add_job(
        self, index: int, spec: JobSpec, input_socket: str, output_sockets: tuple[str, ...]
    ) -> str:
        """A default-profile job: outputs if it succeeded, durations (drawn here) if it ran.

        Every tenth job reuses the input image of the job before it.
        """
        pk = self._uuid()
        spec = replace(spec, durations=self._durations(spec.status))
        if index % 10 == 9 and self._last_input is not None:
            image = self._last_input
        else:
            image = self._last_input = self._case_image(index, index % _VARIANTS)
        input_value = self._value(input_socket, image=image)
        succeeded = spec.status == "Succeeded"
        outputs = [self._output(slug, index) for slug in output_sockets if succeeded]
        return self._add_job(pk, spec, input_value, outputs)

    def add_bench_job(self, index: int, spec: JobSpec) -> str:
        """A job with three outputs: a `heat-map` image, a `predictions` file, a value."""
        if self._templates.bench is None:
            raise ValueError("the templates were built without the benchmark files")
        images, documents = self._templates.bench
        pk = self._uuid()
        input_value = self._value("generic-medical-image", image=self._case_image(index))
        variant = index % _VARIANTS
        heat_map = self._new_image(images[variant], f"heat-map-{index:05d}.mha")
        outputs = [
            self._value("heat-map", image=heat_map),
            self._value("predictions", data=documents[variant]),
            self._value("probability", value=round(self._rng.random(), 4)),
        ]
        return self._add_job(pk, spec, input_value, outputs)

    def add_large_job(self, index: int, spec: JobSpec, mib: int, seed: int) -> str:
        """A job whose `heat-map` output is a `mib`-MiB `.mha`, written streaming."""
        pk = self._uuid()
        input_value = self._value("generic-medical-image", image=self._case_image(index))
        image_pk, file_pk = self._uuid(), self._uuid()
        key = image_file_key(image_pk, file_pk, f"{image_pk}.mha")
        fields = files.write_large_mha(self._blob_dir / key, mib, seed)
        self._image_rows(image_pk, file_pk, f"heat-map-{index:05d}.mha", fields, key, "MHD")
        outputs = [
            self._value("heat-map", image=image_pk),
            self._value("probability", value=0.5),
        ]
        return self._add_job(pk, spec, input_value, outputs)

    def flush(self) -> None:
        """Insert what is pending and remove the template directory."""
        self._insert()
        shutil.rmtree(self._templates.directory, ignore_errors=True)

    def _durations(self, status: str) -> tuple[float | None, float | None]:
        """(exec, invoke) seconds: exec when the job ran, invoke when it also succeeded."""
        if status not in ("Succeeded", "Failed"):
            return None, None
        exec_duration = round(self._rng.uniform(20, 300), 6)
        if status != "Succeeded":
            return exec_duration, None
        return exec_duration, round(exec_duration + self._rng.uniform(1, 30), 6)

    def _case_image(self, index: int, variant: int = 0) -> str:
        """A new input image: the `ct` template `variant`, named after the job."""
        return self._new_image(self._templates.images["ct"][variant], f"case-{index:05d}.mha")

    def _add_job(self, pk: str, spec: JobSpec, input_value: int, outputs: list[int]) -> str:
        """The job's row, viewers, input and outputs; rows go to the database every _BATCH jobs."""
        self._add_job_row(pk, spec)
        self._add(job_inputs, job_pk=pk, value_pk=input_value)
        for value_pk in outputs:
            self._add(job_outputs, job_pk=pk, value_pk=value_pk)
        if len(self._rows.get(Job, ())) >= _BATCH:
            self._insert()
        return pk

    def _add_job_row(self, pk: str, spec: JobSpec) -> None:
        exec_duration, invoke_duration = spec.durations
        self._add(
            Job,
            pk=pk,
            algorithm_image_pk=spec.algorithm_image,
            status=spec.status,
            public=spec.public,
            creator_id=self._user_ids[spec.creator],
            created=spec.created,
            exec_duration=exec_duration,
            invoke_duration=invoke_duration,
        )
        for name in sorted(spec.viewers):
            self._add(job_viewers, job_pk=pk, user_id=self._user_ids[name])
            self.viewers[name].append(pk)
        self.statuses[pk] = spec.status
        self.algorithms[pk] = spec.algorithm
        if spec.public:
            self.public_jobs.append(pk)

    def _insert(self) -> None:
        for table in (Image, ImageFile, SocketValue, Job, job_viewers, job_inputs, job_outputs):
            rows = self._rows.pop(table, None)
            if rows:
                self._session.execute(insert(table), rows)

    def _new_image(self, template: Template, name: str) -> str:
        image_pk, file_pk = self._uuid(), self._uuid()
        suffix = template.path.suffix
        key = image_file_key(image_pk, file_pk, f"{image_pk}{suffix}")
        files.place(template.path, self._blob_dir / key)
        image_type = "TIFF" if suffix == ".tif" else "MHD"
        self._image_rows(image_pk, file_pk, name, template.fields, key, image_type)
        return image_pk

    def _image_rows(
        self,
        image_pk: str,
        file_pk: str,
        name: str,
        fields: dict[str, Any],
        key: str,
        image_type: str,
    ) -> None:
        columns = {c: fields[c] for c in _IMAGE_COLUMNS}
        extra = {k: v for k, v in fields.items() if k not in _IMAGE_COLUMNS}
        self._add(Image, pk=image_pk, name=name, color_space="GRAY", extra=extra, **columns)
        self._add(ImageFile, pk=file_pk, image_pk=image_pk, image_type=image_type, key=key)

    def _value(
        self,
        slug: str,
        *,
        image: str | None = None,
        value: Any = None,
        data: bytes | Path | None = None,
    ) -> int:
        """A socket value row; `data` (bytes or a template path) becomes its stored file."""
        pk = self._next_value_pk
        self._next_value_pk += 1
        socket_pk, (_title, _kind, _super, relative_path) = self._sockets[slug]
        file_key = None
        if data is not None:
            file_key = value_file_key(pk, relative_path.rsplit("/", 1)[-1])
            if isinstance(data, Path):
                files.place(data, self._blob_dir / file_key)
            else:
                files.write_bytes(self._blob_dir / file_key, data)
        self._add(
            SocketValue, pk=pk, socket_pk=socket_pk, value=value, file_key=file_key, image_pk=image
        )
        return pk

    def _output(self, slug: str, index: int) -> int:
        """The output value of socket `slug` for job `index`: an image, a file or a value."""
        variant = index % _VARIANTS
        if slug in self._templates.images:
            template = self._templates.images[slug][variant]
            name = f"{slug}-{index:05d}{template.path.suffix}"
            return self._value(slug, image=self._new_image(template, name))
        if slug in self._templates.documents:
            return self._value(slug, data=self._templates.documents[slug][variant])
        if slug in ("measurements", "predictions"):
            return self._value(slug, data=self._file_output(slug, index))
        return self._value(slug, value=self._value_output(slug, index))

    def _file_output(self, slug: str, index: int) -> bytes:
        """The bytes of a `measurements` CSV or a `predictions` JSON file."""
        rng = self._rng
        if slug == "measurements":
            rows = [f"case-{index:05d},{n},{rng.uniform(3, 30):.2f}" for n in range(index % 4)]
            return "\n".join(["case,nodule,diameter_mm", *rows, ""]).encode()
        findings = [
            {
                "x": rng.randint(0, 47),
                "y": rng.randint(0, 47),
                "z": rng.randint(0, 7),
                "probability": round(rng.random(), 4),
            }
            for _ in range(index % 3)
        ]
        return files.gc_json_bytes(
            {"case": f"case-{index:05d}", "findings": findings, "version": 1}
        )

    def _value_output(self, slug: str, index: int) -> Any:
        """The value of a value socket (a number, a flag, a JSON object or None)."""
        rng = self._rng
        values: dict[str, Callable[[], Any]] = {
            "probability": lambda: round(rng.random(), 4),
            "nodule-count": lambda: 0 if index % 4 == 0 else rng.randint(1, 5),
            "is-referable": lambda: index % 3 == 0,
            "results": lambda: {
                "case": f"case-{index:05d}",
                "nodules": index % 4,
                "malignant": False,
                "scores": [round(rng.random(), 3)],
            },
            "metrics-score": lambda: round(rng.uniform(0.5, 1.0), 6),
            "optional-note": lambda: None,
        }
        return values[slug]()
