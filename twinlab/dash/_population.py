"""The population view's numbers: time in range and risk per virtual patient under the basal-bolus baseline."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
import numpy as np

from twinlab.glucose._closed_loop import simulate_closed_loop
from twinlab.glucose._controllers import BasalBolus
from twinlab.glucose._metrics import metrics_table
from twinlab.glucose._params import patient_names, patients
from twinlab.glucose._scenario import random_meals
from twinlab.glucose._schedule import Schedule
from twinlab.glucose._uva_padova import UVAPadova

#: The population table's columns: metric name -> label with its unit.
POPULATION_COLUMNS = {
    "tir_70_180_percent": "time in range 70-180 mg/dL (%)",
    "below_70_percent": "time below 70 mg/dL (%)",
    "above_180_percent": "time above 180 mg/dL (%)",
    "lbgi": "LBGI",
    "hbgi": "HBGI",
    "risk_index": "risk index",
    "minutes_at_floor": "minutes the model's glucose fell to 0 (floored to 1 mg/dL)",
}

#: Where the model's glucose is floored for the metrics, mg/dL (they need a positive concentration).
FLOOR_MG_DL = 1.0


def population_metrics(
    names: Sequence[str] | None = None, *, minutes: int = 1440, seed: int = 0, sensor_noise: bool = True
) -> Any:
    """Time in range and risk per virtual patient over a simulated stretch of random meals, basal-bolus therapy.

    Args:
        names: virtual patients (default: all 30, `tl.glucose.patient_names()`).
        minutes: simulated minutes (whole days of random meals are drawn and cut to this length).
        seed: seed of the meals and the CGM noise the controller sees.
        sensor_noise: whether the controller sees a noisy CGM.

    Returns:
        A pandas DataFrame indexed by patient with the columns of `POPULATION_COLUMNS` (percent, or risk units).
    """
    names = list(patient_names() if names is None else names)
    if not names:
        raise ValueError("names is empty; pass at least one virtual patient (see tl.glucose.patient_names()).")
    if minutes < 60:
        raise ValueError(f"minutes must be at least 60; got {minutes}")
    days = -(-int(minutes) // 1440)
    meals = [(m, g) for m, g in random_meals(seed, days=days) if m < minutes]
    traj = simulate_closed_loop(
        UVAPadova(),
        patients(names),
        BasalBolus(),
        Schedule(meals=meals),
        minutes=int(minutes),
        key=jax.random.key(seed),
        sensor_noise=sensor_noise,
        names=names,
    )
    bg = np.asarray(traj.bg)
    # Severe hypoglycaemia can drive the model's plasma glucose through 0; the metrics need a positive value, so those
    # minutes are floored (they count as below 54 mg/dL either way) and counted in their own column.
    at_floor = bg <= FLOOR_MG_DL
    table = metrics_table(np.where(at_floor, FLOOR_MG_DL, bg), names=names)
    table["minutes_at_floor"] = at_floor.sum(axis=1)
    return table[list(POPULATION_COLUMNS)]
