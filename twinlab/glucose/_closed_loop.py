"""`simulate_closed_loop`: patients, CGM, pump and controller in one jit-compiled scan (simglucose's T1DSimEnv)."""

from __future__ import annotations

from functools import partial
from typing import Any

import jax
import jax.numpy as jnp

from twinlab.glucose._params import PatientParams, check_patient_params
from twinlab.glucose._pump import InsulinPump, PumpInputs, WithPump
from twinlab.glucose._schedule import Schedule
from twinlab.glucose._sensor import CGMSensor, WithSensor
from twinlab.glucose._simulate import DEFAULT_SOLVER
from twinlab.sim import Model, Trajectory, simulate_one
from twinlab.sim._simulate import strong

PyTree = Any


@partial(jax.jit, static_argnames=("sensor_noise", "save_states"))
def _run_closed_loop(
    model: WithSensor,
    params: PatientParams,
    cho_g: jax.Array,
    controller: Any,
    key: jax.Array,
    solver: Any,
    sensor_noise: bool,
    save_states: bool,
) -> Trajectory:
    minutes = cho_g.shape[0]
    dtype = cho_g.dtype

    def one(p: PatientParams, k: jax.Array) -> Trajectory:
        noise = model.sensor.noise(minutes, key=k, dtype=dtype) if sensor_noise else jnp.zeros(minutes + 1, dtype)
        zeros = jnp.zeros_like(cho_g)
        state0, inputs = model.start(p, PumpInputs(cho_g=cho_g, basal_u_per_min=zeros, bolus_u_per_min=zeros), noise)
        return simulate_one(
            model,
            p,
            inputs,
            dt=1.0,
            solver=solver,
            policy=controller,
            policy_state=controller.init(p),
            state0=state0,
            save_states=save_states,
        )

    n = model.population_size(params)
    if n is None:
        return one(params, key)
    traj = jax.vmap(one)(params, jax.random.split(key, n))
    return traj.replace(t=traj.t[0])


def _named(value: Any, kind: Any, default: str, what: str) -> Any:
    if value is None:
        return kind.named(default)
    if isinstance(value, str):
        return kind.named(value)
    if not isinstance(value, kind):
        raise TypeError(
            f"{what} must be a {kind.__name__} or the name of one; got {type(value).__name__}. "
            f"Fix: pass e.g. {kind.__name__}.named({default!r})."
        )
    return value


def simulate_closed_loop(
    model: Model,
    params: PatientParams,
    controller: Any,
    schedule: Schedule | None = None,
    minutes: int = 1440,
    *,
    key: jax.Array | None = None,
    sensor: CGMSensor | str | None = None,
    pump: InsulinPump | str | None = None,
    sensor_noise: bool = True,
    solver: Any = None,
    save_states: bool = False,
    names: list[str] | None = None,
) -> Trajectory:
    """Simulate one patient or a population under a controller that sees a CGM and acts through a pump.

    The loop of simglucose's ``T1DSimEnv``, one-minute steps: each minute the controller (e.g. `BasalBolus`, `PID`)
    sees the CGM shown and the carbohydrate announced so far, and asks for basal and bolus rates; the pump quantises
    and limits them; the patient eats and integrates over the minute; the sensor reads at its sample times. Compiled
    once per (population size, minutes, solver, static configuration): new meals, parameters, keys or controller
    gains reuse the compiled code. Gradients with respect to controller gains or patient parameters flow through
    everything but the pump's rounding; use ``InsulinPump.named(..., straight_through=True)`` to pass them through.

    Args:
        model: the patient model, `UVAPadova()` (it is wrapped here as ``WithSensor(WithPump(model, pump), sensor)``).
        params: `patient(name)` or `patients(names)` (leading axis P).
        controller: a controller pytree with ``init(params)`` and ``step(state, observation, inputs, t, params)``;
            a ``sample_time_min`` of None is set to the sensor's.
        schedule: the meals (default none). Insulin is the controller's: a schedule with boluses or basal raises.
        minutes: simulated minutes.
        key: PRNG key of the sensor noise (needed when ``sensor_noise``): one patient's noise is
            ``sensor.noise(minutes, key=key)`` in the parameters' dtype; patient i of a population gets the noise of
            key ``jax.random.split(key, P)[i]``.
        sensor: a `CGMSensor` or its name (default ``"Dexcom"``, 3-minute readings).
        pump: an `InsulinPump` or its name (default ``"Insulet"``).
        sensor_noise: False: readings are the clipped true glucose at sample times.
        solver: integrator (default `DEFAULT_SOLVER`).
        save_states: keep the 13 states in ``traj.x``.
        names: names of the individuals, kept on the trajectory.

    Returns:
        A `twinlab.sim.Trajectory` with outputs ``bg``, ``cgm`` (mg/dL), ``insulin_u_per_min`` (delivered over the
        minute ending at each time), ``eaten_g_per_min``, ``plasma_glucose`` and ``plasma_insulin``, each of shape
        (minutes + 1,) or (P, minutes + 1).

    Raises:
        ValueError: for a schedule with boluses or basal, an unknown sensor or pump name, invalid parameters, meals
            outside the window, or a missing key.
        TypeError: for a model that is already wrapped, or a controller without ``init``/``step``.

    Example:
        >>> import jax, twinlab as tl
        >>> from twinlab.glucose._controllers import BasalBolus
        >>> traj = simulate_closed_loop(tl.glucose.UVAPadova(), tl.glucose.patient("adult#001"), BasalBolus(),
        ...                             tl.glucose.Schedule(meals=[(60, 50.0)]), 240, key=jax.random.key(0))
        >>> traj.cgm.shape
        (241,)
    """
    if isinstance(model, WithSensor | WithPump) or not isinstance(model, Model):
        raise TypeError(
            f"model must be the bare patient model (e.g. tl.glucose.UVAPadova()); got "
            f"{type(model).__name__}. Fix: pass sensor= and pump= instead of wrapping the model."
        )
    if not isinstance(params, PatientParams):
        raise TypeError(
            f"params must be tl.glucose.patient(name) or tl.glucose.patients(names); got {type(params).__name__}."
        )
    if not (callable(getattr(controller, "init", None)) and callable(getattr(controller, "step", None))):
        raise TypeError(
            f"controller must have init(params) and step(state, observation, inputs, t, params); got "
            f"{type(controller).__name__}. Fix: use BasalBolus(), PID(kp=...) or a pytree like them."
        )
    schedule = Schedule() if schedule is None else schedule
    if schedule.boluses or schedule.basal is not None:
        raise ValueError(
            "In closed loop the controller decides the insulin, but the schedule has "
            f"boluses={list(schedule.boluses or ())} and basal={schedule.basal!r}. Fix: pass a schedule "
            "with meals only, e.g. Schedule(meals=schedule.meals)."
        )
    cgm: CGMSensor = _named(sensor, CGMSensor, "Dexcom", "sensor")
    insulin_pump: InsulinPump = _named(pump, InsulinPump, "Insulet", "pump")
    if sensor_noise and key is None:
        raise ValueError(
            "simulate_closed_loop needs key= for the sensor noise. Fix: pass key=jax.random.key(0), "
            "or sensor_noise=False for noise-free readings."
        )
    key = jax.random.key(0) if key is None else key
    if getattr(controller, "sample_time_min", 0) is None:
        controller = controller.replace(sample_time_min=cgm.sample_time_min)
    check_patient_params(params)
    model.population_size(params)  # raises on mismatched population shapes
    dtype = params.BW.dtype
    cho_g = jnp.asarray(schedule.arrays(int(minutes))[0], dtype=dtype)
    wrapped = WithSensor(model=WithPump(model=model, pump=strong(insulin_pump)), sensor=strong(cgm))
    traj = _run_closed_loop(
        wrapped,
        strong(params),
        cho_g,
        strong(controller),
        key,
        DEFAULT_SOLVER if solver is None else solver,
        sensor_noise,
        save_states,
    )
    if names is not None:
        traj = traj.replace(names=tuple(names))
    return traj
