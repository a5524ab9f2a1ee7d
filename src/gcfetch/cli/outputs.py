"""`gcfetch outputs`: parse, build the client, call download_outputs, render."""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from rich.console import Console

from gcfetch import config
from gcfetch.cli.errors import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    run_guarded,
    usage_error,
)
from gcfetch.cli.logs import setup_logging
from gcfetch.cli.options import (
    AlgorithmImageOpt,
    AlgorithmOpt,
    BaseUrlOpt,
    OutputDirOpt,
    StatusOpt,
    TokenOpt,
    VerboseOpt,
    WorkersOpt,
    make_client,
)
from gcfetch.cli.render import ProgressView, render_failures, render_summary

if TYPE_CHECKING:
    from gcfetch.outputs.summary import DownloadSummary

OUTPUTS_HELP = (
    "Download the outputs of an algorithm's jobs: fast, safe and resumable.\n\n"
    "Select jobs by algorithm slug (all its versions), by algorithm image pk (one version), or "
    "by job pk (repeat --job). Only Succeeded jobs are downloaded unless --status says "
    "otherwise; the others are counted in the summary.\n\n"
    "Files land as the official client lays them out: DIR/<job pk>/<socket relative path>, "
    "images as DIR/<job pk>/<image dir>/<image pk>.mha, values as JSON. DIR/manifest.jsonl "
    "records every file (size, sha256, ETag, source URL); DIR/results.csv has one row per job "
    "with its inputs (image names and pks) and value outputs; DIR/jobs.jsonl holds each job "
    "as the API returned it.\n\n"
    "--layout evaluation writes what a challenge's evaluation container reads: "
    "DIR/predictions.json and DIR/<job pk>/output/<socket relative path>; mount DIR as "
    "/input.\n\n"
    "--watch lists again every --interval seconds while selected jobs are still running, "
    "downloads what newly succeeded, and stops when every job is final (or on Ctrl-C).\n\n"
    "Run the same command again at any time: finished files are skipped without any request, "
    "a half-downloaded file continues where it stopped, and new jobs are picked up. Ctrl-C "
    "stops within 3 seconds, also while waiting to retry, and keeps everything done so far. A "
    "download stuck on a silent server ends at its read timeout, or at once on a second "
    "Ctrl-C.\n\n"
    "Exit codes: 0 all done, 1 some outputs failed (listed), 2 bad input or configuration, 130 "
    "interrupted.\n\n"
    "Examples:\n\n"
    "export GRAND_CHALLENGE_AUTHORIZATION=<your token>\n\n"
    "gcfetch outputs --algorithm lung-nodule-detector -o download/\n\n"
    "gcfetch outputs -a lung-nodule-detector -i <PK> --status Failed\n\n"
    "gcfetch outputs --job <PK> --job <PK> -o download/ --workers 16\n\n"
    "gcfetch outputs -a lung-nodule-detector --layout evaluation -o input/\n\n"
    "gcfetch outputs -a lung-nodule-detector --watch --interval 60\n\n"
    "gcfetch outputs -a lung-nodule-detector --dry-run"
)


JobOpt = Annotated[
    list[str] | None, typer.Option("--job", "-j", metavar="PK", help="Job pk (repeatable).")
]
DryRunOpt = Annotated[
    bool, typer.Option("--dry-run", help="List what would be downloaded; write nothing.")
]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="Print only errors.")]


class LayoutChoice(StrEnum):
    default = "default"
    evaluation = "evaluation"


LayoutOpt = Annotated[
    LayoutChoice,
    typer.Option(
        "--layout",
        metavar="NAME",
        case_sensitive=False,
        help="default (as gcapi writes) or evaluation (predictions.json and "
        "<job pk>/output/..., as an evaluation container reads them).",
    ),
]
WatchOpt = Annotated[
    bool,
    typer.Option("--watch", help="Keep listing while selected jobs run; stop when all are final."),
]
IntervalOpt = Annotated[
    float,
    typer.Option(
        "--interval", metavar="SECONDS", help="Seconds between listings with --watch (>= 1)."
    ),
]
FixMhdOpt = Annotated[
    bool,
    typer.Option(
        "--fix-mhd",
        help="Rewrite a saved .mhd header that still names the uploaded data file (e.g. "
        "x.zraw) to name the saved one, so image readers open the pair.",
    ),
]


def outputs_command(
    algorithm: AlgorithmOpt = None,
    algorithm_image: AlgorithmImageOpt = None,
    job: JobOpt = None,
    output: OutputDirOpt = Path("download"),
    status: StatusOpt = None,
    workers: WorkersOpt = config.DEFAULT_WORKERS,
    dry_run: DryRunOpt = False,
    layout: LayoutOpt = LayoutChoice.default,
    watch: WatchOpt = False,
    interval: IntervalOpt = 30.0,
    fix_mhd: FixMhdOpt = False,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = 0,
    token: TokenOpt = None,
    base_url: BaseUrlOpt = None,
) -> None:
    """Check the selection, download with a progress view, report; Ctrl-C stops cleanly."""
    from gcfetch.outputs import download_outputs

    setup_logging(verbose)
    out, err = Console(), Console(stderr=True, soft_wrap=True)
    _check_selection(err, algorithm, algorithm_image, job)
    if watch and dry_run:
        usage_error(err, "A dry run lists once: drop --watch or --dry-run.", "outputs")
    cancel = threading.Event()

    def run() -> DownloadSummary:
        with (
            make_client(token, base_url, workers) as client,
            ProgressView(err, quiet=quiet, verbose=verbose) as view,
        ):
            return download_outputs(
                client,
                algorithm=algorithm,
                algorithm_image=algorithm_image,
                jobs=job,
                output_directory=output,
                statuses=tuple(status or ("Succeeded",)),
                on_progress=view,
                cancel=cancel,
                dry_run=dry_run,
                layout=layout.value,
                watch=watch,
                interval=interval,
                fix_mhd=fix_mhd,
            )

    try:
        with _cancel_on_sigint(cancel):
            summary = run_guarded(err, run)
            _report(out, err, summary, quiet=quiet, dry_run=dry_run, verbose=verbose)
    except KeyboardInterrupt:  # a second Ctrl-C
        _stop_now(err)


def _check_selection(
    err: Console, algorithm: str | None, algorithm_image: str | None, job: list[str] | None
) -> None:
    """Exit 2 unless jobs are selected one way: by algorithm / algorithm image, or by pk."""
    if not (algorithm or algorithm_image or job):
        usage_error(
            err, "Select jobs with --algorithm SLUG, --algorithm-image PK or --job PK.", "outputs"
        )
    if job and (algorithm or algorithm_image):
        usage_error(
            err, "Use --job alone, or --algorithm / --algorithm-image, not both.", "outputs"
        )


def _report(
    out: Console,
    err: Console,
    summary: DownloadSummary,
    *,
    quiet: bool,
    dry_run: bool,
    verbose: int,
) -> NoReturn:
    """Render the summary and exit with its code."""
    if quiet:
        render_failures(err, summary)
    else:
        render_summary(out, summary, verbose=verbose)
        if dry_run:
            for path in summary.would_download[:20]:
                out.print(f"would download {path}", markup=False, highlight=False)
    if summary.interrupted:
        err.print(
            "Interrupted. Finished files are kept and .part files resume: run the same "
            "command again to continue."
        )
        raise typer.Exit(EXIT_INTERRUPTED)
    if summary.failures:
        err.print(
            f"{summary.files_failed} output(s) failed (listed above); run the same "
            "command again to retry them."
        )
        raise typer.Exit(EXIT_FAILED)
    raise typer.Exit(EXIT_OK)


@contextmanager
def _cancel_on_sigint(cancel: threading.Event) -> Iterator[None]:
    """In the block, a first Ctrl-C sets `cancel` (a clean stop: every wait ends at once) and a
    second one raises KeyboardInterrupt.

    The handler only writes a byte to a pipe; a helper thread sets `cancel`. Setting the event
    in the handler itself could deadlock: the handler runs in the main thread, which may be
    holding the event's lock while it waits on it (a retry wait of the listing). After a Ctrl-C,
    SIGINT stays ignored: the command is exiting with 130, and a later Ctrl-C would only turn
    that exit into a traceback.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    presses = 0
    read_end, write_end = os.pipe()

    def handler(signum: int, frame: object) -> None:
        nonlocal presses
        presses += 1
        if presses > 1:
            raise KeyboardInterrupt
        os.write(write_end, b"!")

    threading.Thread(
        target=_set_on_byte, args=(read_end, cancel), name="gcfetch-sigint", daemon=True
    ).start()
    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN if presses else previous)
        os.close(write_end)  # the helper reads end-of-file and ends


def _set_on_byte(read_end: int, event: threading.Event) -> None:
    """Set `event` when a byte arrives on `read_end`; end at end-of-file."""
    try:
        if os.read(read_end, 1):
            event.set()
    finally:
        os.close(read_end)


def _stop_now(err: Console) -> NoReturn:
    """Exit 130 at once. Transfers still blocked on the network (a stalled server) are
    abandoned, as a kill would: their `.part` files resume on the next run."""
    err.print(
        "Interrupted again: stopped at once. Finished files are kept and .part files resume: "
        "run the same command again to continue."
    )
    if _workers_left():
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(EXIT_INTERRUPTED)  # a normal exit would wait for them: what Ctrl-C refused
    raise typer.Exit(EXIT_INTERRUPTED)


def _workers_left() -> bool:
    """Whether threads that a normal exit waits for (the pool's workers) are still running."""
    current = threading.current_thread()
    return any(t.is_alive() and not t.daemon for t in threading.enumerate() if t is not current)
