"""Populating an empty database with the demo: users, sockets, algorithms, and which jobs.

What the demo holds is described in the package docstring; `populate` fills one session.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from gcfetch.sandbox.demo.files import tarball_bytes, write_bytes
from gcfetch.sandbox.demo.info import DEMO_VERSION, DemoInfo, demo_token
from gcfetch.sandbox.demo.jobs import JobFactory, JobSpec, Templates
from gcfetch.sandbox.demo.studies import StudiesInfo, add_studies
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
    ("dicom-image-set", "DICOM Image Set", "DICOM Image Set", "Image", "images/dicom-image-set"),
)

# slug, title, public, input socket, output sockets, version count
AlgorithmSpec = tuple[str, str, bool, str, tuple[str, ...], int]
ALGORITHMS: tuple[AlgorithmSpec, ...] = (
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
BENCH_ALGORITHM: AlgorithmSpec = (
    "throughput-benchmark",
    "Throughput Benchmark",
    True,
    "generic-medical-image",
    ("heat-map", "predictions", "probability"),
    1,
)
PROFILES = ("default", "bench", "bench-small")
_EPOCH = datetime(2025, 1, 6, 9, 0, 0)  # the first job
_ALGORITHMS_CREATED = datetime(2024, 11, 4, 10, 0, 0)


@dataclass(frozen=True)
class DemoRequest:
    """What `build_demo` was asked for; the same request builds the same data set."""

    jobs: int
    large_file_mib: int
    seed: int
    profile: str

    @property
    def bench(self) -> bool:
        return self.profile.startswith("bench")

    @property
    def public_algorithm(self) -> str:
        return BENCH_ALGORITHM[0] if self.bench else PUBLIC_ALGORITHM


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def populate(session: Session, settings: SandboxSettings, request: DemoRequest) -> DemoInfo:
    """Add the whole demo to an empty database and the blob directory; returns its `DemoInfo`."""
    rng = random.Random(request.seed)
    tokens, expired, user_ids = _add_users(session, request.seed)
    sockets = _add_sockets(session)
    specs = (BENCH_ALGORITHM,) if request.bench else ALGORITHMS
    algorithms, versions = _add_algorithms(session, settings, rng, user_ids, specs)
    factory = _job_factory(session, settings, rng, request, user_ids)
    large_job = _add_jobs(factory, rng, request, versions)
    studies = StudiesInfo()
    if not request.bench:
        studies = add_studies(session, settings, request.seed, sockets, user_ids)
    return DemoInfo(
        seed=request.seed,
        job_count=request.jobs,
        large_file_mib=request.large_file_mib,
        tokens=tokens,
        expired_token=expired,
        algorithms=algorithms,
        public_algorithm=request.public_algorithm,
        algorithm_images=versions,
        sockets=sockets,
        jobs=factory.statuses,
        job_algorithms=factory.algorithms,
        public_jobs=factory.public_jobs,
        job_viewers=factory.viewers,
        large_file_job=large_job,
        profile=request.profile,
        archives=studies.archives,
        archive_items=studies.archive_items,
        reader_studies=studies.reader_studies,
        display_sets=studies.display_sets,
        dicom_images=studies.dicom_images,
        version=DEMO_VERSION,
    )


def _job_factory(
    session: Session,
    settings: SandboxSettings,
    rng: random.Random,
    request: DemoRequest,
    user_ids: dict[str, int],
) -> JobFactory:
    small = request.profile == "bench-small"
    templates = Templates.build(settings.data_dir, request.seed, bench=request.bench, small=small)
    sockets = {slug: (pk, spec) for pk, (slug, *spec) in enumerate(SOCKETS, start=1)}
    return JobFactory(session, settings, rng, templates, sockets=sockets, user_ids=user_ids)


def _add_jobs(
    factory: JobFactory, rng: random.Random, request: DemoRequest, versions: dict[str, list[str]]
) -> str | None:
    """The profile's jobs, then the large-file job if asked for; returns the latter's pk."""
    algorithm = request.public_algorithm
    image = versions[algorithm][-1]
    if request.bench:
        _add_bench_jobs(factory, request.jobs, algorithm, image)
    else:
        _add_default_jobs(factory, request.jobs, rng, versions)
    large_job = None
    if request.large_file_mib:
        spec = JobSpec(
            algorithm,
            image,
            _EPOCH + timedelta(minutes=7 * request.jobs + 1),
            viewers=frozenset({"editor", "viewer"}),
            durations=(3600.0, 3660.5),
        )
        large_job = factory.add_large_job(request.jobs, spec, request.large_file_mib, request.seed)
    factory.flush()
    return large_job


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
        factory.add_bench_job(index, JobSpec(algorithm, image, created, durations=(60.0, 61.5)))


def _add_default_jobs(
    factory: JobFactory, jobs: int, rng: random.Random, versions: dict[str, list[str]]
) -> None:
    """Jobs of both algorithms in every status; durations and outputs are the factory's."""
    sockets = {slug: (inp, outs) for slug, _, _, inp, outs, _ in ALGORITHMS}
    schedule = [
        ("lung-nodule-detector", 0),
        ("lung-nodule-detector", 1),
        ("lung-nodule-detector", 1),
        ("tissue-overlay", 0),
        ("lung-nodule-detector", 1),
    ]
    for index, status in enumerate(_statuses(jobs, rng)):
        slug, version = schedule[index % len(schedule)]
        creator = "viewer" if index % 10 == 7 else "editor"
        spec = JobSpec(
            slug,
            versions[slug][version],
            _EPOCH + timedelta(minutes=7 * index, seconds=rng.random()),
            status=status,
            creator=creator,
            viewers=frozenset({creator, "viewer"} if index % 3 == 0 else {creator}),
            public=slug == PUBLIC_ALGORITHM and index % 4 == 0,
        )
        factory.add_job(index, spec, *sockets[slug])


def _add_algorithms(
    session: Session,
    settings: SandboxSettings,
    rng: random.Random,
    user_ids: dict[str, int],
    specs: tuple[AlgorithmSpec, ...],
) -> tuple[dict[str, str], dict[str, list[str]]]:
    """The algorithms of `specs` with their editors, users and images.

    Returns (algorithm pks by slug, image pks by slug, oldest first).
    """
    algorithms: dict[str, str] = {}
    versions: dict[str, list[str]] = {}
    for number, spec in enumerate(specs):
        slug, _, public, _, _, count = spec
        created = _ALGORITHMS_CREATED + timedelta(days=number)
        pk = algorithms[slug] = _uuid(rng)
        image_pks = versions[slug] = [_uuid(rng) for _ in range(count)]
        session.execute(insert(Algorithm), [_algorithm_row(pk, spec, created, number)])
        editors = [{"algorithm_pk": pk, "user_id": user_ids["editor"]}]
        session.execute(insert(algorithm_editors), editors)
        if not public:
            users = [{"algorithm_pk": pk, "user_id": user_ids["viewer"]}]
            session.execute(insert(algorithm_users), users)
        rows = _image_rows(settings.blob_dir, pk, spec, image_pks, created)
        session.execute(insert(AlgorithmImage), rows)
    return algorithms, versions


def _algorithm_row(pk: str, spec: AlgorithmSpec, created: datetime, number: int) -> dict[str, Any]:
    slug, title, public, inp, outs, _ = spec
    return {
        "pk": pk,
        "slug": slug,
        "title": title,
        "public": public,
        "description": f"{title}: a demo algorithm of the gcfetch sandbox.",
        "logo": f"https://public.sandbox.invalid/logos/algorithm/{pk}/logo.png",
        "average_duration": None if number else 93.25,
        "created": created,
        "interfaces": [{"inputs": [inp], "outputs": list(outs)}],
    }


def _image_rows(
    blob_dir: Path,
    algorithm_pk: str,
    spec: AlgorithmSpec,
    image_pks: list[str],
    algorithm_created: datetime,
) -> list[dict[str, Any]]:
    """The algorithm's images, one a day; a public algorithm's have a container tarball."""
    slug, _, public, _, _, _ = spec
    rows = []
    for version, image_pk in enumerate(image_pks):
        key = None
        if public:
            key = f"docker/images/algorithms/algorithmimage/{image_pk}/{slug}-{version}.tar.gz"
            write_bytes(blob_dir / key, tarball_bytes(f"{slug}:{version}"))
        created = algorithm_created + timedelta(hours=1 + 24 * version)
        rows.append(
            {
                "pk": image_pk,
                "algorithm_pk": algorithm_pk,
                "import_status": "Completed",
                "created": created,
                "image_key": key,
            }
        )
    return rows


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
