"""`gcfetch outputs`: parse, build the client, call download_outputs, render."""

from __future__ import annotations

import threading
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from gcfetch import config
from gcfetch.cli.download import Access, Display, run_command
from gcfetch.cli.errors import usage_error
from gcfetch.cli.options import (
    AlgorithmImageOpt,
    AlgorithmOpt,
    BaseUrlOpt,
    OutputDirOpt,
    SegmentsOpt,
    SegmentThresholdOpt,
    StatusOpt,
    TokenOpt,
    VerboseOpt,
    WorkersOpt,
)
from gcfetch.cli.render import ProgressView

if TYPE_CHECKING:
    from gcfetch.client import Client
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
    segments: SegmentsOpt = config.DEFAULT_SEGMENTS,
    segment_threshold: SegmentThresholdOpt = config.DEFAULT_SEGMENT_THRESHOLD,
) -> None:
    """Check the selection, download with a progress view, report; Ctrl-C stops cleanly."""
    from gcfetch.outputs import download_outputs

    err = Console(stderr=True, soft_wrap=True)
    _check_selection(err, algorithm, algorithm_image, job)
    if watch and dry_run:
        usage_error(err, "A dry run lists once: drop --watch or --dry-run.", "outputs")

    def download(client: Client, view: ProgressView, cancel: threading.Event) -> DownloadSummary:
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
            segments=segments,
            segment_threshold=segment_threshold,
            fix_mhd=fix_mhd,
        )

    run_command(download, Access(token, base_url, workers), Display(quiet, verbose, dry_run))


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
