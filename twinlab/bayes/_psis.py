"""Pareto-smoothed importance sampling's k-hat: how far a variational fit is from the posterior it approximates.

Yao, Vehtari, Simpson and Gelman, "Yes, but did it work?: Evaluating variational inference" (ICML 2018): fit a
generalised Pareto distribution to the largest importance ratios ``p(theta, y) / q(theta)`` over draws of the
approximation ``q``; its shape k-hat below 0.7 means the approximation is usable (below 0.5: good). The fit is the
empirical-Bayes estimator of Zhang and Stephens (Technometrics 2009) with the weak prior on k of Vehtari et al. (2024).
"""

from __future__ import annotations

import math

import numpy as np

#: Above this k-hat a variational posterior is withheld.
KHAT_MAX = 0.7


def _gpd_shape(x: np.ndarray) -> float:
    """Shape of a generalised Pareto fitted to positive exceedances ``x`` (sorted ascending)."""
    n = x.size
    m = 30 + int(math.sqrt(n))
    b = 1.0 - np.sqrt(m / (np.arange(1, m + 1) - 0.5))
    b = b / (3.0 * x[int(n / 4 + 0.5) - 1]) + 1.0 / x[-1]
    k = np.mean(np.log1p(-b[:, None] * x[None, :]), axis=1)
    log_lik = n * (np.log(-b / k) - k - 1.0)
    weights = 1.0 / np.sum(np.exp(log_lik[None, :] - log_lik[:, None]), axis=1)
    b_post = float(np.sum(b * weights) / np.sum(weights))
    k_post = float(np.mean(np.log1p(-b_post * x)))
    return (n * k_post + 10.0 * 0.5) / (n + 10.0)


def psis_khat(log_ratios: np.ndarray) -> float:
    """k-hat of the log importance ratios ``log p(theta, y) - log q(theta)`` of draws from ``q``, shape (S,).

    Returns inf when any ratio is not finite (the approximation puts mass where the model is undefined).
    """
    lw = np.asarray(log_ratios, dtype=np.float64).ravel()
    if not np.all(np.isfinite(lw)):
        return math.inf
    if lw.size < 20:
        raise ValueError(f"k-hat needs at least 20 draws; got {lw.size}.")
    lw = np.sort(lw - lw.max())
    tail = math.ceil(min(0.2 * lw.size, 3.0 * math.sqrt(lw.size)))
    cutoff = lw[-tail - 1]
    x = np.exp(lw[-tail:]) - math.exp(cutoff)
    if np.all(x <= 0):
        return -math.inf
    return _gpd_shape(x)
