"""`gcfetch archive` and `gcfetch display-sets`: every value of every item, on the outputs
engine."""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from gcfetch import config
from gcfetch.cli.download import Access, Display, run_command
from gcfetch.cli.options import BaseUrlOpt, OutputDirOpt, TokenOpt, VerboseOpt, WorkersOpt
from gcfetch.cli.outputs import DryRunOpt, QuietOpt

if TYPE_CHECKING:
    from gcfetch.cli.render import ProgressView
    from gcfetch.client import Client
    from gcfetch.outputs.summary import DownloadSummary

_SHARED_HELP = (
    "Files land as the official client's download_socket_value writes them: DIR/<{pk}>/"
    "<socket relative path>, images as DIR/<{pk}>/<image dir>/<image pk>.mha, values as "
    "JSON. DIR/manifest.jsonl records every file; DIR/results.csv has one row per {noun} with "
    "its values; DIR/items.jsonl holds each {noun} as the API returned it.\n\n"
    "Run the same command again at any time: finished files are skipped without any request "
    "and half-downloaded ones resume. Ctrl-C stops within 3 seconds and keeps everything done "
    "so far.\n\n"
    "Exit codes: 0 all done, 1 some values failed (listed), 2 bad input or configuration, 130 "
    "interrupted.\n\n"
    "Examples:\n\n"
)
ARCHIVE_HELP = (
    "Download every value of every item of an archive: fast, safe and resumable.\n\n"
    + _SHARED_HELP.format(pk="item pk", noun="item")
    + "gcfetch archive my-archive -o archive/\n\ngcfetch archive <PK> --dry-run"
)
DISPLAY_SETS_HELP = (
    "Download every value of every display set of a reader study.\n\n"
    + _SHARED_HELP.format(pk="display set pk", noun="display set")
    + "gcfetch display-sets my-reader-study -o display-sets/"
)

ArchiveArg = Annotated[str, typer.Argument(metavar="SLUG|PK", help="The archive's slug or pk.")]
ReaderStudyArg = Annotated[
    str, typer.Argument(metavar="SLUG|PK", help="The reader study's slug or pk.")
]


def archive_command(
    archive: ArchiveArg,
    output: OutputDirOpt = Path("archive"),
    workers: WorkersOpt = config.DEFAULT_WORKERS,
    dry_run: DryRunOpt = False,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = 0,
    token: TokenOpt = None,
    base_url: BaseUrlOpt = None,
) -> None:
    """Download an archive's items with a progress view; Ctrl-C stops cleanly."""
    from gcfetch.outputs import download_archive

    download = partial(download_archive, archive=archive, output_directory=output)
    _run(download, Access(token, base_url, workers), Display(quiet, verbose, dry_run))


def display_sets_command(
    reader_study: ReaderStudyArg,
    output: OutputDirOpt = Path("display-sets"),
    workers: WorkersOpt = config.DEFAULT_WORKERS,
    dry_run: DryRunOpt = False,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = 0,
    token: TokenOpt = None,
    base_url: BaseUrlOpt = None,
) -> None:
    """Download a reader study's display sets with a progress view; Ctrl-C stops cleanly."""
    from gcfetch.outputs import download_display_sets

    download = partial(download_display_sets, reader_study=reader_study, output_directory=output)
    _run(download, Access(token, base_url, workers), Display(quiet, verbose, dry_run))


def _run(download: Callable[..., DownloadSummary], access: Access, display: Display) -> None:
    """`download(client, on_progress=, cancel=, dry_run=)` as a command."""

    def run(client: Client, view: ProgressView, cancel: threading.Event) -> DownloadSummary:
        return download(client, on_progress=view, cancel=cancel, dry_run=display.dry_run)

    run_command(run, access, display)
