"""The API's objects in a destination: `jobs.jsonl` (or `items.jsonl`) and, in the evaluation
layout, `predictions.json`.

`jobs.jsonl` holds one line per selected job (`items.jsonl`: per archive item or display set):
the object exactly as the API returned it, appended as they are listed; an object listed again
replaces its line (jsonlines.py). The API's objects carry no token.

`predictions.json` is what Grand Challenge gives an evaluation container: the list of the
selected jobs, as its `JobSerializer` writes them. Images are `{"pk", "name"}` objects there,
not API URLs, so each job's image values are rewritten that way; everything else is as the API
returned it. The list is streamed to a temporary file as jobs are listed and renamed onto
`predictions.json` once the listing is complete: a run cut short leaves the earlier one.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

from gcfetch.files import promote
from gcfetch.models import ArchiveItem, DisplaySet, Job, api_json, pk_from_url
from gcfetch.outputs.jsonlines import AppendLog, cannot_write, read_lines

logger = logging.getLogger(__name__)

JOBS_NAME = "jobs.jsonl"
PREDICTIONS_NAME = "predictions.json"


def _pk_of_line(line: str) -> str:
    try:
        pk = json.loads(line).get("pk")
    except (ValueError, AttributeError):
        raise ValueError("not a JSON object (cut short?)") from None
    if not isinstance(pk, str):
        raise ValueError("'pk' is missing or not a string")
    return pk


class ObjectsLog:
    """`jobs.jsonl` (or another `name`): one line per object as the API returned it."""

    def __init__(self, root: Path, name: str = JOBS_NAME) -> None:
        path = root / name
        lines, clean = read_lines(path, _pk_of_line, str)
        self._log = AppendLog(path, _pk_of_line, set(lines), clean=clean)

    def add(self, obj: Job | ArchiveItem | DisplaySet) -> None:
        self._log.append([(obj.pk, json.dumps(api_json(obj), separators=(",", ":")))])

    def close(self) -> None:
        self._log.close()


class Predictions:
    """`predictions.json`, streamed to `.predictions.json.tmp` and renamed by `finish`."""

    def __init__(self, root: Path) -> None:
        self.path = root / PREDICTIONS_NAME
        self._temp = root / f".{PREDICTIONS_NAME}.tmp"
        self._out: IO[str] | None = None
        self._count = 0

    def add(self, job: Job, image_names: Mapping[str, str]) -> None:
        """Append `job`; `image_names` (by image pk) names its images."""
        entry = with_image_objects(api_json(job), image_names)
        try:
            if self._out is None:
                self._out = self._temp.open("w", encoding="utf-8")
                self._out.write("[")
            self._out.write(("," if self._count else "") + "\n" + json.dumps(entry))
        except OSError as exc:
            raise cannot_write(self.path, exc) from exc
        self._count += 1

    def finish(self, *, complete: bool) -> None:
        """Rename the list onto `predictions.json` if the listing was `complete`, else drop it
        and keep the earlier file."""
        out, self._out = self._out, None
        try:
            if not complete:
                logger.warning("%s not written: the listing of jobs did not finish", self.path)
                if out is not None:
                    out.close()
                self._temp.unlink(missing_ok=True)
                return
            out = out or self._temp.open("w", encoding="utf-8")
            out.write("[" if not self._count else "")
            out.write("\n]\n")
            out.flush()
            os.fsync(out.fileno())
            out.close()
            promote(self._temp, self.path)
        except OSError as exc:
            self._temp.unlink(missing_ok=True)
            raise cannot_write(self.path, exc) from exc


def with_image_objects(job: Any, image_names: Mapping[str, str]) -> Any:
    """A copy of a job object whose image values are `{"pk", "name"}` objects (a name this run
    could not look up is "")."""
    if not isinstance(job, dict):
        return job
    copy = dict(job)
    for key in ("inputs", "outputs"):
        if isinstance(job.get(key), list):
            copy[key] = [_image_object(value, image_names) for value in job[key]]
    return copy


def _image_object(value: Any, image_names: Mapping[str, str]) -> Any:
    if not isinstance(value, dict) or not isinstance(value.get("image"), str):
        return value
    pk = pk_from_url(value["image"])
    return {**value, "image": {"pk": pk, "name": image_names.get(pk, "")}}
