"""Insulin controllers as pure ``init``/``step`` pytrees: simglucose 0.2.11's basal-bolus and PID controllers.

A controller is the ``policy`` of ``twinlab.sim.simulate_one``: before each one-minute step it gets the outputs of
the current state (``observation["cgm"]``, or ``observation["bg"]`` for a model without sensor), the minute's inputs
and the time, and returns the inputs with the insulin it asks for. It sets ``basal_u_per_min`` and
``bolus_u_per_min`` of `PumpInputs` (or ``insulin_u_per_min = basal + bolus`` of `GlucoseInputs`), inside a
`SensorInputs` too. Announced carbohydrate comes from ``inputs.cho_g``; a controller never sees a later minute.

Timing (the reference ``T1DSimEnv`` with its ``SimObj`` loop): a controller acts at minutes that are multiples of
``sample_time_min`` (the sensor's sample time in the reference) and holds its action for the next
``sample_time_min`` minutes. What the reference controller sees at minute t is what ``env.step`` returns for the
period that just ended: the mean of the CGM shown at minutes t - S + 1 .. t (S = ``sample_time_min``; with a 3-min
sensor that is ``(2 * reading(t - 3) + reading(t)) / 3``), the reading itself at t = 0, and the carbohydrate
announced at minutes t - S .. t - 1. ``period_average=True`` (default) reproduces this; ``False`` uses the
reading shown at minute t instead.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from flax import struct

from twinlab.glucose._params import PatientParams
from twinlab.glucose._pump import PumpInputs
from twinlab.glucose._sensor import SensorInputs
from twinlab.glucose._uva_padova import GlucoseInputs

PyTree = Any


def announced_carbs_g(inputs: PyTree) -> jax.Array:
    """Carbohydrate announced at this minute, g, from `GlucoseInputs`, `PumpInputs` or `SensorInputs`."""
    if isinstance(inputs, SensorInputs):
        return announced_carbs_g(inputs.inner)
    if isinstance(inputs, GlucoseInputs | PumpInputs):
        return jnp.asarray(inputs.cho_g)
    raise TypeError(
        f"A controller cannot read the carbohydrate of {type(inputs).__name__} inputs. Fix: drive a "
        "model whose inputs are GlucoseInputs, PumpInputs or SensorInputs wrapping one of them."
    )


def with_insulin(inputs: PyTree, basal_u_per_min: jax.Array, bolus_u_per_min: jax.Array) -> PyTree:
    """The inputs with the requested basal and bolus rates (U/min) filled in; see the module docstring."""
    if isinstance(inputs, SensorInputs):
        return SensorInputs(
            inner=with_insulin(inputs.inner, basal_u_per_min, bolus_u_per_min), noise_mg_dl=inputs.noise_mg_dl
        )
    if isinstance(inputs, PumpInputs):
        return PumpInputs(cho_g=inputs.cho_g, basal_u_per_min=basal_u_per_min, bolus_u_per_min=bolus_u_per_min)
    if isinstance(inputs, GlucoseInputs):
        return GlucoseInputs(cho_g=inputs.cho_g, insulin_u_per_min=basal_u_per_min + bolus_u_per_min)
    raise TypeError(
        f"A controller cannot set the insulin of {type(inputs).__name__} inputs. Fix: drive a model "
        "whose inputs are GlucoseInputs, PumpInputs or SensorInputs wrapping one of them."
    )


def _glucose(observation: dict[str, jax.Array]) -> jax.Array:
    if "cgm" in observation:
        return jnp.asarray(observation["cgm"])
    if "bg" in observation:
        return jnp.asarray(observation["bg"])
    raise KeyError(f"A controller needs the output 'cgm' or 'bg' (mg/dL); the model outputs {sorted(observation)}.")


def _sample_time(controller: Any) -> int:
    s = controller.sample_time_min
    if s is None:
        raise ValueError(
            f"{type(controller).__name__}.sample_time_min is None. Fix: pass sample_time_min (the "
            "sensor's sample time, e.g. 3 for Dexcom), or run it with simulate_closed_loop, which "
            "fills in the sensor's."
        )
    if not isinstance(s, int) or s < 1:
        raise ValueError(f"sample_time_min must be a positive whole number of minutes; got {s!r}.")
    return s


def _period(
    controller: Any, cgm_sum: jax.Array, count: jax.Array, observation: dict[str, jax.Array], t: jax.Array
) -> tuple[jax.Array, jax.Array, jax.Array, jax.Array]:
    """(glucose the controller acts on, whether it acts now, running CGM sum, count) at minute t."""
    s = _sample_time(controller)
    cgm = _glucose(observation).astype(cgm_sum.dtype)
    cgm_sum, count = cgm_sum + cgm, count + 1.0
    acts = jnp.round(t).astype(jnp.int32) % s == 0
    glucose = cgm_sum / count if controller.period_average else cgm
    return glucose, acts, jnp.where(acts, 0.0, cgm_sum), jnp.where(acts, 0.0, count)


@struct.dataclass
class BasalBolusState:
    """State of `BasalBolus` (scalars for one patient).

    Attributes:
        cgm_sum_mg_dl: sum of the CGM shown since the last action, mg/dL.
        cgm_count: number of minutes in that sum.
        carbs_g: carbohydrate announced since the last action, g.
        basal_u_per_min: basal rate held until the next action, U/min.
        bolus_u_per_min: bolus rate held until the next action, U/min.
    """

    cgm_sum_mg_dl: jax.Array
    cgm_count: jax.Array
    carbs_g: jax.Array
    basal_u_per_min: jax.Array
    bolus_u_per_min: jax.Array


class BasalBolus(struct.PyTreeNode):
    """The reference ``BBController``: the patient's steady basal, and a meal bolus with correction.

    At each action (see the module docstring for timing) the basal is ``u2ss * BW / 6000`` U/min; if carbohydrate
    C (g) was announced in the period just ended, a bolus of ``C / CR + (g > 150) * (g - target) / CF`` units is
    delivered at a constant rate over the next ``sample_time_min`` minutes (g: the glucose acted on; CR, CF: the
    patient's ``params.therapy``). The correction is only given with a meal, as in the reference.

    Attributes:
        target_mg_dl: glucose target of the correction, mg/dL.
        correction_threshold_mg_dl: glucose above which a meal bolus is corrected, mg/dL (150 in the reference).
        sample_time_min: minutes between actions (static); None: the sensor's, filled in by simulate_closed_loop.
        period_average: act on the mean CGM of the period just ended, as the reference (static; default True).
    """

    target_mg_dl: jax.Array | float = 140.0
    correction_threshold_mg_dl: jax.Array | float = 150.0
    sample_time_min: int | None = struct.field(pytree_node=False, default=None)
    period_average: bool = struct.field(pytree_node=False, default=True)

    def init(self, params: PatientParams) -> BasalBolusState:
        """Initial state: nothing accumulated, no insulin requested yet (the first action is at minute 0)."""
        zero = jnp.zeros((), jnp.asarray(params.BW).dtype)
        return BasalBolusState(zero, zero, zero, zero, zero)

    def step(
        self,
        state: BasalBolusState,
        observation: dict[str, jax.Array],
        inputs: PyTree,
        t: jax.Array,
        params: PatientParams,
    ) -> tuple[BasalBolusState, PyTree]:
        """One minute: act if due, then record the minute's announced carbohydrate; returns (state, inputs)."""
        glucose, acts, cgm_sum, count = _period(self, state.cgm_sum_mg_dl, state.cgm_count, observation, t)
        dtype, s = glucose.dtype, _sample_time(self)
        target = jnp.asarray(self.target_mg_dl, dtype)
        threshold = jnp.asarray(self.correction_threshold_mg_dl, dtype)
        therapy = params.therapy
        correction = jnp.where(glucose > threshold, (glucose - target) / therapy.correction_mg_dl_per_u, 0.0)
        carbs = state.carbs_g
        bolus_u = jnp.where(carbs > 0, carbs / therapy.carb_ratio_g_per_u + correction, 0.0)
        basal = jnp.where(acts, params.basal_u_per_min, state.basal_u_per_min)
        bolus = jnp.where(acts, bolus_u / s, state.bolus_u_per_min)
        carbs = jnp.where(acts, 0.0, carbs) + announced_carbs_g(inputs).astype(dtype)
        new = BasalBolusState(
            cgm_sum_mg_dl=cgm_sum, cgm_count=count, carbs_g=carbs, basal_u_per_min=basal, bolus_u_per_min=bolus
        )
        return new, with_insulin(inputs, basal, bolus)


@struct.dataclass
class PIDState:
    """State of `PID` (scalars for one patient).

    Attributes:
        cgm_sum_mg_dl: sum of the CGM shown since the last action, mg/dL.
        cgm_count: number of minutes in that sum.
        integral_mg_dl_min: integral of (glucose - target) over past actions, mg/dL*min.
        previous_mg_dl: glucose at the previous action (0 before the first, as the reference), mg/dL.
        basal_u_per_min: rate held until the next action, U/min.
    """

    cgm_sum_mg_dl: jax.Array
    cgm_count: jax.Array
    integral_mg_dl_min: jax.Array
    previous_mg_dl: jax.Array
    basal_u_per_min: jax.Array


class PID(struct.PyTreeNode):
    """The reference ``PIDController``: basal = kp * e + ki * integral + kd * (g - g_prev) / S, no bolus.

    With e = g - target, positive gains give more insulin when glucose is high. The integral is accumulated after
    each action as ``e * S`` (mg/dL*min, S = ``sample_time_min``), with no anti-windup, as the reference. As the
    reference, g_prev starts at 0, so with ``kd != 0`` the first action carries a derivative kick of
    ``kd * g / S``.

    Attributes:
        kp: proportional gain, U/min per mg/dL.
        ki: integral gain, U/min per (mg/dL*min).
        kd: derivative gain, U/min per (mg/dL/min).
        target_mg_dl: glucose target, mg/dL.
        sample_time_min: minutes between actions (static); None: the sensor's, filled in by simulate_closed_loop.
        clip_nonnegative: request max(rate, 0): a negative insulin rate is not physical (static; default True).
            The reference requests the raw rate and its pump clips it at ``min_basal = 0``; through a pump both
            deliver the same insulin. Set False to reproduce the requested rates of the reference.
        period_average: act on the mean CGM of the period just ended, as the reference (static; default True).
    """

    kp: jax.Array | float
    ki: jax.Array | float = 0.0
    kd: jax.Array | float = 0.0
    target_mg_dl: jax.Array | float = 140.0
    sample_time_min: int | None = struct.field(pytree_node=False, default=None)
    clip_nonnegative: bool = struct.field(pytree_node=False, default=True)
    period_average: bool = struct.field(pytree_node=False, default=True)

    def init(self, params: PatientParams) -> PIDState:
        """Initial state: zero integral, previous glucose 0, no insulin requested yet."""
        zero = jnp.zeros((), jnp.asarray(params.BW).dtype)
        return PIDState(zero, zero, zero, zero, zero)

    def step(
        self, state: PIDState, observation: dict[str, jax.Array], inputs: PyTree, t: jax.Array, params: PatientParams
    ) -> tuple[PIDState, PyTree]:
        """One minute: act if due; returns (state, inputs with basal set and bolus 0)."""
        del params
        glucose, acts, cgm_sum, count = _period(self, state.cgm_sum_mg_dl, state.cgm_count, observation, t)
        dtype, s = glucose.dtype, _sample_time(self)
        kp, ki, kd, target = (jnp.asarray(v, dtype) for v in (self.kp, self.ki, self.kd, self.target_mg_dl))
        error = glucose - target
        rate = kp * error + ki * state.integral_mg_dl_min + kd * (glucose - state.previous_mg_dl) / s
        if self.clip_nonnegative:
            rate = jnp.maximum(rate, 0.0)
        new = PIDState(
            cgm_sum_mg_dl=cgm_sum,
            cgm_count=count,
            integral_mg_dl_min=jnp.where(acts, state.integral_mg_dl_min + error * s, state.integral_mg_dl_min),
            previous_mg_dl=jnp.where(acts, glucose, state.previous_mg_dl),
            basal_u_per_min=jnp.where(acts, rate, state.basal_u_per_min),
        )
        return new, with_insulin(inputs, new.basal_u_per_min, jnp.zeros_like(new.basal_u_per_min))
