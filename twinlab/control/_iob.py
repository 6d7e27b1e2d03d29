"""Insulin on board: the exponential insulin activity curve used by open-source closed loops (oref0, Loop).

For a peak time ``tp`` and duration of action ``td`` (minutes) the fraction of a dose still on board ``t`` minutes
after it was given is

    tau = tp (1 - tp/td) / (1 - 2 tp/td),  a = 2 tau / td,  S = 1 / (1 - a + (1 + a) exp(-td / tau))
    IOB(t) = 1 - S (1 - a) ((t^2 / (tau td (1 - a)) - t / tau - 1) exp(-t / tau) + 1)

which is 1 at t = 0 and 0 at t = td. Defaults: rapid-acting insulin, peak 75 min, duration 5 h (oref0's
"rapid-acting" curve).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

PEAK_MIN = 75.0
DURATION_MIN = 300.0


def iob_fraction(t_min: jax.Array, peak_min: float = PEAK_MIN, duration_min: float = DURATION_MIN) -> jax.Array:
    """Fraction of a dose on board ``t_min`` minutes after delivery (any shape); 1 before, 0 after the duration."""
    if not 0 < 2 * peak_min < duration_min:
        raise ValueError(
            f"the insulin curve needs 0 < 2 * peak < duration; got peak {peak_min} min, duration {duration_min} min."
        )
    t = jnp.asarray(t_min)
    tp, td = peak_min, duration_min
    tau = tp * (1 - tp / td) / (1 - 2 * tp / td)
    a = 2 * tau / td
    s = 1 / (1 - a + (1 + a) * jnp.exp(-td / tau))
    tc = jnp.clip(t, 0.0, td)
    frac = 1 - s * (1 - a) * ((tc**2 / (tau * td * (1 - a)) - tc / tau - 1) * jnp.exp(-tc / tau) + 1)
    return jnp.where(t <= 0, 1.0, jnp.where(t >= td, 0.0, frac))


def iob_weights(interval_min: int, duration_min: float = DURATION_MIN, peak_min: float = PEAK_MIN) -> jax.Array:
    """(K,) on-board fraction of the insulin of each of the last K intervals, newest last, K = ceil(td / interval).

    Insulin of an interval is taken as given at its midpoint; the newest interval ended now.
    """
    k = int(-(-duration_min // interval_min))
    age = (jnp.arange(k, 0, -1, dtype=jnp.result_type(float)) - 0.5) * interval_min
    return iob_fraction(age, peak_min, duration_min)
