"""`SafetyLayer`: hard dose caps and data checks around every dosing policy, with an audit of every clamp.

Every decision passes, in order:

1. The request: non-finite or negative rates become 0 (``invalid_request``).
2. The CGM data: no new insulin when the newest reading is missing, older than ``stale_after_min`` (oref0 refuses
   data older than 12 minutes), outside the sensor's range, changed faster than ``max_rate_mg_dl_per_min`` since the
   previous reading (a jump or a compression low), or identical over ``flat_window_min`` (a stuck sensor). "No new
   insulin" means: no bolus, and at most the scheduled basal (what a pump does when the loop stops).
3. Low-glucose suspend: no insulin at all when the newest valid reading, or its 30-minute linear projection from the
   last 15 minutes, is below ``suspend_below_mg_dl``.
4. Caps (AndroidAPS hard limits by age group, and oref0's multiplier of the scheduled basal): basal at most
   ``min(max_basal_u_per_h, basal_multiplier * scheduled)``; bolus at most ``max_bolus_u``; insulin on board plus
   what this decision adds above the scheduled basal at most ``max_iob_u`` (the bolus is cut first, then the basal
   excess). Insulin on board counts every unit delivered, the scheduled basal's included (about 1.9 hours of basal
   in a steady state). oref0 and AndroidAPS count it net of the scheduled basal, which leaves that much more room:
   with the net count a PID loop whose sensor read 100 mg/dL high for four hours took adult#001 5.8 % of the day
   below 54 mg/dL behind the adult limits, against under 1 % with this count (tests/control/test_faults.py).

The layer is a pure pytree: `filter` maps (observation, request) to (delivered dose, audit) and runs inside jit,
vmap and the environment's scan. `Audit.reasons` is a bit mask over `REASONS`; `audit_table` lists each clamp.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from twinlab.control._types import Dose, Observation

#: Reasons a dose was changed, in bit order of `Audit.reasons`.
REASONS = (
    "invalid_request",
    "missing_cgm",
    "stale_cgm",
    "implausible_cgm",
    "cgm_jump",
    "flat_cgm",
    "low_glucose_suspend",
    "max_basal",
    "max_bolus",
    "max_iob",
)
_BIT = {name: 1 << i for i, name in enumerate(REASONS)}

#: AndroidAPS hard limits (HardLimits: MAX_BASAL U/h, MAX_BOLUS U, MAX_IOB_SMB U) by age group.
AGE_GROUP_LIMITS = {
    "child": (2.0, 5.0, 7.0),
    "adolescent": (5.0, 10.0, 13.0),
    "adult": (10.0, 17.0, 22.0),
}


@struct.dataclass
class Audit:
    """What the safety layer did at one decision (leaves batched like the observation).

    Attributes:
        requested: the policy's `Dose`.
        delivered: the `Dose` let through.
        reasons: int32 bit mask over `REASONS` (0: passed unchanged).
    """

    requested: Dose
    delivered: Dose
    reasons: jax.Array


class SafetyLayer(struct.PyTreeNode):
    """A policy wrapped by dose caps and data checks (see the module docstring); itself a policy.

    Attributes:
        policy: the wrapped policy (``init(key)`` and ``__call__(state, observation, key)``), or None to use
            `filter` alone.
        max_basal_u_per_h: hard cap on the basal rate, U/h.
        max_bolus_u: hard cap on one bolus, U.
        max_iob_u: cap on insulin on board plus the insulin above scheduled basal this decision adds, U.
        basal_multiplier: basal at most this multiple of the scheduled basal (oref0 uses 3 to 4).
        suspend_below_mg_dl: low-glucose suspend threshold, mg/dL.
        stale_after_min: a reading older than this is stale, minutes.
        max_rate_mg_dl_per_min: a change between consecutive readings faster than this is a jump, mg/dL/min.
        flat_window_min: identical readings over this window mean a stuck sensor, minutes (static).
        cgm_range_mg_dl: the readings a sensor can report, (low, high) mg/dL (static; the simulated sensors' 39-600).
        interval_min: minutes between decisions (static).
    """

    policy: Any = None
    max_basal_u_per_h: float | jax.Array = 10.0
    max_bolus_u: float | jax.Array = 17.0
    max_iob_u: float | jax.Array = 22.0
    basal_multiplier: float | jax.Array = 3.0
    suspend_below_mg_dl: float | jax.Array = 70.0
    stale_after_min: float | jax.Array = 12.0
    max_rate_mg_dl_per_min: float | jax.Array = 8.0
    flat_window_min: float = struct.field(pytree_node=False, default=45.0)
    cgm_range_mg_dl: tuple[float, float] = struct.field(pytree_node=False, default=(39.0, 600.0))
    interval_min: int = struct.field(pytree_node=False, default=3)

    @classmethod
    def for_age_group(cls, policy: Any = None, age_group: str = "adult", **overrides: Any) -> SafetyLayer:
        """The layer with AndroidAPS's hard limits for ``"child"``, ``"adolescent"`` or ``"adult"``.

        Raises:
            ValueError: for another age group; the message lists the valid ones.
        """
        if age_group not in AGE_GROUP_LIMITS:
            raise ValueError(f"unknown age_group {age_group!r}. Fix: use one of {sorted(AGE_GROUP_LIMITS)}.")
        basal, bolus, iob = AGE_GROUP_LIMITS[age_group]
        return cls(policy=policy, max_basal_u_per_h=basal, max_bolus_u=bolus, max_iob_u=iob, **overrides)

    @classmethod
    def for_patients(cls, policy: Any, names: list[str], **overrides: Any) -> SafetyLayer:
        """One layer per named virtual patient with the limits of their own age group, stacked (leading axis P).

        For ``evaluate(..., stacked=True)``: the policy is repeated, and every leaf gains the people's axis.

        Raises:
            ValueError: for a name whose age group ("child#003" -> "child") has no limits.
        """
        from twinlab.control._rollout import stack_policies  # _rollout imports this module

        return stack_policies([cls.for_age_group(policy, name.split("#")[0], **overrides) for name in names])

    def init(self, key: jax.Array) -> Any:
        """The wrapped policy's initial state."""
        if self.policy is None:
            raise ValueError("this SafetyLayer wraps no policy. Fix: SafetyLayer(policy=...), or call filter().")
        return self.policy.init(key)

    def __call__(self, state: Any, obs: Observation, key: jax.Array) -> tuple[Any, Dose, Audit]:
        """Ask the wrapped policy, then `filter` its request; returns (policy state, delivered dose, audit)."""
        if self.policy is None:
            raise ValueError("this SafetyLayer wraps no policy. Fix: SafetyLayer(policy=...), or call filter().")
        out = self.policy(state, obs, key)
        state, request = out[0], out[1]
        delivered, audit = self.filter(obs, request)
        return state, delivered, audit

    def data_reasons(self, obs: Observation) -> jax.Array:
        """int32 bit mask of the CGM data checks (missing, stale, implausible, jump, flat) for one observation."""
        cgm = obs.cgm_mg_dl
        latest = cgm[..., -1]
        prev = cgm[..., -2]
        lo, hi = self.cgm_range_mg_dl
        missing = jnp.isnan(latest)
        stale = obs.cgm_age_min > self.stale_after_min
        implausible = ~missing & ((latest < lo) | (latest > hi))
        rate = jnp.abs(latest - prev) / self.interval_min
        jump = ~missing & ~jnp.isnan(prev) & (rate > self.max_rate_mg_dl_per_min)
        n_flat = int(np.floor(float(self.flat_window_min) / self.interval_min)) + 1
        if n_flat > cgm.shape[-1]:
            raise ValueError(
                f"flat_window_min={self.flat_window_min} needs {n_flat} readings but observations hold "
                f"{cgm.shape[-1]}. Fix: a shorter flat_window_min or a longer history."
            )
        window = cgm[..., -n_flat:]
        flat = ~jnp.any(jnp.isnan(window), -1) & (jnp.max(window, -1) == jnp.min(window, -1))
        flags = [(missing, "missing_cgm"), (stale, "stale_cgm"), (implausible, "implausible_cgm"),
                 (jump, "cgm_jump"), (flat, "flat_cgm")]  # fmt: skip
        return sum((f.astype(jnp.int32) * _BIT[n] for f, n in flags), jnp.zeros(latest.shape, jnp.int32))

    def projected_low(self, obs: Observation) -> jax.Array:
        """True where the newest reading, or its 30-minute linear projection from the last 15 minutes, is low."""
        cgm = obs.cgm_mg_dl
        back = max(1, round(15 / self.interval_min))
        slope = (cgm[..., -1] - cgm[..., -1 - back]) / (back * self.interval_min)
        projected = cgm[..., -1] + 30.0 * jnp.where(jnp.isnan(slope), 0.0, slope)
        return (cgm[..., -1] < self.suspend_below_mg_dl) | (projected < self.suspend_below_mg_dl)

    def filter(self, obs: Observation, request: Dose) -> tuple[Dose, Audit]:
        """The dose let through for a request, and the audit of what changed (see the module docstring)."""
        dtype = jnp.asarray(obs.basal_u_per_h).dtype
        basal_req = jnp.asarray(request.basal_u_per_h, dtype)
        bolus_req = jnp.asarray(request.bolus_u, dtype)
        bad = ~jnp.isfinite(basal_req) | ~jnp.isfinite(bolus_req) | (basal_req < 0) | (bolus_req < 0)
        basal = jnp.where(jnp.isfinite(basal_req), jnp.maximum(basal_req, 0.0), 0.0)
        bolus = jnp.where(jnp.isfinite(bolus_req), jnp.maximum(bolus_req, 0.0), 0.0)
        reasons = bad.astype(jnp.int32) * _BIT["invalid_request"]

        scheduled = jnp.asarray(obs.basal_u_per_h, dtype)
        data = self.data_reasons(obs)
        data_bad = data != 0
        reasons = reasons | data
        basal = jnp.where(data_bad, jnp.minimum(basal, scheduled), basal)
        bolus = jnp.where(data_bad, 0.0, bolus)

        low = ~data_bad & self.projected_low(obs)
        reasons = reasons | jnp.where(low & ((basal > 0) | (bolus > 0)), _BIT["low_glucose_suspend"], 0)
        basal = jnp.where(low, 0.0, basal)
        bolus = jnp.where(low, 0.0, bolus)

        max_basal = jnp.minimum(jnp.asarray(self.max_basal_u_per_h, dtype), self.basal_multiplier * scheduled)
        reasons = reasons | jnp.where(basal > max_basal, _BIT["max_basal"], 0)
        basal = jnp.minimum(basal, max_basal)
        reasons = reasons | jnp.where(bolus > self.max_bolus_u, _BIT["max_bolus"], 0)
        bolus = jnp.minimum(bolus, jnp.asarray(self.max_bolus_u, dtype))

        hours = self.interval_min / 60.0
        room = jnp.maximum(jnp.asarray(self.max_iob_u, dtype) - jnp.asarray(obs.iob_u, dtype), 0.0)
        excess_basal = jnp.maximum(basal - scheduled, 0.0) * hours
        reasons = reasons | jnp.where(bolus + excess_basal > room, _BIT["max_iob"], 0)
        basal_ok = jnp.minimum(basal, scheduled + room / hours)
        bolus_ok = jnp.minimum(bolus, jnp.maximum(room - jnp.maximum(basal_ok - scheduled, 0.0) * hours, 0.0))
        delivered = Dose(basal_u_per_h=basal_ok, bolus_u=bolus_ok)
        return delivered, Audit(requested=Dose(basal_req, bolus_req), delivered=delivered, reasons=reasons)


def reason_names(mask: int) -> list[str]:
    """The names of the reasons set in one audit bit mask."""
    return [name for name in REASONS if int(mask) & _BIT[name]]


def audit_table(audit: Audit, interval_min: int, names: list[str] | None = None, start_min: int = 0) -> Any:
    """A pandas table of every decision the safety layer changed: who, when, requested, delivered, reasons.

    Args:
        audit: an `Audit` with leaves of shape (T,) or (P, T) (one per decision, e.g. from `evaluate`).
        interval_min: minutes between decisions.
        names: the P people's names (default their index).
        start_min: the minute of the first decision (an episode's warm-up: `Evaluation.warmup_min`), so that
            ``minute`` counts from the episode's start.

    Returns:
        Columns ``person``, ``minute``, ``requested_basal_u_per_h``, ``delivered_basal_u_per_h``,
        ``requested_bolus_u``, ``delivered_bolus_u``, ``reasons`` (comma-separated names); one row per change.
    """
    import pandas as pd

    reasons = np.atleast_2d(np.asarray(audit.reasons))
    cols = {
        "requested_basal_u_per_h": audit.requested.basal_u_per_h,
        "delivered_basal_u_per_h": audit.delivered.basal_u_per_h,
        "requested_bolus_u": audit.requested.bolus_u,
        "delivered_bolus_u": audit.delivered.bolus_u,
    }
    arrays = {k: np.atleast_2d(np.asarray(v)) for k, v in cols.items()}
    who, when = np.nonzero(reasons)
    labels = names if names is not None else [str(i) for i in range(reasons.shape[0])]
    return pd.DataFrame(
        {
            "person": [labels[i] for i in who],
            "minute": start_min + when * interval_min,
            **{k: v[who, when] for k, v in arrays.items()},
            "reasons": [",".join(reason_names(m)) for m in reasons[who, when]],
        }
    )
