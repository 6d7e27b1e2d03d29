"""`MPC`: model-predictive dosing over an ensemble of the person's parameter sets (a posterior's draws or a cohort).

The controller keeps its own copy of the twin, one simulation per ensemble member, and at every decision:

1. advances each member over the interval just ended with the insulin the pump reports and the carbohydrate
   announced, placed at the interval's middle minute: the observation does not say at which minute the meal was
   eaten, and the middle is unbiased for any minute (placed at the start, the twin ran up to two minutes ahead of
   the patient, 26 mg/dL too high at its worst while glucose rose after child#008's 102 g dinner);
2. compares each member's glucose with the new CGM reading: a per-member offset (an exponentially smoothed residual,
   gain ``offset_gain``) absorbs slow model error, and the member's weight is multiplied by the reading's likelihood
   under it (normal, ``cgm_sd_mg_dl``), mixed with 5% of uniform so that no member is ever lost for good. The
   default gain, 0.03 a decision (a time constant of about 100 minutes), filters most of the sensor's error: the
   Dexcom error is correlated over tens of minutes, and at gain 0.3 the offset followed it with an sd of 10 mg/dL.
   The plan takes the lower of the smoothed offset and the newest residual, the cautious of the two for insulin: a
   slow offset alone holds a long sensor error for hours after the sensor has recovered;
3. chooses the basal multipliers of ``blocks`` equal blocks over ``horizon_min`` minutes (each in
   [0, ``max_basal_factor``]) and a factor in [0, 2] on the basal-bolus meal bolus by ``iterations`` Adam steps
   (optax) on the weighted mean Magni risk of the predicted glucose (with the offsets of step 2) plus
   ``basal_penalty`` times the squared deviation of the multipliers from 1, starting from the basal-bolus rule (all
   factors 1); future meals are not assumed. The plan may also add a correction bolus at any decision, up to
   ``correction_fraction * (g - 110) / CF`` where g is the twin's estimate of glucose now; it is given only while
   the plan's predicted glucose stays at or above ``correction_guard_mg_dl`` over the whole horizon (oref0 gates its
   corrections on its lowest predicted glucose the same way). Without that guard the optimiser traded a brief
   predicted low for hours less high, and a twin some mg/dL off at the nadir made the low real: child#008 spent 5 %
   of 3 days below 70 mg/dL;
4. delivers the first block's basal and the bolus (receding horizon). A bolus the safety layer withheld or cut is
   added to the next decision's bolus: the meal it covers is already in the twin. Withheld outright (a low-glucose
   suspend, a sensor fault) it halves every ``owed_half_life_min`` minutes while it stays withheld; cut by a cap
   (part delivered) it is kept whole and goes in as the caps allow. At most the rule's share is owed (the plan's
   factor above 1 is not carried), so a request withheld decision after decision never compounds.

Wrap it in a `SafetyLayer` as any other policy.

The default plan looks 8 hours ahead, longer than a rapid-acting bolus acts: a plan shorter than the bolus's tail
does not see the low it brings. On the 30 virtual patients over 3 days (seed 0; benchmarks/RESULTS.md) a 3-hour plan
left three children 7-12 % of the time below 70 mg/dL, and a 6-hour plan left adult#009 4.6 % there, 8 hours after a
dinner bolus it had asked to nearly double. With these defaults (an 8-hour plan, owed boluses, the guarded
correction, the cautious offset), behind each age group's safety layer, over the 3-day days of seeds 0 to 3, no
patient spent any time below 54 mg/dL or more than 1.01 % below 70, at 92.46, 92.98, 91.77 and 92.73 % time in
range: 11.13, 9.97, 11.12 and 11.37 points over basal-bolus.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import optax
from flax import struct

from twinlab.control._env import meal_bolus_u
from twinlab.control._types import Dose, Observation
from twinlab.glucose._metrics import risk_function
from twinlab.glucose._params import PatientParams, check_patient_params
from twinlab.glucose._uva_padova import GlucoseInputs, UVAPadova
from twinlab.sim import RK4, SimState
from twinlab.sim._simulate import _step


@struct.dataclass
class MPCState:
    """The controller's copy of the twin.

    Attributes:
        sim: (K,) member states of the UVA/Padova model.
        log_weight: (K,) normalised log weights.
        offset_mg_dl: (K,) smoothed CGM residual of each member, mg/dL.
        requested_bolus_u: the bolus this controller asked for at its previous decision, at most that decision's
            rule bolus plus what was owed then, U.
    """

    sim: SimState
    log_weight: jax.Array
    offset_mg_dl: jax.Array
    requested_bolus_u: jax.Array


class MPC(struct.PyTreeNode):
    """Receding-horizon dosing that optimises over an ensemble (see the module docstring).

    Attributes:
        params: `PatientParams` with a leading axis K (e.g. ``posterior.params()`` thinned, or a cohort).
        horizon_min: prediction horizon, minutes (static).
        blocks: basal blocks over the horizon (static).
        iterations: Adam steps per decision (static).
        learning_rate: Adam's step size.
        cgm_sd_mg_dl: CGM error sd of the weight update, mg/dL.
        offset_gain: smoothing gain of the residual offset, in (0, 1]; small, so that the offset does not follow the
            sensor's noise (a correction chasing that noise brings lows; benchmarks/RESULTS.md).
        basal_penalty: weight of the squared basal-multiplier deviation from 1.
        max_basal_factor: the largest basal multiplier a plan may use (> 1; the safety layer's own cap still applies).
        owed_half_life_min: how fast a bolus withheld outright is forgiven while it stays withheld, minutes.
        correction_fraction: the largest correction bolus at a decision, as a fraction of ``(g - 110) / CF``, g the
            twin's estimate of glucose now (0: no correction bolus).
        correction_guard_mg_dl: the correction is given only while the plan's predicted glucose stays at or above
            this over the horizon, mg/dL.
        interval_min: minutes between decisions (static).
    """

    params: PatientParams
    horizon_min: int = struct.field(pytree_node=False, default=480)
    blocks: int = struct.field(pytree_node=False, default=4)
    iterations: int = struct.field(pytree_node=False, default=12)
    learning_rate: float = 0.3
    cgm_sd_mg_dl: float = 15.0
    offset_gain: float = 0.03
    basal_penalty: float = 1.0
    max_basal_factor: float = 2.0
    owed_half_life_min: float = 15.0
    correction_fraction: float = 1.0
    correction_guard_mg_dl: float = 90.0
    interval_min: int = struct.field(pytree_node=False, default=3)

    @classmethod
    def from_posterior(cls, posterior: Any, members: int = 8, **kwargs: Any) -> MPC:
        """An MPC over ``members`` draws of a `twinlab.bayes.Posterior`, evenly thinned."""
        params = posterior.params()
        n = int(params.BW.shape[0])
        index = jnp.linspace(0, n - 1, min(members, n)).round().astype(jnp.int32)
        return cls(params=jax.tree.map(lambda v: v[index], params), **kwargs)

    def __post_init__(self) -> None:
        if self.horizon_min % self.blocks or self.horizon_min < self.interval_min:
            raise ValueError(
                f"horizon_min={self.horizon_min} must be a multiple of blocks={self.blocks} and at least one interval."
            )
        # A plain number is checked here; stacked policies carry arrays (checked when they were built).
        if isinstance(self.max_basal_factor, int | float) and not self.max_basal_factor > 1.0:
            raise ValueError(
                f"max_basal_factor={self.max_basal_factor} must exceed 1 (the plan starts from the scheduled basal)."
            )

    @property
    def _model(self) -> UVAPadova:
        return UVAPadova()

    def _run(self, sim: SimState, p: PatientParams, cho: jax.Array, insulin: jax.Array) -> tuple[SimState, jax.Array]:
        """One member over len(cho) minutes: final state and glucose after each minute (mg/dL)."""
        dtype = cho.dtype
        body = partial(_step, self._model, RK4(), None, p, jnp.ones((), dtype))
        t = jnp.arange(cho.shape[0], dtype=dtype)
        (sim, _), (outs, _) = jax.lax.scan(body, (sim, None), (t, GlucoseInputs(cho_g=cho, insulin_u_per_min=insulin)))
        return sim, outs["bg"]

    def init(self, key: jax.Array) -> MPCState:
        """Every member at its own steady state under its basal, equal weights, no offset.

        Raises:
            ValueError: when ``params`` is not an ensemble (a leading axis K).
        """
        del key
        if not isinstance(self.params, PatientParams) or jnp.ndim(self.params.BW) != 1:
            raise ValueError(
                "MPC needs an ensemble: PatientParams with a leading axis K. Fix: tl.glucose.patients([...]) or "
                "MPC.from_posterior(post)."
            )
        check_patient_params(self.params)
        sim = jax.vmap(self._model.init)(self.params)
        k = self.params.BW.shape[0]
        dtype = self.params.BW.dtype
        return MPCState(sim=sim, log_weight=jnp.full((k,), -jnp.log(k), dtype), offset_mg_dl=jnp.zeros((k,), dtype),
                        requested_bolus_u=jnp.zeros((), dtype))  # fmt: skip

    def __call__(self, state: MPCState, obs: Observation, key: jax.Array) -> tuple[MPCState, Dose]:
        """One decision: track the last interval, reweight on the reading, optimise the plan, act on its start."""
        del key
        s = self.interval_min
        dtype = jnp.asarray(obs.basal_u_per_h).dtype
        cho = jnp.zeros((s,), dtype).at[s // 2].set(obs.carbs_g)
        last = jnp.full((s,), obs.last_basal_u_per_h / 60.0, dtype) + obs.last_bolus_u / s
        sim, bg = jax.vmap(lambda z, p: self._run(z, p, cho, last))(state.sim, self.params)
        now = bg[:, -1]
        reading = obs.latest_mg_dl
        ok = ~jnp.isnan(reading)
        residual = jnp.where(ok, reading - now, 0.0)
        loglik = -0.5 * ((residual - state.offset_mg_dl) / self.cgm_sd_mg_dl) ** 2
        log_w = state.log_weight + jnp.where(ok, loglik, 0.0)
        w = jax.nn.softmax(log_w)
        k = w.shape[0]
        w = 0.95 * w + 0.05 / k
        offset = jnp.where(ok, (1 - self.offset_gain) * state.offset_mg_dl + self.offset_gain * residual,
                           state.offset_mg_dl)  # fmt: skip
        scheduled = obs.basal_u_per_h
        # The plan uses the lower of the smoothed offset and the newest residual: for dosing insulin the lower of two
        # estimates is the cautious one. A smoothed offset alone held a sensor error of 30-70 mg/dL, two hours long,
        # for hours after the sensor recovered, and the dinner bolus that followed took child#003 below 70 at night.
        planned = jnp.where(ok, jnp.minimum(offset, residual), offset)
        # A bolus the safety layer withheld or cut is owed, not forgotten: its meal is in the twin. Withheld outright
        # (a suspend, a sensor fault: nothing delivered) it halves every owed_half_life_min minutes, so a bolus long
        # overdue is not given in full late; cut by a cap (part delivered) it is kept whole, to go in as the caps allow.
        decay = 0.5 ** (self.interval_min / self.owed_half_life_min)
        shortfall = jnp.maximum(state.requested_bolus_u - obs.last_bolus_u, 0.0)
        owed = jnp.where(obs.last_bolus_u > 0, 1.0, decay) * shortfall
        meal_bolus = meal_bolus_u(obs) + owed
        block_min = self.horizon_min // self.blocks
        horizon_cho = jnp.zeros((self.horizon_min,), dtype)
        first = (jnp.arange(self.horizon_min) < s).astype(dtype)
        estimate = jnp.sum(w * (now + planned))
        max_correction = self.correction_fraction * jnp.maximum(estimate - 110.0, 0.0) / obs.correction_mg_dl_per_u

        def factors(z: jax.Array) -> jax.Array:
            # Basal multipliers in [0, max_basal_factor] and the bolus factor in [0, 2], each 1 at z = 0.
            top = jnp.concatenate([jnp.full((self.blocks,), self.max_basal_factor, dtype), jnp.full((1,), 2.0, dtype)])
            return top * jax.nn.sigmoid(z[:-1] - jnp.log(top - 1.0))

        def correction(z: jax.Array) -> jax.Array:
            # In [0, max_correction], about 2 % of it at z = 0: the plan starts from no correction.
            return max_correction * jax.nn.sigmoid(z[-1] - 4.0)

        def predict(z: jax.Array) -> jax.Array:
            # (K, horizon_min) glucose of each member under plan z, with the offsets the plan uses, mg/dL.
            factor = factors(z)
            basal = jnp.repeat(factor[: self.blocks], block_min) * scheduled / 60.0
            insulin = basal + first * (factor[-1] * meal_bolus + correction(z)) / s
            _, pred = jax.vmap(lambda zz, p: self._run(zz, p, horizon_cho, insulin))(sim, self.params)
            return pred + planned[:, None]

        def cost(z: jax.Array) -> jax.Array:
            factor = factors(z)
            low, high = risk_function(jnp.maximum(predict(z), 1.0))
            risk = jnp.sum(w * jnp.mean(low + high, axis=-1))
            return risk + self.basal_penalty * jnp.mean((factor[: self.blocks] - 1.0) ** 2)

        tx = optax.adam(self.learning_rate)
        z0 = jnp.zeros((self.blocks + 2,), dtype)

        def update(carry: tuple[jax.Array, Any], _: None) -> tuple[tuple[jax.Array, Any], None]:
            z, opt = carry
            g = jax.grad(cost)(z)
            with jax.numpy_dtype_promotion("standard"):  # optax's step counter is int32
                upd, opt = tx.update(g, opt, z)
                return (optax.apply_updates(z, upd), opt), None

        with jax.numpy_dtype_promotion("standard"):
            opt0 = tx.init(z0)
        (z, _), _ = jax.lax.scan(update, (z0, opt0), None, length=self.iterations)
        factor = factors(z)
        meal_part = factor[-1] * meal_bolus
        # The correction goes in only while the plan's predicted glucose (the weighted members with their offsets)
        # stays at or above the guard over the whole horizon: the optimiser may trade a brief predicted low for hours
        # less high, and a twin 10 mg/dL off at the nadir turns that low into a real one (oref0 gives its
        # corrections only while its lowest predicted glucose stays above a threshold, for the same reason).
        lowest = jnp.min(jnp.sum(w[:, None] * predict(z), axis=0))
        bolus = meal_part + jnp.where(lowest >= self.correction_guard_mg_dl, correction(z), 0.0)
        # What is owed next is at most this decision's rule bolus plus what was owed: a plan that asks for more than
        # the rule (factor > 1) and is cut does not carry the excess, so a request withheld over many decisions
        # never grows by the factor at every one. A correction is never owed: the next plan decides afresh.
        carried = jnp.minimum(meal_part, meal_bolus)
        new_state = MPCState(sim=sim, log_weight=jnp.log(w), offset_mg_dl=offset, requested_bolus_u=carried)
        return new_state, Dose(basal_u_per_h=factor[0] * scheduled, bolus_u=bolus)
