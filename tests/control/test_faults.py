"""Sensor faults inside the environment: what the policy sees, what the safety layer does, what the person gets."""

from __future__ import annotations

import numpy as np
import pytest

import twinlab as tl
from twinlab import control
from twinlab.control import SensorFault

NAME = "adult#001"


def test_fault_validation_names_the_fix() -> None:
    with pytest.raises(ValueError, match="unknown sensor fault kind"):
        SensorFault("noise", 10, 5)
    with pytest.raises(ValueError, match="duration_min >= 1"):
        SensorFault.dropout(10, 0)
    with pytest.raises(ValueError, match="changes nothing"):
        SensorFault("offset", 10, 5)
    with pytest.raises(ValueError, match="'offset' faults only"):
        SensorFault("flat", 10, 5, 3.0)
    with pytest.raises(ValueError, match="after the episode"):
        control.GlucoseEnv(tl.glucose.patients([NAME]), days=1, faults=[SensorFault.dropout(2000, 10)])
    with pytest.raises(ValueError, match="not a SensorFault"):
        control.GlucoseEnv(tl.glucose.patients([NAME]), days=1, faults=[(10, 5)])


def test_faults_change_the_readings_not_the_person() -> None:
    faults = (
        SensorFault.dropout(300, 30),
        SensorFault.compression_low(600, 18, 70.0),
        SensorFault.flat(900, 60),
        SensorFault.jump(1200, 80.0),
    )
    safe = control.SafetyLayer.for_age_group(control.BasalBolus(), "adult")
    clean = control.evaluate(safe, [NAME], days=1, seed=3, sensor_noise=False)
    faulty = control.evaluate(safe, [NAME], days=1, seed=3, sensor_noise=False, env_kwargs={"faults": faults})
    env = control.GlucoseEnv(tl.glucose.patients([NAME]), days=1)
    # The reading recorded at decision d is taken at minute warm-up + 3 (d + 1), at the end of its interval; the
    # policy and the safety layer see it at decision d + 1 (their audit row d + 1).
    minute = env.warmup_min + env.interval_min * (np.arange(env.decisions) + 1)
    cgm, cgm0 = np.asarray(faulty.episodes.cgm_mg_dl[0]), np.asarray(clean.episodes.cgm_mg_dl[0])
    reasons = np.asarray(faulty.episodes.audit.reasons[0])
    bit = {n: 1 << i for i, n in enumerate(control.REASONS)}

    first = minute < 300
    np.testing.assert_array_equal(cgm[first], cgm0[first])  # nothing changes before the first fault
    np.testing.assert_array_equal(np.asarray(faulty.episodes.bg_mg_dl[0])[: 300 - env.warmup_min],
                                  np.asarray(clean.episodes.bg_mg_dl[0])[: 300 - env.warmup_min])  # fmt: skip
    dropped = (minute >= 300) & (minute < 330)
    assert np.isnan(cgm[dropped]).all() and not np.isnan(cgm[~dropped]).any()
    seen = np.roll(dropped, 1)
    assert (reasons[seen] & bit["missing_cgm"]).all() and not (reasons[~seen] & bit["missing_cgm"]).any()
    assert (np.asarray(faulty.episodes.dose.bolus_u[0])[seen] == 0).all()

    low = np.flatnonzero((minute >= 600) & (minute < 618))
    assert low.size == 6
    assert reasons[low[0] + 1] & bit["cgm_jump"]  # the sudden drop is caught as implausible, not read as a low
    stuck = np.flatnonzero((minute >= 900) & (minute < 960))
    np.testing.assert_array_equal(cgm[stuck], cgm[stuck[0] - 1])
    # Recognised once the layer's whole flat window holds the repeated reading, and until the fault ends.
    n_flat = int(safe.flat_window_min // env.interval_min) + 1
    flat_seen = np.arange(stuck[0] - 1 + n_flat, stuck[-1] + 2)
    assert (reasons[flat_seen] & bit["flat_cgm"]).all()
    assert not (reasons[: flat_seen[0]] & bit["flat_cgm"]).any()
    jump = np.flatnonzero(minute == 1200)
    assert reasons[jump[0] + 1] & bit["cgm_jump"]


@pytest.mark.slow
def test_safety_layer_contains_a_sensor_reading_high() -> None:
    # A sensor reading 100 mg/dL high for four hours after breakfast: a PID loop alone keeps raising the basal and
    # drives this person into severe hypoglycaemia; behind the safety layer (max basal, max insulin on board) the
    # same loop on the same day stays out of it.
    faults = {"faults": (SensorFault("offset", 480, 240, 100.0),)}
    bare = control.evaluate(control.PID(), [NAME], days=1, seed=0, env_kwargs=faults).table.loc[NAME]
    safe = control.SafetyLayer.for_age_group(control.PID(), "adult")
    guarded = control.evaluate(safe, [NAME], days=1, seed=0, env_kwargs=faults).table.loc[NAME]
    assert bare.below_54_percent > 20.0
    assert guarded.below_54_percent < 1.0
