"""Outputs whose names the destination's filesystem would make one file (case on a
case-insensitive disk, Unicode forms, a name beside another's `.part`): the later output is
refused and reported, the other is downloaded intact, and the run goes on."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

import pytest
from sqlalchemy import select
from tests.outputs.helpers import add_output_row
from tests.reliability.helpers import MATRIX_ALGORITHM, make_client

from gcfetch import download_outputs
from gcfetch.outputs import plan
from gcfetch.sandbox import Sandbox
from gcfetch.sandbox.demo import DemoInfo
from gcfetch.sandbox.tables import Job

CAFE = "café.json"
# pairs of value outputs that must not share a file, whatever the filesystem
CLASHES = {
    "part": ("x.json", "x.json.part"),
    "sidecar": ("y.json.part.json", "y.json"),
    "unicode": (unicodedata.normalize("NFD", CAFE), unicodedata.normalize("NFC", CAFE)),
}
CASE = ("Result.json", "result.json")  # one file only where the filesystem ignores case


@pytest.fixture
def clashing(fresh_sandbox: Sandbox) -> tuple[Sandbox, str]:
    """A tissue-overlay job given both outputs of every pair; (sandbox, job pk)."""
    with fresh_sandbox.apps.sessionmaker() as session:
        job = next(
            j
            for j in session.scalars(select(Job).where(Job.status == "Succeeded"))
            if j.algorithm_image.algorithm.slug == MATRIX_ALGORITHM
        )
        for name, paths in {**CLASHES, "case": CASE}.items():
            for n, path in enumerate(paths):
                add_output_row(session, job.pk, f"{name}-{n}", path, "Value", value={"n": n})
        session.commit()
        return fresh_sandbox, job.pk


def _run(sandbox: Sandbox, demo: DemoInfo, job_pk: str, dest: Path):
    with make_client(sandbox, demo) as client:
        return download_outputs(client, jobs=[job_pk], output_directory=dest)


def _kept_one_of(pair: str, paths: tuple[str, ...], refused: set[str], job_dir: Path) -> None:
    """Exactly one output of the pair was refused; the other's file holds its own value."""
    slugs = [f"{pair}-{n}" for n in range(len(paths))]
    assert len(refused & set(slugs)) == 1, (pair, refused)
    [kept] = [n for n, slug in enumerate(slugs) if slug not in refused]
    assert json.loads((job_dir / paths[kept]).read_text()) == {"n": kept}


@pytest.mark.parametrize("case_sensitive", [True, False], ids=["case-sensitive", "ignores-case"])
def test_download_outputs_refuses_later_of_two_outputs_on_one_file_and_completes_rest(
    clashing, demo: DemoInfo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case_sensitive
) -> None:
    sandbox, job_pk = clashing
    # the probe itself is tested on a real directory in tests/outputs/test_plan.py; here it
    # answers as a case-insensitive disk (macOS, Windows) would, or as Linux does
    monkeypatch.setattr(plan, "is_case_sensitive", lambda _root: case_sensitive)
    dest = tmp_path / "dest"
    summary = _run(sandbox, demo, job_pk, dest)

    refused = {f.socket_slug for f in summary.failures}
    assert {f.error_type for f in summary.failures} == {"UnsafePathError"}
    assert all("another output already writes there" in f.error for f in summary.failures)
    for pair, paths in CLASHES.items():
        _kept_one_of(pair, paths, refused, dest / job_pk)
    if case_sensitive:
        assert not refused & {"case-0", "case-1"}
        assert summary.files_downloaded == 3 + 3 + 2
    else:
        _kept_one_of("case", CASE, refused, dest / job_pk)
        assert summary.files_downloaded == 3 + 3 + 1
    assert len(summary.failures) == len(refused) == 3 + (not case_sensitive)
