"""Who may see what (§1.4), as SQL where-clauses; `user` None means anonymous.

Each `visible_*` function returns a boolean clause on its table, to be used as
`select(Job).where(visible_jobs(user))`. Invisible objects are filtered out, never refused:
views answer 404 for them, exactly as for absent ones.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, Select, exists, false, or_, select
from sqlalchemy.orm import Session

from gcfetch.sandbox.tables import (
    Algorithm,
    AlgorithmImage,
    Image,
    Job,
    SocketValue,
    User,
    algorithm_editors,
    algorithm_users,
    job_inputs,
    job_outputs,
    job_viewers,
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


def visible_images(user: User | None) -> ColumnElement[bool]:
    """Images used as an input or output of a job the user can view."""
    return exists(
        select(SocketValue.pk).where(SocketValue.image_pk == Image.pk, visible_socket_values(user))
    )


def visible_socket_values(user: User | None) -> ColumnElement[bool]:
    """Socket values that are an input or output of a job the user can view.

    Correlated per value (indexed on `value_pk`), so that checking one value or one image
    costs the same whatever the number of jobs.
    """
    jobs = visible_jobs(user)
    return or_(
        *(
            exists(
                select(link.c.job_pk)
                .join(Job, Job.pk == link.c.job_pk)
                .where(link.c.value_pk == SocketValue.pk, jobs)
            )
            for link in (job_inputs, job_outputs)
        )
    )


def can_view_image(session: Session, user: User | None, image_pk: str) -> bool:
    """Whether the image exists and the user may see it."""
    query = select(Image.pk).where(Image.pk == image_pk, visible_images(user)).limit(1)
    return session.scalar(query) is not None


def can_view_socket_value(session: Session, user: User | None, value_pk: int) -> bool:
    """Whether the socket value exists and the user may see it."""
    query = select(SocketValue.pk).where(SocketValue.pk == value_pk, visible_socket_values(user))
    return session.scalar(query.limit(1)) is not None


def _editable_algorithm_pks(user: User) -> Select[tuple[str]]:
    return select(algorithm_editors.c.algorithm_pk).where(algorithm_editors.c.user_id == user.id)
