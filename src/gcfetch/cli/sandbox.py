"""`gcfetch sandbox serve` and `gcfetch sandbox demo`."""

from __future__ import annotations

import typer

sandbox_app = typer.Typer(help="A local Grand Challenge for demos, tests and benchmarks.",
                          no_args_is_help=True)
