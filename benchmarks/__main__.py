"""`python -m benchmarks`: run the scenarios, print the table and the targets, write latest.json.

Options: --scenario N (repeatable; 1 also runs 3, which re-runs its finished tree), --repeat
(default 3), --quick (tiny sizes, one repeat: a smoke run), --gcapi build|cached|skip (the
official client's venv), --workdir (data and downloads, removed after each scenario),
--output (the JSON; the printed summary goes next to it as .md).
"""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
import tempfile
from pathlib import Path

from benchmarks import report
from benchmarks.gcapi_venv import REPO, gcapi_python, gcapi_ready
from benchmarks.scenarios import Harness, Sizes

GCAPI_VERSION = "0.16.1"
DEFAULT_OUTPUT = Path(__file__).parent / "results" / "latest.json"


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--scenario", type=int, action="append", choices=(1, 2, 3, 4, 5, 6))
    parser.add_argument("--repeat", type=int, default=None, help="runs per measurement (3)")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, one run each")
    parser.add_argument(
        "--gcapi",
        choices=("build", "cached", "skip"),
        default="build",
        help="gcapi contender: build its venv if needed (default), only if cached, or skip",
    )
    parser.add_argument("--workdir", type=Path, default=REPO / ".cache" / "bench")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    scenarios = set(args.scenario or (1, 2, 3, 4, 5, 6))
    repeat = args.repeat or (1 if args.quick else 3)
    args.workdir.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="run-", dir=args.workdir))
    python = None
    if args.gcapi == "build" or (args.gcapi == "cached" and gcapi_ready(GCAPI_VERSION)):
        python = gcapi_python(GCAPI_VERSION)
    harness = Harness(workdir, repeat, Sizes.quick() if args.quick else Sizes(), python)
    if shutil.which("curl") is None:
        harness.notes.append("curl not found: scenario 2's limit and 6's one stream not measured")
    steps = [(scenarios & {1, 3}, harness.many), (2 in scenarios, harness.large)]
    steps.append((4 in scenarios, harness.growth))
    steps.append((5 in scenarios, harness.realistic))
    steps.append((6 in scenarios, harness.capped))
    try:
        for wanted, step in steps:
            if wanted:
                step()
                report.write(harness, args.output, quick=args.quick)  # kept if a later one fails
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    document = report.write(harness, args.output, quick=args.quick)
    summary = report.summary(document)
    markdown = args.output.with_suffix(".md")
    markdown.write_text(summary + "\n")
    print("\n" + summary)
    print(f"\nWritten: {args.output} and {markdown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
