"""`--help` at 80 columns: paragraphs flow (no hard line breaks re-wrapped), nothing cropped."""

from __future__ import annotations

from itertools import pairwise

import pytest
from typer.testing import CliRunner

from gcfetch.cli import app

COMMANDS = [
    ["outputs"], ["jobs"], ["archive"], ["display-sets"],
    ["sandbox"], ["sandbox", "serve"], ["sandbox", "demo"],
]  # fmt: skip


def _help(command: list[str]) -> list[str]:
    result = CliRunner().invoke(app, [*command, "--help"], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    return result.stdout.splitlines()


def _prose(lines: list[str]) -> list[str]:
    """The help text above the option and command panels, stripped."""
    prose = []
    for line in lines:
        if line.startswith("╭"):
            break
        prose.append(line.strip())
    return prose


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_help_paragraphs_flow_without_short_broken_lines(command: list[str]) -> None:
    lines = _help(command)
    assert max(len(line) for line in lines) <= 80
    prose = _prose(lines)
    for line, following in pairwise(prose):
        broken = line and following and len(line) < 40 and following[0].islower()
        assert not broken, f"line broken mid-paragraph: {line!r} / {following!r}"


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_help_crops_nothing(command: list[str]) -> None:
    assert not [line for line in _help(command) if "…" in line]
