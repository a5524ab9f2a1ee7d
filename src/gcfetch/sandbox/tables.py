"""Database tables of the sandbox. Rows are never returned raw: `serialize.py` shapes them.

Permissions follow the contract (§1.4) in a reduced form: instead of Django groups and
object permissions, membership tables say who edits/uses an algorithm and who views a job.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Column, DateTime, Float, ForeignKey, Integer, String, Table
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    pass


algorithm_editors = Table(
    "algorithm_editors",
    Base.metadata,
    Column("algorithm_pk", ForeignKey("algorithms.pk"), primary_key=True),
    Column("user_id", ForeignKey("users.id"), primary_key=True),
)
algorithm_users = Table(
    "algorithm_users",
    Base.metadata,
    Column("algorithm_pk", ForeignKey("algorithms.pk"), primary_key=True),
    Column("user_id", ForeignKey("users.id"), primary_key=True),
)
job_viewers = Table(
    "job_viewers",
    Base.metadata,
    Column("job_pk", ForeignKey("jobs.pk"), primary_key=True),
    Column("user_id", ForeignKey("users.id"), primary_key=True),
)
job_inputs = Table(
    "job_inputs",
    Base.metadata,
    Column("job_pk", ForeignKey("jobs.pk"), primary_key=True),
    Column("value_pk", ForeignKey("socket_values.pk"), primary_key=True, index=True),
)
job_outputs = Table(
    "job_outputs",
    Base.metadata,
    Column("job_pk", ForeignKey("jobs.pk"), primary_key=True),
    Column("value_pk", ForeignKey("socket_values.pk"), primary_key=True, index=True),
)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(150), unique=True)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)


class Token(Base):
    """An API token, stored as the SHA-512 hex digest of the 64-hex-character token."""

    __tablename__ = "tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    digest: Mapped[str] = mapped_column(String(128), unique=True, index=True)
    expiry: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)

    user: Mapped[User] = relationship()


class Socket(Base):
    """A component interface. `kind` and `super_kind` hold the labels the API sends."""

    __tablename__ = "sockets"

    pk: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(255), unique=True, index=True)
    title: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(String, default="")
    kind: Mapped[str] = mapped_column(String(64))
    super_kind: Mapped[str] = mapped_column(String(16))
    relative_path: Mapped[str] = mapped_column(String(255))
    default_value: Mapped[Any] = mapped_column(JSON, nullable=True)
    overlay_segments: Mapped[Any] = mapped_column(JSON, default=list)
    look_up_table: Mapped[Any] = mapped_column(JSON, nullable=True)


class Algorithm(Base):
    __tablename__ = "algorithms"

    pk: Mapped[str] = mapped_column(String(36), primary_key=True)
    slug: Mapped[str] = mapped_column(String(255), unique=True, index=True)
    title: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(String, default="")
    logo: Mapped[str] = mapped_column(String, default="")
    public: Mapped[bool] = mapped_column(Boolean, default=False)
    average_duration: Mapped[float | None] = mapped_column(Float, nullable=True)
    created: Mapped[datetime] = mapped_column(DateTime, index=True)
    # [{"inputs": [socket slug, ...], "outputs": [socket slug, ...]}, ...]
    interfaces: Mapped[Any] = mapped_column(JSON, default=list)

    editors: Mapped[list[User]] = relationship(secondary=algorithm_editors)
    users: Mapped[list[User]] = relationship(secondary=algorithm_users)
    images: Mapped[list[AlgorithmImage]] = relationship(back_populates="algorithm")


class AlgorithmImage(Base):
    __tablename__ = "algorithm_images"

    pk: Mapped[str] = mapped_column(String(36), primary_key=True)
    algorithm_pk: Mapped[str] = mapped_column(ForeignKey("algorithms.pk"), index=True)
    created: Mapped[datetime] = mapped_column(DateTime, index=True)
    import_status: Mapped[str] = mapped_column(String(32), default="Completed")
    # storage key of the container tarball, or None
    image_key: Mapped[str | None] = mapped_column(String, nullable=True)

    algorithm: Mapped[Algorithm] = relationship(back_populates="images")


class Image(Base):
    """A medical image. Fields the download path does not use live in `extra` (JSON)."""

    __tablename__ = "images"

    pk: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(4096), index=True)
    width: Mapped[int | None] = mapped_column(Integer, nullable=True)
    height: Mapped[int | None] = mapped_column(Integer, nullable=True)
    depth: Mapped[int | None] = mapped_column(Integer, nullable=True)
    color_space: Mapped[str] = mapped_column(String(8), default="GRAY")
    # any further HyperlinkedImage field (voxel sizes, modality, patient_*, ...) by name
    extra: Mapped[Any] = mapped_column(JSON, default=dict)

    files: Mapped[list[ImageFile]] = relationship(back_populates="image")


class ImageFile(Base):
    __tablename__ = "image_files"

    pk: Mapped[str] = mapped_column(String(36), primary_key=True)
    image_pk: Mapped[str] = mapped_column(ForeignKey("images.pk"), index=True)
    image_type: Mapped[str] = mapped_column(String(8))  # "MHD", "TIFF" or "DZI"
    key: Mapped[str] = mapped_column(String, unique=True)  # storage key, e.g. images/ab/cd/...

    image: Mapped[Image] = relationship(back_populates="files")


class SocketValue(Base):
    """A component interface value: a JSON value, a file (storage key) or an image."""

    __tablename__ = "socket_values"

    pk: Mapped[int] = mapped_column(Integer, primary_key=True)
    socket_pk: Mapped[int] = mapped_column(ForeignKey("sockets.pk"))
    value: Mapped[Any] = mapped_column(JSON, nullable=True)
    file_key: Mapped[str | None] = mapped_column(String, nullable=True)
    image_pk: Mapped[str | None] = mapped_column(ForeignKey("images.pk"), nullable=True, index=True)

    socket: Mapped[Socket] = relationship()
    image: Mapped[Image | None] = relationship()


class Job(Base):
    __tablename__ = "jobs"

    pk: Mapped[str] = mapped_column(String(36), primary_key=True)
    algorithm_image_pk: Mapped[str] = mapped_column(ForeignKey("algorithm_images.pk"), index=True)
    creator_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    status: Mapped[str] = mapped_column(String(40))  # the label, e.g. "Succeeded"
    public: Mapped[bool] = mapped_column(Boolean, default=False)
    created: Mapped[datetime] = mapped_column(DateTime, index=True)
    exec_duration: Mapped[float | None] = mapped_column(Float, nullable=True)  # seconds
    invoke_duration: Mapped[float | None] = mapped_column(Float, nullable=True)  # seconds

    algorithm_image: Mapped[AlgorithmImage] = relationship()
    viewers: Mapped[list[User]] = relationship(secondary=job_viewers)
    inputs: Mapped[list[SocketValue]] = relationship(secondary=job_inputs)
    outputs: Mapped[list[SocketValue]] = relationship(secondary=job_outputs)


# Archives and reader studies (issue 16). GC's groups are reduced to membership tables:
# archive editors, uploaders and users view an archive and its items; reader study editors
# and readers view a reader study and its display sets. A public archive or reader study is
# visible to everyone, its items and display sets are not.
archive_editors = Table(
    "archive_editors",
    Base.metadata,
    Column("archive_pk", ForeignKey("archives.pk"), primary_key=True),
    Column("user_id", ForeignKey("users.id"), primary_key=True),
)
archive_uploaders = Table(
    "archive_uploaders",
    Base.metadata,
    Column("archive_pk", ForeignKey("archives.pk"), primary_key=True),
    Column("user_id", ForeignKey("users.id"), primary_key=True),
)
archive_users = Table(
    "archive_users",
    Base.metadata,
    Column("archive_pk", ForeignKey("archives.pk"), primary_key=True),
    Column("user_id", ForeignKey("users.id"), primary_key=True),
)
archive_item_values = Table(
    "archive_item_values",
    Base.metadata,
    Column("item_pk", ForeignKey("archive_items.pk"), primary_key=True),
    Column("value_pk", ForeignKey("socket_values.pk"), primary_key=True, index=True),
)
reader_study_editors = Table(
    "reader_study_editors",
    Base.metadata,
    Column("reader_study_pk", ForeignKey("reader_studies.pk"), primary_key=True),
    Column("user_id", ForeignKey("users.id"), primary_key=True),
)
reader_study_readers = Table(
    "reader_study_readers",
    Base.metadata,
    Column("reader_study_pk", ForeignKey("reader_studies.pk"), primary_key=True),
    Column("user_id", ForeignKey("users.id"), primary_key=True),
)
display_set_values = Table(
    "display_set_values",
    Base.metadata,
    Column("display_set_pk", ForeignKey("display_sets.pk"), primary_key=True),
    Column("value_pk", ForeignKey("socket_values.pk"), primary_key=True, index=True),
)


class Archive(Base):
    __tablename__ = "archives"

    pk: Mapped[str] = mapped_column(String(36), primary_key=True)
    slug: Mapped[str] = mapped_column(String(255), unique=True, index=True)
    title: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(String, default="")
    logo: Mapped[str] = mapped_column(String, default="")
    public: Mapped[bool] = mapped_column(Boolean, default=False)
    created: Mapped[datetime] = mapped_column(DateTime, index=True)


class ArchiveItem(Base):
    __tablename__ = "archive_items"

    pk: Mapped[str] = mapped_column(String(36), primary_key=True)
    archive_pk: Mapped[str] = mapped_column(ForeignKey("archives.pk"), index=True)
    title: Mapped[str] = mapped_column(String(255), default="")
    created: Mapped[datetime] = mapped_column(DateTime, index=True)

    archive: Mapped[Archive] = relationship()
    values: Mapped[list[SocketValue]] = relationship(secondary=archive_item_values)


class ReaderStudy(Base):
    """A reader study; ReaderStudySerializer fields the download path does not use are in
    `extra` (by name, e.g. `is_educational`)."""

    __tablename__ = "reader_studies"

    pk: Mapped[str] = mapped_column(String(36), primary_key=True)
    slug: Mapped[str] = mapped_column(String(255), unique=True, index=True)
    title: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(String, default="")
    logo: Mapped[str] = mapped_column(String, default="")
    public: Mapped[bool] = mapped_column(Boolean, default=False)
    created: Mapped[datetime] = mapped_column(DateTime, index=True)
    extra: Mapped[Any] = mapped_column(JSON, default=dict)


class DisplaySet(Base):
    __tablename__ = "display_sets"

    pk: Mapped[str] = mapped_column(String(36), primary_key=True)
    reader_study_pk: Mapped[str] = mapped_column(ForeignKey("reader_studies.pk"), index=True)
    order: Mapped[int] = mapped_column(Integer, default=0)
    title: Mapped[str] = mapped_column(String(255), default="")
    created: Mapped[datetime] = mapped_column(DateTime, index=True)

    reader_study: Mapped[ReaderStudy] = relationship()
    values: Mapped[list[SocketValue]] = relationship(secondary=display_set_values)


class DicomInstance(Base):
    """One frame of an image's DICOM image set, as GC's `image_frame_metadata` lists them:
    a multi-frame instance has one row per frame, all with the same SOP instance UID and
    storage key. The image's `extra["dicom_image_set"]` is `{"image_set_id": ...}`."""

    __tablename__ = "dicom_instances"

    pk: Mapped[int] = mapped_column(Integer, primary_key=True)
    image_pk: Mapped[str] = mapped_column(ForeignKey("images.pk"), index=True)
    position: Mapped[int] = mapped_column(Integer)  # order of the frame in the image set
    study_instance_uid: Mapped[str] = mapped_column(String(64))
    series_instance_uid: Mapped[str] = mapped_column(String(64))
    sop_instance_uid: Mapped[str] = mapped_column(String(64))
    stored_transfer_syntax_uid: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String)  # storage key of the instance's .dcm file
