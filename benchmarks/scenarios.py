"""The scenarios: each builds its data, starts its sandbox, measures its contenders."""

from __future__ import annotations

import logging
import math
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any

from benchmarks import contenders
from benchmarks.measure import Run, TimedOut, median_run, remove, run_process, tree_bytes
from benchmarks.server import Bench, bench_sandbox
from gcfetch.config import DEFAULT_WORKERS

logger = logging.getLogger("benchmarks")

GCFETCH, GCFETCH_BEST, GCAPI, RAW, CURL = (
    "gcfetch",
    "gcfetch --workers {n}",
    "gcapi 0.16.1 loop",
    "raw httpx (limit)",
    "curl (limit)",
)
GCFETCH_ONE_STREAM, CURL_ONE_STREAM = "gcfetch, segments off", "curl (one stream)"
MIB = 1024 * 1024


@dataclass(frozen=True)
class Sizes:
    """How big each scenario is; `quick` shrinks everything to a smoke run."""

    many_jobs: int = 300
    latency_ms: float = 20.0
    large_file_mib: int = 1024
    growth_jobs: tuple[int, ...] = (100, 1000, 10000)
    growth_profile: str = "bench-small"  # the same small payload per job at every step
    growth_latency_limit: int = 10000  # larger growth steps run without latency
    growth_repeat_limit: int = 1000  # larger growth steps run once, stopped after:
    growth_budget_s: float = 240.0  # (the sandbox slows down as it grows: see the notes)
    sweep: tuple[int, ...] = (8, 16, 32)  # 4 is always slower (seen: 20 s against 10 s)
    capped_file_mib: int = 512  # scenario 6: one file ...
    capped_mib_per_s: float = 16.0  # ... over storage connections capped at this rate each
    capped_threshold: str | None = None  # --segment-threshold; None: gcfetch's default
    capped_one_stream_repeat: int | None = 1  # one stream at a fixed cap varies little
    realistic_jobs: int = 150  # scenario 5, the demo's default profile: ~100 succeeded jobs of
    realistic_latency_ms: float = 100.0  # the public algorithm; latency on the API origin,
    realistic_storage_latency_ms: float = 30.0  # and on storage
    realistic_sweep: tuple[int, ...] = (16, 32, 48)
    realistic_gcapi_repeat: int | None = 1  # the gcapi loop takes minutes here: run once

    @classmethod
    def quick(cls) -> Sizes:
        return cls(
            many_jobs=8,
            large_file_mib=8,
            growth_jobs=(4, 8, 16),
            growth_latency_limit=8,
            growth_repeat_limit=8,
            growth_budget_s=60.0,
            sweep=(4, 8),
            capped_file_mib=8,
            capped_mib_per_s=4.0,
            capped_threshold="1M",  # the default (64M) is larger than the quick file
            realistic_jobs=12,
            realistic_latency_ms=10.0,
            realistic_storage_latency_ms=3.0,
            realistic_sweep=(8, 16),
        )


@dataclass
class Result:
    """One contender in one scenario: its runs and what they moved."""

    scenario: str
    contender: str
    runs: list[Run]
    jobs: int
    files: int = 0
    payload_bytes: int = 0  # body bytes the storage origin served in one run
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def median(self) -> Run:
        return median_run(self.runs)


@dataclass
class Harness:
    workdir: Path
    repeat: int
    sizes: Sizes
    gcapi_python: Path | None
    results: list[Result] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def measure(
        self,
        bench: Bench,
        scenario: str,
        contender: str,
        command: Callable[[Path], list[str]],
        *,
        keep: Path | None = None,
        record: bool = True,
        repeat: int | None = None,
        jobs: int | None = None,
    ) -> Result:
        """Run `command(out)` `repeat` (default `self.repeat`) times on fresh output
        directories; return (and, with `record`, keep) a Result.

        With `keep`, the last run writes there and its tree is kept (for the re-run). `jobs`
        is what per-job figures divide by (default: every job of the bench data).
        """
        runs, served, files, server = [], 0, 0, {}
        count = min(repeat or self.repeat, self.repeat)
        for attempt in range(count):
            out = keep if keep and attempt == count - 1 else self.workdir / "out"
            remove(out)
            bench.counters.reset()
            log = self.workdir / "logs" / f"{scenario}-{contender}-{attempt}.log".replace(" ", "_")
            runs.append(run_process(command(out), env=bench.env(), log=log))
            served = bench.counters.body_bytes["storage"]
            server = bench.counters.snapshot()
            files = tree_bytes(out)[0]
            if out != keep:
                remove(out)
            seconds = runs[-1].seconds
            logger.info("%s / %s: run %d: %.2f s", scenario, contender, attempt + 1, seconds)
        jobs = len(bench.info.jobs) if jobs is None else jobs
        result = Result(scenario, contender, runs, jobs, files, served)
        result.extra["server"] = server
        if record:
            self.results.append(result)
        return result

    def many(self) -> None:
        """Scenarios 1 and 3: many small outputs behind latency, then the re-run."""
        sizes = self.sizes
        data = self.workdir / f"data-many-{sizes.many_jobs}"
        with bench_sandbox(data, jobs=sizes.many_jobs, latency_ms=sizes.latency_ms) as bench:
            scenario = f"1 many outputs ({sizes.many_jobs} jobs, {sizes.latency_ms:g} ms)"
            tree = self.workdir / "tree"
            defaults = self.measure(
                bench, scenario, GCFETCH, lambda out: contenders.gcfetch(bench, out), keep=tree
            )
            best = self._best_workers(bench, scenario, "scenario 1", sizes.sweep, defaults)
            self.measure(
                bench,
                scenario,
                f"{RAW} ({best} at once)",
                lambda out: contenders.raw_httpx(bench, out, best),
            )
            self._measure_gcapi(bench, scenario)
            self._rerun(bench, tree)
            remove(tree)
        remove(data)

    def _measure_gcapi(self, bench: Bench, scenario: str, **options: Any) -> None:
        """The guide's example with the official gcapi, if its venv is there; `options` go to
        `measure`."""
        if self.gcapi_python is None:
            return
        python = self.gcapi_python
        script = contenders.gcapi_example(self.workdir / "scripts")
        self.measure(
            bench,
            scenario,
            GCAPI,
            lambda out: contenders.gcapi_loop(bench, out, python, script),
            **options,
        )

    def _best_workers(
        self,
        bench: Bench,
        scenario: str,
        label: str,
        sweep: tuple[int, ...],
        defaults: Result,
        **options: Any,
    ) -> int:
        """Measure each --workers value like any contender; the fastest median is kept. The
        default value is not measured again: `defaults` are its runs."""
        measured = {
            workers: (
                replace(defaults, contender=GCFETCH_BEST.format(n=workers))
                if workers == DEFAULT_WORKERS
                else self.measure(
                    bench,
                    scenario,
                    GCFETCH_BEST.format(n=workers),
                    partial(contenders.gcfetch, bench, workers=workers),
                    record=False,
                    **options,
                )
            )
            for workers in sweep
        }
        best = min(measured, key=lambda workers: measured[workers].median.seconds)
        self.results.append(measured[best])
        self.notes.append(
            f"{label} --workers sweep (median of {self.repeat}): "
            + ", ".join(f"{w}: {r.median.seconds:.2f} s" for w, r in measured.items())
            + f"; best {best}"
        )
        return best

    def _rerun(self, bench: Bench, tree: Path) -> None:
        """Scenario 3: gcfetch again on the finished tree; what it asked the server."""
        runs = []
        for attempt in range(self.repeat):
            bench.counters.reset()
            log = self.workdir / "logs" / f"rerun-{attempt}.log"
            runs.append(run_process(contenders.gcfetch(bench, tree), env=bench.env(), log=log))
        counts, served = bench.counters.requests, bench.counters.body_bytes
        jobs = len(bench.info.jobs)
        result = Result("3 re-run on the finished tree", GCFETCH, runs, jobs, tree_bytes(tree)[0])
        result.extra = {
            "requests": sum(counts.values()),
            "job_list_requests": counts["job-list"],
            "job_list_pages": math.ceil(jobs / 100),
            "other_api_requests": counts["api"],
            "file_requests": counts["media"] + counts["storage"],
            "file_bytes": served["storage"],
        }
        self.results.append(result)

    def large(self) -> None:
        """Scenario 2: one job with a large image file, no latency."""
        mib = self.sizes.large_file_mib
        data = self.workdir / f"data-large-{mib}"
        scenario = f"2 large file ({mib} MiB)"
        with bench_sandbox(data, jobs=0, large_file_mib=mib) as bench:
            self.measure(bench, scenario, GCFETCH, lambda out: contenders.gcfetch(bench, out))
            self.measure(
                bench,
                scenario,
                CURL,
                lambda out: contenders.curl(bench, out, contenders.signed_url_of_large_file(bench)),
            )
            self._measure_gcapi(bench, scenario)
        remove(data)

    def capped(self) -> None:
        """Scenario 6: one large file, each storage connection capped (a long network path)."""
        sizes = self.sizes
        mib, rate = sizes.capped_file_mib, sizes.capped_mib_per_s
        data = self.workdir / f"data-capped-{mib}"
        scenario = f"6 capped link ({mib} MiB, {rate:g} MiB/s per connection)"
        threshold = (
            ["--segment-threshold", sizes.capped_threshold] if sizes.capped_threshold else []
        )
        with bench_sandbox(
            data, jobs=0, large_file_mib=mib, conn_bytes_per_second=rate * MIB
        ) as bench:
            gcfetch = partial(contenders.gcfetch, bench)
            self.measure(bench, scenario, GCFETCH, lambda out: [*gcfetch(out), *threshold])
            off = ["--segment-threshold", "0"]
            once = sizes.capped_one_stream_repeat
            self.measure(
                bench,
                scenario,
                GCFETCH_ONE_STREAM,
                lambda out: [*gcfetch(out), *off],
                repeat=once,
            )
            if shutil.which("curl"):
                url = contenders.signed_url_of_large_file(bench)
                curl = partial(contenders.curl, bench, url=url)
                self.measure(bench, scenario, CURL_ONE_STREAM, lambda out: curl(out), repeat=once)
        if once and once < self.repeat:
            self.notes.append(
                f"scenario 6: the one-stream contenders run {once} time(s), not {self.repeat} "
                "(at a fixed cap they vary little), to keep `make bench` within 15 minutes"
            )
        remove(data)

    def realistic(self) -> None:
        """Scenario 5: the demo's output mix behind an API and a storage latency."""
        sizes = self.sizes
        jobs, api_ms = sizes.realistic_jobs, sizes.realistic_latency_ms
        storage_ms = sizes.realistic_storage_latency_ms
        data = self.workdir / f"data-realistic-{jobs}"
        with bench_sandbox(
            data,
            jobs=jobs,
            profile="default",
            latency_ms=api_ms,
            storage_latency_ms=storage_ms,
        ) as bench:
            info = bench.info
            succeeded = sum(
                1
                for pk, status in info.jobs.items()
                if status == "Succeeded" and info.job_algorithms[pk] == info.public_algorithm
            )
            scenario = (
                f"5 realistic latency ({succeeded} jobs, {api_ms:g} ms API, "
                f"{storage_ms:g} ms storage)"
            )
            defaults = self.measure(
                bench, scenario, GCFETCH, partial(contenders.gcfetch, bench), jobs=succeeded
            )
            sweep = sizes.realistic_sweep
            self._best_workers(bench, scenario, "scenario 5", sweep, defaults, jobs=succeeded)
            repeat = sizes.realistic_gcapi_repeat
            self._measure_gcapi(bench, scenario, repeat=repeat, jobs=succeeded)
        self.notes.append(
            f"scenario 5 uses the demo's default profile with {jobs} jobs, of which {succeeded} "
            f"are succeeded jobs of {info.public_algorithm} (the ones downloaded; per-job "
            "figures are over these)"
            + (
                f"; the gcapi loop runs {repeat} time(s), not {self.repeat}, to keep "
                "`make bench` within 15 minutes"
                if self.gcapi_python and repeat and repeat < self.repeat
                else ""
            )
        )
        remove(data)

    def growth(self) -> None:
        """Scenario 4: gcfetch (defaults) at growing job counts, a small payload per job."""
        sizes = self.sizes
        note = (
            f"scenario 4 uses the demo's {sizes.growth_profile} profile (per job: a ~20 KB "
            "image, a ~5 KB JSON file and a value) so that 10,000 jobs fit the time budget"
        )
        if sizes.growth_latency_limit < max(sizes.growth_jobs):
            note += f"; steps above {sizes.growth_latency_limit} jobs run without latency"
        if sizes.growth_repeat_limit < max(sizes.growth_jobs):
            note += (
                f"; steps above {sizes.growth_repeat_limit} jobs run once and are stopped after "
                f"{sizes.growth_budget_s:g} s: their seconds per job are over the jobs finished"
            )
        self.notes.append(note + "; gcapi and the raw script are not run: growth is gcfetch's")
        for jobs in sizes.growth_jobs:
            latency = sizes.latency_ms if jobs <= sizes.growth_latency_limit else 0.0
            data = self.workdir / f"data-growth-{jobs}"
            scenario = f"4 growth ({jobs} small jobs, {latency:g} ms)"
            profile = sizes.growth_profile
            with bench_sandbox(data, jobs=jobs, latency_ms=latency, profile=profile) as bench:
                if jobs <= sizes.growth_repeat_limit:
                    self.measure(bench, scenario, GCFETCH, partial(contenders.gcfetch, bench))
                else:
                    self._measure_budgeted(bench, scenario)
            remove(data)

    def _measure_budgeted(self, bench: Bench, scenario: str) -> None:
        """One gcfetch run stopped after the growth budget; counted over the jobs it finished."""
        out = self.workdir / "out"
        remove(out)
        bench.counters.reset()
        log = self.workdir / "logs" / "growth-budgeted.log"
        command = contenders.gcfetch(bench, out)
        total, extra = len(bench.info.jobs), {}
        try:
            run = run_process(command, env=bench.env(), log=log, timeout=self.sizes.growth_budget_s)
            done = total
        except TimedOut as stopped:
            run = stopped.run
            done = sum(1 for _ in out.glob("*/probability.json"))  # the values: one per job
            scenario += f", stopped after {run.seconds:.0f} s"
            extra = {"stopped_after_s": round(run.seconds, 1), "jobs_total": total}
        logger.info("%s: %d of %d jobs in %.1f s", scenario, done, total, run.seconds)
        result = Result(scenario, GCFETCH, [run], done, tree_bytes(out)[0])
        result.payload_bytes = bench.counters.body_bytes["storage"]
        result.extra = {**extra, "server": bench.counters.snapshot()}
        self.results.append(result)
        remove(out)
