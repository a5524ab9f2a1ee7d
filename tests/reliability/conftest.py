"""Soak figures of the reliability tests, printed at the end of the run (README "Reliability")."""

from __future__ import annotations

from collections import Counter

import pytest

SOAK_STATS: Counter[str] = Counter()


@pytest.fixture(scope="session")
def soak_stats() -> Counter[str]:
    """Figures of the soak tests, printed at the end of the run (README "Reliability")."""
    return SOAK_STATS


def pytest_terminal_summary(terminalreporter) -> None:
    if SOAK_STATS:
        figures = ", ".join(f"{k} {v}" for k, v in SOAK_STATS.items())
        terminalreporter.write_line(f"soak figures: {figures}")
