"""The Los Angeles loop data, loaded once per module for the traffic tests."""

import os

import pytest

from twinlab import traffic
from twinlab.datasets import DataFileError


@pytest.fixture(scope="module")
def los() -> traffic.SpeedData:
    """The data, loaded once per module (the function-scoped real_data fixture cannot serve module scope)."""
    try:
        return traffic.load_los_loop()
    except DataFileError as err:
        if os.environ.get("TWINLAB_REQUIRE_DATA") == "1":
            pytest.fail(f"TWINLAB_REQUIRE_DATA=1 but the LA loop data are not available: {err}")
        pytest.skip("real data sets not available: set TWINLAB_DATA_DIR to a folder holding them")
