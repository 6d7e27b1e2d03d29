"""What a dosing policy sees and what it asks for: `Observation` and `Dose` (pytrees, one person or a batch)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import struct

#: Number of numbers in `Observation.to_vector` besides the CGM history.
N_SCALARS = 10


@struct.dataclass
class Observation:
    """What a policy may use at one decision: CGM, insulin on board, announced meals, time, the therapy settings.

    A policy never sees the true glucose, the patient's physiological parameters or meals not yet announced. Leaves
    have a leading batch axis when a batch of people is observed.

    Attributes:
        cgm_mg_dl: (H,) the CGM readings of the last H decisions, oldest first, mg/dL; NaN where no reading arrived.
        cgm_age_min: minutes since the newest reading was taken (0 for a fresh one).
        iob_u: insulin on board from the insulin this loop delivered, scheduled basal included (exponential
            curve), U.
        carbs_g: carbohydrate announced since the previous decision, g.
        minute_of_day: minutes since midnight, [0, 1440).
        basal_u_per_h: the person's scheduled basal rate, U/h.
        carb_ratio_g_per_u: grams of carbohydrate covered by one unit (CR).
        correction_mg_dl_per_u: glucose drop per unit (CF), mg/dL/U.
        last_basal_u_per_h: the basal rate delivered over the interval just ended (as the pump reports it), U/h.
        last_bolus_u: the bolus delivered over the interval just ended, U.
    """

    cgm_mg_dl: jax.Array
    cgm_age_min: jax.Array
    iob_u: jax.Array
    carbs_g: jax.Array
    minute_of_day: jax.Array
    basal_u_per_h: jax.Array
    carb_ratio_g_per_u: jax.Array
    correction_mg_dl_per_u: jax.Array
    last_basal_u_per_h: jax.Array
    last_bolus_u: jax.Array

    @classmethod
    def of(
        cls,
        cgm_mg_dl: jax.typing.ArrayLike,
        *,
        basal_u_per_h: float,
        carb_ratio_g_per_u: float,
        correction_mg_dl_per_u: float,
        cgm_age_min: jax.typing.ArrayLike = 0.0,
        iob_u: jax.typing.ArrayLike = 0.0,
        carbs_g: jax.typing.ArrayLike = 0.0,
        minute_of_day: jax.typing.ArrayLike = 0.0,
        last_bolus_u: jax.typing.ArrayLike = 0.0,
    ) -> Observation:
        """Observations from readings of shape (..., H); the other fields broadcast to the leading shape.

        The last delivered basal defaults to the scheduled one. Useful to replay recorded CGM through a policy or
        the `SafetyLayer`.
        """
        cgm = jnp.asarray(cgm_mg_dl, jnp.result_type(float))
        lead = cgm.shape[:-1]

        def full(v: jax.typing.ArrayLike) -> jax.Array:
            return jnp.broadcast_to(jnp.asarray(v, cgm.dtype), lead)

        return cls(cgm, full(cgm_age_min), full(iob_u), full(carbs_g), full(minute_of_day), full(basal_u_per_h),
                   full(carb_ratio_g_per_u), full(correction_mg_dl_per_u), full(basal_u_per_h),
                   full(last_bolus_u))  # fmt: skip

    @property
    def latest_mg_dl(self) -> jax.Array:
        """The newest reading (NaN if it did not arrive), mg/dL."""
        return self.cgm_mg_dl[..., -1]

    def to_vector(self) -> jax.Array:
        """A flat (..., H + 10) vector: readings (missing ones as 0), the scalars in field order, a missing flag."""
        cgm = jnp.nan_to_num(self.cgm_mg_dl, nan=0.0)
        scalars = [self.cgm_age_min, self.iob_u, self.carbs_g, self.minute_of_day, self.basal_u_per_h,
                   self.carb_ratio_g_per_u, self.correction_mg_dl_per_u, self.last_basal_u_per_h,
                   self.last_bolus_u]  # fmt: skip
        missing = jnp.isnan(self.cgm_mg_dl[..., -1]).astype(cgm.dtype)
        return jnp.concatenate([cgm, jnp.stack([*(jnp.asarray(s, cgm.dtype) for s in scalars), missing], -1)], -1)


@struct.dataclass
class Dose:
    """The insulin a policy asks for (or the safety layer lets through) at one decision.

    Attributes:
        basal_u_per_h: basal rate held until the next decision, U/h.
        bolus_u: bolus delivered over the interval to the next decision, U.
    """

    basal_u_per_h: jax.Array
    bolus_u: jax.Array

    def units(self, interval_min: float) -> jax.Array:
        """Insulin delivered over one interval of ``interval_min`` minutes, U."""
        return self.basal_u_per_h * (interval_min / 60.0) + self.bolus_u
