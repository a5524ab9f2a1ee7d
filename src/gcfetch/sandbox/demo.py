"""The demo data set: users, algorithms, jobs and real files, deterministic under a seed.

`build_demo` fills an empty data directory and writes `<data_dir>/demo.json` (a `DemoInfo`)
last. Calling it again with the same parameters returns the existing `DemoInfo` (idempotent);
with other parameters, or on a database that holds data but no `demo.json`, it raises
`FileExistsError`.

Two algorithms: `lung-nodule-detector` (public, two versions, outputs of every super kind)
and `tissue-overlay` (private, one version, a TIFF output). Users: `editor` (edits both, views
most jobs), `viewer` (uses `tissue-overlay`, views some jobs), `outsider` (no permissions),
`inactive` (deactivated). Socket values use §5.5's relative paths; blobs sit at their
storage keys under `settings.blob_dir`.

The `bench` profile (for benchmarks) has the same users and one public algorithm,
`throughput-benchmark`, whose jobs all succeeded with three outputs each: a ~2 MiB `.mha`
heat map, a ~50 KB `predictions.json` file and a `probability` value. The `bench-small`
profile is the same with a ~20 KB heat map and a ~5 KB `predictions.json` (growth benchmarks:
many jobs, little data).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from gcfetch.sandbox.db import make_engine
from gcfetch.sandbox.demo_files import tarball_bytes, write_bytes
from gcfetch.sandbox.demo_jobs import JobFactory, Templates
from gcfetch.sandbox.deps import token_digest
from gcfetch.sandbox.settings import SandboxSettings
from gcfetch.sandbox.tables import (
    Algorithm,
    AlgorithmImage,
    Socket,
    Token,
    User,
    algorithm_editors,
    algorithm_users,
)

DEMO_FILE = "demo.json"
USERNAMES = ("editor", "viewer", "outsider", "inactive")

# slug, title, kind, super_kind, relative_path (§5.5)
SOCKETS: tuple[tuple[str, str, str, str, str], ...] = (
    ("generic-medical-image", "Generic Medical Image", "Image", "Image", ""),
    ("ct-image", "CT Image", "Image", "Image", "images/ct-image"),
    ("segmentation", "Segmentation", "Segmentation", "Image", "images/segmentation"),
    ("heat-map", "Heat Map", "Heat Map", "Image", "images/heat-map"),
    ("tissue-overlay", "Tissue Overlay", "Image", "Image", "images/tissue-overlay"),
    ("probability", "Probability", "Float", "Value", "probability.json"),
    ("nodule-count", "Nodule Count", "Integer", "Value", "nodule-count.json"),
    ("is-referable", "Is Referable", "Bool", "Value", "is-referable.json"),
    ("results", "Results", "Anything", "Value", "results.json"),
    ("metrics-score", "Score", "Float", "Value", "metrics/score.json"),
    ("optional-note", "Optional Note", "String", "Value", "optional-note.json"),
    ("report", "Report", "PDF file", "File", "files/report.pdf"),
    ("measurements", "Measurements", "CSV file", "File", "files/measurements.csv"),
    ("thumbnail", "Thumbnail", "Thumbnail png", "File", "thumbnail.png"),
    ("predictions", "Predictions", "Anything", "File", "predictions.json"),
)

# slug, title, public, input socket, output sockets, version count
ALGORITHMS: tuple[tuple[str, str, bool, str, tuple[str, ...], int], ...] = (
    (
        "lung-nodule-detector",
        "Lung Nodule Detector",
        True,
        "generic-medical-image",
        (
            "segmentation",
            "heat-map",
            "probability",
            "nodule-count",
            "is-referable",
            "results",
            "metrics-score",
            "optional-note",
            "report",
            "measurements",
            "thumbnail",
            "predictions",
        ),
        2,
    ),
    (
        "tissue-overlay",
        "Tissue Overlay",
        False,
        "ct-image",
        ("tissue-overlay", "probability", "predictions"),
        1,
    ),
)
PUBLIC_ALGORITHM = "lung-nodule-detector"
BENCH_ALGORITHM = (
    "throughput-benchmark",
    "Throughput Benchmark",
    True,
    "generic-medical-image",
    ("heat-map", "predictions", "probability"),
    1,
)
PROFILES = ("default", "bench", "bench-small")
_EPOCH = datetime(2025, 1, 6, 9, 0, 0)


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


def demo_token(seed: int, username: str) -> str:
    """The demo token of a user: 64 lowercase hex characters derived from the seed."""
    return hashlib.sha256(f"gcfetch-demo:{seed}:{username}".encode()).hexdigest()


def load_demo_info(data_dir: Path) -> DemoInfo:
    """Read `<data_dir>/demo.json`; FileNotFoundError if no demo was built there."""
    return DemoInfo(**json.loads((Path(data_dir) / DEMO_FILE).read_text()))


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
    info_path = settings.data_dir / DEMO_FILE
    wanted = (jobs, large_file_mib, seed, profile)
    if info_path.exists():
        info = load_demo_info(settings.data_dir)
        if (info.job_count, info.large_file_mib, info.seed, info.profile) == wanted:
            return info
        raise FileExistsError(
            f"{info_path} holds another demo (jobs={info.job_count}, "
            f"large_file_mib={info.large_file_mib}, seed={info.seed}, profile={info.profile})"
        )
    engine = make_engine(settings)
    try:
        with Session(engine) as session:
            if session.scalar(select(func.count()).select_from(User)):
                raise FileExistsError(f"the database of {settings.data_dir} already holds data")
            info = _populate(session, settings, jobs, large_file_mib, seed, profile)
            session.commit()
    finally:
        engine.dispose()
    info_path.write_text(json.dumps(dataclasses.asdict(info)))
    return info


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _populate(
    session: Session,
    settings: SandboxSettings,
    jobs: int,
    large_file_mib: int,
    seed: int,
    profile: str,
) -> DemoInfo:
    rng = random.Random(seed)
    tokens, expired, user_ids = _add_users(session, seed)
    sockets = _add_sockets(session)
    bench = profile.startswith("bench")
    specs = (BENCH_ALGORITHM,) if bench else ALGORITHMS
    public_algorithm = BENCH_ALGORITHM[0] if bench else PUBLIC_ALGORITHM
    algorithms, versions = _add_algorithms(session, settings, rng, user_ids, specs)

    factory = JobFactory(
        session,
        settings,
        rng,
        Templates.build(settings.data_dir, seed, bench=bench, small=profile == "bench-small"),
        sockets={
            slug: (pk, spec) for (slug, *spec), pk in zip(SOCKETS, sockets.values(), strict=True)
        },
        user_ids=user_ids,
    )
    if bench:
        _add_bench_jobs(factory, jobs, public_algorithm, versions[public_algorithm][-1])
    else:
        _add_default_jobs(factory, jobs, rng, versions)
    large_job = None
    if large_file_mib:
        large_job = factory.add_large_job(
            jobs,
            versions[public_algorithm][-1],
            large_file_mib,
            seed,
            algorithm=public_algorithm,
            created=_EPOCH + timedelta(minutes=7 * jobs + 1),
        )
    factory.flush()
    return DemoInfo(
        seed=seed,
        job_count=jobs,
        large_file_mib=large_file_mib,
        tokens=tokens,
        expired_token=expired,
        algorithms=algorithms,
        public_algorithm=public_algorithm,
        algorithm_images=versions,
        sockets=sockets,
        jobs=factory.statuses,
        job_algorithms=factory.algorithms,
        public_jobs=factory.public_jobs,
        job_viewers=factory.viewers,
        large_file_job=large_job,
        profile=profile,
    )


def _add_users(session: Session, seed: int) -> tuple[dict[str, str], str, dict[str, int]]:
    """The demo users with one token each, and an expired token of the editor's.

    Returns (tokens by user name, the expired token, user ids by name).
    """
    tokens = {name: demo_token(seed, name) for name in USERNAMES}
    expired = demo_token(seed, "editor-expired")
    user_ids = {name: number for number, name in enumerate(USERNAMES, start=1)}
    session.execute(
        insert(User),
        [
            {"id": uid, "username": name, "is_active": name != "inactive"}
            for name, uid in user_ids.items()
        ],
    )
    expired_row = {
        "user_id": user_ids["editor"],
        "digest": token_digest(expired),
        "expiry": _EPOCH - timedelta(days=1),
    }
    session.execute(
        insert(Token),
        [
            {"user_id": user_ids[name], "digest": token_digest(token), "expiry": None}
            for name, token in tokens.items()
        ]
        + [expired_row],
    )
    return tokens, expired, user_ids


def _add_sockets(session: Session) -> dict[str, int]:
    """Every socket of SOCKETS; returns their pks by slug."""
    sockets = {spec[0]: pk for pk, spec in enumerate(SOCKETS, start=1)}
    session.execute(
        insert(Socket),
        [
            {
                "pk": sockets[slug],
                "slug": slug,
                "title": title,
                "description": "",
                "kind": kind,
                "super_kind": super_kind,
                "relative_path": path,
                "default_value": None,
                "overlay_segments": [],
                "look_up_table": None,
            }
            for slug, title, kind, super_kind, path in SOCKETS
        ],
    )
    return sockets


def _add_bench_jobs(factory: JobFactory, jobs: int, algorithm: str, image: str) -> None:
    for index in range(jobs):
        created = _EPOCH + timedelta(minutes=7 * index)
        factory.add_bench_job(index, algorithm, image, created=created)


def _add_default_jobs(
    factory: JobFactory, jobs: int, rng: random.Random, versions: dict[str, list[str]]
) -> None:
    specs = {slug: (inp, outs) for slug, _, _, inp, outs, _ in ALGORITHMS}
    schedule = [
        ("lung-nodule-detector", 0),
        ("lung-nodule-detector", 1),
        ("lung-nodule-detector", 1),
        ("tissue-overlay", 0),
        ("lung-nodule-detector", 1),
    ]
    for index, status in enumerate(_statuses(jobs, rng)):
        slug, version = schedule[index % len(schedule)]
        factory.add_job(
            index,
            slug,
            versions[slug][version],
            status,
            *specs[slug],
            public=slug == PUBLIC_ALGORITHM and index % 4 == 0,
            created=_EPOCH + timedelta(minutes=7 * index, seconds=rng.random()),
        )


def _add_algorithms(
    session: Session,
    settings: SandboxSettings,
    rng: random.Random,
    user_ids: dict[str, int],
    specs: tuple[tuple[str, str, bool, str, tuple[str, ...], int], ...],
) -> tuple[dict[str, str], dict[str, list[str]]]:
    algorithms: dict[str, str] = {}
    versions: dict[str, list[str]] = {}
    created = datetime(2024, 11, 4, 10, 0, 0)
    for number, (slug, title, public, inp, outs, count) in enumerate(specs):
        pk = algorithms[slug] = _uuid(rng)
        session.execute(
            insert(Algorithm),
            [
                {
                    "pk": pk,
                    "slug": slug,
                    "title": title,
                    "public": public,
                    "description": f"{title}: a demo algorithm of the gcfetch sandbox.",
                    "logo": f"https://public.sandbox.invalid/logos/algorithm/{pk}/logo.png",
                    "average_duration": None if number else 93.25,
                    "created": created + timedelta(days=number),
                    "interfaces": [{"inputs": [inp], "outputs": list(outs)}],
                }
            ],
        )
        session.execute(
            insert(algorithm_editors), [{"algorithm_pk": pk, "user_id": user_ids["editor"]}]
        )
        if not public:
            session.execute(
                insert(algorithm_users), [{"algorithm_pk": pk, "user_id": user_ids["viewer"]}]
            )
        versions[slug] = []
        for version in range(count):
            image_pk = _uuid(rng)
            key = None
            if public:  # the private algorithm's image has no tarball
                key = f"docker/images/algorithms/algorithmimage/{image_pk}/{slug}-{version}.tar.gz"
                write_bytes(settings.blob_dir / key, tarball_bytes(f"{slug}:{version}"))
            session.execute(
                insert(AlgorithmImage),
                [
                    {
                        "pk": image_pk,
                        "algorithm_pk": pk,
                        "import_status": "Completed",
                        "created": created + timedelta(days=number, hours=1 + 24 * version),
                        "image_key": key,
                    }
                ],
            )
            versions[slug].append(image_pk)
    return algorithms, versions


_OTHER_STATUSES = (
    "Failed",
    "Cancelled",
    "Executing",
    "Queued",
    "Failed",
    "Started",
    "Re-Queued",
    "Provisioning",
    "Provisioned",
    "Executed",
    "Parsing Outputs",
    "Executing Algorithm",
    "External Execution In Progress",
    "Validating inputs",
    "Failed",
)


def _statuses(count: int, rng: random.Random) -> list[str]:
    """Mostly `Succeeded`; every other status at least once when `count` >= 60."""
    guaranteed = list(_OTHER_STATUSES[: count // 4])
    statuses = guaranteed + ["Succeeded"] * (min(count, 60) - len(guaranteed))
    statuses += [
        "Succeeded" if rng.random() < 0.85 else rng.choice(_OTHER_STATUSES[:4])
        for _ in range(count - len(statuses))
    ]
    head = statuses[:60]
    rng.shuffle(head)
    return head + statuses[60:]
