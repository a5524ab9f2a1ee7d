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
        help="Files transferred at once; more helps behind a slow link, fewer on a busy machine.",
    ),
]
LARGE_FILES = "Large files"
_SIZE_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def parse_size(text: str | int) -> int:
    """A size in bytes from `67108864`, `64M`, `64MiB`, `1G` or `512k` (powers of 1024)."""
    if isinstance(text, int):
        return text
    value = text.strip().upper().removesuffix("B").removesuffix("I")
    unit = value[-1:] if value[-1:] in _SIZE_UNITS else ""
    number = value.removesuffix(unit) if unit else value
    if not number.isdigit():
        raise typer.BadParameter(f"{text!r} is not a size: use bytes or e.g. 64M, 1G.")
    return int(number) * _SIZE_UNITS[unit]


def _in_range(value: int, low: int, high: int, name: str) -> int:
    if not low <= value <= high:
        raise typer.BadParameter(f"{value} is not in {low}..{high}.", param_hint=name)
    return value


SegmentsOpt = Annotated[
    int,
    typer.Option(
        "--segments",
        metavar="N",
        rich_help_panel=LARGE_FILES,
        callback=lambda n: _in_range(n, 0, 32, "--segments"),
        help="Ranged requests at once for one large file whose one stream is slow (its "
        "first 24 MiB take over 0.2 s), on connections no worker is using (0 or 1: one "
        "stream; at most 32).",
    ),
]
SegmentThresholdOpt = Annotated[
    int,
    typer.Option(
        "--segment-threshold",
        metavar="SIZE",
        rich_help_panel=LARGE_FILES,
        parser=parse_size,
        show_default=False,
        help="Files this large or larger come in segments: bytes or e.g. 64M, 1G; "
        "default 64M; 0: never.",
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
