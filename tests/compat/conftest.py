"""Fixtures of the compat tests. The fixture-set helpers (compat_root, family_dir, fixture_sets,
load_cases) are in tests/helpers.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def loaded():
    """``loaded(path, **options)``: the model through ``load_model`` (the GUI's loader), loaded once
    per module for each path and options."""
    from engine.loaders import load_model

    cache = {}

    def get(path: Path, **options):
        key = (path, tuple(sorted(options.items())))
        if key not in cache:
            cache[key] = load_model(path, options)
        return cache[key]

    return get
