"""The one exception tree of gcfetch.

    GCFetchError
    ├── ConfigurationError      bad base URL, missing token, unsafe scheme
    ├── APIError                carries status_code, url, server message
    │   ├── AuthenticationError 401
    │   ├── ObjectNotFound      404 (also: detail() found nothing) — name kept from gcapi
    │   ├── ServerError         5xx after retries
    │   └── UnexpectedResponse  2xx, but not JSON or not the expected shape (names the field)
    ├── MultipleObjectsReturned
    ├── TransferError           connection dropped, truncated body, after retries
    │   ├── BodyBrokeOff        a streamed body stopped before its end: resumable
    │   ├── IntegrityError      size / checksum mismatch
    │   └── TransferCancelled   the caller cancelled; the .part file is kept
    └── UnsafePathError         a server-supplied path would escape the destination

Messages name the problem and the fix. They never contain the token.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


class GCFetchError(Exception):
    """Base class of every error raised by gcfetch."""


class ConfigurationError(GCFetchError, RuntimeError):
    """The client was set up wrongly: missing token, bad base URL, unsafe scheme.

    A RuntimeError, as gcapi's errors for the same cases are, so ported scripts still catch it.
    """


class CertificateError(ConfigurationError):
    """The server's TLS certificate could not be verified against the trusted CAs. Not
    retried: waiting does not fix it; the message names the CA bundle and how to change it."""


class APIError(GCFetchError):
    """The API answered with an error status."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        url: str | None = None,
        server_message: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.url = url
        self.server_message = server_message


class AuthenticationError(APIError):
    """401: the token is missing, malformed, unknown or expired."""


class ObjectNotFound(APIError):
    """404, or a detail() look-up that matched nothing (gcapi's name)."""


class ServerError(APIError):
    """A 5xx answer that persisted after the retry budget was spent."""


class UnexpectedResponse(APIError):
    """A 2xx answer that is not JSON, or JSON of the wrong shape; `field` names the first
    wrong one (e.g. `results[3].outputs[0].interface.slug`), "" for the whole body."""

    def __init__(self, message: str, *, field: str = "", **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.field = field


class MultipleObjectsReturned(GCFetchError):
    """A detail() look-up by filters matched more than one object (gcapi's name)."""


class TransferError(GCFetchError):
    """Bytes could not be moved: connection dropped, truncated body, after retries."""

    def __init__(self, message: str, *, url: str | None = None, path: Path | None = None) -> None:
        super().__init__(message)
        self.url = url
        self.path = path


class BodyBrokeOff(TransferError):
    """A streamed body stopped before its end (dropped, cut short or stalled): resumable."""


class IntegrityError(TransferError):
    """The bytes arrived but their size or checksum does not match what was announced."""


class UnsafePathError(GCFetchError):
    """A server-supplied path would land outside the destination directory."""

    def __init__(self, message: str, *, path: str | None = None) -> None:
        super().__init__(message)
        self.path = path


class TransferCancelled(TransferError):
    """The caller asked a transfer to stop; the `.part` file is kept for a later resume."""
