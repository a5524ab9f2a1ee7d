"""The demo data set: users, algorithms, jobs and real files, deterministic under a seed.

The one entry point for callers. `build_demo` fills an empty data directory and writes
`<data_dir>/demo.json` (a `DemoInfo`) last. Calling it again with the same parameters returns
the existing `DemoInfo` (idempotent); with other parameters, or on a database that holds data
but no `demo.json`, it raises `FileExistsError`.

Two algorithms: `lung-nodule-detector` (public, two versions, outputs of every super kind)
and `tissue-overlay` (private, one version, a TIFF output). Users: `editor` (edits both, views
most jobs), `viewer` (uses `tissue-overlay`, views some jobs), `outsider` (no permissions),
`inactive` (deactivated). Socket values use §5.5's relative paths; blobs sit at their
storage keys under `settings.blob_dir`. After the jobs, with random generators of their own
(the jobs stay the same for a seed): the archives `demo-archive` and `public-archive` and the
reader study `demo-reader-study`, with MHA and DICOM images (`studies`, `dicom`).

The `bench` profile (for benchmarks) has the same users and one public algorithm,
`throughput-benchmark`, whose jobs all succeeded with three outputs each: a ~2 MiB `.mha`
heat map, a ~50 KB `predictions.json` file and a `probability` value. The `bench-small`
profile is the same with a ~20 KB heat map and a ~5 KB `predictions.json` (growth benchmarks:
many jobs, little data).

Inside: `build` populates the database (users, sockets, algorithms, which jobs), `jobs` adds
the jobs' rows and blobs, `files` writes the blobs, `info` is the `DemoInfo` record.
"""

from __future__ import annotations

import dataclasses
import json

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gcfetch.sandbox.db import make_engine
from gcfetch.sandbox.demo.build import PROFILES, PUBLIC_ALGORITHM, DemoRequest, populate
from gcfetch.sandbox.demo.info import (
    DEMO_FILE,
    DEMO_VERSION,
    DemoInfo,
    demo_token,
    load_demo_info,
)
from gcfetch.sandbox.settings import SandboxSettings
from gcfetch.sandbox.tables import User

__all__ = [
    "DEMO_FILE",
    "PROFILES",
    "PUBLIC_ALGORITHM",
    "DemoInfo",
    "build_demo",
    "demo_token",
    "load_demo_info",
]


def build_demo(
    settings: SandboxSettings,
    *,
    jobs: int = 60,
    large_file_mib: int = 0,
    seed: int = 0,
    profile: str = "default",
) -> DemoInfo:
    """Build the demo data set into `settings` (database and blobs); see the module docstring."""
    if jobs < 0 or large_file_mib < 0:
        raise ValueError("jobs and large_file_mib must be >= 0")
    if profile not in PROFILES:
        raise ValueError(f"profile must be one of {', '.join(PROFILES)}")
    request = DemoRequest(jobs, large_file_mib, seed, profile)
    info_path = settings.data_dir / DEMO_FILE
    if info_path.exists():
        return _existing(settings, request)
    engine = make_engine(settings)
    try:
        with Session(engine) as session:
            if session.scalar(select(func.count()).select_from(User)):
                raise FileExistsError(f"the database of {settings.data_dir} already holds data")
            info = populate(session, settings, request)
            session.commit()
    finally:
        engine.dispose()
    info_path.write_text(json.dumps(dataclasses.asdict(info)))
    return info


def _existing(settings: SandboxSettings, request: DemoRequest) -> DemoInfo:
    """The demo already built in `settings`, if it is the one requested; else FileExistsError."""
    info = load_demo_info(settings.data_dir)
    if info.version != DEMO_VERSION:
        raise FileExistsError(
            f"{settings.data_dir} holds a demo built by an older gcfetch (version {info.version}"
            f", now {DEMO_VERSION}); remove the directory to build the current one."
        )
    built = DemoRequest(info.job_count, info.large_file_mib, info.seed, info.profile)
    if built == request:
        return info
    raise FileExistsError(
        f"{settings.data_dir / DEMO_FILE} holds another demo (jobs={info.job_count}, "
        f"large_file_mib={info.large_file_mib}, seed={info.seed}, profile={info.profile})"
    )
