"""Client: gcapi's download-path surface on top of one HttpSession.

Differences from gcapi that a script could notice are deliberate and documented:
- no version-check request at construction;
- plain http is accepted for loopback hosts (the sandbox); a base URL without a trailing
  slash is fixed;
- `download_socket_value` copies File values byte for byte (gcapi re-serialises JSON files);
- errors are gcfetch's (`ObjectNotFound`, `MultipleObjectsReturned` keep gcapi's names;
  configuration errors are RuntimeErrors, as gcapi's are).
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

from gcfetch import config, models, resources, transfer
from gcfetch.errors import ConfigurationError
from gcfetch.files import atomic_write
from gcfetch.http import HttpSession
from gcfetch.paths import contained_target, split_relative
from gcfetch.retry import RetryPolicy


def normalise_token(token: str | None) -> str:
    """The bare token, as gcapi reads it: one word as is, the last of two words, else an error."""
    token = config.resolve(token, config.TOKEN_ENV)
    if not token or not token.strip():
        raise ConfigurationError(
            f"No API token: set {config.TOKEN_ENV} to a personal API token (create one at "
            f"{config.API_TOKEN_HELP_URL}), or pass it as token= (Python) or --token (command "
            "line)."
        )
    words = re.sub(" +", " ", token).strip().split(" ")
    if len(words) not in (1, 2):
        raise ConfigurationError(
            f"Invalid token format: expected the token alone or 'Bearer <token>' in token= or "
            f"{config.TOKEN_ENV}."
        )
    return words[-1]


def normalise_base_url(base_url: str | None) -> str:
    """The API root with a trailing slash; https, or plain http on a loopback host."""
    url = config.resolve(base_url, config.BASE_URL_ENV, config.DEFAULT_BASE_URL) or ""
    parsed = httpx.URL(url)
    if not parsed.is_absolute_url or not parsed.host:
        raise ConfigurationError(
            f"Base URL {url!r} is not an absolute URL; use e.g. {config.DEFAULT_BASE_URL}"
        )
    loopback = parsed.host.lower() in config.LOOPBACK_HOSTS
    if parsed.scheme != "https" and not (parsed.scheme == "http" and loopback):
        raise ConfigurationError(
            f"Base URL must be https (got {parsed.scheme}://{parsed.host}); plain http is only "
            "allowed for a local sandbox on 127.0.0.1, localhost or ::1."
        )
    if parsed.query or parsed.fragment:
        raise ConfigurationError(f"Base URL {url!r} must not carry a query or fragment.")
    return url if url.endswith("/") else url + "/"


class Client:
    """A gcapi-compatible client for the download path; use it as a context manager."""

    def __init__(
        self,
        token: str | None = None,
        base_url: str | None = None,
        verify: bool | str = True,
        timeout: float = config.DEFAULT_TIMEOUT,
        max_concurrent_downloads: int = config.DEFAULT_MAX_CONCURRENT_DOWNLOADS,
        *,
        transport: httpx.BaseTransport | None = None,
        retry: RetryPolicy | None = None,
        segments: int = config.DEFAULT_SEGMENTS,
        segment_threshold: int = config.DEFAULT_SEGMENT_THRESHOLD,
    ) -> None:
        self.base_url = normalise_base_url(base_url)
        self.max_concurrent_downloads = max_concurrent_downloads
        self.segments, self.segment_threshold = _segmenting(segments, segment_threshold)
        self.http = HttpSession(
            self.base_url,
            normalise_token(token),
            verify=verify,
            timeout=timeout,
            max_concurrent_downloads=max_concurrent_downloads,
            transport=transport,
            retry=retry,
        )
        self.algorithms = resources.Algorithms(self.http)
        self.algorithm_images = resources.AlgorithmImages(self.http)
        self.algorithm_jobs = resources.AlgorithmJobs(self.http)
        self.images = resources.Images(self.http, self.download_file)
        self.interfaces = resources.Interfaces(self.http)
        self.archives = resources.Archives(self.http)
        self.archive_items = resources.ArchiveItems(self.http)
        self.reader_studies = resources.ReaderStudies(self.http)

    def __repr__(self) -> str:
        return f"Client(base_url={self.base_url!r})"

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool."""
        self.http.close()

    def __call__(
        self,
        method: str = "GET",
        url: str = "",
        path: str = "",
        params: dict[str, Any] | None = None,
        json: Any = None,
        extra_headers: dict[str, str] | None = None,
        follow_redirects: bool = False,
    ) -> Any:
        """gcapi's raw call: parsed JSON if Content-Type is exactly application/json, else the
        httpx.Response with its body read. Non-2xx raises (a redirect too, unless followed)."""
        target = url or str(httpx.URL(self.base_url).join(path))
        response = self.http.request(
            method,
            target,
            params=params,
            json=json,
            headers=extra_headers,
            follow_redirects=follow_redirects,
        )
        if response.headers.get("Content-Type") == "application/json":
            return response.json()
        return response

    def download_socket_value(
        self, value: models.SocketValue, *, output_directory: str | Path
    ) -> list[Path]:
        """Write one socket value below `output_directory` as gcapi 0.16 does; return the paths.

        Image: `<out>/<relative_path>/<image pk>.<ext>` per image file. Value: `json.dump(...,
        indent=2)` to `<out>/<relative_path>`. File: the stored bytes, unchanged, to
        `<out>/<relative_path>`. An existing file raises FileExistsError. Writes are atomic.
        A server-supplied path or name that could leave `output_directory` (relative path,
        image pk, URL extension) raises UnsafePathError before anything is written.
        """
        output_directory = Path(output_directory)
        socket = value.interface
        super_kind = socket.super_kind.casefold()
        target = _checked_target(output_directory, socket.relative_path, super_kind == "image")
        if super_kind == "image":
            if not value.image:
                raise ValueError(f"Socket value {value.pk} ({socket.slug}) has no image URL.")
            return self.images.download(url=value.image, output_directory=target)
        if super_kind not in ("value", "file"):
            raise ValueError(f"Unexpected super_kind {socket.super_kind!r} of {socket.slug}.")
        if target.exists():
            raise FileExistsError(f"{target} already exists; remove it or pick another place.")
        if super_kind == "value":
            atomic_write(target, json.dumps(value.value, indent=2))
        else:
            if not value.file:
                raise ValueError(f"Socket value {value.pk} ({socket.slug}) has no file URL.")
            self.download_file(value.file, target)
        return [target]

    def download_file(
        self,
        url: transfer.Source,
        target: str | Path,
        *,
        on_bytes: Callable[[int], None] | None = None,
        cancel: threading.Event | None = None,
        segments: int | None = None,
        segment_threshold: int | None = None,
    ) -> transfer.TransferResult:
        """Download the file behind a `/media/` URL (or a transfer.SignedRequest, e.g. a DICOM
        instance's from `images.instance_request`) to `target`, atomically and resumably.

        See `gcfetch.transfer.download`: `<target>.part` is resumed, the size is checked and
        `on_bytes` is called with each chunk's length; setting `cancel` stops it (the `.part`
        is kept) with TransferCancelled. A file of at least `segment_threshold` bytes (0: off)
        comes as up to `segments` ranged requests in parallel; both default to the client's.
        """
        segments, segment_threshold = _segmenting(
            self.segments if segments is None else segments,
            self.segment_threshold if segment_threshold is None else segment_threshold,
        )
        return transfer.download(
            self.http,
            url,
            Path(target),
            on_bytes=on_bytes,
            cancel=cancel,
            segments=segments,
            segment_threshold=segment_threshold,
        )

    def file_size(self, url: transfer.Source) -> tuple[int | None, str | None]:
        """(full size, or None if the storage does not tell it; ETag) of the file behind a
        `/media/` URL, from one 1-byte ranged request."""
        return transfer.remote_size(self.http, url)


def _segmenting(segments: int, threshold: int) -> tuple[int, int]:
    """(segments, threshold) checked: neither negative (0 segments or threshold: off)."""
    if segments < 0 or threshold < 0:
        raise ValueError("segments and segment_threshold must not be negative (0: off)")
    return segments, threshold


def _checked_target(directory: Path, relative_path: str, is_directory: bool) -> Path:
    """`directory / relative_path`, or UnsafePathError if the server-supplied path is not a safe
    relative path (see gcfetch.paths) or an existing symlink would lead it outside."""
    parts = split_relative(relative_path, is_directory=is_directory)
    contained_target(directory.resolve(), parts, shown=relative_path)
    return directory.joinpath(*parts)
