"""The inspector: a twin's parts, parameters with units and the gate, as the widget shows them."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import jax
import pytest

import twinlab as tl
from twinlab.dash._dashboard import simulated_record


@pytest.fixture(scope="module")
def twin() -> tl.Twin:
    record = simulated_record("adult#001", 120, seed=0)
    return tl.dash.prior_ensemble(tl.glucose.UVAPadova(), record, n_particles=200, key=jax.random.key(0))


def test_describe_lists_parts_parameters_with_units_and_the_gate(twin: tl.Twin) -> None:
    s = tl.ui.describe(twin)
    parts = {p["part"]: p["value"] for p in s["parts"]}
    assert parts["personalised"] == "kp2, Vmx, kabs" and parts["gate"] == "passed"
    assert parts["record"].startswith("120 min, 24 CGM readings, 1 meals")
    rows = {r["name"]: r for r in s["parameters"]}
    assert rows["Vmx"]["unit"] == "mg/kg/min per pmol/L" and rows["bg0_mg_dl"]["unit"] == "mg/dL"
    for name in ("kp2", "Vmx", "kabs", "bg0_mg_dl"):
        assert rows[name]["lo"] < rows[name]["median"] < rows[name]["hi"]
    assert rows["sigma_mg_dl"]["lo"] == rows["sigma_mg_dl"]["hi"] == 10.0  # the ensemble starts at the prior median
    assert s["diagnostics"]["ok"] and s["diagnostics"]["method"] == "prior"


def test_a_withheld_posterior_shows_why(twin: tl.Twin) -> None:
    diag = replace(twin.posterior.diagnostics, failures=("R-hat 1.2 > 1.01 for Vmx",))
    s = tl.ui.describe(replace(twin.posterior, diagnostics=diag))
    assert s["title"] == "Posterior" and not s["diagnostics"]["ok"]
    assert s["diagnostics"]["failures"] == ["R-hat 1.2 > 1.01 for Vmx"]
    assert {p["part"]: p["value"] for p in s["parts"]}["gate"] == "WITHHELD"


def test_the_widget_carries_the_summary_and_refuses_other_objects(twin: tl.Twin, bundle: Path) -> None:
    w = tl.ui.Inspector(twin)
    assert w.summary["title"] == "Twin of adult#001"
    json.dumps(w.get_state(), allow_nan=False)  # what the kernel sends the browser
    with pytest.raises(TypeError, match=r"tl.Twin or a tl.bayes.Posterior"):
        w.show("twin")  # type: ignore[arg-type]
