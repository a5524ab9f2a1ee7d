"""The demo's archives and reader study (issue 16), added after the jobs with their own
random generators, so that the jobs, their pks and their blobs stay what they were.

- `demo-archive` (private; `editor` edits it, `viewer` is a user of it, `outsider` has no
  access): six items whose values are MHA images (one in `generic-medical-image`, whose
  relative path is empty), a DICOM image set of three single-frame instances, files and
  values.
- `public-archive` (public: everyone sees the archive, nobody but its editor its one item).
- `demo-reader-study` (private; `editor` edits, `viewer` reads): four display sets, one with a
  DICOM image set whose multi-frame instance GC lists once per frame (three times).
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from gcfetch.sandbox.demo import files
from gcfetch.sandbox.demo.dicom import EXPLICIT_VR_LITTLE_ENDIAN, dicom_bytes
from gcfetch.sandbox.settings import SandboxSettings
from gcfetch.sandbox.storage import dicom_instance_key, image_file_key, value_file_key
from gcfetch.sandbox.tables import (
    Archive,
    ArchiveItem,
    DicomInstance,
    DisplaySet,
    Image,
    ImageFile,
    ReaderStudy,
    SocketValue,
    archive_editors,
    archive_item_values,
    archive_users,
    display_set_values,
    reader_study_editors,
    reader_study_readers,
)

_CREATED = datetime(2024, 12, 2, 8, 0, 0)
_DICOM_SIZE = 16  # rows and columns of the demo's DICOM frames


@dataclass
class StudiesInfo:
    """What `add_studies` added, for `DemoInfo`."""

    archives: dict[str, str] = field(default_factory=dict)  # slug -> pk
    archive_items: dict[str, str] = field(default_factory=dict)  # item pk -> archive slug
    reader_studies: dict[str, str] = field(default_factory=dict)  # slug -> pk
    display_sets: dict[str, str] = field(default_factory=dict)  # pk -> reader study slug
    # image pk -> SOP instance UIDs of its DICOM image set, each once, in listing order
    dicom_images: dict[str, list[str]] = field(default_factory=dict)


class _Builder:
    def __init__(
        self, session: Session, settings: SandboxSettings, seed: int, sockets: dict[str, int]
    ) -> None:
        self.session = session
        self.blob_dir = settings.blob_dir
        self.rng = random.Random(f"gcfetch-demo-studies:{seed}")
        self.np_rng = np.random.default_rng([seed, 16])
        self.sockets = sockets
        self.next_value = (session.scalar(select(func.max(SocketValue.pk))) or 0) + 1
        self.next_frame = 1
        self.info = StudiesInfo()

    def uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def uid(self) -> str:
        return f"2.25.{uuid.UUID(int=self.rng.getrandbits(128), version=4).int}"

    def value(self, slug: str, *, image: str | None = None, value: Any = None) -> int:
        pk = self.next_value
        self.next_value += 1
        row = {"pk": pk, "socket_pk": self.sockets[slug], "value": value, "image_pk": image}
        self.session.execute(insert(SocketValue), [row | {"file_key": None}])
        return pk

    def file_value(self, slug: str, filename: str, data: bytes) -> int:
        pk = self.next_value
        self.next_value += 1
        key = value_file_key(pk, filename)
        files.write_bytes(self.blob_dir / key, data)
        row = {"pk": pk, "socket_pk": self.sockets[slug], "value": None, "file_key": key}
        self.session.execute(insert(SocketValue), [row | {"image_pk": None}])
        return pk

    def mha_image(self, name: str, kind: str = "ct") -> str:
        image_pk, file_pk = self.uuid(), self.uuid()
        key = image_file_key(image_pk, file_pk, f"{image_pk}.mha")
        write = files.write_segmentation if kind == "segmentation" else files.write_ct_image
        fields = write(self.blob_dir / key, self.np_rng)
        columns = {c: fields.pop(c) for c in ("width", "height", "depth")}
        image = {"pk": image_pk, "name": name, "color_space": "GRAY", "extra": fields}
        self.session.execute(insert(Image), [image | columns])
        row = {"pk": file_pk, "image_pk": image_pk, "image_type": "MHD", "key": key}
        self.session.execute(insert(ImageFile), [row])
        return image_pk

    def dicom_image(self, name: str, frame_counts: tuple[int, ...]) -> str:
        """An image with a DICOM image set and no files: one instance per entry of
        `frame_counts`, listed once per frame as GC's `image_frame_metadata` does."""
        image_pk = self.uuid()
        image_set_id = uuid.UUID(int=self.rng.getrandbits(128)).hex
        study, series = self.uid(), self.uid()
        rows: list[dict[str, Any]] = []
        sops: list[str] = []
        for number, frames in enumerate(frame_counts, start=1):
            sop = self.uid()
            sops.append(sop)
            key = self._dicom_instance(image_set_id, (study, series, sop), number, frames)
            for _ in range(frames):
                rows.append(
                    {
                        "pk": self.next_frame,
                        "image_pk": image_pk,
                        "position": len(rows),
                        "study_instance_uid": study,
                        "series_instance_uid": series,
                        "sop_instance_uid": sop,
                        "stored_transfer_syntax_uid": EXPLICIT_VR_LITTLE_ENDIAN,
                        "key": key,
                    }
                )
                self.next_frame += 1
        self.session.execute(
            insert(Image),
            [_dicom_image_row(image_pk, name, image_set_id, (study, series), len(rows))],
        )
        self.session.execute(insert(DicomInstance), rows)
        self.info.dicom_images[image_pk] = sops
        return image_pk

    def _dicom_instance(
        self, image_set_id: str, uids: tuple[str, str, str], number: int, frames: int
    ) -> str:
        """Write one instance of `frames` random frames; its storage key."""
        study, series, sop = uids
        pixels = self.np_rng.integers(
            0, 256, size=frames * _DICOM_SIZE * _DICOM_SIZE, dtype=np.uint8
        ).tobytes()
        data = dicom_bytes(
            study_uid=study,
            series_uid=series,
            sop_uid=sop,
            instance_number=number,
            pixels=pixels,
            rows=_DICOM_SIZE,
            columns=_DICOM_SIZE,
            frames=frames,
        )
        key = dicom_instance_key(image_set_id, sop)
        files.write_bytes(self.blob_dir / key, data)
        return key

    def archive(
        self, slug: str, title: str, number: int, *, public: bool, users: dict[Any, list[int]]
    ) -> str:
        pk = self.info.archives[slug] = self.uuid()
        row = {
            "pk": pk,
            "slug": slug,
            "title": title,
            "description": f"{title}: a demo archive of the gcfetch sandbox.",
            "logo": f"https://public.sandbox.invalid/logos/archive/{pk}/logo.png",
            "public": public,
            "created": _CREATED + timedelta(days=number),
        }
        self.session.execute(insert(Archive), [row])
        for table, ids in users.items():
            self.session.execute(insert(table), [{"archive_pk": pk, "user_id": i} for i in ids])
        return pk

    def item(self, archive: str, slug: str, number: int, values: list[int]) -> str:
        pk = self.uuid()
        created = _CREATED + timedelta(days=7, hours=number)
        row = {"pk": pk, "archive_pk": archive, "title": f"case-{number:03d}", "created": created}
        self.session.execute(insert(ArchiveItem), [row])
        links = [{"item_pk": pk, "value_pk": v} for v in values]
        self.session.execute(insert(archive_item_values), links)
        self.info.archive_items[pk] = slug
        return pk


def add_studies(
    session: Session,
    settings: SandboxSettings,
    seed: int,
    sockets: dict[str, int],
    user_ids: dict[str, int],
) -> StudiesInfo:
    """Add the archives, their items, the reader study and its display sets (see above)."""
    b = _Builder(session, settings, seed, sockets)
    editor, viewer = user_ids["editor"], user_ids["viewer"]
    archive = b.archive(
        "demo-archive",
        "Demo Archive",
        0,
        public=False,
        users={archive_editors: [editor], archive_users: [viewer]},
    )
    cts = [b.mha_image(f"archive-case-{n:03d}.mha") for n in range(4)]
    archive_dicom = b.dicom_image("archive-dicom-case-002", (1, 1, 1))
    report = files.pdf_bytes("gcfetch demo archive report")
    items = [
        [
            b.value("ct-image", image=cts[0]),
            b.value("probability", value=0.25),
            b.file_value("report", "report.pdf", report),
        ],
        [b.value("ct-image", image=cts[1]), b.value("nodule-count", value=2)],
        [b.value("dicom-image-set", image=archive_dicom), b.value("is-referable", value=True)],
        [b.value("generic-medical-image", image=cts[2])],
        [
            b.value("results", value={"case": "case-004", "nodules": 1, "scores": [0.5]}),
            b.file_value(
                "measurements", "measurements.csv", b"case,nodule,diameter_mm\ncase-004,0,4.20\n"
            ),
        ],
        [
            b.value("segmentation", image=b.mha_image("archive-seg-005.mha", "segmentation")),
            b.value("ct-image", image=cts[3]),
        ],
    ]
    for number, values in enumerate(items):
        b.item(archive, "demo-archive", number, values)
    public = b.archive(
        "public-archive", "Public Archive", 1, public=True, users={archive_editors: [editor]}
    )
    b.item(public, "public-archive", 100, [b.value("probability", value=0.75)])
    _add_reader_study(b, editor, viewer, cts)
    return b.info


def _add_reader_study(b: _Builder, editor: int, viewer: int, cts: list[str]) -> None:
    slug = "demo-reader-study"
    pk = b.info.reader_studies[slug] = b.uuid()
    row = {
        "pk": pk,
        "slug": slug,
        "title": "Demo Reader Study",
        "description": "Demo Reader Study: a demo reader study of the gcfetch sandbox.",
        "logo": f"https://public.sandbox.invalid/logos/reader-study/{pk}/logo.png",
        "public": False,
        "created": _CREATED + timedelta(days=2),
        "extra": {"allow_case_navigation": True},
    }
    b.session.execute(insert(ReaderStudy), [row])
    b.session.execute(insert(reader_study_editors), [{"reader_study_pk": pk, "user_id": editor}])
    b.session.execute(insert(reader_study_readers), [{"reader_study_pk": pk, "user_id": viewer}])
    multi_frame = b.dicom_image("reader-study-dicom-case", (1, 3, 1))
    display_sets = [
        [b.value("ct-image", image=cts[0])],
        [b.value("ct-image", image=cts[1]), b.value("probability", value=0.5)],
        [b.value("dicom-image-set", image=multi_frame)],
        [
            b.value("heat-map", image=b.mha_image("reader-study-heat-map.mha")),
            b.value("optional-note", value="look twice"),
        ],
    ]
    # orders as GC's editors set them: the third set was moved to the front
    orders = [10, 20, 5, 30]
    for number, (values, order) in enumerate(zip(display_sets, orders, strict=True)):
        ds_pk = b.uuid()
        created = _CREATED + timedelta(days=8, hours=number)
        row = {
            "pk": ds_pk,
            "reader_study_pk": pk,
            "order": order,
            "title": f"display-set-{number}",
            "created": created,
        }
        b.session.execute(insert(DisplaySet), [row])
        links = [{"display_set_pk": ds_pk, "value_pk": v} for v in values]
        b.session.execute(insert(display_set_values), links)
        b.info.display_sets[ds_pk] = slug


def _dicom_image_row(
    image_pk: str, name: str, image_set_id: str, uids: tuple[str, str], depth: int
) -> dict[str, Any]:
    """The Image row of a DICOM image set (no files; its instances are DicomInstance rows)."""
    study, series = uids
    extra = {
        "dicom_image_set": {"image_set_id": image_set_id},
        "modality": {"modality": "OT"},
        "study_instance_uid": study,
        "series_instance_uid": series,
        "patient_id": "DEMO",
        "patient_name": "Demo^Patient",
    }
    return {
        "pk": image_pk,
        "name": name,
        "width": _DICOM_SIZE,
        "height": _DICOM_SIZE,
        "depth": depth,
        "color_space": "GRAY",
        "extra": extra,
    }
