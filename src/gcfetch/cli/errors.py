"""One table mapping errors to a message and an exit code (0 ok, 1 failed, 2 usage)."""

from __future__ import annotations

from collections.abc import Callable
from typing import NoReturn, TypeVar

import typer
from rich.console import Console

from gcfetch import config
from gcfetch.errors import (
    APIError,
    AuthenticationError,
    ConfigurationError,
    GCFetchError,
    MultipleObjectsReturned,
    ObjectNotFound,
    ServerError,
    TransferError,
    UnexpectedResponse,
)

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

# First match wins: (error class, exit code, hint appended to the error's own message).
ERROR_TABLE: tuple[tuple[type[BaseException], int, str], ...] = (
    (
        AuthenticationError,
        EXIT_USAGE,
        f"Check --token or {config.TOKEN_ENV}.",
    ),
    (ObjectNotFound, EXIT_USAGE, ""),
    (MultipleObjectsReturned, EXIT_USAGE, ""),
    (ConfigurationError, EXIT_USAGE, ""),
    # before any download: mostly a base URL that is not the API root (the message says so)
    (UnexpectedResponse, EXIT_USAGE, ""),
    (
        ServerError,
        EXIT_FAILED,
        "The server kept failing; try again later. A re-run resumes where this one stopped.",
    ),
    (TransferError, EXIT_FAILED, "A re-run resumes where this one stopped."),
    (APIError, EXIT_FAILED, ""),
    (GCFetchError, EXIT_FAILED, ""),
)


def format_error(exc: BaseException) -> tuple[str, int]:
    """The message to print and the exit code for `exc`; unknown errors are not handled."""
    for kind, code, hint in ERROR_TABLE:
        if isinstance(exc, kind):
            return (f"{exc} {hint}".strip(), code)
    raise exc


T = TypeVar("T")


def usage_error(err: Console, message: str, command: str) -> NoReturn:
    """Print a usage error that points at the command's help, and exit 2."""
    err.print(f"Error: {message} See gcfetch {command} --help.", markup=False, highlight=False)
    raise typer.Exit(EXIT_USAGE)


def run_guarded(err: Console, call: Callable[[], T]) -> T:
    """Run `call`; a known error becomes one line on stderr and its exit code."""
    try:
        return call()
    except Exception as exc:
        message, code = format_error(exc)
        err.print(f"Error: {message}", markup=False, highlight=False)
        raise typer.Exit(code) from None
