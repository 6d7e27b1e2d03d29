"""The widget tests need the JavaScript bundle (scripts/test.sh builds it; under CI=true a missing one fails)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

BUNDLE = Path(__file__).parents[2] / "twinlab" / "ui" / "static" / "explorer.js"


@pytest.fixture(scope="session")
def bundle() -> Path:
    """The built explorer ESM, or a skip (a failure under CI=true) when it has not been built."""
    if not BUNDLE.is_file():
        reason = f"{BUNDLE} is not built: run `source scripts/venv.sh && build_widgets`"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return BUNDLE
