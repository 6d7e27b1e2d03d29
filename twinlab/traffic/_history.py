"""The historical average by time of day, from the training part only, and the per-step "speed one horizon ahead".

The table is (N, steps_per_day) mph: sensor n's mean training-part speed at each step of the day. A step of the day
the training part never saw falls back to the sensor's training mean.

`ha_ahead` gives, for every step t of a series, the historical-average speed at step t + lead (lead = the forecast
horizon H): the known-future input of the forecaster. For a target step t + lead inside the training part (the
validation days included) the value leaves that step's own day out: the mean over the *other* training days at that
time of day. A training window's feature then never contains its own target, which mirrors the test part, whose
days are never in the table. Only one training day at that time of day: the sensor's mean over the other training
days; no other training day at all (a training part within one day): the training mean, the normalisation constant
every feature already depends on. Target steps at or after the split get the full training table.
"""

from __future__ import annotations

import numpy as np

__all__ = ["ha_ahead", "ha_table"]


def _sums(speed_mph: np.ndarray, step_of_day: np.ndarray, per_day: int) -> tuple[np.ndarray, np.ndarray]:
    """(per_day, N) sums and (per_day,) counts of ``speed_mph`` by step of the day."""
    sums = np.zeros((per_day, speed_mph.shape[1]))
    counts = np.zeros(per_day)
    np.add.at(sums, step_of_day, speed_mph)
    np.add.at(counts, step_of_day, 1.0)
    return sums, counts


def ha_table(speed_mph: np.ndarray, step_of_day: np.ndarray, per_day: int) -> np.ndarray:
    """The historical-average table of a training part.

    Args:
        speed_mph: (T_train, N) the training part's speeds, mph.
        step_of_day: (T_train,) int step of the day of each row.
        per_day: steps in a day.

    Returns:
        (N, per_day) mean speed by sensor and step of the day, mph.

    Example:
        >>> import numpy as np
        >>> ha_table(np.array([[50.0], [60.0], [54.0]]), np.array([0, 1, 0]), 2)
        array([[52., 60.]])
    """
    sums, counts = _sums(speed_mph, step_of_day, per_day)
    table = sums / np.maximum(counts, 1.0)[:, None]
    # A time of day the training part never saw (only with very short series) falls back to the sensor's mean.
    table[counts == 0] = speed_mph.mean(axis=0)
    return table.T


def ha_ahead(
    speed_mph: np.ndarray, step_of_day: np.ndarray, day: np.ndarray, split_step: int, per_day: int, lead: int
) -> np.ndarray:
    """Per step t, the historical-average speed at step t + ``lead`` (leave-one-day-out inside the training part).

    See the module docstring for the rule and its fallbacks.

    Args:
        speed_mph: (T, N) speeds, mph; only rows before ``split_step`` are read.
        step_of_day: (T,) int step of the day of each row.
        day: (T,) int day of each row (rows with the same day and step of the day are the same reading).
        split_step: first row of the test part.
        per_day: steps in a day.
        lead: steps ahead (the forecast horizon H).

    Returns:
        (T, N) mph.

    Example:
        >>> import numpy as np
        >>> speed = np.array([[50.0], [60.0], [54.0], [62.0], [0.0], [0.0]])  # 3 days of 2 steps; test: day 3
        >>> ha_ahead(speed, np.array([0, 1] * 3), np.array([0, 0, 1, 1, 2, 2]), 4, 2, 1)[:, 0]
        array([62., 50., 60., 52., 61., 52.])
    """
    train = speed_mph[:split_step]
    sums, counts = _sums(train, step_of_day[:split_step], per_day)
    full = ha_table(train, step_of_day[:split_step], per_day).T  # (per_day, N)
    t = np.arange(speed_mph.shape[0])
    target = t + lead
    tod = (step_of_day + lead) % per_day
    out = full[tod].copy()
    inside = target < split_step  # the target is a training-part reading: leave its day out
    u, k = target[inside], tod[inside]
    others = counts[k] - 1.0
    loo = (sums[k] - train[u]) / np.maximum(others, 1.0)[:, None]
    # Fallback: the sensor's mean over the other training days (or the training mean when there are none).
    days = day[:split_step]
    day_sums = np.zeros((int(days.max()) + 1, train.shape[1]))
    day_counts = np.zeros(int(days.max()) + 1)
    np.add.at(day_sums, days, train)
    np.add.at(day_counts, days, 1.0)
    rest = split_step - day_counts[day[u]]
    other_days = (train.sum(axis=0) - day_sums[day[u]]) / np.maximum(rest, 1.0)[:, None]
    other_days = np.where(rest[:, None] > 0, other_days, train.mean())
    out[inside] = np.where(others[:, None] > 0, loo, other_days)
    return out
