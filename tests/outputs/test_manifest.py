"""manifest.jsonl and results.csv, without a server."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import pytest

from gcfetch.outputs.manifest import Manifest, ManifestRecord


def _rec(path: str, size: int, job: str = "j1", socket: str = "seg") -> ManifestRecord:
    return ManifestRecord(
        job=job,
        socket=socket,
        super_kind="Image",
        path=path,
        size=size,
        sha256="0" * 64,
        etag='"e"',
        url="http://h/media/x.mha",
    )


def test_manifest_reports_output_complete_when_files_exist_with_recorded_size(
    tmp_path: Path,
) -> None:
    (tmp_path / "j1").mkdir()
    (tmp_path / "j1" / "a.mha").write_bytes(b"1234")
    manifest = Manifest.load(tmp_path)
    manifest.add([_rec("j1/a.mha", 4)])
    manifest.close()
    again = Manifest.load(tmp_path)
    assert again.complete_files("j1", "seg") == 1
    (tmp_path / "j1" / "a.mha").write_bytes(b"12")
    assert again.complete_files("j1", "seg") == 0
    assert again.complete_files("j2", "seg") == 0


def test_manifest_keeps_earlier_records_when_merged_with_new_ones(tmp_path: Path) -> None:
    first = Manifest.load(tmp_path)
    first.add([_rec("j1/a.mha", 1)])
    first.close()
    second = Manifest.load(tmp_path)
    second.add([_rec("j2/b.mha", 2, job="j2")])
    second.close()
    lines = (tmp_path / "manifest.jsonl").read_text().splitlines()
    assert [json.loads(line)["path"] for line in lines] == ["j1/a.mha", "j2/b.mha"]
    assert not list(tmp_path.glob(".*.tmp"))


def test_manifest_drops_line_when_truncated(tmp_path: Path, caplog) -> None:
    good = _rec("j1/a.mha", 1).to_json()
    cut = _rec("j2/b.mha", 2, job="j2").to_json()
    (tmp_path / "manifest.jsonl").write_text(good + "\n" + cut[:-12])
    manifest = Manifest.load(tmp_path)
    assert manifest.get("j1/a.mha") is not None
    assert manifest.get("j2/b.mha") is None and manifest.complete_files("j2", "seg") == 0
    (warning,) = caplog.records
    assert warning.levelname == "WARNING"
    assert f"line 2 of {tmp_path / 'manifest.jsonl'}: not JSON (cut short?)" in warning.message


def test_manifest_drops_line_with_warning_when_job_missing(tmp_path: Path, caplog) -> None:
    rec = asdict(_rec("j1/a.mha", 1))
    del rec["job"]
    lines = [_rec("j2/b.mha", 2, job="j2").to_json(), json.dumps(rec)]
    (tmp_path / "manifest.jsonl").write_text("".join(f"{line}\n" for line in lines))
    manifest = Manifest.load(tmp_path)
    assert manifest.get("j1/a.mha") is None and manifest.get("j2/b.mha") is not None
    assert "line 2 of" in caplog.text and "'job' is missing" in caplog.text
    manifest.add([_rec("j3/c.mha", 3, job="j3")])
    manifest.close()
    assert [rec["path"] for rec in _lines(tmp_path)] == ["j2/b.mha", "j3/c.mha"]


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"socket": 1}, "'socket' is missing"),
        ({"super_kind": None}, "'super_kind' is missing"),
        ({"size": -1}, "'size'"),
        ({"size": "4"}, "'size'"),
        ({"size": True}, "'size'"),
        ({"sha256": "0" * 63}, "'sha256'"),
        ({"sha256": "G" * 64}, "'sha256'"),
        ({"etag": 5}, "'etag'"),
        ({"url": ["x"]}, "'url'"),
        ({"path": "../outside.mha"}, "unsafe path"),
        ({"path": "j1/../../outside.mha"}, "unsafe path"),
        ({"path": "/etc/passwd"}, "unsafe path"),
        ({"path": "j1\\a.mha"}, "unsafe path"),
        ({"path": "C:a.mha"}, "unsafe path"),
        ({"path": "j1//a.mha"}, "unsafe path"),
        ({"path": "j1/a.mha/"}, "unsafe path"),
    ],
)
def test_manifest_drops_line_when_a_field_is_wrong_or_path_unsafe(
    tmp_path: Path, caplog, change: dict, problem: str
) -> None:
    (tmp_path / "manifest.jsonl").write_text(
        json.dumps({**asdict(_rec("j1/a.mha", 4)), **change}) + "\n"
    )
    (tmp_path.parent / "outside.mha").write_bytes(b"1234")
    manifest = Manifest.load(tmp_path)
    assert manifest.complete_files("j1", "seg") == 0
    assert manifest.get(change.get("path", "j1/a.mha")) is None
    assert "line 1 of" in caplog.text and problem in caplog.text


def test_manifest_record_reads_back_equal_when_written_as_json() -> None:
    rec = _rec("j1/a.mha", 4)
    assert ManifestRecord.from_json(rec.to_json()) == rec
    assert json.loads(rec.to_json()) == asdict(rec)


def test_manifest_keeps_record_when_etag_and_url_null_or_absent(tmp_path: Path) -> None:
    rec = {**asdict(_rec("j1/a.mha", 4)), "etag": None}
    del rec["url"]
    (tmp_path / "manifest.jsonl").write_text(json.dumps(rec) + "\n")
    assert Manifest.load(tmp_path).get("j1/a.mha") == ManifestRecord(**rec)


def _lines(root: Path) -> list[dict]:
    return [json.loads(line) for line in (root / "manifest.jsonl").read_text().splitlines()]


def test_manifest_appends_a_runs_records_without_rewriting_the_file(tmp_path: Path) -> None:
    first = Manifest.load(tmp_path)
    first.add([_rec("j1/a.mha", 1)])
    first.close()
    inode = (tmp_path / "manifest.jsonl").stat().st_ino
    second = Manifest.load(tmp_path)
    second.add([_rec("j2/b.mha", 2, job="j2"), _rec("j2/c.mha", 3, job="j2")])
    second.close()
    assert (tmp_path / "manifest.jsonl").stat().st_ino == inode
    assert [rec["path"] for rec in _lines(tmp_path)] == ["j1/a.mha", "j2/b.mha", "j2/c.mha"]


def test_manifest_keeps_one_line_per_path_when_a_file_is_recorded_again(tmp_path: Path) -> None:
    first = Manifest.load(tmp_path)
    first.add([_rec("j1/a.mha", 1), _rec("j1/b.mha", 2)])
    first.close()
    second = Manifest.load(tmp_path)
    second.add([_rec("j1/a.mha", 5)])
    second.close()
    assert [(rec["path"], rec["size"]) for rec in _lines(tmp_path)] == [
        ("j1/a.mha", 5),
        ("j1/b.mha", 2),
    ]
    assert not list(tmp_path.glob(".*.tmp"))


def test_manifest_repairs_a_cut_line_before_appending(tmp_path: Path) -> None:
    good = _rec("j1/a.mha", 1).to_json()
    (tmp_path / "manifest.jsonl").write_text(good + "\n" + good[:20])
    manifest = Manifest.load(tmp_path)
    manifest.add([_rec("j2/b.mha", 2, job="j2")])
    manifest.close()
    assert [rec["path"] for rec in _lines(tmp_path)] == ["j1/a.mha", "j2/b.mha"]
