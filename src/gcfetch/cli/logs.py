"""Log lines of the commands: stderr, one level per -v, and never a secret.

Signed storage links are bearer credentials for minutes, so no line may show their query. The
httpx and httpcore loggers stay at WARNING (their INFO lines print whole URLs; gcfetch logs
every request itself at -vv, without the query), and every line passes through `redact`.
"""

from __future__ import annotations

import logging
import re

FORMAT = "%(levelname)s %(name)s: %(message)s"
QUIET_LIBRARIES = ("httpx", "httpcore")

# A URL query that carries a signature or credential (CloudFront, S3 presigned, the sandbox).
_SIGNED_QUERY = re.compile(
    r"\?[^\s\"'<>]*?\b(?:Signature|Expires|Key-Pair-Id|Policy|X-Amz-[A-Za-z-]+)=[^\s\"'<>]*",
    re.IGNORECASE,
)
_BEARER = re.compile(r"\b(Bearer|Token)\s+[^\s\"'<>]+", re.IGNORECASE)


def redact(text: str) -> str:
    """`text` with signed-URL queries and bearer tokens replaced by `<redacted>`."""
    text = _SIGNED_QUERY.sub("?<redacted>", text)
    return _BEARER.sub(r"\1 <redacted>", text)


class RedactingFormatter(logging.Formatter):
    """A Formatter whose whole output (message and traceback) goes through `redact`."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def setup_logging(verbose: int) -> None:
    """Log to stderr: warnings by default, INFO with -v, DEBUG with -vv; secrets redacted."""
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    handler = logging.StreamHandler()
    handler.setFormatter(RedactingFormatter(FORMAT))
    logging.basicConfig(level=level, handlers=[handler])
    for name in QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(logging.WARNING)
