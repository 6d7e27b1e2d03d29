"""Replaying a recorded day through a dosing policy: what it would have seen and asked for at every decision.

`record_observations` turns a `tl.glucose.GlucoseRecord` into the `Observation` a policy sees at each decision (one
every ``interval_min`` minutes, the newest reading the last); `replay` runs a policy over them in one ``lax.scan``,
so that a stateful policy (`PID`'s integral, `MPC`'s ensemble and weights) tracks the day as it would have live;
`dose_now` is the last decision, optionally with a meal announced then: the dose a policy behind a `SafetyLayer`
recommends now, and the layer's audit of it. The recorded insulin is what was delivered: the policy's doses are a
counterfactual, they do not change the observations that follow.

Example:
    >>> import jax, twinlab as tl                                                           # doctest: +SKIP
    >>> layer = tl.control.SafetyLayer.for_age_group(tl.control.BasalBolus(), "adult", interval_min=5)
    >>> rec = tl.control.dose_now(layer, record, tl.glucose.patient("adult#001"), meal_g=60.0, key=jax.random.key(0))
    >>> rec.delivered.bolus_u, rec.reasons
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from twinlab.control._iob import DURATION_MIN, iob_fraction
from twinlab.control._safety import Audit, SafetyLayer, reason_names
from twinlab.control._types import Dose, Observation
from twinlab.glucose._params import PatientParams
from twinlab.glucose._record import GlucoseRecord

MSG_NOT_LAYERED = (
    "dose_now recommends only doses that passed a safety layer; got a {kind}. "
    "Fix: wrap the policy, e.g. tl.control.SafetyLayer.for_age_group(policy, 'adult', interval_min=5)."
)


def _minute_of_day(record: GlucoseRecord, minute: np.ndarray) -> np.ndarray:
    """Minutes since midnight of record minutes: UTC wall clock when the record has a start, else minute 0 = 00:00."""
    if record.start is None:
        return np.mod(minute, 1440.0)
    start = np.datetime64(record.start.rstrip("Z"), "m")
    first = float((start - start.astype("datetime64[D]")).astype(int))
    return np.mod(first + minute, 1440.0)


def record_observations(
    record: GlucoseRecord, settings: PatientParams, *, interval_min: int, history_len: int = 20
) -> tuple[np.ndarray, Observation]:
    """The observation at each decision of ``record``, the newest reading's minute the last decision.

    Args:
        record: the day (readings, meals, boluses, basal); at least one reading.
        settings: the person's parameters (scalar leaves): the therapy settings (carbohydrate ratio, correction
            factor) and the steady-state basal used where the record runs on the person's own basal.
        interval_min: minutes between decisions (the CGM's sample time).
        history_len: H, readings in each observation.

    Returns:
        ``(minute, obs)``: (T,) decision minutes on the record's clock, ascending, and an `Observation` whose leaves
        have a leading axis T (``cgm_mg_dl`` is (T, H), NaN where no reading fell in an interval or before the
        record). Carbohydrate, the last basal and the last bolus are those of the minutes ``[t - interval, t)``;
        insulin on board is every recorded unit (basal and bolus) weighted by `iob_fraction`.
    """
    if record.n_readings == 0:
        raise ValueError("the record has no CGM reading: a policy needs at least one. Fix: a longer record window.")
    if int(interval_min) != interval_min or interval_min < 1 or history_len < 2:
        raise ValueError(f"interval_min must be a whole number >= 1 and history_len >= 2; got {interval_min}, "
                         f"{history_len}.")  # fmt: skip
    if jnp.ndim(settings.BW) != 0:
        raise ValueError("settings must be one person's parameters (scalar leaves), not a population.")
    s, t, y = int(interval_min), record.cgm_minute, record.cgm_mg_dl
    last = float(t[-1])
    minute = last - s * np.arange(int(last // s), -1, -1, dtype=np.float64)  # (T,) ascending, the last = newest
    grid = minute[:, None] - s * np.arange(history_len - 1, -1, -1, dtype=np.float64)[None, :]  # (T, H)
    idx = np.searchsorted(t, grid, side="right") - 1  # the newest reading at or before each grid minute
    seen = np.maximum(idx, 0)
    fresh = (idx >= 0) & (grid - t[seen] < s) & (grid >= 0)
    cgm = np.where(fresh, y[seen], np.nan)
    age = minute - t[seen[:, -1]]

    cho, bolus, rate, own = record.schedule.arrays(record.minutes)
    basal_u_per_h = np.where(own > 0, float(settings.basal_u_per_h), rate)  # (minutes,) scheduled rate
    insulin_u = basal_u_per_h / 60.0 + bolus  # (minutes,) units delivered in each minute
    weights = np.asarray(iob_fraction(jnp.arange(int(DURATION_MIN), dtype=jnp.result_type(float)) + 0.5))
    on_board = np.concatenate([[0.0], np.convolve(insulin_u, weights)[: record.minutes]])  # [m]: before minute m
    m = minute.astype(int)
    lo = np.maximum(m - s, 0)

    def in_interval(per_minute: np.ndarray) -> np.ndarray:
        total = np.concatenate([[0.0], np.cumsum(per_minute)])
        return total[m] - total[lo]

    last_basal = np.where(m > lo, in_interval(basal_u_per_h) / np.maximum(m - lo, 1), basal_u_per_h[m])
    f64 = jnp.result_type(float)  # float64 under jax_enable_x64, else float32
    therapy = settings.therapy
    n = minute.size
    return minute, Observation(
        cgm_mg_dl=jnp.asarray(cgm, f64),
        cgm_age_min=jnp.asarray(age, f64),
        iob_u=jnp.asarray(on_board[m], f64),
        carbs_g=jnp.asarray(in_interval(cho), f64),
        minute_of_day=jnp.asarray(_minute_of_day(record, minute), f64),
        basal_u_per_h=jnp.asarray(basal_u_per_h[m], f64),
        carb_ratio_g_per_u=jnp.full((n,), float(therapy.carb_ratio_g_per_u), f64),
        correction_mg_dl_per_u=jnp.full((n,), float(therapy.correction_mg_dl_per_u), f64),
        last_basal_u_per_h=jnp.asarray(last_basal, f64),
        last_bolus_u=jnp.asarray(in_interval(bolus), f64),
    )


@jax.jit
def replay(policy: Any, obs: Observation, key: jax.Array) -> tuple[Any, Dose, Audit | None]:
    """Run ``policy`` over T observations in order (one ``lax.scan``; compiled once per policy structure).

    Args:
        policy: ``init(key)`` and ``__call__(state, obs, key) -> (state, dose[, audit])``, e.g. a `SafetyLayer`.
        obs: an `Observation` with leaves of leading axis T (from `record_observations`).
        key: PRNG key (split for the initial state and each decision).

    Returns:
        ``(state, dose, audit)``: the policy's final state, the (T,) doses it returned and, for a policy that
        audits (a `SafetyLayer`), the (T,) audit; else None.
    """
    k_init, k_steps = jax.random.split(key)
    keys = jax.random.split(k_steps, obs.cgm_mg_dl.shape[0])

    def step(state: Any, xs: tuple[Observation, jax.Array]) -> tuple[Any, tuple[Any, ...]]:
        out = policy(state, *xs)
        return out[0], tuple(out[1:])

    state, outs = jax.lax.scan(step, policy.init(k_init), (obs, keys))
    return state, outs[0], outs[1] if len(outs) > 1 else None


@dataclass(frozen=True)
class Recommendation:
    """A policy's dose at the newest reading of a record, as its safety layer let it through.

    Attributes:
        minute: the decision's minute on the record's clock (the newest reading).
        meal_g: carbohydrate announced at the decision besides the record's, g.
        requested: the policy's `Dose` (scalar leaves: U/h and U).
        delivered: the `Dose` the safety layer let through.
        reasons: names of the clamps and refusals applied (`REASONS`); empty when the request passed unchanged.
        glucose_mg_dl: the newest reading, mg/dL.
        iob_u: insulin on board at the decision, U.
    """

    minute: int
    meal_g: float
    requested: Dose
    delivered: Dose
    reasons: tuple[str, ...]
    glucose_mg_dl: float
    iob_u: float

    def to_dict(self) -> dict[str, Any]:
        """Plain numbers for a table or a widget (JSON-safe)."""
        return {
            "minute": self.minute,
            "meal_g": self.meal_g,
            "glucose_mg_dl": self.glucose_mg_dl,
            "iob_u": self.iob_u,
            "requested_basal_u_per_h": float(self.requested.basal_u_per_h),
            "delivered_basal_u_per_h": float(self.delivered.basal_u_per_h),
            "requested_bolus_u": float(self.requested.bolus_u),
            "delivered_bolus_u": float(self.delivered.bolus_u),
            "reasons": list(self.reasons),
        }


def dose_now(
    layer: SafetyLayer,
    record: GlucoseRecord,
    settings: PatientParams,
    *,
    key: jax.Array,
    meal_g: float = 0.0,
    history_len: int = 20,
) -> Recommendation:
    """The dose ``layer`` recommends at ``record``'s newest reading, after replaying the record through it.

    Args:
        layer: a `SafetyLayer` wrapping a policy; its ``interval_min`` sets the decision grid (the policy's own
            ``interval_min``, where it has one, must agree).
        record: the day so far.
        settings: the person's parameters (therapy settings and steady-state basal; see `record_observations`).
        key: PRNG key of the replay.
        meal_g: carbohydrate announced now, g (added to what the record announced in the last interval).
        history_len: readings in each observation.

    Returns:
        A `Recommendation`.
    """
    if not isinstance(layer, SafetyLayer) or layer.policy is None:
        raise TypeError(MSG_NOT_LAYERED.format(kind=type(layer).__name__ if layer is not None else "None"))
    inner = getattr(layer.policy, "interval_min", layer.interval_min)
    if inner != layer.interval_min:
        raise ValueError(
            f"the policy decides every {inner} minutes but its safety layer every {layer.interval_min}. Fix: give "
            "both the same interval_min (the CGM's sample time)."
        )
    if not np.isfinite(meal_g) or not 0.0 <= meal_g <= 500.0:
        raise ValueError(f"meal_g must be a carbohydrate amount in [0, 500] g; got {meal_g!r}.")
    minute, obs = record_observations(record, settings, interval_min=layer.interval_min, history_len=history_len)
    obs = obs.replace(carbs_g=obs.carbs_g.at[-1].add(meal_g))  # type: ignore[attr-defined]
    _, _, audit = replay(layer, obs, key)
    assert audit is not None  # a SafetyLayer always audits
    last = jax.tree.map(lambda v: v[-1], audit)
    return Recommendation(
        minute=int(minute[-1]),
        meal_g=float(meal_g),
        requested=last.requested,
        delivered=last.delivered,
        reasons=tuple(reason_names(int(last.reasons))),
        glucose_mg_dl=float(obs.cgm_mg_dl[-1, -1]),
        iob_u=float(obs.iob_u[-1]),
    )
