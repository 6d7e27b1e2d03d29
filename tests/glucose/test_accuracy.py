"""twinlab's UVA/Padova model against simglucose's own patient model, minute by minute."""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pytest

import twinlab as tl
from tests.glucose.reference import simglucose_bg

TOLERANCE_MG_DL = 0.1

SCHEDULES = {
    # Three meals with boluses at the meal, the patient's own basal.
    "three_meals": tl.glucose.Schedule(
        meals=[(420, 45.0), (720, 70.0), (1080, 80.0)], boluses=[(420, 4.0), (720, 6.0), (1080, 7.0)]
    ),
    # Large unbolused meals on a lowered constant basal (long hyperglycaemia: the renal-excretion switch is hit).
    "unbolused_low_basal": tl.glucose.Schedule(meals=[(300, 90.0), (800, 120.0)], basal=0.5),
    # Snacks, a meal announced while another is being eaten, late boluses and a basal profile.
    "snacks_overlap_profile": tl.glucose.Schedule(
        meals=[(60, 10.0), (480, 60.0), (488, 30.0), (900, 15.0), (1300, 50.0)],
        boluses=[(500, 3.0), (930, 1.0), (1290, 2.0)],
        basal=[(360, 0.8), (720, 0.4), (1200, 0.6)],
    ),
}


def _inputs(name: str, schedule: tl.glucose.Schedule, minutes: int) -> tuple[np.ndarray, np.ndarray]:
    p = tl.glucose.patient(name)
    cho, bolus, rate, own = schedule.arrays(minutes)
    insulin = tl.glucose.schedule_inputs(p, cho, bolus, rate, own).insulin_u_per_min
    return cho, np.asarray(insulin)


def test_matches_reference_quick() -> None:
    """Fast tier: two patients, six hours, one schedule."""
    model = tl.glucose.UVAPadova()
    for name in ("adolescent#004", "child#007"):
        schedule = tl.glucose.Schedule(meals=[(30, 60.0)], boluses=[(30, 3.0)])
        ours = np.asarray(tl.glucose.simulate(model, tl.glucose.patient(name), schedule, 360).bg)
        ref = _reference_direct(name, schedule, 360)
        np.testing.assert_array_less(np.abs(ours - ref), TOLERANCE_MG_DL)


def _reference_direct(name: str, schedule: tl.glucose.Schedule, minutes: int) -> np.ndarray:
    cho, insulin = _inputs(name, schedule, minutes)
    return simglucose_bg(name, cho, insulin)


@pytest.mark.slow
@pytest.mark.parametrize("key", sorted(SCHEDULES))
def test_matches_reference_all_patients_24h(key: str) -> None:
    """All 30 patients, 24 hours, at every minute: |twinlab - simglucose| < 0.1 mg/dL."""
    minutes = 1440
    names = tl.glucose.patient_names()
    trajs = tl.glucose.simulate(tl.glucose.UVAPadova(), tl.glucose.patients(names), SCHEDULES[key], minutes)
    ours = np.asarray(trajs.bg)
    inputs = [_inputs(n, SCHEDULES[key], minutes) for n in names]
    # "spawn": forking a process that runs JAX's threads can deadlock the child.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=os.cpu_count() or 1, mp_context=context) as pool:
        refs = np.stack(list(pool.map(simglucose_bg, names, *zip(*inputs, strict=True))))
    err = np.abs(ours - refs)
    worst = np.unravel_index(err.argmax(), err.shape)
    assert err.max() < TOLERANCE_MG_DL, f"max |error| {err.max():.4f} mg/dL for {names[worst[0]]} at minute {worst[1]}"
    # The schedules exercise what they claim to: a real glucose excursion in every patient.
    assert np.all(refs.max(axis=1) - refs.min(axis=1) > 20.0)
