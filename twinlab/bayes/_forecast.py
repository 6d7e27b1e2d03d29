"""Posterior predictive forecasts and what-ifs: every draw simulated ahead under planned (or changed) inputs."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from twinlab.bayes._glucose import (
    INFERENCE_SOLVER,
    STUDENT_DF,
    GlucoseData,
    initial_state,
    inputs_of,
    record_data,
    rollout,
    with_params,
)
from twinlab.bayes._posterior import Posterior
from twinlab.bayes._scores import crps_ensemble, log_score_mixture
from twinlab.glucose._params import PatientParams
from twinlab.glucose._record import GlucoseRecord
from twinlab.glucose._schedule import Schedule
from twinlab.glucose._uva_padova import GlucoseInputs, UVAPadova
from twinlab.sim import SimState


@dataclass(frozen=True)
class Forecast:
    """Glucose ahead of the data, one trajectory per posterior draw.

    Attributes:
        minute: (H + 1,) minutes on the record's clock (the first is the end of the data).
        bg: (S, H + 1) the model's glucose per draw, mg/dL (parameter and meal uncertainty).
        cgm: (S, H + 1) a simulated CGM reading per draw: ``bg`` plus the fitted sensor error (predictive of data).
        sigma_mg_dl: (S,) each draw's sensor error scale (Student-t with `STUDENT_DF` degrees of freedom), mg/dL.
    """

    minute: np.ndarray
    bg: np.ndarray
    cgm: np.ndarray
    sigma_mg_dl: np.ndarray

    def bands(self, mass: float = 0.9, *, readings: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """Central credible band holding ``mass``: ``(lower, upper)``, each (H + 1,), mg/dL.

        ``readings=True`` bands a future CGM reading (what held-out data are scored against); False bands the
        glucose itself.
        """
        if not 0 < mass < 1:
            raise ValueError(f"mass must lie in (0, 1); got {mass}")
        x = self.cgm if readings else self.bg
        lo, hi = np.quantile(x, [0.5 - mass / 2, 0.5 + mass / 2], axis=0)
        return lo, hi

    def median(self) -> np.ndarray:
        """(H + 1,) posterior median glucose, mg/dL."""
        return np.median(self.bg, axis=0)

    def _at(self, minute: np.ndarray) -> np.ndarray:
        """Indices of the forecast's minutes at the readings' ``minute`` (record clock; within the horizon)."""
        m = np.asarray(minute, dtype=float)
        idx = np.rint(m - self.minute[0]).astype(int)
        bad = (idx < 0) | (idx >= self.minute.size) | (np.abs(m - self.minute[0] - idx) > 1e-6)
        if np.any(bad):
            raise ValueError(
                f"readings at minutes {m[bad][:5].tolist()} are not whole minutes within the forecast "
                f"({self.minute[0]}..{self.minute[-1]}); score readings the forecast covers."
            )
        return idx

    def crps(self, minute: np.ndarray, cgm_mg_dl: np.ndarray) -> np.ndarray:
        """CRPS of each observed reading against the forecast's predictive readings, (n,) mg/dL (lower is better).

        Args:
            minute: (n,) the readings' minutes on the record's clock (whole minutes within the forecast).
            cgm_mg_dl: (n,) the readings.
        """
        return crps_ensemble(self.cgm[:, self._at(minute)], np.asarray(cgm_mg_dl))

    def log_score(self, minute: np.ndarray, cgm_mg_dl: np.ndarray) -> np.ndarray:
        """Log posterior predictive density of each observed reading, (n,) in log(1/(mg/dL)) (higher is better).

        Exact for the forecast's draws: a mixture over draws of the sensor's Student-t around each draw's glucose.
        """
        loc = self.bg[:, self._at(minute)]
        return log_score_mixture(loc, self.sigma_mg_dl, np.asarray(cgm_mg_dl), STUDENT_DF)

    def to_pandas(self, mass: float = 0.9) -> Any:
        """A table by minute: median and the ``mass`` band of glucose and of a reading."""
        import pandas as pd

        lo, hi = self.bands(mass, readings=False)
        rlo, rhi = self.bands(mass, readings=True)
        return pd.DataFrame(
            {"bg_median_mg_dl": self.median(), "bg_lo": lo, "bg_hi": hi, "cgm_lo": rlo, "cgm_hi": rhi},
            index=pd.Index(self.minute, name="minute"),
        )


@dataclass(frozen=True)
class WhatIf:
    """The same draws forecast under the planned inputs and under changed ones (a paired counterfactual).

    Attributes:
        planned: `Forecast` under the plan.
        changed: `Forecast` under the change.
    """

    planned: Forecast
    changed: Forecast

    @property
    def effect(self) -> np.ndarray:
        """(S, H + 1) change in glucose per draw, mg/dL (changed minus planned)."""
        return self.changed.bg - self.planned.bg

    def effect_bands(self, mass: float = 0.9) -> tuple[np.ndarray, np.ndarray]:
        """Central credible band of the effect, ``(lower, upper)``, each (H + 1,), mg/dL."""
        lo, hi = np.quantile(self.effect, [0.5 - mass / 2, 0.5 + mass / 2], axis=0)
        return lo, hi


def _thin(post: Posterior, max_draws: int | None) -> np.ndarray:
    s = post.n_draws
    if max_draws is None or s <= max_draws:
        return np.arange(s)
    return np.linspace(0, s - 1, max_draws).round().astype(int)


@partial(jax.jit, static_argnames=("model", "free"))
def _end_states(
    model: UVAPadova, free: tuple[str, ...], base: PatientParams, theta: jax.Array, data: GlucoseData
) -> SimState:
    """Per draw, the state at the end of the data: theta (S, k + 1 + M) -> SimState leaves (S, ...)."""
    k = len(free)

    def one(th: jax.Array) -> SimState:
        params = with_params(base, free, jnp.exp(th[:k]))
        state = initial_state(model, params, th[k])
        end, _ = rollout(model, params, state, inputs_of(params, data, th[k + 1 :]), INFERENCE_SOLVER)
        return end

    return jax.lax.map(one, theta, batch_size=min(theta.shape[0], 256))


def end_states(model: UVAPadova, post: Posterior, record: GlucoseRecord, draws: np.ndarray) -> SimState:
    """The model state of the chosen draws at the end of ``record`` (from the posterior, or simulated)."""
    if post.state is not None:
        if post.minutes != record.minutes:
            raise ValueError(
                f"the posterior's states are at minute {post.minutes} but the record ends at {record.minutes}; "
                "forecast from the record the posterior has seen."
            )
        return jax.tree.map(lambda v: v[draws], post.state)
    if post.minutes != record.minutes:
        raise ValueError(
            f"the posterior was fitted on {post.minutes} minutes of data but this record has {record.minutes}. "
            "Fix: pass the record the posterior was fitted on (assimilate newer data first)."
        )
    data = record_data(record)
    if data.meal_log_sd.shape[0] != post.theta.shape[-1] - len(post.free) - 1:
        raise ValueError("the record's uncertain meals do not match the posterior's; pass the record it was fitted on")
    return _end_states(model, post.free, post.base, post.flat_theta()[draws], data)


def _horizon_inputs(record: GlucoseRecord, plan: Schedule | None, horizon_min: int) -> tuple[np.ndarray, ...]:
    """Per-minute (cho_g, bolus_u, basal_u_per_h, own_basal) over the horizon; basal carries forward if unplanned."""
    plan = Schedule() if plan is None else plan
    cho, bolus, rate, own = plan.arrays(horizon_min)
    if plan._basal is None and record.schedule._basal is not None:
        rate[:] = record.schedule._basal[-1][1]
        own[:] = 0.0
    elif plan._basal is not None and plan._basal[0][0] > 0 and record.schedule._basal is not None:
        first = plan._basal[0][0]
        rate[:first] = record.schedule._basal[-1][1]
        own[:first] = 0.0
    return cho, bolus, rate, own


@partial(jax.jit, static_argnames=("model", "free"))
def _ahead(
    model: UVAPadova,
    free: tuple[str, ...],
    base: PatientParams,
    theta: jax.Array,
    states: SimState,
    arrays: tuple[jax.Array, ...],
) -> jax.Array:
    k = len(free)
    cho, bolus, rate, own = arrays

    def one(th: jax.Array, state: SimState) -> jax.Array:
        params = with_params(base, free, jnp.exp(th[:k]))
        inputs = GlucoseInputs(cho_g=cho, insulin_u_per_min=own * params.basal_u_per_min + rate / 60.0 + bolus)
        _, bg = rollout(model, params, state, inputs, INFERENCE_SOLVER)
        return jnp.concatenate([(state.x[12] / params.Vg)[None], bg])

    return jax.vmap(one)(theta, states)


def forecast(
    model: UVAPadova,
    post: Posterior,
    data: GlucoseRecord,
    horizon_min: int = 120,
    *,
    key: jax.Array,
    plan: Schedule | None = None,
    max_draws: int | None = 1000,
    allow_withheld: bool = False,
) -> Forecast:
    """Posterior predictive glucose for ``horizon_min`` minutes after the end of ``data``.

    Args:
        model: the model the posterior was fitted with.
        post: a `Posterior` (refused when the gate withheld it, unless ``allow_withheld``).
        data: the record the posterior has seen (its end is where the forecast starts).
        horizon_min: minutes ahead.
        key: PRNG key for the simulated sensor error.
        plan: meals, boluses and basal ahead, in minutes from the end of the data (default: none, the basal in
            force carried forward).
        max_draws: use at most this many draws (evenly thinned).
        allow_withheld: use a withheld posterior anyway.

    Returns:
        A `Forecast`: ``fc.bg`` is (draws, horizon_min + 1); ``fc.bands(0.9)``.
    """
    post.require_ok(allow_withheld)
    if int(horizon_min) != horizon_min or horizon_min <= 0:
        raise ValueError(f"horizon_min must be a positive whole number of minutes; got {horizon_min!r}")
    draws = _thin(post, max_draws)
    states = end_states(model, post, data, draws)
    arrays = tuple(jnp.asarray(a) for a in _horizon_inputs(data, plan, int(horizon_min)))
    theta = post.flat_theta()[draws]
    bg = np.asarray(_ahead(model, post.free, post.base, theta, states, arrays))
    sigma = post.sigma_mg_dl.reshape(-1)[draws]
    noise = np.asarray(jax.random.t(key, STUDENT_DF, bg.shape, dtype=jnp.float64)) * sigma[:, None]
    minute = data.minutes + np.arange(int(horizon_min) + 1)
    return Forecast(minute=minute, bg=bg, cgm=bg + noise, sigma_mg_dl=sigma)


def whatif(
    model: UVAPadova,
    post: Posterior,
    data: GlucoseRecord,
    horizon_min: int,
    *,
    plan: Schedule | None,
    changed: Schedule,
    key: jax.Array,
    max_draws: int | None = 1000,
    allow_withheld: bool = False,
) -> WhatIf:
    """Forecasts under ``plan`` and under ``changed`` (e.g. another bolus or meal), from the same draws and noise."""
    planned = forecast(model, post, data, horizon_min, key=key, plan=plan, max_draws=max_draws,
                       allow_withheld=allow_withheld)  # fmt: skip
    other = forecast(model, post, data, horizon_min, key=key, plan=changed, max_draws=max_draws,
                     allow_withheld=allow_withheld)  # fmt: skip
    return WhatIf(planned=planned, changed=other)
