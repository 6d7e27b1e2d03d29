"""Hybrid models: a mechanistic model plus a learned correction, trained together by gradients through simulation.

`HybridUVAPadova` adds to the UVA/Padova vector field a residual from a
message-passing network over the model's compartments, fed the heart rate the base model ignores; `fit` trains the
network and chosen patient parameters jointly on multi-step forecasts (``lax.scan`` of RK4 steps, optax), on simulated
days (`windows`) or on a person's own record (`record_windows`).
"""

from twinlab.hybrid._data import Days, Windows, simulate_days, windows
from twinlab.hybrid._fit import (
    FIT_FIELDS,
    LOSS_SCALE_MG_DL,
    FitResult,
    fit,
    forecast_bg,
    forecast_rmse,
    reading_rmse,
    with_theta,
)
from twinlab.hybrid._graph import EXERCISE_NODES, LINKS, NODE_NAMES, compartment_adjacency, compartment_edges
from twinlab.hybrid._model import HybridParams, HybridUVAPadova, init_hybrid
from twinlab.hybrid._record import MIN_SPAN_MIN, record_windows, split_readings
from twinlab.hybrid._residual import CompartmentResidual
from twinlab.hybrid._study import HELD_OUT_DAYS, TRAIN_DAYS, Study, exercise_study

__all__ = [
    "EXERCISE_NODES",
    "FIT_FIELDS",
    "HELD_OUT_DAYS",
    "LINKS",
    "LOSS_SCALE_MG_DL",
    "MIN_SPAN_MIN",
    "NODE_NAMES",
    "TRAIN_DAYS",
    "CompartmentResidual",
    "Days",
    "FitResult",
    "HybridParams",
    "HybridUVAPadova",
    "Study",
    "Windows",
    "compartment_adjacency",
    "compartment_edges",
    "exercise_study",
    "fit",
    "forecast_bg",
    "forecast_rmse",
    "init_hybrid",
    "reading_rmse",
    "record_windows",
    "simulate_days",
    "split_readings",
    "windows",
    "with_theta",
]
