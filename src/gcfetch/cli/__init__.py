"""The `gcfetch` command: parses, calls the library, renders. Rich lives only in this package."""

from __future__ import annotations

import typer

from gcfetch.cli.items import (
    ARCHIVE_HELP,
    DISPLAY_SETS_HELP,
    archive_command,
    display_sets_command,
)
from gcfetch.cli.jobs import JOBS_HELP, jobs_command
from gcfetch.cli.outputs import OUTPUTS_HELP, outputs_command
from gcfetch.cli.sandbox import sandbox_app

app = typer.Typer(
    name="gcfetch",
    help="Fast, safe, resumable downloads of Grand Challenge algorithm outputs, archives and "
    "reader studies.",
    no_args_is_help=True,
    add_completion=False,
)
app.command("outputs", help=OUTPUTS_HELP)(outputs_command)
app.command("jobs", help=JOBS_HELP)(jobs_command)
app.command("archive", help=ARCHIVE_HELP)(archive_command)
app.command("display-sets", help=DISPLAY_SETS_HELP)(display_sets_command)
app.add_typer(sandbox_app, name="sandbox")


def main() -> None:
    """Console-script entry point."""
    app()
