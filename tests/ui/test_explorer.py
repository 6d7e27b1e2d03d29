"""The parameter explorer: compiled once, every slider move re-simulates without retracing."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import twinlab as tl


@pytest.fixture(scope="module")
def explorer(bundle: Path) -> tl.ui.ParameterExplorer:
    return tl.ui.ParameterExplorer("adult#001", ["Vmx", "kabs"], minutes=600)


def test_slider_moves_resimulate_without_retracing(explorer: tl.ui.ParameterExplorer) -> None:
    assert explorer.traces == 1
    start = dict(explorer.values)
    base_bg = np.array(explorer.curve["bg_mg_dl"])
    assert base_bg.shape == (601,)
    ends = []
    for factor in (0.5, 1.5, 2.0):
        explorer.values = {**start, "Vmx": start["Vmx"] * factor}
        ends.append(explorer.curve["bg_mg_dl"][-1])
    assert explorer.traces == 1  # three moves, one compilation
    assert ends[0] > base_bg[-1] > ends[1] > ends[2]  # more insulin-dependent uptake, lower glucose
    explorer.values = start
    np.testing.assert_allclose(explorer.curve["bg_mg_dl"], base_bg)
    expected = tl.glucose.simulate(tl.glucose.UVAPadova(), tl.glucose.patient("adult#001"), _schedule(), minutes=600)
    np.testing.assert_allclose(base_bg, np.asarray(expected.bg), atol=2e-3)  # the curve is rounded to 0.001 mg/dL


def _schedule() -> tl.glucose.Schedule:
    ratio = float(np.asarray(tl.glucose.patient("adult#001").therapy.carb_ratio_g_per_u))
    meals = [(420, 50.0)]
    return tl.glucose.Schedule(meals=meals, boluses=[(420, 50.0 / ratio)])


def test_sliders_carry_units_and_the_populations_range(explorer: tl.ui.ParameterExplorer) -> None:
    spec = {s["name"]: s for s in explorer.spec}
    assert spec["Vmx"]["unit"] == "mg/kg/min per pmol/L" and spec["kabs"]["unit"] == "1/min"
    for s in spec.values():
        assert 0 < s["min"] < explorer.values[s["name"]] < s["max"]


def test_unknown_parameters_are_refused() -> None:
    with pytest.raises(ValueError, match="'Vmax' is not a parameter"):
        tl.ui.parameter_spec(["Vmax"])
    assert tl.ui.parameter_units()["b"] == ("fractions of the dose where emptying slows and recovers", "dimensionless")
    assert set(tl.ui.parameter_units()) == set(tl.glucose.MODEL_FIELDS)  # every parameter has its unit


def test_the_synchronised_state_is_json(explorer) -> None:
    state = explorer.get_state()
    assert "export default" in state["_esm"] or "render" in state["_esm"]
    json.dumps(state, allow_nan=False)  # what the kernel sends the browser
