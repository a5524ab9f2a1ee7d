"""Helpers for the downloader's server-backed tests: a request-counting transport, DB edits."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta

import httpx
from sqlalchemy import insert, select

from gcfetch.sandbox.tables import Job, Socket, SocketValue, job_outputs, job_viewers


class CountingTransport(httpx.BaseTransport):
    """Passes requests to a real transport and remembers (method, url, headers) of each."""

    def __init__(self) -> None:
        self._inner = httpx.HTTPTransport()
        self._lock = threading.Lock()
        self.requests: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            self.requests.append(request)
        return self._inner.handle_request(request)

    def close(self) -> None:
        self._inner.close()

    def to_origin(self, origin: str) -> list[httpx.Request]:
        return [r for r in self.requests if str(r.url).startswith(origin.rstrip("/"))]

    def paths(self, prefix: str) -> list[str]:
        return [r.url.path for r in self.requests if r.url.path.startswith(prefix)]


def add_output(
    sandbox,
    job_pk: str,
    slug: str,
    relative_path: str,
    super_kind: str,
    *,
    value=None,
    image_pk: str | None = None,
) -> None:
    """Give a job one more output, on a new socket (or the existing one with that slug)."""
    with sandbox.apps.sessionmaker() as session:
        add_output_row(
            session, job_pk, slug, relative_path, super_kind, value=value, image_pk=image_pk
        )
        session.commit()


def add_output_row(
    session, job_pk: str, slug: str, relative_path: str, super_kind: str, **value
) -> None:
    """`add_output` inside an open session (not committed); `value` holds SocketValue columns."""
    link = {"table": job_outputs, "job_pk": job_pk}
    add_value_row(session, link, slug, relative_path, super_kind, **value)


def add_value_row(
    session, link: dict, slug: str, relative_path: str, super_kind: str, **value
) -> None:
    """A socket value (on a new socket, or the one with that slug) linked to its holder by
    `link`: the link table under "table", and the holder's column and pk."""
    socket = session.scalar(select(Socket).where(Socket.slug == slug))
    if socket is None:
        socket = Socket(
            slug=slug,
            title=slug,
            description="",
            kind="Anything",
            super_kind=super_kind,
            relative_path=relative_path,
            default_value=None,
            overlay_segments=[],
            look_up_table=None,
        )
        session.add(socket)
        session.flush()
    socket_value = SocketValue(socket_pk=socket.pk, **value)
    session.add(socket_value)
    session.flush()
    columns = {k: v for k, v in link.items() if k != "table"}
    session.execute(insert(link["table"]).values(**columns, value_pk=socket_value.pk))


def clone_job(sandbox, job_pk: str, *, viewer_id: int = 1) -> str:
    """A new Succeeded job, created after all others, sharing `job_pk`'s outputs."""
    with sandbox.apps.sessionmaker() as session:
        old = session.get(Job, job_pk)
        latest = max(j.created for j in session.scalars(select(Job)))
        new = Job(
            pk=str(uuid.uuid4()),
            algorithm_image_pk=old.algorithm_image_pk,
            creator_id=old.creator_id,
            status="Succeeded",
            public=old.public,
            created=latest + timedelta(minutes=1),
            exec_duration=1.0,
            invoke_duration=1.0,
        )
        session.add(new)
        session.flush()
        for value in old.outputs:
            session.execute(insert(job_outputs).values(job_pk=new.pk, value_pk=value.pk))
        session.execute(insert(job_viewers).values(job_pk=new.pk, user_id=viewer_id))
        session.commit()
        return new.pk


def image_pk_of_input(sandbox, job_pk: str) -> str:
    with sandbox.apps.sessionmaker() as session:
        return next(v.image_pk for v in session.get(Job, job_pk).inputs if v.image_pk)


def corrupt_job(sandbox, job_pk: str) -> str:
    """Make the API send job `job_pk` in a shape the client refuses: a new output whose socket
    has a list as `look_up_table` (an object or null in the contract). Returns the socket slug."""
    slug = f"broken-{job_pk[:8]}"
    add_output(sandbox, job_pk, slug, f"{slug}.json", "Value", value=1)
    with sandbox.apps.sessionmaker() as session:
        socket = session.scalar(select(Socket).where(Socket.slug == slug))
        socket.look_up_table = ["not", "an", "object"]
        session.commit()
    return slug
