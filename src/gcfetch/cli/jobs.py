"""`gcfetch jobs`: what `gcfetch outputs` would see, as a table with counts per status."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from gcfetch.cli.errors import EXIT_OK, run_guarded, usage_error
from gcfetch.cli.logs import setup_logging
from gcfetch.cli.options import (
    AlgorithmImageOpt,
    AlgorithmOpt,
    BaseUrlOpt,
    StatusOpt,
    TokenOpt,
    VerboseOpt,
    make_client,
)
from gcfetch.cli.render import render_jobs

JOBS_HELP = (
    "List the jobs of an algorithm or of one algorithm image, oldest first.\n\n"
    "Shows each job's pk, status, algorithm image, output sockets and run time (the API sends no "
    "creation date for jobs; the list is in creation order), then the number of jobs per "
    "status, so that you can see what `gcfetch outputs` would download.\n\n"
    "Examples:\n\n"
    "gcfetch jobs --algorithm lung-nodule-detector\n\n"
    "gcfetch jobs -a lung-nodule-detector -i <PK> --status Failed"
)


def jobs_command(
    algorithm: AlgorithmOpt = None,
    algorithm_image: AlgorithmImageOpt = None,
    status: StatusOpt = None,
    verbose: VerboseOpt = 0,
    token: TokenOpt = None,
    base_url: BaseUrlOpt = None,
    json_lines: Annotated[
        bool, typer.Option("--json", help="One JSON object per job instead of tables.")
    ] = False,
) -> None:
    from gcfetch.outputs.select import select_jobs

    setup_logging(verbose)
    out, err = Console(), Console(stderr=True, soft_wrap=True)
    if not (algorithm or algorithm_image):
        usage_error(err, "Select jobs with --algorithm SLUG or --algorithm-image PK.", "jobs")

    def run() -> None:
        with make_client(token, base_url) as client:
            source = select_jobs(client, algorithm=algorithm, algorithm_image=algorithm_image)
            if json_lines:
                for job in source.list():
                    if not status or job.status in status:
                        typer.echo(job.model_dump_json())
            else:
                render_jobs(out, source.list(), set(status or ()))

    run_guarded(err, run)
    raise typer.Exit(EXIT_OK)
