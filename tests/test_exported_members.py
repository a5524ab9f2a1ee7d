"""`gcfetch.__all__` lists exactly the public names of the package (as httpx checks its own)."""

from __future__ import annotations

import types

import gcfetch


def test_all_lists_every_public_name_when_package_is_imported() -> None:
    public = {
        name
        for name, value in vars(gcfetch).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    listed = set(gcfetch.__all__) - {"__version__", "exceptions", "models"}
    assert listed == public


def test_all_names_exist_when_imported_by_name() -> None:
    for name in gcfetch.__all__:
        assert hasattr(gcfetch, name), name
    assert len(gcfetch.__all__) == len(set(gcfetch.__all__))
