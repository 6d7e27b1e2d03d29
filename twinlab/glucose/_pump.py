"""The insulin pump of simglucose 0.2.11 in JAX, and `WithPump`, a model wrapper that delivers through it."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from flax import struct

from twinlab.glucose._tables import lookup
from twinlab.glucose._uva_padova import PMOL_PER_U, GlucoseInputs
from twinlab.sim import ModelWrapper, SimState

PyTree = Any


class InsulinPump(struct.PyTreeNode):
    """An insulin pump that quantises and limits the basal and bolus rates it is asked for (the reference's pump).

    Each rate is rounded to the pump's increment in pmol/min, ``round(rate * 6000 / inc) * inc / 6000`` (round half
    to even, as numpy), then clipped to ``[min, max]``, in the reference's order of operations.

    Gradients: rounding is piecewise constant, so its derivative is zero almost everywhere and gradient-based policy
    training through an exact pump learns nothing. With ``straight_through=True`` the forward value is the same
    quantised rate (up to one rounding of ``x + (q - x)``) and the gradient passes through the rounding unchanged
    (the straight-through estimator): 1 inside the limits, 0 where clipping is active.

    Attributes:
        min_bolus_u_per_min: smallest bolus rate, U/min.
        max_bolus_u_per_min: largest bolus rate, U/min.
        inc_bolus_pmol_per_min: bolus increment, pmol/min.
        min_basal_u_per_min: smallest basal rate, U/min.
        max_basal_u_per_min: largest basal rate, U/min.
        inc_basal_pmol_per_min: basal increment, pmol/min.
        straight_through: pass gradients through the rounding (static; default False).
        name: the pump's name (static).
    """

    min_bolus_u_per_min: jax.Array
    max_bolus_u_per_min: jax.Array
    inc_bolus_pmol_per_min: jax.Array
    min_basal_u_per_min: jax.Array
    max_basal_u_per_min: jax.Array
    inc_basal_pmol_per_min: jax.Array
    straight_through: bool = struct.field(pytree_node=False, default=False)
    name: str = struct.field(pytree_node=False, default="custom")

    @classmethod
    def named(cls, name: str, *, straight_through: bool = False, dtype: jnp.dtype | None = None) -> InsulinPump:
        """One of the reference's pumps: ``"Cozmo"`` or ``"Insulet"``.

        Raises:
            ValueError: for an unknown name; the message lists the valid ones.
        """
        r = lookup("pump_params.csv", name, "insulin pump")
        dtype = jnp.zeros(()).dtype if dtype is None else dtype

        def arr(key: str) -> jax.Array:
            return jnp.asarray(float(r[key]), dtype=dtype)

        columns = ("min_bolus_u_per_min", "max_bolus_u_per_min", "inc_bolus_pmol_per_min", "min_basal_u_per_min",
                   "max_basal_u_per_min", "inc_basal_pmol_per_min")  # fmt: skip
        # CSV columns are the field names without units: min_bolus, inc_basal, ...
        fields = {f: arr(f.removesuffix("_u_per_min").removesuffix("_pmol_per_min")) for f in columns}
        return cls(**fields, straight_through=straight_through, name=name)

    def _deliver(self, rate: jax.Array, inc: jax.Array, low: jax.Array, high: jax.Array) -> jax.Array:
        rate = jnp.asarray(rate)
        dtype = rate.dtype if jnp.issubdtype(rate.dtype, jnp.floating) else jnp.zeros(()).dtype
        rate = rate.astype(dtype)
        inc, low, high = (jnp.asarray(v, dtype) for v in (inc, low, high))
        q = jnp.round(rate * PMOL_PER_U / inc) * inc / PMOL_PER_U
        if self.straight_through:
            q = rate + jax.lax.stop_gradient(q - rate)
        return jnp.clip(q, low, high)

    def basal(self, rate_u_per_min: jax.Array) -> jax.Array:
        """The basal rate the pump delivers for a requested rate (any shape), U/min."""
        return self._deliver(
            rate_u_per_min, self.inc_basal_pmol_per_min, self.min_basal_u_per_min, self.max_basal_u_per_min
        )

    def bolus(self, rate_u_per_min: jax.Array) -> jax.Array:
        """The bolus rate the pump delivers for a requested rate (any shape), U/min."""
        return self._deliver(
            rate_u_per_min, self.inc_bolus_pmol_per_min, self.min_bolus_u_per_min, self.max_bolus_u_per_min
        )


@struct.dataclass
class PumpInputs:
    """Per-minute inputs of a `WithPump` model (leaves of shape (n_minutes,) in a series, scalars in one step).

    Attributes:
        cho_g: carbohydrate announced at this minute, g.
        basal_u_per_min: requested basal rate over the minute, U/min.
        bolus_u_per_min: requested bolus rate over the minute, U/min (a bolus of B units over S minutes is B / S).
    """

    cho_g: jax.Array
    basal_u_per_min: jax.Array
    bolus_u_per_min: jax.Array


class WithPump(ModelWrapper):
    """A glucose model whose insulin goes through an `InsulinPump`; delegates everything else to the wrapped model.

    Each minute the requested basal and bolus rates are quantised and limited by ``pump.basal`` and ``pump.bolus``
    and their sum is the wrapped model's ``GlucoseInputs.insulin_u_per_min`` (the reference ``T1DSimEnv``).

    Attributes:
        model: the wrapped `twinlab.sim.Model`, taking `GlucoseInputs` (e.g. ``UVAPadova()``).
        pump: the `InsulinPump`.
    """

    pump: InsulinPump

    def hold(self, state: SimState, inputs: PumpInputs, params: PyTree) -> tuple[SimState, PyTree]:
        """Deliver the minute's basal and bolus through the pump, then the wrapped model's discrete update."""
        insulin = self.pump.basal(inputs.basal_u_per_min) + self.pump.bolus(inputs.bolus_u_per_min)
        return self.model.hold(state, GlucoseInputs(cho_g=inputs.cho_g, insulin_u_per_min=insulin), params)
