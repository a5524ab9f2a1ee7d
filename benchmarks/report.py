"""The results as a Markdown table, the targets as met or not, and `latest.json`."""

from __future__ import annotations

import json
import os
import platform
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.scenarios import (
    CURL,
    CURL_ONE_STREAM,
    GCAPI,
    GCFETCH,
    GCFETCH_ONE_STREAM,
    Harness,
    Result,
)

MB = 1_000_000
RSS_NOISE_MB = 5  # run-to-run spread of a Python process's peak RSS


def _reference(results: list[Result], scenario: str) -> Result | None:
    return next((r for r in results if r.scenario == scenario and r.contender == GCFETCH), None)


def _throughput(result: Result) -> dict[str, float]:
    seconds = result.median.seconds
    out: dict[str, float] = {"mb_per_s": result.payload_bytes / MB / seconds}
    if result.scenario.startswith(("1", "4", "5")):
        out["files_per_s"] = result.files / seconds
        out["ms_per_job"] = 1000 * seconds / max(result.jobs, 1)
    many_files = result.scenario.startswith(("1", "3", "4", "5"))  # not 2's and 6's one file
    if many_files and result.files and result.median.cpu_seconds:
        out["cpu_s_per_1000_files"] = 1000 * result.median.cpu_seconds / result.files
    return out


def rows(harness: Harness) -> list[dict[str, Any]]:
    """One dict per result, as written to latest.json."""
    out = []
    for result in harness.results:
        reference = _reference(harness.results, result.scenario)
        ratio = result.median.seconds / reference.median.seconds if reference else None
        out.append(
            {
                "scenario": result.scenario,
                "contender": result.contender,
                "jobs": result.jobs,
                "median_seconds": round(result.median.seconds, 3),
                "runs_seconds": [round(r.seconds, 3) for r in result.runs],
                "throughput": {k: round(v, 2) for k, v in _throughput(result).items()},
                "files": result.files,
                "payload_bytes": result.payload_bytes,
                "peak_rss_mb": round(result.median.peak_rss_mb, 1),
                "cpu_seconds": round(result.median.cpu_seconds, 2),
                "runs_cpu_seconds": [round(r.cpu_seconds, 2) for r in result.runs],
                "ratio_to_gcfetch": round(ratio, 2) if ratio else None,
                "extra": result.extra,
            }
        )
    return out


def _speed(row: dict[str, Any]) -> str:
    speed = row["throughput"]
    if row["scenario"].startswith("3"):
        extra = row["extra"]
        return f"{extra['requests']} requests, {extra['file_bytes']} file bytes"
    text = f"{speed['mb_per_s']:.0f} MB/s"
    if "files_per_s" in speed:
        text += f", {speed['files_per_s']:.0f} files/s, {speed['ms_per_job']:.1f} ms/job"
    return text


def table(data: list[dict[str, Any]]) -> str:
    """A Markdown table: time ratio is the contender's median time over gcfetch's; CPU is the
    contender's user + system seconds (median), per 1,000 files where it wrote files."""
    lines = [
        "| Scenario | Contender | Median s | Throughput | Peak RSS MB | CPU s (per 1,000 files) "
        "| Time / gcfetch |",
        "|---|---|---:|---|---:|---:|---:|",
    ]
    for row in data:
        ratio = f"{row['ratio_to_gcfetch']:.2f}x" if row["ratio_to_gcfetch"] else "—"
        lines.append(
            f"| {row['scenario']} | {row['contender']} | {row['median_seconds']:.2f} | "
            f"{_speed(row)} | {row['peak_rss_mb']:.0f} | {_cpu(row)} | {ratio} |"
        )
    return "\n".join(lines)


def _cpu(row: dict[str, Any]) -> str:
    cpu = row.get("cpu_seconds", 0.0)
    per_1000 = row["throughput"].get("cpu_s_per_1000_files")
    return f"{cpu:.2f} ({per_1000:.2f})" if per_1000 else f"{cpu:.2f}"


REQUEST_KINDS = ("job-list", "image-list", "image-detail", "api", "media", "storage")


def requests_table(data: list[dict[str, Any]], scenario: str = "1") -> str:
    """Requests per 100 jobs, by kind, of each contender of `scenario` (its last run)."""
    lines = [
        "| Contender | " + " | ".join(REQUEST_KINDS) + " | all |",
        "|---|" + "---:|" * (len(REQUEST_KINDS) + 1),
    ]
    for row in data:
        counts = row["extra"].get("server", {}).get("requests")
        if not row["scenario"].startswith(scenario) or counts is None:
            continue
        jobs = max(row["jobs"], 1)
        per_100 = [100 * counts.get(kind, 0) / jobs for kind in REQUEST_KINDS]
        per_100.append(100 * sum(counts.values()) / jobs)
        lines.append(f"| {row['contender']} | " + " | ".join(f"{n:.0f}" for n in per_100) + " |")
    return "\n".join(lines)


def _find(
    data: list[dict[str, Any]], scenario: str, contender: str, *, exact: bool = False
) -> dict[str, Any] | None:
    """The first row of `scenario` (a prefix) whose contender is (or starts with) `contender`."""
    for row in data:
        name = row["contender"]
        if row["scenario"].startswith(scenario) and (
            name == contender if exact else name.startswith(contender)
        ):
            return row
    return None


def targets(data: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each target of the issue with its measured figure; skipped when not measured."""
    out: list[dict[str, Any]] = []

    def add(name: str, measured: str, met: bool) -> None:
        out.append({"target": name, "measured": measured, "met": bool(met)})

    gcf, gcapi = _find(data, "1", GCFETCH, exact=True), _find(data, "1", GCAPI)
    best = _find(data, "1", "gcfetch --workers")
    raw = _find(data, "1", "raw httpx")
    if gcf and gcapi:
        ratio = gcapi["median_seconds"] / gcf["median_seconds"]
        add("1: gcfetch >= 20x faster than the gcapi loop", f"{ratio:.1f}x", ratio >= 20)
    if best and raw:
        ratio = best["median_seconds"] / raw["median_seconds"]
        add(f"1: {best['contender']} within 1.5x of the raw GETs", f"{ratio:.2f}x", ratio <= 1.5)
    if gcf and raw:
        ratio = gcf["median_seconds"] / raw["median_seconds"]
        add("1: gcfetch (defaults) within 1.5x of the raw GETs", f"{ratio:.2f}x", ratio <= 1.5)
    if gcf:
        details = gcf["extra"]["server"]["requests"].get("image-detail", 0)
        add("1: 0 image-detail requests", f"{details} requests", details == 0)
    # The raw script runs at the best --workers: CPU is compared at that same concurrency.
    best_cpu = best and best["throughput"].get("cpu_s_per_1000_files")
    raw_cpu = raw and raw["throughput"].get("cpu_s_per_1000_files")
    if best and best_cpu and raw_cpu:
        ratio = best_cpu / raw_cpu
        add(
            f"1: {best['contender']} client CPU <= 1.25x the raw script's (same concurrency)",
            f"{ratio:.2f}x ({best_cpu:.2f} against {raw_cpu:.2f} CPU s per 1,000 files)",
            ratio <= 1.25,
        )
    large, curl = _find(data, "2", GCFETCH, exact=True), _find(data, "2", CURL)
    if large and curl:
        share = large["throughput"]["mb_per_s"] / curl["throughput"]["mb_per_s"]
        add("2: gcfetch >= 85% of curl's throughput", f"{100 * share:.0f}%", share >= 0.85)
    if large:
        rate = large["throughput"]["mb_per_s"]
        add("2: gcfetch >= 200 MB/s", f"{rate:.0f} MB/s", rate >= 200)
        rss = large["peak_rss_mb"]
        add("2: gcfetch peak RSS < 120 MB", f"{rss:.0f} MB", rss < 120)
    rerun = _find(data, "3", GCFETCH)
    if rerun:
        extra = rerun["extra"]
        add(
            "3: 0 file bytes and 0 file requests",
            f"{extra['file_bytes']} bytes, {extra['file_requests']} requests",
            extra["file_bytes"] == 0 and extra["file_requests"] == 0,
        )
        add(
            "3: at most one request per listing page",
            f"{extra['job_list_requests']} job-list requests for {extra['job_list_pages']} "
            f"pages (+{extra['other_api_requests']} other API requests)",
            extra["job_list_requests"] <= extra["job_list_pages"],
        )
    _capped_targets(data, add)
    realistic, realistic_gcapi = _find(data, "5", GCFETCH, exact=True), _find(data, "5", GCAPI)
    if realistic and realistic_gcapi:
        ratio = realistic_gcapi["median_seconds"] / realistic["median_seconds"]
        per_job = {
            row["contender"]: sum(row["extra"]["server"]["requests"].values()) / row["jobs"]
            for row in (realistic, realistic_gcapi)
        }
        add(
            "5: gcfetch (defaults) >= 15x the gcapi loop",
            f"{ratio:.1f}x ({realistic['median_seconds']:.2f} s against "
            f"{realistic_gcapi['median_seconds']:.2f} s; requests per job "
            + ", ".join(f"{name}: {n:.1f}" for name, n in per_job.items())
            + ")",
            ratio >= 15,
        )
    growth = [r for r in data if r["scenario"].startswith("4")]
    if len(growth) >= 2:
        per_job = [r["throughput"]["ms_per_job"] for r in growth]
        spread = max(per_job) / min(per_job)
        add(
            "4: seconds per job flat within 1.5x",
            ", ".join(f"{_step(r)}: {p:.1f} ms" for r, p in zip(growth, per_job, strict=True))
            + f" (spread {spread:.2f}x)",
            spread <= 1.5,
        )
        grown = growth[-1]["peak_rss_mb"] - growth[0]["peak_rss_mb"]
        job_list = growth[-1]["extra"]["server"]["body_bytes"].get("job-list", 0) / MB
        add(
            "4: peak RSS grows no more than the job list itself",
            f"{growth[0]['peak_rss_mb']:.0f} -> {growth[-1]['peak_rss_mb']:.0f} MB "
            f"(+{grown:.0f} MB; job list JSON {job_list:.0f} MB; {RSS_NOISE_MB} MB noise allowed)",
            grown <= job_list + RSS_NOISE_MB,
        )
    return out


def _capped_targets(data: list[dict[str, Any]], add: Any) -> None:
    """Scenario 6: segments against one stream (curl's, and gcfetch's own with them off)."""
    capped = _find(data, "6", GCFETCH, exact=True)
    curl, off = _find(data, "6", CURL_ONE_STREAM), _find(data, "6", GCFETCH_ONE_STREAM)
    if capped and curl:
        ratio = curl["median_seconds"] / capped["median_seconds"]
        add("6: gcfetch >= 3.5x curl's single stream", f"{ratio:.1f}x", ratio >= 3.5)
    if capped and off:
        ratio = off["median_seconds"] / capped["median_seconds"]
        add("6: segments >= 3x gcfetch's own single stream", f"{ratio:.1f}x", ratio >= 3.0)
    if capped:
        rss = capped["peak_rss_mb"]
        add("6: gcfetch peak RSS < 120 MB with segments", f"{rss:.0f} MB", rss < 120)


def _step(row: dict[str, Any]) -> str:
    """A growth step's job count; a step stopped by its time budget says how far it got."""
    total = row["extra"].get("jobs_total")
    return f"{total} ({row['jobs']} done)" if total else str(row["jobs"])


def targets_text(items: list[dict[str, Any]]) -> str:
    return "\n".join(
        f"- {'MET' if t['met'] else 'NOT MET'}: {t['target']}: {t['measured']}" for t in items
    )


def summary(document: dict[str, Any]) -> str:
    """The printed summary (Markdown): date and cores, the table, each target, the notes."""
    lines = [
        f"Benchmarks of {document['date']} on {document['nproc']} cores ({document['machine']}), "
        f"median of {document['repeat']} runs:",
        "",
        table(document["results"]),
        "",
        "Requests per 100 jobs (scenario 1):",
        "",
        requests_table(document["results"]),
        "",
        "Requests per 100 jobs (scenario 5, succeeded jobs of the public algorithm):",
        "",
        requests_table(document["results"], "5"),
        "",
        "Targets:",
        "",
        targets_text(document["targets"]),
        "",
        "Notes:" if document["notes"] else "",
        "",
        *(f"- {note}" for note in document["notes"]),
    ]
    return "\n".join(lines).rstrip()


def write(harness: Harness, path: Path, *, quick: bool) -> dict[str, Any]:
    """Write latest.json (atomically) and return what was written."""
    data = rows(harness)
    document = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": os.cpu_count(),
        "machine": f"{platform.system()} {platform.machine()}, Python {platform.python_version()}",
        "quick": quick,
        "repeat": harness.repeat,
        "results": data,
        "targets": targets(data),
        "notes": harness.notes,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".json.tmp")
    temporary.write_text(json.dumps(document, indent=2) + "\n")
    temporary.replace(path)
    return document
