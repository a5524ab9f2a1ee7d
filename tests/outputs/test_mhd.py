"""outputs/mhd.py: a saved .mhd header pointed at the data file saved beside it."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

from gcfetch.outputs import mhd

PK = "0b5e3a57-1c2d-4e5f-8a9b-0c1d2e3f4a5b"


def write_pair(directory: Path, stem: str = "x") -> sitk.Image:
    """A real compressed pair `<stem>.mhd` + `<stem>.zraw`, as SimpleITK writes it."""
    array = np.arange(2 * 3 * 4, dtype=np.int16).reshape(2, 3, 4)
    image = sitk.GetImageFromArray(array)
    image.SetSpacing((0.5, 0.75, 2.0))
    directory.mkdir(parents=True, exist_ok=True)
    sitk.WriteImage(image, str(directory / f"{stem}.mhd"), useCompression=True)
    return image


@pytest.fixture
def saved(tmp_path: Path) -> tuple[Path, Path, sitk.Image]:
    """The pair as gcfetch saves it: `<pk>.mhd` (still naming x.zraw) and `<pk>.zraw`."""
    image = write_pair(tmp_path / "upload")
    header, data = tmp_path / f"{PK}.mhd", tmp_path / f"{PK}.zraw"
    shutil.copyfile(tmp_path / "upload" / "x.mhd", header)
    shutil.copyfile(tmp_path / "upload" / "x.zraw", data)
    return header, data, image


def test_finds_the_header_naming_another_file_and_rewrites_only_that_value(saved) -> None:
    header, data, image = saved
    before = header.read_bytes()
    pair = mhd.misnamed_pair([data, header])
    assert pair == mhd.MisnamedPair(header, data, "x.zraw")
    assert mhd.fix_header(header, data.name) is True
    assert header.read_bytes() == before.replace(b"= x.zraw\n", f"= {data.name}\n".encode())
    assert mhd.misnamed_pair([header, data]) is None
    read = sitk.ReadImage(str(header))
    assert np.array_equal(sitk.GetArrayFromImage(read), sitk.GetArrayFromImage(image))
    assert read.GetSpacing() == image.GetSpacing()
    assert not list(header.parent.glob(".*.tmp"))


def test_a_second_fix_changes_nothing(saved) -> None:
    header, data, _ = saved
    assert mhd.fix_header(header, data.name) is True
    fixed = header.read_bytes()
    stat = header.stat()
    assert mhd.fix_header(header, data.name) is False
    assert header.read_bytes() == fixed
    assert header.stat().st_mtime_ns == stat.st_mtime_ns


def test_crlf_line_endings_and_spacing_around_the_value_are_kept(tmp_path: Path) -> None:
    header = tmp_path / "a.mhd"
    header.write_bytes(b"NDims = 2\r\nDimSize = 2 2\r\nElementDataFile\t=  old.raw  \r\n")
    assert mhd.misnamed_pair([header, tmp_path / "a.raw"]).named == "old.raw"
    assert mhd.fix_header(header, "a.raw") is True
    assert header.read_bytes() == b"NDims = 2\r\nDimSize = 2 2\r\nElementDataFile\t=  a.raw  \r\n"


def test_a_pair_whose_header_names_its_data_file_is_left_alone(tmp_path: Path) -> None:
    write_pair(tmp_path)
    assert mhd.misnamed_pair([tmp_path / "x.mhd", tmp_path / "x.zraw"]) is None


def test_no_pair_without_exactly_one_data_file_of_the_same_stem(saved) -> None:
    header, data, _ = saved
    assert mhd.misnamed_pair([header]) is None
    assert mhd.misnamed_pair([header, data.with_name("other.zraw")]) is None
    assert mhd.misnamed_pair([header, data, data.with_suffix(".raw")]) is None
    assert mhd.misnamed_pair([data]) is None


@pytest.mark.parametrize(
    "content",
    [
        b"NDims = 2\nElementDataFile = LOCAL\n\x00\x01\x02",  # data in the header
        b"NDims = 2\nElementDataFile = LOCAL\n",
        b"NDims = 3\nElementDataFile = LIST 2D\na.raw\nb.raw\n",
        b"NDims = 3\nElementDataFile = LIST\n",
        b"NDims = 3\nElementDataFile = slice%03d.raw 1 10 1\n",  # a pattern
        b"NDims = 2\nElementDataFile = ../../etc/passwd\n",
        b"NDims = 2\nElementDataFile = sub/x.zraw\n",
        b"NDims = 2\nElementDataFile = C:\\data\\x.zraw\n",
        b"NDims = 2\nElementDataFile = ..\n",
        b"NDims = 2\nElementDataFile = \n",
        b"NDims = 2\nElementDataFile = a.zraw\nElementDataFile = b.zraw\n",  # two
        b"NDims = 2\n",  # none
        b"NDims = 2\nElementDataFile := x.zraw\n",  # not read as written
        "NDims = 2\nElementDataFile = \u00e9.zraw\n".encode(),  # not ASCII
        b"NDims = 2\x1b\nElementDataFile = x.zraw\n",  # a control character
        b"x" * mhd.MAX_HEADER + b"\nElementDataFile = x.zraw\n",  # too large
    ],
)
def test_headers_it_does_not_rewrite_are_left_byte_for_byte(tmp_path: Path, content) -> None:
    header = tmp_path / f"{PK}.mhd"
    header.write_bytes(content)
    data = tmp_path / f"{PK}.zraw"
    assert mhd.header_data_file(header) is None
    assert mhd.misnamed_pair([header, data]) is None
    with pytest.raises(ValueError):
        mhd.fix_header(header, data.name)
    assert header.read_bytes() == content


def test_a_missing_header_is_refused(tmp_path: Path) -> None:
    assert mhd.misnamed_pair([tmp_path / "a.mhd", tmp_path / "a.zraw"]) is None


@pytest.mark.parametrize("name", ["", ".", "..", "a/b.zraw", "a b.zraw", "a\nb"])
def test_the_new_name_must_be_a_plain_file_name(saved, name: str) -> None:
    header, _, _ = saved
    before = header.read_bytes()
    with pytest.raises(ValueError):
        mhd.fix_header(header, name)
    assert header.read_bytes() == before
