"""Proper scores of a probabilistic forecast against what was then observed: CRPS and the log score."""

from __future__ import annotations

import numpy as np
from scipy.special import logsumexp
from scipy.stats import t as student_t


def crps_ensemble(draws: np.ndarray, observed: np.ndarray) -> np.ndarray:
    """Continuous ranked probability score of an ensemble forecast, per observation (lower is better).

    ``CRPS = E|X - y| - E|X - X'| / 2`` for X, X' independent draws of the forecast's empirical distribution; for a
    point forecast it is the absolute error. Computed from the sorted draws in O(S log S).

    Args:
        draws: (S, n) forecast draws of each of n observations (S >= 1).
        observed: (n,) what was observed, same units.

    Returns:
        (n,) CRPS in the observations' units.
    """
    x = np.sort(np.asarray(draws, dtype=float), axis=0)
    y = np.asarray(observed, dtype=float)
    if x.ndim != 2 or y.shape != x.shape[1:]:
        raise ValueError(f"draws must be (S, n) and observed (n,); got {x.shape} and {y.shape}")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise ValueError("draws and observed must be finite; drop missing readings before scoring")
    s = x.shape[0]
    spread_weights = (2.0 * np.arange(1, s + 1) - s - 1.0)[:, None]  # sum_ij |x_i - x_j| = 2 sum_i w_i x_(i)
    mean_abs_error = np.mean(np.abs(x - y[None, :]), axis=0)
    return mean_abs_error - np.sum(spread_weights * x, axis=0) / s**2


def log_score_mixture(loc: np.ndarray, scale: np.ndarray, observed: np.ndarray, df: float) -> np.ndarray:
    """Log predictive density of each observation under an equal-weight mixture of Student-t (higher is better).

    The posterior predictive of a reading: each draw s predicts ``loc[s]`` with error scale ``scale[s]``.

    Args:
        loc: (S, n) each draw's predicted value of each observation.
        scale: (S,) each draw's error scale, same units.
        observed: (n,) observations.
        df: the error's degrees of freedom.

    Returns:
        (n,) ``log mean_s t_df(observed | loc[s], scale[s])``.
    """
    loc = np.asarray(loc, dtype=float)
    scale = np.asarray(scale, dtype=float)
    if loc.ndim != 2 or scale.shape != loc.shape[:1] or np.shape(observed) != loc.shape[1:]:
        raise ValueError(f"loc must be (S, n), scale (S,), observed (n,); got {loc.shape}, {scale.shape}, "
                         f"{np.shape(observed)}")  # fmt: skip
    log_p = student_t.logpdf(np.asarray(observed)[None, :], df, loc=loc, scale=scale[:, None])
    return logsumexp(log_p, axis=0) - np.log(loc.shape[0])
