"""Fault settings: what a sandbox does wrong on purpose (injection.py does it).

`FaultSettings` is frozen and part of `SandboxSettings`; a running sandbox can swap it with
`Sandbox.set_faults`. Every random choice is a hash of (seed, rule, path, n-th request to that
path), so a failing run replays exactly under the same seed, whatever the order of requests.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Literal, get_args

Origin = Literal["api", "storage"]
Kind = Literal[
    "status",
    "expired",
    "drop",
    "short",
    "slow",
    "etag",
    "changed",
    "gzip",
    "nolength",
    "ifrange",
    "norange",
]
KINDS: tuple[str, ...] = get_args(Kind)
FAULT_STATUSES = frozenset({429, 500, 502, 503, 504, 507})
BODY_KINDS = tuple(kind for kind in KINDS if kind not in ("status", "expired"))
GZIP_SUFFIXES = (".json", ".csv", ".pdf")


@dataclass(frozen=True)
class Fault:
    """One rule: what goes wrong, for which paths, and how often.

    It fires for the first `first` requests to each path matching `path` (an fnmatch pattern on
    the URL path, without the query), then for a `rate` fraction of the later ones.

    - `status`: answer `status` instead (both origins, or `origin`); with `retry_after` seconds
      in a `Retry-After` header, as an HTTP date if `retry_after_date`;
    - `expired`: a `/media/` redirect points to a signed link that has already expired;
    - `drop`: storage closes the connection after `after_bytes` bytes of the body;
    - `short`: storage declares `after_bytes` (at least 1) more bytes than it sends, then closes;
    - `slow`: storage waits `delay_ms` after the headers, before the first body byte;
    - `etag`: storage sends the right bytes under another ETag (as if the file changed);
    - `changed`: storage sends other bytes of the same size under another ETag;
    - `gzip`: storage gzips a `.json`, `.csv` or `.pdf` body when the request's Accept-Encoding
      accepts gzip (not for `identity` alone, `gzip;q=0` or no header), as a CDN with
      compression on does: `Content-Encoding: gzip`, the compressed Content-Length, and always
      a 200 with the whole body (Range is ignored, as CDNs do for compressed variants); with
      `always`, even when the client asked for identity (a broken CDN);
    - `nolength`: storage sends no Content-Length (the body is chunked); a 206 keeps its full
      `Content-Range`, unless `star_total`, which makes it `bytes a-b/*`. A `drop` firing with it
      ends the body cleanly after `after_bytes`, as a close-delimited body whose connection
      dropped looks to a client: short, with nothing to tell;
    - `ifrange`: storage ignores `If-Range` and answers a Range with a 206 even when the ETag
      no longer matches (a CDN that does not honour it); with `changed`, a resume then gets
      other bytes under another ETag;
    - `norange`: storage ignores `Range` (and `If-Range`) and answers a 200 with the whole body,
      as a server without range support does.
    """

    kind: Kind
    path: str = "*"
    rate: float = 0.0
    first: int = 0
    origin: Origin | None = None
    status: int = 503
    retry_after: float | None = None
    retry_after_date: bool = False
    after_bytes: int = 0
    delay_ms: float = 0.0
    always: bool = False
    star_total: bool = False

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; one of {', '.join(KINDS)}")
        if self.kind == "status" and self.status not in FAULT_STATUSES:
            raise ValueError(f"status must be one of {sorted(FAULT_STATUSES)}")
        if not 0.0 <= self.rate <= 1.0 or self.first < 0 or self.after_bytes < 0:
            raise ValueError("rate must be in [0, 1]; first and after_bytes not negative")
        if self.always and self.kind != "gzip":
            raise ValueError("always applies to gzip faults only")
        if self.star_total and self.kind != "nolength":
            raise ValueError("star_total applies to nolength faults only")

    def applies_to(self, origin: Origin) -> bool:
        if self.kind == "status":
            return self.origin in (None, origin)
        return origin == ("api" if self.kind == "expired" else "storage")


@dataclass(frozen=True)
class FaultSettings:
    """Faults of one sandbox; the defaults inject nothing.

    `latency_ms` (+ up to `jitter_ms`, uniformly) delays every request of both origins;
    `storage_latency_ms` / `storage_jitter_ms` override them for the storage origin.
    `storage_bytes_per_second` (0: unlimited) throttles each storage body, like a slow link.
    `storage_conn_bytes_per_second` (0: unlimited) caps each storage connection, as a long
    network path caps one TCP stream: the answers sent on one connection share that rate, and
    each connection has its own, so parallel connections get more in total.
    """

    seed: int = 0
    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    storage_latency_ms: float | None = None
    storage_jitter_ms: float | None = None
    storage_bytes_per_second: float = 0.0
    storage_conn_bytes_per_second: float = 0.0
    rules: tuple[Fault, ...] = field(default=())

    def latency(self, origin: Origin) -> tuple[float, float]:
        """(fixed, jitter) in milliseconds for `origin`."""
        if origin == "storage":
            fixed = self.latency_ms if self.storage_latency_ms is None else self.storage_latency_ms
            jitter = self.jitter_ms if self.storage_jitter_ms is None else self.storage_jitter_ms
            return fixed, jitter
        return self.latency_ms, self.jitter_ms


_KIND_VALUE = {
    "status": "status",
    "drop": "after_bytes",
    "short": "after_bytes",
    "slow": "delay_ms",
}
# Kinds whose value is a word: kind -> (the word, the boolean field it sets).
_KIND_WORD = {"gzip": ("always", "always"), "nolength": ("star", "star_total")}
_OPTIONS = {
    "path": str,
    "rate": float,
    "first": int,
    "origin": str,
    "retry-after": float,
    "retry-after-date": float,
}


def parse_fault(spec: str) -> Fault:
    """A Fault from its command-line form: the kind (`=value`), then `key=value` options.

    E.g. `status=503,rate=0.05,retry-after=1`, `drop=1000,first=1,path=/images/*`,
    `expired,first=1`, `slow=500,rate=0.1`, `short=10,first=1`, `etag,first=1`,
    `changed,first=1`, `status=429,first=2,retry-after-date=3,origin=storage`,
    `gzip,path=*.json`, `gzip=always,first=1`, `nolength,rate=1`, `nolength=star,first=1`,
    `ifrange,rate=1`, `norange,rate=1`.
    """
    head, *options = [part.strip() for part in spec.split(",")]
    kind, _, value = head.partition("=")
    if kind not in KINDS:
        raise ValueError(f"unknown fault kind {kind!r} in {spec!r}; one of {', '.join(KINDS)}")
    fields: dict[str, object] = {"kind": kind}
    try:
        if value and kind in _KIND_WORD:
            word, flag = _KIND_WORD[kind]
            if value != word:
                raise ValueError(f"{kind} takes no value or {word!r}, not {value!r}")
            fields[flag] = True
        elif value:
            if kind not in _KIND_VALUE:
                raise ValueError(f"{kind} takes no value")
            fields[_KIND_VALUE[kind]] = float(value) if kind == "slow" else int(value)
        for option in options:
            key, _, text = option.partition("=")
            if key not in _OPTIONS:
                raise ValueError(f"unknown option {key!r}; one of {', '.join(_OPTIONS)}")
            fields[key.replace("-date", "").replace("-", "_")] = _OPTIONS[key](text)
            if key == "retry-after-date":
                fields["retry_after_date"] = True
        return Fault(**fields)  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        raise ValueError(f"bad fault {spec!r}: {exc}") from exc


def draw(seed: int, *parts: object) -> float:
    """A deterministic number in [0, 1) for `parts` under `seed`."""
    text = "\x1f".join(str(p) for p in (seed, *parts))
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big") / 2**64
