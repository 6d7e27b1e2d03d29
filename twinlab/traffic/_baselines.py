"""Reference forecasts and metrics: historical average by time of day, last value; MAE, RMSE, interval coverage.

All forecasts here are (W, H, N) in mph for the test windows of a `Prepared`: window w, horizon step h (1-based
h + 1 steps after the window's last input), sensor n.
"""

from __future__ import annotations

import numpy as np

from twinlab.traffic._history import ha_table
from twinlab.traffic._prepare import Prepared

__all__ = ["coverage", "historical_average", "last_value", "mae_rmse"]


def last_value(prep: Prepared) -> np.ndarray:
    """Each sensor's last observed speed, held for every horizon (mph, (W, H, N))."""
    p = prep.protocol
    speed = prep.data.speed_mph[prep.split_step :]
    last = speed[np.asarray(prep.test.starts) + p.input_steps - 1]  # (W, N)
    return np.repeat(last[:, None, :], p.horizon_steps, axis=1)


def historical_average(prep: Prepared) -> np.ndarray:
    """The training part's mean speed at the target's time of day, per sensor (mph, (W, H, N)).

    Only steps before the split are averaged (the validation part included: no test data is used).
    """
    p, data = prep.protocol, prep.data
    tod = data.step_of_day()
    table = ha_table(data.speed_mph[: prep.split_step], tod[: prep.split_step], data.steps_per_day).T
    target_steps = prep.split_step + np.asarray(prep.test.starts)[:, None] + p.input_steps + np.arange(p.horizon_steps)
    return table[tod[target_steps]]


def mae_rmse(forecast_mph: np.ndarray, truth_mph: np.ndarray, steps: tuple[int, ...]) -> dict[int, tuple[float, float]]:
    """Horizon step -> (MAE, RMSE) in mph over all windows and sensors, for the 1-based horizon ``steps``."""
    if forecast_mph.shape != truth_mph.shape:
        raise ValueError(f"forecast {forecast_mph.shape} and truth {truth_mph.shape} differ in shape")
    out = {}
    for s in steps:
        err = forecast_mph[:, s - 1] - truth_mph[:, s - 1]
        out[s] = (float(np.mean(np.abs(err))), float(np.sqrt(np.mean(err**2))))
    return out


def coverage(lower_mph: np.ndarray, upper_mph: np.ndarray, truth_mph: np.ndarray) -> float:
    """Fraction of true values inside ``[lower, upper]`` (same shapes)."""
    return float(np.mean((truth_mph >= lower_mph) & (truth_mph <= upper_mph)))
