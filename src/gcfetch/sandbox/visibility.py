"""Who may see what (§1.4), as SQL where-clauses; `user` None means anonymous.

Each `visible_*` function returns a boolean clause on its table, to be used as
`select(Job).where(visible_jobs(user))`. Invisible objects are filtered out, never refused:
views answer 404 for them, exactly as for absent ones.
"""

from __future__ import annotations

from functools import lru_cache

from sqlalchemy import ColumnElement, Select, bindparam, exists, false, or_, select
from sqlalchemy.orm import Session

from gcfetch.sandbox.tables import (
    Algorithm,
    AlgorithmImage,
    Archive,
    ArchiveItem,
    DisplaySet,
    Image,
    Job,
    ReaderStudy,
    SocketValue,
    User,
    algorithm_editors,
    algorithm_users,
    archive_editors,
    archive_item_values,
    archive_uploaders,
    archive_users,
    display_set_values,
    job_inputs,
    job_outputs,
    job_viewers,
    reader_study_editors,
    reader_study_readers,
)


def visible_algorithms(user: User | None) -> ColumnElement[bool]:
    """Algorithms that are public, or that the user edits or uses."""
    if user is None:
        return Algorithm.public.is_(True)
    return or_(
        Algorithm.public.is_(True),
        Algorithm.pk.in_(_editable_algorithm_pks(user)),
        Algorithm.pk.in_(
            select(algorithm_users.c.algorithm_pk).where(algorithm_users.c.user_id == user.id)
        ),
    )


def visible_algorithm_images(user: User | None) -> ColumnElement[bool]:
    """Algorithm images of the algorithms the user edits (editors only, never public)."""
    if user is None:
        return false()
    return AlgorithmImage.algorithm_pk.in_(_editable_algorithm_pks(user))


def visible_jobs(user: User | None) -> ColumnElement[bool]:
    """Public jobs and the jobs the user is a viewer of (editors see no others' jobs)."""
    if user is None:
        return Job.public.is_(True)
    return or_(
        Job.public.is_(True),
        exists().where(job_viewers.c.job_pk == Job.pk, job_viewers.c.user_id == user.id),
    )


def visible_archives(user: User | None) -> ColumnElement[bool]:
    """Public archives and those the user edits, uploads to or uses (GC's three groups)."""
    if user is None:
        return Archive.public.is_(True)
    return or_(Archive.public.is_(True), Archive.pk.in_(_member_archive_pks(user)))


def visible_archive_items(user: User | None) -> ColumnElement[bool]:
    """Items of the archives the user edits, uploads to or uses; never public (GC gives
    `view_archiveitem` to the archive's three groups only)."""
    if user is None:
        return false()
    return ArchiveItem.archive_pk.in_(_member_archive_pks(user))


def visible_reader_studies(user: User | None) -> ColumnElement[bool]:
    """Public reader studies and those the user edits or reads."""
    if user is None:
        return ReaderStudy.public.is_(True)
    return or_(ReaderStudy.public.is_(True), ReaderStudy.pk.in_(_member_reader_study_pks(user)))


def visible_display_sets(user: User | None) -> ColumnElement[bool]:
    """Display sets of the reader studies the user edits or reads; never public."""
    if user is None:
        return false()
    return DisplaySet.reader_study_pk.in_(_member_reader_study_pks(user))


def visible_images(user: User | None) -> ColumnElement[bool]:
    """Images of a socket value the user can view (of a job, archive item or display set)."""
    return exists(
        select(SocketValue.pk).where(SocketValue.image_pk == Image.pk, visible_socket_values(user))
    )


def visible_socket_values(user: User | None) -> ColumnElement[bool]:
    """Socket values of a job, archive item or display set the user can view.

    Correlated per value (indexed on `value_pk`), so that checking one value or one image
    costs the same whatever the number of jobs.
    """
    jobs = visible_jobs(user)
    of_jobs = [
        exists(
            select(link.c.job_pk)
            .join(Job, Job.pk == link.c.job_pk)
            .where(link.c.value_pk == SocketValue.pk, jobs)
        )
        for link in (job_inputs, job_outputs)
    ]
    if user is None:
        return or_(*of_jobs)
    of_items = exists(
        select(archive_item_values.c.item_pk)
        .join(ArchiveItem, ArchiveItem.pk == archive_item_values.c.item_pk)
        .where(archive_item_values.c.value_pk == SocketValue.pk, visible_archive_items(user))
    )
    of_display_sets = exists(
        select(display_set_values.c.display_set_pk)
        .join(DisplaySet, DisplaySet.pk == display_set_values.c.display_set_pk)
        .where(display_set_values.c.value_pk == SocketValue.pk, visible_display_sets(user))
    )
    return or_(*of_jobs, of_items, of_display_sets)


def can_view_image(session: Session, user: User | None, image_pk: str) -> bool:
    """Whether the image exists and the user may see it."""
    return session.scalar(_image_query(_user_id(user)), {"image_pk": image_pk}) is not None


def visible_file_key(session: Session, user: User | None, value_pk: int) -> str | None:
    """The storage key of the socket value's file, if it exists, holds a file and the user
    may see it (one query: `/media/` asks it for every file)."""
    return session.scalar(_file_key_query(_user_id(user)), {"value_pk": value_pk})


# The two statements `/media/` runs for every file are built once per user: SQLAlchemy finds a
# statement's compiled form by walking it, which for these costs ten times running them.
@lru_cache(maxsize=256)
def _image_query(user_id: int | None) -> Select[tuple[str]]:
    where = Image.pk == bindparam("image_pk"), visible_images(_user(user_id))
    return select(Image.pk).where(*where).limit(1)


@lru_cache(maxsize=256)
def _file_key_query(user_id: int | None) -> Select[tuple[str | None]]:
    where = SocketValue.pk == bindparam("value_pk"), visible_socket_values(_user(user_id))
    return select(SocketValue.file_key).where(*where).limit(1)


def _user_id(user: User | None) -> int | None:
    return None if user is None else user.id


def _user(user_id: int | None) -> User | None:
    """A stand-in for the user of `user_id` (the clauses read only its id)."""
    return None if user_id is None else User(id=user_id)


def _editable_algorithm_pks(user: User) -> Select[tuple[str]]:
    return select(algorithm_editors.c.algorithm_pk).where(algorithm_editors.c.user_id == user.id)


def _member_archive_pks(user: User) -> Select[tuple[str]]:
    links = (archive_editors, archive_uploaders, archive_users)
    selects = [select(t.c.archive_pk).where(t.c.user_id == user.id) for t in links]
    return selects[0].union(*selects[1:])  # type: ignore[return-value]


def _member_reader_study_pks(user: User) -> Select[tuple[str]]:
    links = (reader_study_editors, reader_study_readers)
    selects = [select(t.c.reader_study_pk).where(t.c.user_id == user.id) for t in links]
    return selects[0].union(*selects[1:])  # type: ignore[return-value]
