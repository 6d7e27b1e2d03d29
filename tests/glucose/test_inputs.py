"""Bad input is refused early with a message that names the problem and the fix."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

import twinlab as tl

MODEL = tl.glucose.UVAPadova()


def test_the_documented_usage() -> None:
    names = tl.glucose.patient_names()
    assert len(names) == 30 and names[0] == "adolescent#001" and names[-1] == "child#010"
    p = tl.glucose.patient("adult#001")
    sched = tl.glucose.Schedule(meals=[(420, 45.0), (720, 70.0)], boluses=[(420, 4.5)], basal=None)
    traj = tl.glucose.simulate(MODEL, p, sched, minutes=1440)
    assert traj.bg.shape == (1441,)
    assert 100 < float(traj.bg[0]) < 200 and float(traj.bg.max()) > float(traj.bg[0]) + 20
    trajs = tl.glucose.simulate(MODEL, tl.glucose.patients(names), sched, minutes=1440)
    assert trajs.bg.shape == (30, 1441)
    np.testing.assert_allclose(trajs.bg[names.index("adult#001")], traj.bg, rtol=1e-12)


def test_steady_state_without_meals_stays_at_basal_glucose() -> None:
    traj = tl.glucose.simulate(MODEL, tl.glucose.patients(), None, minutes=600)
    drift = np.abs(np.asarray(traj.bg) - np.asarray(traj.bg[:, :1])).max()
    assert drift < 0.5, f"basal steady state drifts {drift:.3f} mg/dL"


def test_eating_is_limited_to_five_grams_per_minute() -> None:
    traj = tl.glucose.simulate(MODEL, tl.glucose.patient("adult#002"), tl.glucose.Schedule(meals=[(10, 23.0)]), 40)
    eaten = np.asarray(traj.eaten_g_per_min)
    np.testing.assert_allclose(eaten[11:17], [5, 5, 5, 5, 3, 0])
    assert eaten.sum() == pytest.approx(23.0)


def test_unknown_patient_lists_valid_names() -> None:
    with pytest.raises(ValueError, match=r"Unknown virtual patient 'adult#011'.*Did you mean.*adult#001.*Valid names"):
        tl.glucose.patient("adult#011")
    with pytest.raises(ValueError, match="Unknown virtual patient"):
        tl.glucose.patients(["adult#001", "grown-up#1"])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"meals": [(60, -5.0)]}, "negative amount"),
        ({"meals": [(60, float("nan"))]}, "not finite"),
        ({"boluses": [(60, float("inf"))]}, "not finite"),
        ({"boluses": [(60, -1.0)]}, "negative amount"),
        ({"basal": -0.3}, "negative amount"),
        ({"meals": [(60.5, 10.0)]}, "whole minutes"),
        ({"meals": [("noon", 10.0)]}, "not a \\(minute, g\\) pair"),
        ({"meals": [(60,)]}, "not a \\(minute, g\\) pair"),
    ],
)
def test_bad_schedules(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        tl.glucose.Schedule(**kwargs)


def test_events_outside_the_window() -> None:
    sched = tl.glucose.Schedule(meals=[(100, 10.0), (2000, 30.0)], boluses=[(-5, 1.0)])
    with pytest.raises(ValueError, match=r"meals at minutes \[2000\] fall outside the simulated window \[0, 1440\)"):
        tl.glucose.simulate(MODEL, tl.glucose.patient("adult#001"), sched, minutes=1440)
    with pytest.raises(ValueError, match=r"boluses at minutes \[-5\]"):
        tl.glucose.simulate(MODEL, tl.glucose.patient("adult#001"), tl.glucose.Schedule(boluses=[(-5, 1.0)]), 60)
    with pytest.raises(ValueError, match="positive whole number"):
        tl.glucose.simulate(MODEL, tl.glucose.patient("adult#001"), None, minutes=0)


def test_non_positive_parameters_are_refused() -> None:
    p = tl.glucose.patient("adult#001")
    with pytest.raises(ValueError, match=r"\.Vg must be > 0"):
        tl.glucose.simulate(MODEL, p.replace(Vg=jnp.asarray(0.0)), None, 10)
    with pytest.raises(ValueError, match=r"\.kabs must be > 0.*\n.*\.BW must|\.BW must be > 0"):
        tl.glucose.simulate(MODEL, p.replace(BW=jnp.asarray(-70.0), kabs=jnp.asarray(-1.0)), None, 10)
    with pytest.raises(ValueError, match="non-finite"):
        tl.glucose.simulate(MODEL, p.replace(Vmx=jnp.asarray(np.nan)), None, 10)
    with pytest.raises(ValueError, match=r"\.x0 .* must be >= 0"):
        tl.glucose.simulate(MODEL, p.replace(x0=p.x0.at[3].set(-1.0)), None, 10)


def test_mismatched_population_shapes() -> None:
    pop = tl.glucose.patients(["adult#001", "adult#002", "adult#003"])
    with pytest.raises(ValueError, match="Mismatched population shapes"):
        tl.glucose.simulate(MODEL, pop.replace(Vmx=pop.Vmx[:2]), None, 10)
    with pytest.raises(ValueError, match="x0 must have 13 states"):
        tl.glucose.simulate(MODEL, pop.replace(x0=pop.x0[:, :12]), None, 10)
    with pytest.raises(TypeError, match="list of names"):
        tl.glucose.patients("adult#001")


def test_wrong_model_or_params_type() -> None:
    with pytest.raises(TypeError, match="UVAPadova"):
        tl.glucose.simulate(object(), tl.glucose.patient("adult#001"), None, 10)
    with pytest.raises(TypeError, match="params must be"):
        tl.glucose.simulate(MODEL, {"BW": 70.0}, None, 10)


def test_float32_population_runs_and_stays_close_to_float64() -> None:
    sched = tl.glucose.Schedule(meals=[(60, 50.0)], boluses=[(60, 3.0)])
    names = ["adult#001", "child#004"]
    b32 = tl.glucose.simulate(MODEL, tl.glucose.patients(names, dtype=jnp.float32), sched, 600).bg
    b64 = tl.glucose.simulate(MODEL, tl.glucose.patients(names), sched, 600).bg
    assert b32.dtype == jnp.float32
    assert np.abs(np.asarray(b32, np.float64) - np.asarray(b64)).max() < 0.05


def test_changing_values_does_not_recompile() -> None:
    from twinlab.glucose._simulate import _run

    p = tl.glucose.patient("adult#004")
    tl.glucose.simulate(MODEL, p, tl.glucose.Schedule(meals=[(5, 20.0)]), 120)
    before = _run._cache_size()
    tl.glucose.simulate(MODEL, p.replace(Vmx=p.Vmx * 1.3), tl.glucose.Schedule(meals=[(50, 40.0)], basal=0.7), 120)
    tl.glucose.simulate(MODEL, tl.glucose.patient("child#001"), tl.glucose.Schedule(boluses=[(3, 1.0)]), 120)
    assert _run._cache_size() == before
