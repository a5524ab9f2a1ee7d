"""Defaults as named constants; argument > environment > default, resolved once by the caller."""

from __future__ import annotations

import os

DEFAULT_BASE_URL = "https://grand-challenge.org/api/v1/"
TOKEN_ENV = "GRAND_CHALLENGE_AUTHORIZATION"
BASE_URL_ENV = "GRAND_CHALLENGE_API_URL"

DEFAULT_TIMEOUT = 60.0
DEFAULT_MAX_CONCURRENT_DOWNLOADS = 10
DEFAULT_WORKERS = 32
DEFAULT_PAGE_LIMIT = 100
CHUNK_SIZE = 1024 * 1024
# Body bytes gathered before one write, one hash update and one progress call (a TLS record,
# ~16 KiB, each cost as many GIL hand-offs between threads as a whole block), or held at most
# this many seconds on a slow link.
WRITE_BLOCK = 256 * 1024
WRITE_BLOCK_SECONDS = 0.2
# A long body's bytes are handed to the disk every this many bytes, without waiting, so that
# the fsync before the rename has little left to wait for (1 GiB: ~0.5 s here).
WRITEBACK_EVERY = 32 * 1024 * 1024
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})


def resolve(argument: str | None, env_name: str, default: str | None = None) -> str | None:
    """Return the argument if given, else the environment variable, else the default."""
    if argument is not None and argument != "":
        return argument
    value = os.environ.get(env_name)
    if value:
        return value
    return default


API_TOKEN_HELP_URL = "https://grand-challenge.org/settings/api-tokens/"
MAX_REDIRECTS = 10
MAX_LINK_RENEWALS = 3
MAX_RESUMES = 3
EXTRA_CONNECTIONS = 4
DEFAULT_SEGMENTS = 4
DEFAULT_SEGMENT_THRESHOLD = 64 * 1024 * 1024
# A large file's one stream is watched until SEGMENT_PROBE_BYTES have come or
# SEGMENT_PROBE_SECONDS have passed. The seconds first (under 120 MiB/s: a capped connection, a
# long path): the rest comes in pieces. The bytes first: it stays one stream, since more would
# only cost CPU (each stream is read, written and hashed in Python).
SEGMENT_PROBE_BYTES = 24 * 1024 * 1024
SEGMENT_PROBE_SECONDS = 0.2
