"""The safe-path rule, without a server."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gcfetch.errors import UnsafePathError
from gcfetch.paths import (
    check_component,
    contained_target,
    file_extension,
    image_file_name,
    split_relative,
)

HOSTILE = [
    "/etc/passwd",
    "../escape.json",
    "a/../../escape.json",
    "files/..",
    "C:\\Windows\\x.json",
    "C:x.json",
    "\\\\server\\share\\x",
    "files\\report.pdf",
    "nul\x00byte.json",
    "new\nline.json",
    "tab\t.json",
    "results/",
    "results/.",
    "",
    "x" * 256 + ".json",
    "dir/" + "é" * 128 + "/x.json",
]


@pytest.mark.parametrize("path", HOSTILE)
def test_split_relative_refuses_path_when_hostile(path: str) -> None:
    with pytest.raises(UnsafePathError):
        split_relative(path, is_directory=False)


@pytest.mark.parametrize(
    ("path", "parts"),
    [
        ("results.json", ["results.json"]),
        ("metrics/score.json", ["metrics", "score.json"]),
        ("files/./report.pdf", ["files", "report.pdf"]),
        ("a//b.json", ["a", "b.json"]),
        ("x" * 255, ["x" * 255]),
    ],
)
def test_split_relative_keeps_components_when_safe(path: str, parts: list[str]) -> None:
    assert split_relative(path, is_directory=False) == parts


def test_split_relative_accepts_empty_path_when_directory() -> None:
    assert split_relative("", is_directory=True) == []
    assert split_relative("images/ct-image", is_directory=True) == ["images", "ct-image"]


@pytest.mark.parametrize("name", ["..", ".", "", "a/b", "a\\b", "C:", "\x7f", "x" * 256])
def test_check_component_refuses_name_when_not_a_plain_name(name: str) -> None:
    with pytest.raises(UnsafePathError):
        check_component(name)


@given(st.text(max_size=60))
def test_split_relative_never_yields_path_outside_root_when_given_any_text(text: str) -> None:
    root = Path("/dest")
    try:
        parts = split_relative(text, is_directory=False)
    except UnsafePathError:
        return
    joined = Path(os.path.normpath(root.joinpath(*parts)))
    assert joined.is_relative_to(root) and joined != root


def test_contained_target_refuses_path_when_symlink_leads_outside(tmp_path: Path) -> None:
    root = (tmp_path / "out").resolve()
    outside = tmp_path / "elsewhere"
    root.mkdir()
    outside.mkdir()
    (root / "job").symlink_to(outside, target_is_directory=True)
    with pytest.raises(UnsafePathError, match="symlink"):
        contained_target(root, ["job", "results.json"], shown="job/results.json")


def test_contained_target_refuses_target_when_it_is_a_symlink(tmp_path: Path) -> None:
    root = tmp_path.resolve()
    (root / "job").mkdir()
    (root / "job" / "r.json").symlink_to(root / "other.json")
    with pytest.raises(UnsafePathError):
        contained_target(root, ["job", "r.json"], shown="job/r.json")


def test_contained_target_returns_path_when_parents_missing(tmp_path: Path) -> None:
    root = tmp_path.resolve()
    assert contained_target(root, ["j", "a", "b.json"], shown="") == root / "j" / "a" / "b.json"


@pytest.mark.parametrize(
    ("url", "extension"),
    [
        ("http://h/media/images/a/b.tar.mha", "mha"),
        ("http://h/media/x.mha?X-Amz-Signature=a.b&y=../../z", "mha"),
        ("http://h/media/x.mha#frag.ment", "mha"),
        ("http://h/media/x.a%2Fb", "a%2Fb"),  # stays text, never a separator
    ],
)
def test_file_extension_reads_url_path_when_url_has_query_or_escapes(
    url: str, extension: str
) -> None:
    assert file_extension(url) == extension
    assert image_file_name("pk", url) == f"pk.{extension}"


@pytest.mark.parametrize(
    "url",
    [
        "http://h/media/x.a\nb",
        "http://h/media/x.mha/..",
        "http://h/x.mha/../evil",
        "http://h/noext",
    ],
)
def test_file_extension_refuses_url_when_extension_is_no_safe_name(url: str) -> None:
    with pytest.raises(UnsafePathError, match="refused server-supplied path"):
        file_extension(url)


@pytest.mark.parametrize("image_pk", ["../../escaped", "a/b", "x" * 252])
def test_image_file_name_refuses_name_when_image_pk_is_unsafe(image_pk: str) -> None:
    with pytest.raises(UnsafePathError):
        image_file_name(image_pk, "http://h/media/x.mha")
