"""The synthetic exercise "reality": the base model at rest, lower glucose with exercise, checked inputs."""

import jax.numpy as jnp
import numpy as np
import pytest

import twinlab as tl

PATIENT = tl.glucose.patient("adult#001", dtype=jnp.float64)
SCHEDULE = tl.glucose.Schedule(meals=[(60, 50.0)], boluses=[(60, 5.0)])
MINUTES = 360


def _inputs(sessions):
    glucose = tl.glucose.schedule_inputs(PATIENT, *(jnp.asarray(a) for a in SCHEDULE.arrays(MINUTES)))
    hr = tl.glucose.heart_rate_series(MINUTES, sessions)
    return tl.glucose.exercise_inputs(glucose.cho_g, glucose.insulin_u_per_min, hr, dtype=jnp.float64)


def _bg(sessions):
    params = tl.glucose.ExerciseParams.default(PATIENT)
    traj = tl.sim.simulate(tl.glucose.ExerciseUVAPadova(), params, _inputs(sessions), solver=tl.glucose.DEFAULT_SOLVER)
    return np.asarray(traj.bg), np.asarray(traj.x)


def test_at_rest_it_is_the_base_model():
    bg, x = _bg([])
    base = tl.glucose.simulate(tl.glucose.UVAPadova(), PATIENT, SCHEDULE, MINUTES)
    np.testing.assert_allclose(bg, np.asarray(base.bg), rtol=0, atol=1e-9)
    assert np.all(x[:, 13:] == 0.0)


def test_exercise_lowers_glucose_during_and_after_the_session():
    rest, _ = _bg([])
    ex, x = _bg([(150, 45, 125.0)])
    np.testing.assert_array_equal(ex[:151], rest[:151])  # nothing changes before the session
    drop = rest - ex
    assert drop[195] > 20.0  # mg/dL, at the end of 45 minutes at 65 bpm above rest
    assert drop[-1] > 10.0  # still lower 2.5 hours later: the slow state Z lasts
    z = x[:, 14]
    assert z.argmax() in range(190, 210) and 0.5 < z.max() < 1.0 and z[-1] > 0.4 * z.max()


def test_heart_rate_series_checks_sessions():
    assert tl.glucose.heart_rate_series(4, [(1, 2, 100.0)], rest_bpm=55.0).tolist() == [55.0, 100.0, 100.0, 55.0]
    with pytest.raises(ValueError, match="inside"):
        tl.glucose.heart_rate_series(60, [(50, 20, 120.0)])
    with pytest.raises(ValueError, match="finite"):
        tl.glucose.heart_rate_series(60, [(10, float("nan"), 120.0)])
    with pytest.raises(ValueError, match="between 30 and 220"):
        tl.glucose.heart_rate_series(60, [(10, 20, 400.0)])


def test_exercise_inputs_are_checked():
    u = tl.glucose.exercise_inputs(np.zeros(3), np.full(3, 0.01), [60.0, 120.0, 60.0], dtype=jnp.float64)
    assert u.heart_rate_bpm.dtype == jnp.float64 and u.cho_g.shape == (3,)
    with pytest.raises(ValueError, match="same length"):
        tl.glucose.exercise_inputs(np.zeros(3), np.zeros(3), np.full(4, 60.0))
    with pytest.raises(ValueError, match="non-finite"):
        tl.glucose.exercise_inputs(np.zeros(3), np.zeros(3), [60.0, np.nan, 60.0])
    with pytest.raises(ValueError, match="between 30 and 220"):
        tl.glucose.exercise_inputs(np.zeros(3), np.zeros(3), [60.0, 0.0, 60.0])
    with pytest.raises(ValueError, match=">= 0"):
        tl.glucose.exercise_inputs([-1.0, 0.0, 0.0], np.zeros(3), np.full(3, 60.0))
