"""Settings of one sandbox server; built per call, never at import time."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from gcfetch.sandbox.faults import FaultSettings

DEFAULT_LINK_LIFETIME = 300


@dataclass(frozen=True)
class SandboxSettings:
    """Everything one sandbox needs to know. Ports of 0 mean "pick a free one"."""

    data_dir: Path
    database_url: str | None = None
    host: str = "127.0.0.1"
    api_port: int = 0
    storage_port: int = 0
    tls: bool = False
    link_lifetime: int = DEFAULT_LINK_LIFETIME
    gcapi_latest_version: str = "0.13.2"
    gcapi_lowest_supported_version: str = "0.13.0"
    faults: FaultSettings = field(default_factory=FaultSettings)
    finish_jobs_after: float | None = None  # seconds after the start: jobs not final succeed
    interface_only: bool = False  # socket values as older GC shaped them: no `socket` key

    @property
    def resolved_database_url(self) -> str:
        """The SQLAlchemy URL: the given one, or SQLite in the data directory."""
        return self.database_url or f"sqlite:///{self.data_dir / 'sandbox.db'}"

    @property
    def blob_dir(self) -> Path:
        """Where blobs live on disk; a blob's storage key is its path below this directory."""
        return self.data_dir / "blobs"

    @property
    def scheme(self) -> str:
        return "https" if self.tls else "http"

    @property
    def storage_origin(self) -> str:
        """The storage origin's base URL, e.g. `http://127.0.0.1:8001` (ports must be bound)."""
        return f"{self.scheme}://{self.host}:{self.storage_port}"

    @property
    def api_origin(self) -> str:
        return f"{self.scheme}://{self.host}:{self.api_port}"
