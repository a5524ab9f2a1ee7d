"""A tiny evaluation, doing what a challenge's evaluation container does with its /input.

It reads `predictions.json` (the algorithm's successful jobs), finds each job's outputs at
`<input>/<job pk>/output/<relative_path>`, names each case by its input image, and writes the
mean of one value output to `<output>/metrics.json`. Run it on a download made with
`gcfetch outputs --layout evaluation -o <input>`:

    python examples/evaluate.py --input input/ --output output/ --value probability
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def output_path(input_dir: Path, job: dict, value: dict) -> Path:
    """Where GC puts one output of a job for the evaluation container."""
    return input_dir / job["pk"] / "output" / value["interface"]["relative_path"]


def evaluate(input_dir: Path, value_slug: str) -> dict:
    """Mean of the `value_slug` output over the jobs, and what was found."""
    jobs = json.loads((input_dir / "predictions.json").read_text())
    scores, files, cases = [], 0, []
    for job in jobs:
        cases += [v["image"]["name"] for v in job["inputs"] if isinstance(v.get("image"), dict)]
        for value in job["outputs"]:
            path = output_path(input_dir, job, value)
            if value["interface"]["super_kind"] == "Image":
                files += len([p for p in path.iterdir() if p.suffix in (".mha", ".tif", ".tiff")])
            elif path.is_file():
                files += 1
                if value["interface"]["slug"] == value_slug:
                    scores.append(json.loads(path.read_text()))
    mean = sum(scores) / len(scores) if scores else None
    return {"jobs": len(jobs), "cases": sorted(cases), "files_read": files, "mean": mean}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--input", type=Path, default=Path("/input"))
    parser.add_argument("--output", type=Path, default=Path("/output"))
    parser.add_argument("--value", default="probability", help="slug of a value output")
    args = parser.parse_args()
    metrics = evaluate(args.input, args.value)
    args.output.mkdir(parents=True, exist_ok=True)
    (args.output / "metrics.json").write_text(json.dumps(metrics, indent=2))
    print(
        f"{metrics['jobs']} jobs, {metrics['files_read']} files read, mean {args.value}: "
        f"{metrics['mean']}"
    )


if __name__ == "__main__":
    main()
