"""The official gcapi's venv: built from the registry once, a clear skip reason without it."""

from __future__ import annotations

from pathlib import Path

import pytest
from benchmarks.gcapi_venv import GcapiVenvMissing, gcapi_python


def test_gcapi_python_names_the_venv_and_cleans_up_when_the_registry_is_unreachable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(tmp_path / "no-wheels-here"))
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple/")

    with pytest.raises(GcapiVenvMissing) as caught:
        gcapi_python("0.16.1", cache=tmp_path)

    venv = tmp_path / "gcapi-0.16.1"
    assert f"gcapi 0.16.1 venv missing at {venv}" in str(caught.value)
    assert "registry" in str(caught.value)
    assert not venv.exists()  # no half-built venv that a later run would take as ready
