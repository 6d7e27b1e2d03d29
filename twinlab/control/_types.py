"""What a dosing policy sees and what it asks for: `Observation` and `Dose` (pytrees, one person or a batch)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import struct

#: Number of numbers in `Observation.to_vector` besides the CGM history.
N_SCALARS = 8


@struct.dataclass
class Observation:
    """What a policy may use at one decision: CGM, insulin on board, announced meals, time, the therapy settings.

    A policy never sees the true glucose, the patient's physiological parameters or meals not yet announced. Leaves
    have a leading batch axis when a batch of people is observed.

    Attributes:
        cgm_mg_dl: (H,) the CGM readings of the last H decisions, oldest first, mg/dL; NaN where no reading arrived.
        cgm_age_min: minutes since the newest reading was taken (0 for a fresh one).
        iob_u: insulin on board from the insulin this loop delivered (exponential curve), U.
        carbs_g: carbohydrate announced since the previous decision, g.
        minute_of_day: minutes since midnight, [0, 1440).
        basal_u_per_h: the person's scheduled basal rate, U/h.
        carb_ratio_g_per_u: grams of carbohydrate covered by one unit (CR).
        correction_mg_dl_per_u: glucose drop per unit (CF), mg/dL/U.
    """

    cgm_mg_dl: jax.Array
    cgm_age_min: jax.Array
    iob_u: jax.Array
    carbs_g: jax.Array
    minute_of_day: jax.Array
    basal_u_per_h: jax.Array
    carb_ratio_g_per_u: jax.Array
    correction_mg_dl_per_u: jax.Array

    @property
    def latest_mg_dl(self) -> jax.Array:
        """The newest reading (NaN if it did not arrive), mg/dL."""
        return self.cgm_mg_dl[..., -1]

    def to_vector(self) -> jax.Array:
        """A flat (..., H + 8) vector for networks: readings (missing ones as 0), then the scalars in field order."""
        cgm = jnp.nan_to_num(self.cgm_mg_dl, nan=0.0)
        scalars = [self.cgm_age_min, self.iob_u, self.carbs_g, self.minute_of_day, self.basal_u_per_h,
                   self.carb_ratio_g_per_u, self.correction_mg_dl_per_u]  # fmt: skip
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
