"""Test settings: CPU, 8 host devices, float64, strict promotion. Set before jax is imported anywhere."""

import os
import pathlib

# Eight CPU devices so that sharding over a device mesh is tested without accelerators.
os.environ["XLA_FLAGS"] = os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=8"
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import jax
import pytest
from hypothesis import settings

# Property tests draw the same examples on every run (fixed seeds); the examples database stays off so that a run
# does not depend on what an earlier one found.
settings.register_profile("twinlab", derandomize=True, database=None)
settings.load_profile("twinlab")

jax.config.update("jax_enable_x64", True)
jax.config.update("jax_numpy_rank_promotion", "raise")
jax.config.update("jax_numpy_dtype_promotion", "strict")

# The real data sets live outside the repository (their licences forbid shipping them); the shared checkout beside the
# project holds them. CI sets TWINLAB_REQUIRE_DATA=1 so that a missing folder fails instead of skipping.
_SHARED_DATA = pathlib.Path(__file__).resolve().parents[1].parent / "shared" / "data"
if "TWINLAB_DATA_DIR" not in os.environ and _SHARED_DATA.is_dir():
    os.environ["TWINLAB_DATA_DIR"] = str(_SHARED_DATA)


@pytest.fixture
def real_data() -> pathlib.Path:
    """The data cache folder, or a skip (a failure under TWINLAB_REQUIRE_DATA=1) when it is absent."""
    folder = pathlib.Path(os.environ.get("TWINLAB_DATA_DIR", "/nonexistent"))
    if not folder.is_dir():
        if os.environ.get("TWINLAB_REQUIRE_DATA") == "1":
            pytest.fail(f"TWINLAB_REQUIRE_DATA=1 but the data folder {folder} does not exist; set TWINLAB_DATA_DIR")
        pytest.skip("real data sets not available: set TWINLAB_DATA_DIR to a folder holding them")
    return folder
