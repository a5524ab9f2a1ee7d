"""`gcfetch sandbox serve` and `gcfetch sandbox demo`."""

from __future__ import annotations

import signal
import threading
import time
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from gcfetch.sandbox import Sandbox
    from gcfetch.sandbox.demo import DemoInfo
    from gcfetch.sandbox.faults import Fault
    from gcfetch.sandbox.settings import SandboxSettings

sandbox_app = typer.Typer(
    help="A local Grand Challenge for demos, tests and benchmarks: the download path of the "
    "real API (JSON API, /media/ redirects, signed storage URLs) over real HTTP.",
    no_args_is_help=True,
)

DEFAULT_DATA_DIR = Path(".demo-data")
CLI_USER = "sandbox"

DataOpt = Annotated[
    Path,
    typer.Option(
        "--data", help="Data directory: database (SQLite by default) and blobs.", file_okay=False
    ),
]
DatabaseOpt = Annotated[
    str | None,
    typer.Option("--database", help="SQLAlchemy URL instead of SQLite in the data directory."),
]


SERVE_HELP = (
    "Start a sandbox: an API origin (/api/v1/, /media/) and a storage origin on another port, "
    "both on 127.0.0.1 unless --host says otherwise.\n\n"
    "The first lines printed are `key: value` pairs for scripts: base_url (ends in /api/v1/), "
    "storage_url, token, ca_bundle (with --tls only) and data_dir; the lines after them start "
    "with `#`. The token is the demo editor's when the data directory holds a demo (demo.json), "
    "otherwise a new token of the user `sandbox`. Stops on Ctrl-C or SIGTERM, or after "
    "--lifetime seconds.\n\n"
    "Examples:\n\n"
    "gcfetch sandbox serve --demo\n\n"
    "gcfetch sandbox serve --demo --tls --port 8443 --lifetime 600\n\n"
    "gcfetch sandbox serve --demo --finish-jobs-after 60\n\n"
    'curl -H "Authorization: Bearer $TOKEN" ${BASE_URL}algorithms/jobs/'
)
DEMO_HELP = (
    "Build the deterministic demo data set into an empty data directory.\n\n"
    "Two algorithms (lung-nodule-detector is public), three algorithm images, jobs in every "
    "status, outputs of every socket kind (.mha and TIFF images, values, PDF, CSV, PNG and JSON "
    "files) and the users editor, viewer, outsider and inactive, whose tokens (fixed by --seed) "
    "are in <data>/demo.json. Running it again with the same options changes nothing.\n\n"
    "Examples:\n\n"
    "gcfetch sandbox demo\n\n"
    "gcfetch sandbox demo --data /tmp/bench --jobs 10000 --large-file-mib 2048\n\n"
    "gcfetch sandbox demo --data /tmp/bench --profile bench --jobs 300\n\n"
    "The bench profile (for benchmarks) has one public algorithm, throughput-benchmark, whose "
    "jobs all succeeded with three outputs: a ~2 MiB .mha image, a ~50 KB JSON file and a value; "
    "bench-small has a ~20 KB image and a ~5 KB JSON file instead."
)


HostOpt = Annotated[str, typer.Option(help="Address to bind; loopback by default.")]
PortOpt = Annotated[int, typer.Option(help="API origin port; 0 picks a free one.")]
StoragePortOpt = Annotated[int, typer.Option(help="Storage origin port; 0 picks one.")]
TlsOpt = Annotated[bool, typer.Option("--tls", help="Serve https with a fresh trustme CA.")]
DemoOpt = Annotated[bool, typer.Option("--demo", help="Build the demo data first if absent.")]
LinkLifetimeOpt = Annotated[int, typer.Option(help="Seconds a signed storage URL stays valid.")]
LifetimeOpt = Annotated[
    float, typer.Option(help="Stop by itself after this many seconds; 0 runs until stopped.")
]
LatencyOpt = Annotated[
    float,
    typer.Option(metavar="MS", help="Fault: delay every request of both origins (ms).", min=0),
]
JitterOpt = Annotated[
    float, typer.Option(metavar="MS", help="Fault: add up to this much random delay (ms).", min=0)
]
StorageLatencyOpt = Annotated[
    float | None,
    typer.Option(
        metavar="MS", help="Fault: the storage origin's delay instead of --latency-ms.", min=0
    ),
]
StorageRateOpt = Annotated[
    float,
    typer.Option(metavar="KIB/S", help="Fault: throttle each storage body; 0: no limit.", min=0),
]
StorageConnRateOpt = Annotated[
    float,
    typer.Option(
        "--conn-kib-per-second",
        metavar="KIB/S",
        help="Fault: cap each storage connection, as a long path caps one TCP stream; 0: no limit.",
        min=0,
    ),
]
FaultOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--fault",
        metavar="SPEC",
        help="Fault rule (repeatable): a kind, an optional =value and ,key=value pairs, e.g. "
        "status=503,rate=0.05 or drop=1000,first=1. Kinds: status, expired, drop, short, "
        "slow, etag, changed, gzip, nolength, ifrange, norange.",
    ),
]
FaultSeedOpt = Annotated[int, typer.Option(help="Seed of every random fault.")]
FinishJobsOpt = Annotated[
    float | None,
    typer.Option(
        metavar="SECONDS",
        min=0,
        help="Jobs not final yet succeed, with outputs, this long after the start.",
    ),
]
InterfaceOnlyOpt = Annotated[
    bool,
    typer.Option("--interface-only", help="Socket values without `socket`, as older GC."),
]


@sandbox_app.command(help=SERVE_HELP)
def serve(
    data: DataOpt = DEFAULT_DATA_DIR,
    host: HostOpt = "127.0.0.1",
    port: PortOpt = 0,
    storage_port: StoragePortOpt = 0,
    tls: TlsOpt = False,
    demo: DemoOpt = False,
    database: DatabaseOpt = None,
    link_lifetime: LinkLifetimeOpt = 300,
    lifetime: LifetimeOpt = 0,
    latency_ms: LatencyOpt = 0.0,
    jitter_ms: JitterOpt = 0.0,
    storage_latency_ms: StorageLatencyOpt = None,
    storage_kib_per_second: StorageRateOpt = 0.0,
    storage_conn_kib_per_second: StorageConnRateOpt = 0.0,
    fault: FaultOpt = None,
    fault_seed: FaultSeedOpt = 0,
    finish_jobs_after: FinishJobsOpt = None,
    interface_only: InterfaceOnlyOpt = False,
) -> None:
    """Start a sandbox; see SERVE_HELP."""
    from gcfetch.sandbox import SandboxSettings
    from gcfetch.sandbox.faults import FaultSettings

    settings = SandboxSettings(
        data_dir=data,
        database_url=database,
        host=host,
        api_port=port,
        storage_port=storage_port,
        tls=tls,
        link_lifetime=link_lifetime,
        finish_jobs_after=finish_jobs_after,
        interface_only=interface_only,
        faults=FaultSettings(
            seed=fault_seed,
            latency_ms=latency_ms,
            jitter_ms=jitter_ms,
            storage_latency_ms=storage_latency_ms,
            storage_bytes_per_second=storage_kib_per_second * 1024,
            storage_conn_bytes_per_second=storage_conn_kib_per_second * 1024,
            rules=_fault_rules(fault or []),
        ),
    )
    _run(settings, _token(settings, demo), lifetime)


def _run(settings: SandboxSettings, token: str, lifetime: float) -> None:
    """Serve until Ctrl-C, SIGTERM or the end of `lifetime`, after printing the banner."""
    from gcfetch.sandbox import Sandbox

    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    with Sandbox(settings) as sandbox:
        for line in _banner(sandbox, token, lifetime):
            typer.echo(line)
        _wait(stop, lifetime)


def _fault_rules(specs: list[str]) -> tuple[Fault, ...]:
    """The --fault rules; a bad one is a usage error naming the option."""
    from gcfetch.sandbox.faults import parse_fault

    try:
        return tuple(parse_fault(spec) for spec in specs)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--fault") from exc


def _banner(sandbox: Sandbox, token: str, lifetime: float) -> list[str]:
    """The `key: value` lines for scripts, then `#` hints for people."""
    lines = [
        f"base_url: {sandbox.base_url}",
        f"storage_url: {sandbox.storage_url}",
        f"token: {token}",
    ]
    if sandbox.ca_path is not None:
        lines.append(f"ca_bundle: {sandbox.ca_path.resolve()}")
    cacert = f" --cacert {sandbox.ca_path}" if sandbox.ca_path else ""
    return [
        *lines,
        f"data_dir: {sandbox.settings.data_dir.resolve()}",
        f'# try: curl{cacert} -H "Authorization: Bearer {token}" '
        f"{sandbox.base_url}algorithms/jobs/",
        "# stop with Ctrl-C" + (f" (stops by itself after {lifetime:g} s)" if lifetime else ""),
    ]


def _wait(stop: threading.Event, lifetime: float) -> None:
    """Block until a signal sets `stop` or `lifetime` seconds (if > 0) have passed."""
    deadline = time.monotonic() + lifetime if lifetime > 0 else None
    while not stop.is_set():
        remaining = 0.5 if deadline is None else min(0.5, deadline - time.monotonic())
        if remaining <= 0:
            return
        stop.wait(remaining)


def _token(settings: SandboxSettings, demo: bool) -> str:
    """The demo editor's token, building the demo first with --demo; else a new CLI token."""
    from gcfetch.sandbox.demo import DEMO_FILE, build_demo, load_demo_info

    if (settings.data_dir / DEMO_FILE).exists():
        return load_demo_info(settings.data_dir).tokens["editor"]
    if demo:
        return build_demo(settings).tokens["editor"]
    from gcfetch.sandbox.tokens import issue_token

    return issue_token(settings, CLI_USER)


JobsOpt = Annotated[int, typer.Option(help="Number of jobs, mostly Succeeded.", min=0)]
LargeFileOpt = Annotated[
    int, typer.Option(help="Add one job whose image output is this many MiB.", min=0)
]
SeedOpt = Annotated[int, typer.Option(help="Seed: same seed, same data set and tokens.")]
ProfileOpt = Annotated[
    str,
    typer.Option(
        help="default (every kind of job and output), bench, or bench-small (small files)."
    ),
]


@sandbox_app.command(help=DEMO_HELP)
def demo(
    data: DataOpt = DEFAULT_DATA_DIR,
    jobs: JobsOpt = 60,
    large_file_mib: LargeFileOpt = 0,
    seed: SeedOpt = 0,
    profile: ProfileOpt = "default",
    database: DatabaseOpt = None,
) -> None:
    """Build the demo data set; see DEMO_HELP."""
    from gcfetch.sandbox import SandboxSettings
    from gcfetch.sandbox.demo import PROFILES, build_demo

    if profile not in PROFILES:
        typer.echo(f"error: --profile must be one of {', '.join(PROFILES)}", err=True)
        raise typer.Exit(2)

    started = time.monotonic()
    try:
        info = build_demo(
            SandboxSettings(data_dir=data, database_url=database),
            jobs=jobs,
            large_file_mib=large_file_mib,
            seed=seed,
            profile=profile,
        )
    except FileExistsError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    for line in _demo_summary(info, data, time.monotonic() - started):
        typer.echo(line)


def _demo_summary(info: DemoInfo, data: Path, seconds: float) -> list[str]:
    """What `demo` built, its editor token and how to serve it."""
    counts = Counter(info.jobs.values())
    lines = [
        f"demo data in {data.resolve()} ({seconds:.1f} s)",
        f"algorithms: {', '.join(info.algorithms)} (public: {info.public_algorithm})",
        f"jobs: {len(info.jobs)} ("
        + ", ".join(f"{status} {n}" for status, n in counts.most_common())
        + ")",
    ]
    if info.large_file_job:
        lines.append(f"large file job: {info.large_file_job} ({info.large_file_mib} MiB)")
    return [
        *lines,
        f"token (editor): {info.tokens['editor']}",
        f"start it: gcfetch sandbox serve --data {data}",
    ]
