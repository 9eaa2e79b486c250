"""Helpers shared by the test suites (data directory, small real structures)."""

from __future__ import annotations

import os
from pathlib import Path

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"


def find_test_data_home() -> Path | None:
    """The data directory the tests read: ``SKHYBRID_DATA_DIR``, else ``../shared/data``."""
    env = os.environ.get("SKHYBRID_DATA_DIR")
    if env:
        return Path(env)
    return SHARED_DATA if SHARED_DATA.is_dir() else None


def running_in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}
