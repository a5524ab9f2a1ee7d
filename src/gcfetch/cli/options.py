"""Options shared by the `outputs` and `jobs` commands, declared once; and the client factory."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from gcfetch import config

if TYPE_CHECKING:
    from gcfetch.client import Client

TokenOpt = Annotated[
    str | None,
    typer.Option(
        "--token",
        envvar=config.TOKEN_ENV,
        show_default=False,
        help="API token (create one under Settings, API Tokens on grand-challenge.org). "
        f"Better: set {config.TOKEN_ENV}, so the token stays out of your shell history.",
    ),
]
BaseUrlOpt = Annotated[
    str | None,
    typer.Option(
        "--base-url",
        envvar=config.BASE_URL_ENV,
        show_default=False,
        help=f"API root, default {config.DEFAULT_BASE_URL} (a sandbox prints its own).",
    ),
]
AlgorithmOpt = Annotated[
    str | None,
    typer.Option(
        "--algorithm",
        "-a",
        metavar="SLUG",
        help="Algorithm slug, the last part of its page URL: every version's jobs.",
    ),
]
AlgorithmImageOpt = Annotated[
    str | None,
    typer.Option(
        "--algorithm-image",
        "-i",
        metavar="PK",
        help="Algorithm image (version) pk: only its jobs. Editors only; others add "
        "--algorithm SLUG to keep the image's jobs without reading the image.",
    ),
]
StatusOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--status",
        "-s",
        metavar="STATUS",
        help="Job status to take (repeatable); default Succeeded. Others are counted.",
    ),
]
WorkersOpt = Annotated[
    int,
    typer.Option(
        "--workers",
        "-w",
        metavar="N",
        min=1,
        max=64,
        help="Files transferred at once (latency-bound work likes 8-16).",
    ),
]
VerboseOpt = Annotated[
    int, typer.Option("--verbose", "-v", count=True, help="More log lines (-vv: every request).")
]
OutputDirOpt = Annotated[
    Path, typer.Option("--output", "-o", metavar="DIR", help="Destination directory.")
]


def make_client(token: str | None, base_url: str | None, workers: int | None = None) -> Client:
    """Build the one Client of a command (a missing token raises ConfigurationError, exit 2).

    `workers` sizes the connection pool; `download_outputs` then runs that many workers.
    """
    from gcfetch.client import Client

    if workers is None:
        return Client(token=token, base_url=base_url)
    return Client(token=token, base_url=base_url, max_concurrent_downloads=workers)
