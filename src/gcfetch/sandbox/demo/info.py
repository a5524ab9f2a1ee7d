"""What a built demo holds (`DemoInfo`, written to `<data_dir>/demo.json`) and its tokens."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEMO_FILE = "demo.json"
DEMO_VERSION = 2  # raised when the demo gains data: 2 added archives and reader studies


@dataclass(frozen=True)
class DemoInfo:
    """What a demo data set holds; written to `<data_dir>/demo.json`."""

    seed: int
    job_count: int
    large_file_mib: int
    tokens: dict[str, str]  # username -> cleartext token
    expired_token: str  # the editor's, expired
    algorithms: dict[str, str]  # slug -> pk
    public_algorithm: str
    algorithm_images: dict[str, list[str]]  # algorithm slug -> image pks, oldest first
    sockets: dict[str, int]  # slug -> pk
    jobs: dict[str, str]  # job pk -> status, in creation order
    job_algorithms: dict[str, str]  # job pk -> algorithm slug
    public_jobs: list[str]
    job_viewers: dict[str, list[str]]  # username -> pks of the jobs they are a viewer of
    large_file_job: str | None = None
    profile: str = "default"
    extra: dict[str, Any] = field(default_factory=dict)
    archives: dict[str, str] = field(default_factory=dict)  # slug -> pk
    archive_items: dict[str, str] = field(default_factory=dict)  # item pk -> archive slug
    reader_studies: dict[str, str] = field(default_factory=dict)  # slug -> pk
    display_sets: dict[str, str] = field(default_factory=dict)  # pk -> reader study slug
    # image pk -> the SOP instance UIDs of its DICOM image set, each once, in listing order
    dicom_images: dict[str, list[str]] = field(default_factory=dict)
    version: int = 1  # DEMO_VERSION of the gcfetch that built it (1: before the field)


def demo_token(seed: int, username: str) -> str:
    """The demo token of a user: 64 lowercase hex characters derived from the seed."""
    return hashlib.sha256(f"gcfetch-demo:{seed}:{username}".encode()).hexdigest()


def load_demo_info(data_dir: Path) -> DemoInfo:
    """Read `<data_dir>/demo.json`; FileNotFoundError if no demo was built there."""
    return DemoInfo(**json.loads((Path(data_dir) / DEMO_FILE).read_text()))
