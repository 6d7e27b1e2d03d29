"""Synthetic people for the Bayesian tests: virtual patients simulated under a known schedule, with CGM noise."""

import jax
import numpy as np

import twinlab as tl


def synthetic_record(
    name: str, minutes: int, *, seed: int, noise_mg_dl: float = 8.0, every_min: int = 5
) -> tuple[tl.glucose.PatientParams, tl.glucose.GlucoseRecord]:
    """A virtual patient's true parameters and a record simulated from them (Gaussian reading noise)."""
    true = tl.glucose.patient(name)
    meals = [(m, g) for m, g in ((30, 50.0), (330, 70.0), (780, 60.0), (1140, 30.0)) if m < minutes]
    boluses = [(m, g / float(true.therapy.carb_ratio_g_per_u)) for m, g in meals]
    schedule = tl.glucose.Schedule(meals=meals, boluses=boluses)
    bg = np.asarray(tl.glucose.simulate(tl.glucose.UVAPadova(), true, schedule, minutes=minutes).bg)
    t = np.arange(0, minutes, every_min)
    y = bg[t] + np.random.default_rng(seed).normal(0.0, noise_mg_dl, t.size)
    return true, tl.glucose.GlucoseRecord(t.astype(float), y, schedule, minutes=minutes, subject=name)


def stack(params: list[tl.glucose.PatientParams]) -> tl.glucose.PatientParams:
    return jax.tree.map(lambda *v: np.stack(v), *params)
