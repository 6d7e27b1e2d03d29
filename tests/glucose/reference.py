"""Runs simglucose's own patient model (the reference) minute by minute on the same inputs as twinlab."""

from __future__ import annotations

import warnings

import numpy as np


def simglucose_bg(name: str, cho_g: np.ndarray, insulin_u_per_min: np.ndarray) -> np.ndarray:
    """simglucose's BG (its ``Gsub``, mg/dL) at minutes 0..n for per-minute announced carbs and insulin rates."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from simglucose.patient.t1dpatient import Action, T1DPatient

    patient = T1DPatient.withName(name)
    bg = [patient.observation.Gsub]
    for cho, ins in zip(cho_g, insulin_u_per_min, strict=True):
        patient.step(Action(CHO=float(cho), insulin=float(ins)))
        bg.append(patient.observation.Gsub)
    return np.asarray(bg, dtype=np.float64)
