"""Synthetic days from a "reality" model and the forecast windows cut from them (known start state, CGM after)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from twinlab.glucose import (
    DEFAULT_SOLVER,
    ExerciseInputs,
    Schedule,
    exercise_inputs,
    heart_rate_series,
    schedule_inputs,
)
from twinlab.hybrid._model import HR_SCALE_BPM, HybridUVAPadova
from twinlab.sim import Model, SimState


class Days(struct.PyTreeNode):
    """D simulated days of one person, each from the basal state at midnight.

    Attributes:
        inputs: `ExerciseInputs` with leaves (D, M): meals (g), insulin (U/min), heart rate (bpm).
        states: the full `SimState` after each minute, leaves (D, M + 1, ...), minute 0 first.
        bg_mg_dl: true glucose, (D, M + 1), mg/dL.
        cgm_mg_dl: true glucose plus Gaussian sensor noise, (D, M + 1), mg/dL.
    """

    inputs: ExerciseInputs
    states: SimState
    bg_mg_dl: jax.Array
    cgm_mg_dl: jax.Array


@partial(jax.jit, static_argnames=("model",))
def _record(model: Model, params: Any, inputs: Any) -> tuple[SimState, jax.Array]:
    def step(state: SimState, u: Any) -> tuple[SimState, SimState]:
        state, held = model.hold(state, u, params)
        x = DEFAULT_SOLVER.step(lambda t, x, a: model.vector_field(t, x, a, params), 0.0, state.x, 1.0, held)
        state = state.replace(x=x)
        return state, state

    def one(u: Any) -> tuple[SimState, jax.Array]:
        state0 = model.init(params)
        _, states = jax.lax.scan(step, state0, u)
        states = jax.tree.map(lambda a, b: jnp.concatenate([a[None], b]), state0, states)
        bg = jax.vmap(lambda s: model.observe(s, params)["bg"])(states)
        return states, bg

    return jax.vmap(one)(inputs)


def simulate_days(
    reality: Model,
    params: Any,
    schedules: Sequence[Schedule],
    sessions: Sequence[Sequence[tuple[float, float, float]]],
    *,
    minutes: int = 1440,
    cgm_sd_mg_dl: float = 6.0,
    seed: int = 0,
) -> Days:
    """Simulate one day per schedule with ``reality`` (an `ExerciseUVAPadova`), recording every state.

    Args:
        reality: the model that generates the data.
        params: its parameters (`ExerciseParams` of one person).
        schedules: meals, boluses and basal of each day.
        sessions: exercise sessions of each day, ``(start minute, minutes, bpm)`` (see `heart_rate_series`).
        minutes: length of each day.
        cgm_sd_mg_dl: standard deviation of the independent Gaussian sensor noise, mg/dL.
        seed: seed of the sensor noise.

    Returns:
        `Days` with D = len(schedules).
    """
    if len(schedules) != len(sessions) or not schedules:
        raise ValueError(
            f"give one list of exercise sessions per schedule (an empty list for a day without exercise); got "
            f"{len(schedules)} schedules and {len(sessions)} session lists."
        )
    if not np.isfinite(cgm_sd_mg_dl) or cgm_sd_mg_dl < 0:
        raise ValueError(f"cgm_sd_mg_dl must be a finite standard deviation >= 0; got {cgm_sd_mg_dl!r}.")
    patient = params.patient
    dtype = jnp.asarray(patient.BW).dtype
    rest = float(params.hr_rest_bpm)
    days = []
    for schedule, day_sessions in zip(schedules, sessions, strict=True):
        arrays = (jnp.asarray(a, dtype) for a in schedule.arrays(minutes))
        glucose = schedule_inputs(patient, *arrays)
        hr = heart_rate_series(minutes, day_sessions, rest_bpm=rest)
        days.append(exercise_inputs(glucose.cho_g, glucose.insulin_u_per_min, hr, dtype=dtype))
    inputs = jax.tree.map(lambda *a: jnp.stack(a), *days)
    states, bg = _record(reality, params, inputs)
    noise = jax.random.normal(jax.random.key(seed), bg.shape, dtype) * cgm_sd_mg_dl
    return Days(inputs=inputs, states=states, bg_mg_dl=bg, cgm_mg_dl=bg + noise)


class Windows(struct.PyTreeNode):
    """B forecast windows: the known state at the start, the inputs over the horizon, what was measured after.

    Attributes:
        state0: the hybrid's `SimState` at each start, leaves (B, ...).
        inputs: `ExerciseInputs` over each horizon, leaves (B, H).
        cgm_mg_dl: CGM readings every ``cgm_every_min`` minutes after the start, (B, H // cgm_every_min), mg/dL.
        bg_mg_dl: true glucose from the start on, (B, H + 1), mg/dL.
        day: the day of each window, (B,).
        start_min: the minute each window starts, (B,).
        cgm_every_min: minutes between CGM readings (static).
    """

    state0: SimState
    inputs: ExerciseInputs
    cgm_mg_dl: jax.Array
    bg_mg_dl: jax.Array
    day: jax.Array
    start_min: jax.Array
    cgm_every_min: int = struct.field(pytree_node=False, default=5)

    @property
    def count(self) -> int:
        """B, the number of windows."""
        return int(self.day.shape[0])

    def take(self, index: Any) -> Windows:
        """The windows at ``index`` (an integer array)."""
        return jax.tree.map(lambda a: a[index], self)


def _filters(hr_bpm: np.ndarray, rest_bpm: float, taus_min: tuple[float, float]) -> np.ndarray:
    """The hybrid's exercise filters after each minute, (D, M + 1, 2), exact for an input held over each minute."""
    u = (np.asarray(hr_bpm, np.float64) - rest_bpm) / HR_SCALE_BPM
    decay = np.exp(-1.0 / np.asarray(taus_min))
    out = np.zeros((*u.shape[:-1], u.shape[-1] + 1, 2))
    for k in range(u.shape[-1]):
        out[..., k + 1, :] = out[..., k, :] * decay + u[..., k, None] * (1.0 - decay)
    return out


def windows(
    days: Days,
    model: HybridUVAPadova,
    *,
    hr_rest_bpm: float,
    horizon_min: int = 120,
    every_min: int = 15,
    cgm_every_min: int = 5,
) -> Windows:
    """Cut forecast windows from ``days``: a start every ``every_min`` minutes, ``horizon_min`` minutes each.

    The start state is the true one (the 13 physiological states of the day) plus the hybrid's exercise filters
    computed from the heart rate before the start: an idealised setting that isolates the model's error.

    Raises:
        ValueError: a horizon that is not a whole number of CGM intervals, or longer than a day.
    """
    minutes = int(days.inputs.cho_g.shape[-1])
    if horizon_min <= 0 or horizon_min % cgm_every_min or horizon_min > minutes:
        raise ValueError(
            f"horizon_min ({horizon_min}) must be a positive multiple of cgm_every_min ({cgm_every_min}) and at "
            f"most the day's {minutes} minutes."
        )
    if every_min <= 0:
        raise ValueError(f"every_min must be a positive number of minutes; got {every_min}.")
    starts = np.arange(0, minutes - horizon_min + 1, every_min)
    n_days = int(days.bg_mg_dl.shape[0])
    day = np.repeat(np.arange(n_days), starts.size)
    start = np.tile(starts, n_days)
    filt = _filters(np.asarray(days.inputs.heart_rate_bpm), hr_rest_bpm, (model.tau_fast_min, model.tau_slow_min))
    span = start[:, None] + np.arange(horizon_min + 1)[None, :]  # (B, H + 1) minutes of each window
    dtype = days.bg_mg_dl.dtype
    z0 = jax.tree.map(lambda a: a[day, start], days.states.z)
    x0 = jnp.concatenate([days.states.x[day, start, :13], jnp.asarray(filt[day, start], dtype)], axis=1)
    inputs = jax.tree.map(lambda a: a[day[:, None], span[:, :-1]], days.inputs)
    cgm = days.cgm_mg_dl[day[:, None], span[:, cgm_every_min::cgm_every_min]]
    return Windows(
        state0=SimState(x=x0, z=z0),
        inputs=inputs,
        cgm_mg_dl=cgm,
        bg_mg_dl=days.bg_mg_dl[day[:, None], span],
        day=jnp.asarray(day),
        start_min=jnp.asarray(start),
        cgm_every_min=cgm_every_min,
    )
