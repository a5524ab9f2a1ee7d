"""One table mapping errors to a message and an exit code (0 ok, 1 failed, 2 usage)."""

from __future__ import annotations

import pydantic

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
        f"The token was refused. Check --token or {config.TOKEN_ENV}; create a new token at "
        "https://grand-challenge.org/settings/api-tokens/ if it expired.",
    ),
    (ObjectNotFound, EXIT_USAGE, ""),
    (MultipleObjectsReturned, EXIT_USAGE, ""),
    (ConfigurationError, EXIT_USAGE, ""),
    (
        ServerError,
        EXIT_FAILED,
        "The server kept failing; try again later. A re-run resumes where this one stopped.",
    ),
    (TransferError, EXIT_FAILED, "A re-run resumes where this one stopped."),
    (APIError, EXIT_FAILED, ""),
    (GCFetchError, EXIT_FAILED, ""),
    (
        pydantic.ValidationError,
        EXIT_FAILED,
        "The server's answer did not have the expected shape: is --base-url the API root "
        "(ending in /api/v1/)?",
    ),
)


def format_error(exc: BaseException) -> tuple[str, int]:
    """The message to print and the exit code for `exc`; unknown errors are not handled."""
    for kind, code, hint in ERROR_TABLE:
        if isinstance(exc, kind):
            text = (
                str(exc).splitlines()[0] if isinstance(exc, pydantic.ValidationError) else str(exc)
            )
            return (f"{text} {hint}".strip(), code)
    raise exc
