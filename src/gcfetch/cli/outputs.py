"""`gcfetch outputs`: parse, build the client, call download_outputs, render."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, TypeVar

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

T = TypeVar("T")

OUTPUTS_HELP = """Download the outputs of an algorithm's jobs: fast, safe and resumable.

Select jobs by algorithm slug (all its versions), by algorithm image pk (one version), or by
job pk (repeat --job). Only Succeeded jobs are downloaded unless --status says otherwise; the
others are counted in the summary.

Files land as the official client lays them out: DIR/<job pk>/<socket relative path>, images as
DIR/<job pk>/<image dir>/<image pk>.mha, values as JSON. DIR/manifest.jsonl records every file
(size, sha256, ETag, source URL); DIR/results.csv has one row per job with its value outputs.

Run the same command again at any time: finished files are skipped without any request, a
half-downloaded file continues where it stopped, and new jobs are picked up. Ctrl-C stops
within a second and keeps everything done so far.

Exit codes: 0 all done, 1 some outputs failed (listed), 2 bad input or configuration,
130 interrupted.

Examples:

  export GRAND_CHALLENGE_AUTHORIZATION=<your token>

  gcfetch outputs --algorithm lung-nodule-detector -o download/

  gcfetch outputs --algorithm lung-nodule-detector --algorithm-image <PK> --status Failed

  gcfetch outputs --job <PK> --job <PK> -o download/ --workers 16

  gcfetch outputs -a lung-nodule-detector --dry-run
"""


def outputs_command(
    algorithm: AlgorithmOpt = None,
    algorithm_image: AlgorithmImageOpt = None,
    job: Annotated[
        list[str] | None,
        typer.Option("--job", "-j", metavar="PK", help="Job pk (repeatable)."),
    ] = None,
    output: OutputDirOpt = Path("download"),
    status: StatusOpt = None,
    workers: WorkersOpt = config.DEFAULT_WORKERS,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List what would be downloaded; write nothing.")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only errors.")] = False,
    verbose: VerboseOpt = 0,
    token: TokenOpt = None,
    base_url: BaseUrlOpt = None,
) -> None:
    from gcfetch.outputs import download_outputs

    setup_logging(verbose)
    out, err = Console(), Console(stderr=True, soft_wrap=True)
    if not (algorithm or algorithm_image or job):
        usage_error(
            err, "Select jobs with --algorithm SLUG, --algorithm-image PK or --job PK.", "outputs"
        )
    if job and (algorithm or algorithm_image):
        usage_error(
            err, "Use --job alone, or --algorithm / --algorithm-image, not both.", "outputs"
        )
    cancel = threading.Event()

    def run() -> object:
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
                workers=workers,
                on_progress=view,
                cancel=cancel,
                dry_run=dry_run,
            )

    summary = run_guarded(err, lambda: _cancel_on_sigint(cancel, run))
    if quiet:
        render_failures(err, summary)
    else:
        render_summary(out, summary)
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


def _cancel_on_sigint(cancel: threading.Event, call: Callable[[], T]) -> T:
    """First Ctrl-C sets `cancel` (clean stop); a second one interrupts at once."""

    def handler(signum: int, frame: object) -> None:
        if cancel.is_set():
            raise KeyboardInterrupt
        cancel.set()

    if threading.current_thread() is not threading.main_thread():
        return call()
    previous = signal.signal(signal.SIGINT, handler)
    try:
        return call()
    finally:
        signal.signal(signal.SIGINT, previous)
