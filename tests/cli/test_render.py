"""The jobs table shows Django durations in a readable form."""

from __future__ import annotations

import pytest

from gcfetch.cli.render import _run_time


@pytest.mark.parametrize(
    ("duration", "shown"),
    [
        ("P0DT00H00M42.118000S", "42s"),
        ("P0DT00H01M05.5S", "1m 06s"),
        ("P1DT02H03M04S", "26h 03m 04s"),
        (None, "-"),
        ("not a duration", "not a duration"),
    ],
)
def test_run_time_is_readable_when_duration_given(duration: str | None, shown: str) -> None:
    assert _run_time(duration) == shown
