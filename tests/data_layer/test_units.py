import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from twinlab.data import GLUCOSE_MG_DL_PER_MMOL_L, QUANTITIES, UnknownUnitError, convert, to_canonical


def test_glucose_factor_from_the_molar_mass() -> None:
    molar_mass_g_per_mol = 6 * 12.011 + 12 * 1.008 + 6 * 15.999
    assert pytest.approx(molar_mass_g_per_mol / 10, rel=1e-12) == GLUCOSE_MG_DL_PER_MMOL_L
    assert float(to_canonical(10.0, "mmol/L", "glucose")[0]) == pytest.approx(180.156)


@pytest.mark.parametrize(
    ("value", "unit", "quantity", "expected", "canonical"),
    [
        (60.0, "mph", "speed", 96.56064, "km/h"),
        (10.0, "m/s", "speed", 36.0, "km/h"),
        (4.184, "kJ", "energy", 1.0, "kcal"),
        (2.0, "[iU]", "insulin", 2.0, "U"),
        (0.02, "U/min", "insulin_rate", 1.2, "U/h"),
        (120.0, "mg / dl", "glucose", 120.0, "mg/dL"),
    ],
)
def test_known_conversions(value: float, unit: str, quantity: str, expected: float, canonical: str) -> None:
    out, unit_out = to_canonical(value, unit, quantity)
    assert float(out) == pytest.approx(expected) and unit_out == canonical


@pytest.mark.parametrize("unit", ["furlongs", "", None, "mmol/L"])
def test_unknown_or_missing_unit_is_an_error(unit: str | None) -> None:
    with pytest.raises(UnknownUnitError, match="insulin"):
        to_canonical(1.0, unit, "insulin")  # type: ignore[arg-type]


_PAIRS = [(q, a, b) for q, (_, table) in QUANTITIES.items() for a in table for b in table]


@given(st.sampled_from(_PAIRS), st.floats(min_value=-1e9, max_value=1e9, allow_nan=False))
def test_round_trip(pair: tuple[str, str, str], value: float) -> None:
    quantity, a, b = pair
    back = convert(convert(value, a, b, quantity), b, a, quantity)
    assert math.isclose(float(back), value, rel_tol=1e-12, abs_tol=1e-300)
    assert np.asarray(convert(np.array([value, value]), a, b, quantity)).shape == (2,)
