"""Run one contender as a child process: wall time from the parent; peak RSS and CPU seconds
(user + system) of the child."""

from __future__ import annotations

import contextlib
import os
import resource
import shutil
import signal
import statistics
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

GNU_TIME = "/usr/bin/time" if os.access("/usr/bin/time", os.X_OK) else None


@dataclass(frozen=True)
class Run:
    """One measured run of a contender."""

    seconds: float
    peak_rss_mb: float  # the child's maximum resident set size (ru_maxrss)
    cpu_seconds: float = 0.0  # the child's user + system CPU time (ru_utime + ru_stime)


class ContenderFailed(RuntimeError):
    """A contender exited with an error; the message ends with the tail of its output."""


class TimedOut(ContenderFailed):
    """A contender ran past its time limit and was stopped; `run` is what it reached."""

    def __init__(self, message: str, run: Run) -> None:
        super().__init__(message)
        self.run = run


def run_process(
    command: list[str], *, env: dict[str, str], log: Path, timeout: float = 900.0
) -> Run:
    """Run `command` to completion; raise ContenderFailed if it fails or times out.

    Peak RSS and CPU come from GNU time's `%M %U %S` when /usr/bin/time exists (a small
    process forks the contender, so the harness's own memory and CPU are not counted), else
    from psutil polling and the RUSAGE_CHILDREN delta around the run. A contender still
    running after `timeout` seconds is killed with its process group and TimedOut carries the
    polled peak RSS (and no CPU figure). The disk is synced first: a contender that fsyncs
    its files must not wait for bytes that the data build or an earlier run left in memory.
    """
    log.parent.mkdir(parents=True, exist_ok=True)
    rss_file = log.with_suffix(".rss")
    wrapped = [GNU_TIME, "-f", "%M %U %S", "-o", str(rss_file), *command] if GNU_TIME else command
    os.sync()
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with log.open("wb") as out:
        started = time.perf_counter()
        process = subprocess.Popen(
            wrapped, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        polled = _poll_rss(process, timeout)
        seconds = time.perf_counter() - started
        if process.returncode is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            message = f"{command[0]} … stopped after {timeout:.0f} s"
            raise TimedOut(message, Run(seconds, polled / 2**20))
    if process.returncode != 0:
        tail = log.read_text(errors="replace")[-2000:]
        raise ContenderFailed(f"{command[0]} … exited {process.returncode}:\n{tail}")
    if GNU_TIME:  # its last line; a line before it may say the command failed
        kib, user, system = rss_file.read_text().split()[-3:]
        return Run(seconds, int(kib) / 1024, float(user) + float(system))
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (children.ru_utime - children_before.ru_utime) + (
        children.ru_stime - children_before.ru_stime
    )
    return Run(seconds, polled / 2**20, cpu)


def _poll_rss(process: subprocess.Popen[bytes], timeout: float) -> int:
    """Wait up to `timeout` s for `process`, sampling the RSS of its contender meanwhile (bytes).

    With GNU time, its own (small) process is left out: the contender is its child.
    """
    import psutil

    deadline, peak = time.monotonic() + timeout, 0
    parent = psutil.Process(process.pid)
    while process.poll() is None and time.monotonic() < deadline:
        with contextlib.suppress(psutil.Error):
            tree = parent.children(recursive=True) + ([] if GNU_TIME else [parent])
            peak = max(peak, sum(p.memory_info().rss for p in tree))
        time.sleep(0.1)
    return peak


def median_run(runs: list[Run]) -> Run:
    """The median of the seconds and of the CPU seconds, and the largest peak RSS of several
    runs."""
    return Run(
        statistics.median(r.seconds for r in runs),
        max(r.peak_rss_mb for r in runs),
        statistics.median(r.cpu_seconds for r in runs),
    )


def tree_bytes(root: Path) -> tuple[int, int]:
    """(number of files, total bytes) below `root`."""
    count = size = 0
    for directory, _, names in os.walk(root):
        for name in names:
            count += 1
            size += os.stat(os.path.join(directory, name)).st_size
    return count, size


def remove(path: Path) -> None:
    """Remove a directory tree or a file, if present."""
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)
