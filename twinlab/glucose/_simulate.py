"""`tl.glucose.simulate`: one patient or a population through a `Schedule`, one-minute steps."""

from __future__ import annotations

from functools import partial
from typing import Any

import jax
import jax.numpy as jnp

from twinlab.glucose._params import PatientParams, check_patient_params
from twinlab.glucose._schedule import Schedule
from twinlab.glucose._uva_padova import GlucoseInputs, UVAPadova
from twinlab.sim import RK4, Trajectory, simulate_one
from twinlab.sim._simulate import strong

#: The default integrator: two RK4 sub-steps per minute. One sub-step per minute strays up to 0.22 mg/dL from an
#: adaptive solution when a patient's gastric emptying switches sharply (b close to 1, e.g. child#007); two keep
#: all 30 patients within 0.01 mg/dL on the accuracy schedules (tests/glucose/test_accuracy.py).
DEFAULT_SOLVER = RK4(substeps=2)


def schedule_inputs(
    params: PatientParams, cho_g: jax.Array, bolus_u: jax.Array, basal_u_per_h: jax.Array, own_basal: jax.Array
) -> GlucoseInputs:
    """Per-minute model inputs of one patient from a schedule's arrays (see `Schedule.arrays`), jittable.

    Returns:
        `GlucoseInputs` with leaves of shape (n_minutes,): announced carbohydrate (g) and insulin rate (U/min),
        the bolus delivered within its minute on top of the basal rate.
    """
    basal = own_basal * params.basal_u_per_min + basal_u_per_h / 60.0
    return GlucoseInputs(cho_g=cho_g, insulin_u_per_min=basal + bolus_u)


@partial(jax.jit, static_argnames=("save_states",))
def _run(
    model: UVAPadova, params: PatientParams, arrays: tuple[jax.Array, ...], solver: Any, save_states: bool
) -> Trajectory:
    def one(p: PatientParams) -> Trajectory:
        return simulate_one(model, p, schedule_inputs(p, *arrays), dt=1.0, solver=solver, save_states=save_states)

    if params.BW.ndim == 0:
        return one(params)
    traj = jax.vmap(one)(params)
    return traj.replace(t=traj.t[0])


def simulate(
    model: UVAPadova,
    params: PatientParams,
    schedule: Schedule | None = None,
    minutes: int = 1440,
    *,
    solver: Any = None,
    save_states: bool = False,
    names: list[str] | None = None,
) -> Trajectory:
    """Simulate one patient or a population for ``minutes`` one-minute steps, open loop, without sensor noise.

    Compiled once per (population size, minutes, solver): new parameter values or schedules reuse the compiled code.

    Args:
        model: `UVAPadova()`.
        params: `patient(name)` (one patient) or `patients(names)` (leading axis P).
        schedule: meals, boluses and basal (default: no meals, no boluses, the patient's own basal).
        minutes: simulated minutes.
        solver: integrator (default `DEFAULT_SOLVER`, RK4 with two sub-steps per minute; see ``twinlab.sim``).
        save_states: keep the 13 states in ``traj.x``.
        names: names of the individuals, kept on the trajectory for tables.

    Returns:
        A `twinlab.sim.Trajectory`: ``traj.bg`` has shape (minutes + 1,) or (P, minutes + 1), minute 0 first.

    Raises:
        ValueError: for invalid parameters, negative or non-finite meals or insulin, or events outside the window.
    """
    if not isinstance(model, UVAPadova):
        raise TypeError(
            f"tl.glucose.simulate takes a tl.glucose.UVAPadova model; got {type(model).__name__}. "
            "Fix: use tl.sim.simulate for other models."
        )
    if not isinstance(params, PatientParams):
        raise TypeError(
            f"params must be tl.glucose.patient(name) or tl.glucose.patients(names); got {type(params).__name__}."
        )
    check_patient_params(params)
    model.population_size(params)  # raises on mismatched population shapes
    schedule = Schedule() if schedule is None else schedule
    dtype = params.BW.dtype
    arrays = tuple(jnp.asarray(a, dtype=dtype) for a in schedule.arrays(int(minutes)))
    traj = _run(model, strong(params), arrays, DEFAULT_SOLVER if solver is None else solver, save_states)
    if names is not None:
        traj = traj.replace(names=tuple(names))
    return traj
