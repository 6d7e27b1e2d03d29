"""`GlucoseEnv`: a twin as a Brax environment (``reset``/``step``, pure, jit- and vmap-able).

One step is one decision: the policy's dose is held over ``interval_min`` minutes (the CGM's sample time), during
which the patient eats the announced meals and the pump delivers the dose, one-minute RK4 steps. The episode starts
at midnight: the first ``history_len`` decisions are a warm-up under the scheduled basal that fills the CGM history
with real readings (no meal is sampled that early), then the policy acts until ``days`` days have passed.

People: each reset draws one parameter set from ``population`` (the 30 virtual patients, a cohort, or the draws of
a personalised posterior: `GlucoseEnv.from_posterior`), and a fresh meal scenario and sensor-noise series.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
from flax import struct

# brax.envs imports MuJoCo, whose optional GPU backend prints a line when the `warp` package is absent; it is not
# used here, so that line is kept off the user's console.
with contextlib.redirect_stdout(io.StringIO()):
    from brax.envs.base import Env, State

from twinlab.control._faults import SensorFault, fault_arrays
from twinlab.control._iob import iob_weights
from twinlab.control._safety import SafetyLayer
from twinlab.control._types import N_SCALARS, Dose, Observation
from twinlab.glucose._metrics import risk_function
from twinlab.glucose._params import PatientParams, check_patient_params
from twinlab.glucose._pump import InsulinPump, PumpInputs, WithPump
from twinlab.glucose._scenario import REFERENCE_MEAL_SLOTS, meal_days_to_dense, sample_meal_days
from twinlab.glucose._sensor import CGMSensor, SensorInputs, WithSensor
from twinlab.glucose._simulate import DEFAULT_SOLVER
from twinlab.glucose._uva_padova import UVAPadova
from twinlab.sim import SimState
from twinlab.sim._simulate import _step, strong


@struct.dataclass
class Core:
    """The environment's physical state (Brax's ``pipeline_state``) for one person.

    Attributes:
        sim: the patient, pump and sensor state.
        params: the person's `PatientParams`.
        cho_g: (T,) carbohydrate announced at each minute of the episode, g.
        noise_mg_dl: (T + 1,) sensor noise of each minute, mg/dL.
        minute: minutes since the start (int32).
        cgm_mg_dl: (H,) readings at the last H decisions, oldest first, mg/dL.
        insulin_u: (K,) insulin delivered in each of the last K intervals (the insulin action time), U.
        carbs_g: carbohydrate announced over the last interval, g.
        bg_mg_dl: (interval,) true blood glucose at each minute of the last interval, mg/dL.
        dose: the `Dose` requested for the last interval (before the pump's rounding).
    """

    sim: SimState
    params: PatientParams
    cho_g: jax.Array
    noise_mg_dl: jax.Array
    minute: jax.Array
    cgm_mg_dl: jax.Array
    insulin_u: jax.Array
    carbs_g: jax.Array
    bg_mg_dl: jax.Array
    dose: Dose


def risk_reward(bg_mg_dl: jax.Array, dose: Dose) -> jax.Array:
    """Minus the mean Magni risk over the interval's minutes (0 at 112.5 mg/dL, about -100 at 20 or 600).

    Model glucose at or below 0 (a lethal overdose) is scored as 1 mg/dL, the worst risk, instead of NaN.
    """
    del dose
    low, high = risk_function(jnp.maximum(bg_mg_dl, 1.0))
    return -jnp.mean(low + high)


def tir_reward(bg_mg_dl: jax.Array, dose: Dose) -> jax.Array:
    """Fraction of the interval's minutes in 70-180 mg/dL, minus 10 times the fraction below 54 mg/dL."""
    del dose
    in_range = jnp.mean(((bg_mg_dl >= 70) & (bg_mg_dl <= 180)).astype(bg_mg_dl.dtype))
    return in_range - 10.0 * jnp.mean((bg_mg_dl < 54).astype(bg_mg_dl.dtype))


REWARDS: dict[str, Callable[[jax.Array, Dose], jax.Array]] = {"risk": risk_reward, "tir": tir_reward}


def meal_bolus_u(obs: Observation, target_mg_dl: float = 140.0, threshold_mg_dl: float = 150.0) -> jax.Array:
    """The basal-bolus rule's bolus: ``C / CR + (g > threshold) (g - target) / CF`` when C g were announced, U."""
    g = jnp.nan_to_num(obs.latest_mg_dl, nan=0.0)
    correction = jnp.where(g > threshold_mg_dl, (g - target_mg_dl) / obs.correction_mg_dl_per_u, 0.0)
    return jnp.where(obs.carbs_g > 0, obs.carbs_g / obs.carb_ratio_g_per_u + correction, 0.0)


def residual_dose(obs: Observation, action: jax.Array) -> Dose:
    """A dose from an action in [-1, 1]^2 relative to basal-bolus: action 0 is exactly the basal-bolus rule.

    ``action[0]`` scales the scheduled basal from 0 (at -1) through 1 (at 0) to 3 times (at 1), piecewise linearly;
    ``action[1]`` scales the basal-bolus rule's meal bolus from 0 to 2 times.
    """
    a = jnp.clip(action, -1.0, 1.0)
    basal_factor = jnp.where(a[..., 0] < 0, 1.0 + a[..., 0], 1.0 + 2.0 * a[..., 0])
    return Dose(basal_u_per_h=obs.basal_u_per_h * basal_factor, bolus_u=(1.0 + a[..., 1]) * meal_bolus_u(obs))


class GlucoseEnv(Env):
    """A glucose twin as a Brax ``Env``: observation = `Observation.to_vector`, action in [-1, 1]^2.

    Args:
        population: `PatientParams` with a leading axis (the people a reset draws from), e.g.
            ``tl.glucose.patients(tl.glucose.patient_names())``; one person without the axis is accepted.
        days: episode length in days.
        reward: ``"risk"`` (minus the Magni risk), ``"tir"`` (time in range, hypoglycaemia penalised) or a
            callable ``(bg_mg_dl (interval,), dose) -> scalar``.
        safety: a `SafetyLayer` applied to every dose (its policy is ignored), or None.
        action_to_dose: maps (observation, action) to a `Dose`; default `residual_dose`.
        history_len: CGM readings in an observation.
        sensor: CGM name or `CGMSensor` (default Dexcom, 3 min); its sample time is the decision interval.
        pump: pump name or `InsulinPump` (default Insulet); ``straight_through=True`` for gradient training.
        sensor_noise: add the sensor's noise.
        meal_slots: the meal scenario (default simglucose's six slots).
        solver: integrator of each minute.
        faults: `SensorFault`s applied to the readings of every episode (minutes from midnight of the first day):
            dropouts, flat lines, compression lows and jumps that the policy and the safety layer see.
    """

    def __init__(
        self,
        population: PatientParams,
        days: int = 1,
        reward: str | Callable[[jax.Array, Dose], jax.Array] = "risk",
        safety: SafetyLayer | None = None,
        action_to_dose: Callable[[Observation, jax.Array], Dose] = residual_dose,
        history_len: int = 20,
        sensor: CGMSensor | str = "Dexcom",
        pump: InsulinPump | str = "Insulet",
        sensor_noise: bool = True,
        meal_slots: Any = REFERENCE_MEAL_SLOTS,
        solver: Any = None,
        faults: Any = (),
    ) -> None:
        if not isinstance(population, PatientParams):
            raise TypeError(f"population must be PatientParams (tl.glucose.patients(...)); got {type(population)}.")
        check_patient_params(population)
        if population.BW.ndim == 0:
            population = jax.tree.map(lambda v: jnp.asarray(v)[None], population)
        if isinstance(days, bool) or not isinstance(days, int) or days < 1:
            raise ValueError(f"days must be a positive whole number; got {days!r}.")
        if isinstance(reward, str) and reward not in REWARDS:
            raise ValueError(f"unknown reward {reward!r}. Fix: use one of {sorted(REWARDS)} or a callable.")
        self.population = strong(population)
        self.days = days
        self.reward_fn = REWARDS[reward] if isinstance(reward, str) else reward
        self.safety = safety
        self.action_to_dose = action_to_dose
        self.history_len = int(history_len)
        self.sensor = CGMSensor.named(sensor) if isinstance(sensor, str) else sensor
        self.pump = InsulinPump.named(pump) if isinstance(pump, str) else pump
        self.interval_min = int(self.sensor.sample_time_min)
        if safety is not None and safety.interval_min != self.interval_min:
            raise ValueError(
                f"the safety layer assumes {safety.interval_min}-minute decisions but the sensor reads every "
                f"{self.interval_min} minutes. Fix: SafetyLayer(..., interval_min={self.interval_min})."
            )
        self.sensor_noise = sensor_noise
        self.meal_slots = tuple(meal_slots)
        self.solver = DEFAULT_SOLVER if solver is None else solver
        self.model = WithSensor(model=WithPump(model=UVAPadova(), pump=strong(self.pump)), sensor=strong(self.sensor))
        self.minutes = 1440 * days
        self.warmup_min = self.history_len * self.interval_min
        first_meal = min(s.earliest_min for s in self.meal_slots)
        if self.warmup_min > first_meal:
            raise ValueError(
                f"the warm-up ({self.warmup_min} min) overlaps the first meal slot (minute {first_meal}). "
                "Fix: a shorter history_len."
            )
        self.iob_weights = iob_weights(self.interval_min)
        self.faults: tuple[SensorFault, ...] = tuple(faults)
        self._fault_missing, self._fault_flat, self._fault_offset = fault_arrays(self.faults, self.minutes)

    @classmethod
    def from_posterior(cls, posterior: Any, **kwargs: Any) -> GlucoseEnv:
        """An environment whose resets draw the person's parameters from a `twinlab.bayes.Posterior`'s draws."""
        return cls(posterior.params(), **kwargs)

    @property
    def observation_size(self) -> int:
        """Length of the observation vector: the CGM history and 10 scalars."""
        return self.history_len + N_SCALARS

    @property
    def action_size(self) -> int:
        """Two actions: basal and bolus (see ``action_to_dose``)."""
        return 2

    @property
    def backend(self) -> str:
        """Not a physics backend: the glucose model is integrated by twinlab."""
        return "twinlab"

    @property
    def n_people(self) -> int:
        """Number of parameter sets a reset draws from."""
        return int(self.population.BW.shape[0])

    def observation(self, core: Core) -> Observation:
        """What a policy sees in this state."""
        p = core.params
        return Observation(
            cgm_mg_dl=core.cgm_mg_dl,
            cgm_age_min=jnp.zeros((), core.cgm_mg_dl.dtype),
            iob_u=jnp.dot(core.insulin_u, self.iob_weights.astype(core.insulin_u.dtype)),
            carbs_g=core.carbs_g,
            minute_of_day=(core.minute % 1440).astype(core.cgm_mg_dl.dtype),
            basal_u_per_h=p.basal_u_per_min * 60.0,
            carb_ratio_g_per_u=p.therapy.carb_ratio_g_per_u,
            correction_mg_dl_per_u=p.therapy.correction_mg_dl_per_u,
            last_basal_u_per_h=core.dose.basal_u_per_h,
            last_bolus_u=core.dose.bolus_u,
        )

    def _advance(self, core: Core, dose: Dose) -> Core:
        """Hold a dose over one interval: meals, pump, patient and sensor, minute by minute."""
        s = self.interval_min
        dtype = core.cgm_mg_dl.dtype
        minutes = core.minute + jnp.arange(s, dtype=jnp.int32)
        cho = jnp.take(core.cho_g, minutes, mode="fill", fill_value=0.0)
        noise = jnp.take(core.noise_mg_dl, minutes + 1, mode="clip")
        basal = jnp.broadcast_to(jnp.asarray(dose.basal_u_per_h, dtype) / 60.0, (s,))
        bolus = jnp.broadcast_to(jnp.asarray(dose.bolus_u, dtype) / s, (s,))
        inputs = SensorInputs(
            inner=PumpInputs(cho_g=cho, basal_u_per_min=basal, bolus_u_per_min=bolus), noise_mg_dl=noise
        )
        body = partial(_step, self.model, self.solver, None, core.params, jnp.ones((), dtype))
        (sim, _), (outs, _) = jax.lax.scan(body, (core.sim, None), (minutes.astype(dtype), inputs))
        delivered = jnp.sum(self.pump.basal(basal) + self.pump.bolus(bolus))
        return core.replace(  # type: ignore[attr-defined]
            sim=sim,
            minute=core.minute + s,
            cgm_mg_dl=jnp.concatenate([core.cgm_mg_dl[1:], self._reported(core, outs["cgm"][-1])[None]]),
            insulin_u=jnp.concatenate([core.insulin_u[1:], delivered[None]]),
            carbs_g=jnp.sum(cho),
            bg_mg_dl=outs["bg"],
            dose=Dose(jnp.asarray(dose.basal_u_per_h, dtype), jnp.asarray(dose.bolus_u, dtype)),
        )

    def _reported(self, core: Core, reading: jax.Array) -> jax.Array:
        """The reading the sensor reports at the end of this interval, after the environment's faults."""
        if not self.faults:
            return reading
        m = jnp.minimum(core.minute + self.interval_min, self.minutes)
        dtype = reading.dtype
        reading = reading + jnp.asarray(self._fault_offset, dtype)[m]
        reading = jnp.where(jnp.asarray(self._fault_flat)[m], core.cgm_mg_dl[-1], reading)
        return jnp.where(jnp.asarray(self._fault_missing)[m], jnp.asarray(jnp.nan, dtype), reading)

    def reset_person(self, rng: jax.Array, index: jax.Array | int) -> State:
        """Reset with the ``index``-th parameter set (``reset`` draws the index at random)."""
        params = jax.tree.map(lambda v: v[index], self.population)
        k_meal, k_noise = jax.random.split(rng)
        dtype = params.BW.dtype
        cho = meal_days_to_dense(sample_meal_days(k_meal, self.days, self.meal_slots), self.minutes).astype(dtype)
        if self.sensor_noise:
            noise = self.sensor.noise(self.minutes, key=k_noise, dtype=dtype)
        else:
            noise = jnp.zeros(self.minutes + 1, dtype)
        sim = self.model.init(params, noise[0])
        first = self.model.observe(sim, params)["cgm"]
        core = Core(
            sim=sim,
            params=params,
            cho_g=cho,
            noise_mg_dl=noise,
            minute=jnp.zeros((), jnp.int32),
            cgm_mg_dl=jnp.full((self.history_len,), first, dtype),
            insulin_u=jnp.zeros(self.iob_weights.shape, dtype),
            carbs_g=jnp.zeros((), dtype),
            bg_mg_dl=jnp.zeros(self.interval_min, dtype),
            dose=Dose(jnp.zeros((), dtype), jnp.zeros((), dtype)),
        )
        basal = Dose(basal_u_per_h=params.basal_u_per_min * 60.0, bolus_u=jnp.zeros((), dtype))
        core = jax.lax.fori_loop(0, self.history_len, lambda _, c: self._advance(c, basal), core)
        zero = jnp.zeros((), dtype)
        obs = self.observation(core).to_vector()
        info = {"bg_mg_dl": core.bg_mg_dl, "dose": basal, "reasons": jnp.zeros((), jnp.int32)}
        return State(pipeline_state=core, obs=obs, reward=zero, done=zero, metrics={}, info=info)

    def reset(self, rng: jax.Array) -> State:
        """A new episode: a person drawn from the population, a meal scenario and a sensor-noise series."""
        k_person, k_rest = jax.random.split(rng)
        return self.reset_person(k_rest, jax.random.randint(k_person, (), 0, self.n_people))

    def step(self, state: State, action: jax.Array) -> State:
        """One decision from an action: ``action_to_dose``, the safety layer if any, then one interval."""
        obs = self.observation(state.pipeline_state)
        return self.step_dose(state, self.action_to_dose(obs, action))

    def step_dose(self, state: State, dose: Dose) -> State:
        """One decision from a dose in units (U/h, U): the safety layer if any, then one interval."""
        core = state.pipeline_state
        reasons = jnp.zeros((), jnp.int32)
        if self.safety is not None:
            dose, audit = self.safety.filter(self.observation(core), dose)
            reasons = audit.reasons
        core = self._advance(core, dose)
        dtype = core.cgm_mg_dl.dtype
        done = (core.minute >= self.minutes).astype(dtype)
        info = {**state.info, "bg_mg_dl": core.bg_mg_dl, "dose": dose, "reasons": reasons}
        return state.replace(
            pipeline_state=core,
            obs=self.observation(core).to_vector(),
            reward=jnp.asarray(self.reward_fn(core.bg_mg_dl, dose), dtype),
            done=done,
            info=info,
        )

    @property
    def decisions(self) -> int:
        """Decisions in one episode after the warm-up."""
        return (self.minutes - self.warmup_min) // self.interval_min
