"""The twin builder: a form's choice builds a twin, and the code it writes builds the same twin again."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import twinlab as tl


@pytest.fixture
def builder(bundle: Path) -> tl.ui.TwinBuilder:
    return tl.ui.TwinBuilder("adult#002")


def _run(code: str) -> Any:
    scope: dict[str, Any] = {}
    exec(code, scope)
    return scope["twin"]


def test_a_fixed_parameter_twin_and_its_code(builder: tl.ui.TwinBuilder) -> None:
    builder.choice = {**builder.choice, "values": {"Vmx": 0.06}, "minutes": 120}
    twin = builder.build()
    assert twin is not None and builder.twin is twin and builder.status.startswith("built: twin of adult#002")
    assert float(twin.posterior.base.Vmx) == 0.06 and twin.minutes == 120
    assert "tl.glucose.patient('adult#002').replace(Vmx=0.06)" in builder.code
    again = _run(builder.code)
    np.testing.assert_array_equal(again.record.cgm_mg_dl, twin.record.cgm_mg_dl)
    assert float(again.posterior.base.Vmx) == 0.06


def test_a_learning_twin_from_the_message_the_button_sends(builder: tl.ui.TwinBuilder) -> None:
    builder.choice = {**builder.choice, "template": "learn", "free": ["Vmx", "kabs"], "n_particles": 200,
                      "minutes": 120}  # fmt: skip
    builder._on_msg(builder, {"type": "build"}, [])
    assert builder.twin is not None and builder.twin.posterior.method == "prior"
    assert builder.twin.posterior.free == ("Vmx", "kabs") and builder.twin.posterior.n_draws == 200
    np.testing.assert_array_equal(_run(builder.code).posterior.theta, builder.twin.posterior.theta)


@pytest.mark.parametrize(
    ("change", "message"),
    [({"values": {"Vmx": 5.0}}, "Vmx = 5.0 mg/kg/min per pmol/L lies outside"),
     ({"patient": "adult#099"}, "unknown virtual patient"),
     ({"template": "learn", "free": []}, "at least one parameter"),
     ({"minutes": 10}, "minutes of data"),
     ({"data": "d1namo/42"}, "is not available here"),
     ({"policy": "insulin-by-guess"}, "policy must be one of"),
     ({"policy": "basal-bolus", "age_group": "elder"}, "age_group must be one of"),
     ({"policy": "pid", "meal_g": 1000.0}, "the meal announced now must lie in"),
     ({"learned": "a-neural-guess"}, "learned part must be one of"),
     ({"learned": "gnn-residual", "learn_steps": 0}, "training steps must lie in")],
)  # fmt: skip
def test_a_bad_choice_is_not_built_and_says_why(builder: tl.ui.TwinBuilder, change: dict, message: str) -> None:
    builder.choice = {**builder.choice, **change}
    assert builder.build() is None and builder.twin is None
    assert builder.status.startswith("not built:") and message in builder.status


def test_the_synchronised_state_is_json(builder) -> None:
    state = builder.get_state()
    assert "export default" in state["_esm"] or "render" in state["_esm"]
    json.dumps(state, allow_nan=False)  # what the kernel sends the browser


def test_the_composition_graph_follows_the_choice(builder: tl.ui.TwinBuilder) -> None:
    graph = builder.graph
    parts = {n["id"]: n for n in graph["nodes"]}
    assert set(parts) == {"data", "params", "simulator", "personalise", "twin"}
    assert parts["personalise"]["label"].startswith("none: fixed parameters")
    assert all(a in parts and b in parts for a, b in graph["edges"]) and ["personalise", "twin"] in graph["edges"]
    builder.choice = {**builder.choice, "template": "learn", "free": ["Vmx"], "n_particles": 300}
    parts = {n["id"]: n for n in builder.graph["nodes"]}
    assert parts["personalise"]["label"] == "particle filter, 300 particles (prior ensemble)"
    assert parts["params"]["label"].endswith("learn Vmx")
    shown = builder.graph
    builder.choice = {**builder.choice, "minutes": 5}  # out of bounds: the last valid composition stays
    assert builder.graph == shown


def test_a_variational_twin_and_its_code(builder: tl.ui.TwinBuilder) -> None:
    builder.choice = {**builder.choice, "template": "svi", "free": ["Vmx"], "minutes": 120}
    assert {n["id"]: n for n in builder.graph["nodes"]}["personalise"]["label"].startswith("variational inference")
    twin = builder.build()
    assert twin is not None and twin.posterior.method == "svi" and twin.posterior.free == ("Vmx",)
    assert "method='svi'" in builder.code


def test_a_real_person_as_the_data_source(builder: tl.ui.TwinBuilder, real_data: Path) -> None:
    assert "d1namo/1" in tl.ui.TwinBuilder().sources
    builder.choice = {**builder.choice, "data": "d1namo/3", "minutes": 180}
    twin = builder.build()
    assert twin is not None and twin.record.subject == "d1namo/3" and twin.minutes == 180
    assert "tl.data.d1namo_record(3).window(0, 180)" in builder.code
    np.testing.assert_array_equal(_run(builder.code).record.cgm_mg_dl, twin.record.cgm_mg_dl)
    assert "d1namo/3 (real)" in {n["id"]: n for n in builder.graph["nodes"]}["data"]["label"]


def _scope(code: str) -> dict[str, Any]:
    scope: dict[str, Any] = {}
    exec(code, scope)
    return scope


def test_a_policy_behind_the_safety_layer_and_its_dose_now(builder: tl.ui.TwinBuilder) -> None:
    assert builder.choice["age_group"] == "adult" and set(builder.policies) == {"none", "basal-bolus", "pid", "mpc"}
    builder.choice = {**builder.choice, "minutes": 120, "policy": "basal-bolus", "age_group": "child",
                      "meal_g": 150.0}  # fmt: skip
    parts = {n["id"]: n for n in builder.graph["nodes"]}
    assert parts["policy"]["column"] == 3 and ["twin", "policy"] in builder.graph["edges"]
    assert parts["policy"]["label"].startswith("basal-bolus behind the child safety layer (≤ 2 U/h, ≤ 5 U")
    twin = builder.build()
    assert twin is not None and isinstance(builder.policy, tl.control.SafetyLayer)
    assert isinstance(builder.policy.policy, tl.control.BasalBolus) and float(builder.policy.max_bolus_u) == 5.0
    dose = builder.dose
    assert isinstance(dose, tl.control.Recommendation) and dose.minute == int(twin.record.cgm_minute[-1])
    assert float(dose.requested.bolus_u) > 5.0 and float(dose.delivered.bolus_u) <= 5.0 and "max_bolus" in dose.reasons
    shown = builder.recommendation
    assert shown["delivered_bolus_u"] == float(dose.delivered.bolus_u) and "max_bolus" in shown["text"]
    json.dumps(shown, allow_nan=False)
    assert "policy: basal-bolus behind the child safety layer" in builder.status
    assert "SafetyLayer.for_age_group(tl.control.BasalBolus(), 'child', interval_min=5)" in builder.code
    again = _scope(builder.code)["dose"]  # the code written is the code run: the same dose
    assert again.to_dict() == dose.to_dict()
    builder.choice = {**builder.choice, "policy": "none"}
    assert "policy" not in {n["id"] for n in builder.graph["nodes"]}
    builder.build()
    assert builder.policy is None and builder.dose is None and builder.recommendation == {}
    assert "tl.control" not in builder.code


def test_mpc_over_the_posterior_of_a_learning_twin(builder: tl.ui.TwinBuilder) -> None:
    builder.choice = {**builder.choice, "template": "learn", "free": ["Vmx"], "n_particles": 200, "minutes": 120,
                      "policy": "mpc", "meal_g": 40.0}  # fmt: skip
    twin = builder.build()
    assert twin is not None and isinstance(builder.policy.policy, tl.control.MPC)
    members = builder.policy.policy.params.Vmx
    assert members.shape == (8,) and len(set(np.asarray(members).tolist())) == 8  # eight distinct draws of Vmx
    assert np.all(np.isin(np.asarray(members), np.asarray(twin.posterior.params().Vmx)))
    dose = builder.dose
    assert np.isfinite(float(dose.delivered.basal_u_per_h)) and float(dose.delivered.bolus_u) > 0.0
    assert "MPC.from_posterior(twin.posterior, members=8, interval_min=5)" in builder.code


def test_a_learned_part_fitted_to_the_record_beside_the_twin(builder: tl.ui.TwinBuilder) -> None:
    assert set(builder.learned_parts) == {"none", "gnn-residual"}
    builder.choice = {**builder.choice, "values": {"Vmx": 0.06}, "minutes": 120, "learned": "gnn-residual",
                      "learn_steps": 4, "policy": "pid"}  # fmt: skip
    parts = {n["id"]: n for n in builder.graph["nodes"]}
    assert {"policy", "learned"} <= set(parts) and ["twin", "learned"] in builder.graph["edges"]
    assert parts["learned"]["part"] == "learned part" and "4 Adam steps" in parts["learned"]["label"]
    twin = builder.build()
    assert twin is not None and isinstance(builder.hybrid, tl.hybrid.HybridUVAPadova)
    fit = builder.learned
    assert isinstance(fit, tl.hybrid.FitResult) and fit.losses.shape == (4,) and np.all(np.isfinite(fit.losses))
    # The hybrid starts from the twin's parameters: Vm0 and Vmx are fitted, the rest is the twin's.
    assert float(fit.params.patient.kp2) == float(twin.posterior.base.kp2)
    assert float(fit.params.patient.Vmx) != 0.06
    shown = builder.learned_result
    json.dumps(shown, allow_nan=False)
    assert shown["steps"] == 4 and shown["held_out_min"] == 30 and shown["base_rmse_mg_dl"] > 0
    assert "last 30 min held out" in shown["text"] and builder.recommendation  # both parts built
    assert "tl.hybrid.fit(hybrid, start, train, steps=4, seed=0)" in builder.code
    again = _scope(builder.code)
    np.testing.assert_allclose(again["learned"].losses, fit.losses, rtol=1e-9)
    assert again["held_out_rmse_mg_dl"] == pytest.approx({"base": shown["base_rmse_mg_dl"],
                                                          "hybrid": shown["hybrid_rmse_mg_dl"]})  # fmt: skip
