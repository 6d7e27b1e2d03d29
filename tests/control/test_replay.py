"""Replaying a record through a policy: the observations it would have seen, and its safe dose now."""

from __future__ import annotations

import jax
import numpy as np
import pytest

import twinlab as tl
from twinlab.glucose import GlucoseRecord, Schedule


def _record(readings_min: list[float], minutes: int = 120, **schedule: object) -> GlucoseRecord:
    t = np.asarray(readings_min, dtype=np.float64)
    return GlucoseRecord(t, 120.0 + 0.5 * t, Schedule(**schedule), minutes=minutes)  # type: ignore[arg-type]


def test_observations_follow_the_record() -> None:
    settings = tl.glucose.patient("adult#001")
    # A gap (no reading at 50), a meal and a bolus at minute 95, a basal of 2 U/h from minute 60.
    rec = _record([0, 10, 20, 30, 40, 60, 70, 80, 90, 100], meals=[(95, 40.0)], boluses=[(95, 4.0)],
                  basal=[(0, 1.0), (60, 2.0)])  # fmt: skip
    minute, obs = tl.control.record_observations(rec, settings, interval_min=10, history_len=4)
    np.testing.assert_array_equal(minute, np.arange(0, 101, 10))
    np.testing.assert_array_equal(obs.cgm_mg_dl[-1], [155.0, 160.0, 165.0, 170.0])  # 70, 80, 90, 100 min
    assert np.isnan(obs.cgm_mg_dl[5, -1]) and float(obs.cgm_age_min[5]) == 10.0  # minute 50: no new reading
    assert np.all(np.isnan(obs.cgm_mg_dl[0, :-1]))  # nothing before the record
    assert float(obs.carbs_g[-1]) == 40.0 and float(obs.last_bolus_u[-1]) == 4.0  # minutes [90, 100)
    assert float(obs.carbs_g[-2]) == 0.0
    assert float(obs.basal_u_per_h[-1]) == 2.0 and float(obs.last_basal_u_per_h[6]) == 1.0
    ratio = float(settings.therapy.carb_ratio_g_per_u)
    assert float(obs.carb_ratio_g_per_u[0]) == pytest.approx(ratio)
    # Insulin on board: the 4 U bolus 5 minutes ago is still almost all on board, plus the basal's tail.
    assert 4.0 < float(obs.iob_u[-1]) < 4.0 + 2.0 * 100 / 60
    assert float(obs.iob_u[0]) == 0.0


def test_a_record_starting_at_a_wall_clock_time_reports_the_minute_of_day() -> None:
    rec = GlucoseRecord(np.array([0.0, 5.0]), np.array([100.0, 101.0]), Schedule(), minutes=10,
                        start="2014-10-01T06:53:00Z")  # fmt: skip
    _, obs = tl.control.record_observations(rec, tl.glucose.patient("adult#001"), interval_min=5)
    np.testing.assert_allclose(obs.minute_of_day, [6 * 60 + 53, 6 * 60 + 58])


def test_the_safe_dose_now_clamps_a_large_meal_bolus_and_says_why() -> None:
    rec = tl.dash.simulated_record("adult#001", 120, seed=0)
    settings = tl.glucose.patient("adult#001")
    layer = tl.control.SafetyLayer.for_age_group(tl.control.BasalBolus(), "adult", interval_min=5)
    small = tl.control.dose_now(layer, rec, settings, meal_g=20.0, key=jax.random.key(0))
    ratio = float(settings.therapy.carb_ratio_g_per_u)
    assert small.minute == 115 and small.reasons == () and small.glucose_mg_dl == float(rec.cgm_mg_dl[-1])
    assert float(small.requested.bolus_u) >= 20.0 / ratio
    assert float(small.delivered.bolus_u) == float(small.requested.bolus_u)
    large = tl.control.dose_now(layer, rec, settings, meal_g=250.0, key=jax.random.key(0))
    assert float(large.requested.bolus_u) > 17.0 and large.reasons == ("max_bolus", "max_iob")
    # The adult limits: at most 17 U, and at most 22 U on board with this bolus (the breakfast bolus is on board).
    assert float(large.delivered.bolus_u) == pytest.approx(min(17.0, 22.0 - large.iob_u))
    assert large.to_dict()["reasons"] == ["max_bolus", "max_iob"]


def test_a_stateful_policy_tracks_the_whole_record() -> None:
    rec = tl.dash.simulated_record("adult#001", 120, seed=0)
    settings = tl.glucose.patient("adult#001")
    _, obs = tl.control.record_observations(rec, settings, interval_min=5)
    pid = tl.control.PID(interval_min=5)
    (integral, previous), dose, audit = tl.control.replay(pid, obs, jax.random.key(0))
    assert audit is None and dose.basal_u_per_h.shape == (obs.cgm_mg_dl.shape[0],)
    assert float(previous) == float(rec.cgm_mg_dl[-1])
    assert float(integral) != 0.0  # the error accumulated over every decision, not just the last


def test_bad_policies_and_meals_are_refused() -> None:
    rec = tl.dash.simulated_record("adult#001", 60, seed=0)
    settings = tl.glucose.patient("adult#001")
    with pytest.raises(TypeError, match="passed a safety layer"):
        tl.control.dose_now(tl.control.BasalBolus(), rec, settings, key=jax.random.key(0))  # type: ignore[arg-type]
    layer = tl.control.SafetyLayer.for_age_group(tl.control.PID(), "adult", interval_min=5)
    with pytest.raises(ValueError, match="same interval_min"):
        tl.control.dose_now(layer, rec, settings, key=jax.random.key(0))
    layer = tl.control.SafetyLayer.for_age_group(tl.control.BasalBolus(), "adult", interval_min=5)
    with pytest.raises(ValueError, match="meal_g"):
        tl.control.dose_now(layer, rec, settings, meal_g=-1.0, key=jax.random.key(0))
