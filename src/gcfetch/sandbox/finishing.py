"""Jobs that finish later: what GC's workers do to a running job, done on demand.

`finish_pending_jobs` moves every job that is not final (Succeeded, Failed, Cancelled) to
Succeeded, with run times and outputs: copies of the output values of the earliest succeeded
job of the same algorithm (new value rows on the same images, stored files and JSON), so the
sockets are the algorithm's own. A job whose algorithm has no succeeded job stays as it is.
`Sandbox(settings with finish_jobs_after=N)` calls it N seconds after the start; tests and
`gcfetch sandbox serve --finish-jobs-after N` use that to show `gcfetch outputs --watch`.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from gcfetch.sandbox.tables import AlgorithmImage, Job, SocketValue

FINAL_STATUSES = ("Succeeded", "Failed", "Cancelled")


def finish_pending_jobs(session: Session) -> list[str]:
    """Finish every job that is not final (see the module); commit; return their pks."""
    finished = []
    pending = session.scalars(select(Job).where(Job.status.not_in(FINAL_STATUSES)).order_by(Job.pk))
    for job in list(pending):
        model = _succeeded_job_of_algorithm(session, job.algorithm_image.algorithm_pk)
        if model is None:
            continue
        job.status = "Succeeded"
        job.exec_duration, job.invoke_duration = model.exec_duration, model.invoke_duration
        job.outputs = [_copy(value) for value in model.outputs]
        finished.append(job.pk)
    session.commit()
    return finished


def _succeeded_job_of_algorithm(session: Session, algorithm_pk: str) -> Job | None:
    return session.scalar(
        select(Job)
        .join(AlgorithmImage, Job.algorithm_image_pk == AlgorithmImage.pk)
        .where(AlgorithmImage.algorithm_pk == algorithm_pk, Job.status == "Succeeded")
        .order_by(Job.created, Job.pk)
        .limit(1)
    )


def _copy(value: SocketValue) -> SocketValue:
    return SocketValue(
        socket_pk=value.socket_pk,
        value=value.value,
        file_key=value.file_key,
        image_pk=value.image_pk,
    )
