"""`simulate`: the pure driver that steps a model over time with ``lax.scan``."""

from __future__ import annotations

from functools import partial
from typing import Any

import jax
import jax.numpy as jnp

from twinlab.sim._integrators import RK4
from twinlab.sim._model import Model, SimState
from twinlab.sim._trajectory import Trajectory

PyTree = Any


def _step(
    model: Model,
    solver: Any,
    policy: Any,
    params: PyTree,
    dt: jax.Array,
    carry: tuple[SimState, PyTree],
    step_in: tuple[jax.Array, PyTree],
) -> tuple[tuple[SimState, PyTree], tuple[dict[str, jax.Array], jax.Array]]:
    state, policy_state = carry
    t, inputs = step_in
    if policy is not None:
        policy_state, inputs = policy.step(policy_state, model.observe(state, params), inputs, t, params)
    state, held = model.hold(state, inputs, params)
    x = solver.step(lambda s, x, a: model.vector_field(s, x, a[0], a[1]), t, state.x, dt, (held, params))
    state = state.replace(x=x)
    return (state, policy_state), (model.observe(state, params), x)


def simulate_one(
    model: Model,
    params: PyTree,
    inputs: PyTree,
    *,
    dt: float | jax.Array = 1.0,
    t0: float | jax.Array = 0.0,
    solver: Any = None,
    policy: Any = None,
    policy_state: Any = None,
    save_states: bool = True,
    state0: SimState | None = None,
) -> Trajectory:
    """Simulate one individual (unjitted; `simulate` jits and vmaps this).

    Args:
        model: a `twinlab.sim.Model`.
        params: one individual's parameter pytree.
        inputs: pytree of per-step inputs, each leaf of shape (n_steps, ...).
        dt: step length, in the model's time unit.
        t0: start time.
        solver: integrator (default ``RK4()``).
        policy: optional closed-loop controller with ``step(pstate, observation, inputs, t, params)``
            returning ``(pstate, inputs)``; it sees the outputs of the current state before each step.
        policy_state: the policy's initial state (from its ``init``).
        save_states: keep the continuous states in the trajectory.
        state0: initial state (default ``model.init(params)``).

    Returns:
        A `Trajectory` with n_steps + 1 times (the initial state first).
    """
    solver = RK4() if solver is None else solver
    state = model.init(params) if state0 is None else state0
    n_steps = jax.tree_util.tree_leaves(inputs)[0].shape[0]
    dt = jnp.asarray(dt, dtype=state.x.dtype)
    times = t0 + dt * jnp.arange(n_steps + 1, dtype=state.x.dtype)
    body = partial(_step, model, solver, policy, params, dt)
    _, (outs, xs) = jax.lax.scan(body, (state, policy_state), (times[:-1], inputs))
    first = model.observe(state, params)
    outputs = {k: jnp.concatenate([jnp.asarray(first[k])[None], v]) for k, v in outs.items()}
    x = jnp.concatenate([state.x[None], xs]) if save_states else None
    units = (("t", getattr(model, "time_unit", "")), *tuple(model.output_units.items()))
    return Trajectory(
        t=times,
        x=x,
        outputs=outputs,
        state_names=tuple(model.state_names),
        units=units,
        state_units=tuple(model.state_units),
    )


@partial(jax.jit, static_argnames=("save_states", "inputs_batched"))
def _simulate_jit(
    model: Model,
    params: PyTree,
    inputs: PyTree,
    dt: jax.Array,
    t0: jax.Array,
    solver: Any,
    save_states: bool,
    inputs_batched: bool,
) -> Trajectory:
    def one(p: PyTree, u: PyTree) -> Trajectory:
        return simulate_one(model, p, u, dt=dt, t0=t0, solver=solver, save_states=save_states)

    if model.population_size(params) is None:
        return one(params, inputs)
    traj = jax.vmap(one, in_axes=(0, 0 if inputs_batched else None))(params, inputs)
    return traj.replace(t=traj.t[0])


def simulate(
    model: Model,
    params: PyTree,
    inputs: PyTree,
    *,
    dt: float = 1.0,
    t0: float = 0.0,
    solver: Any = None,
    save_states: bool = True,
    inputs_batched: bool = False,
) -> Trajectory:
    """Simulate one individual or a whole population, jit-compiled once per shape.

    Changing parameter or input *values* never recompiles; changing shapes, the model's static configuration or the
    solver does.

    Args:
        model: a `twinlab.sim.Model`.
        params: parameters of one individual (scalar leaves) or a population (leading axis P on every leaf).
        inputs: per-step inputs, leaves of shape (n_steps, ...), or (P, n_steps, ...) with ``inputs_batched``.
        dt: step length in the model's time unit.
        t0: start time.
        solver: integrator (default ``RK4()``; ``twinlab.sim.Diffrax()`` for adaptive stepping).
        save_states: keep the continuous states.
        inputs_batched: the inputs carry the population axis too (otherwise all individuals share them).

    Returns:
        A `Trajectory`; its outputs have shape (n_steps + 1,) or (P, n_steps + 1).

    Example:
        >>> import twinlab as tl
        >>> model = tl.glucose.UVAPadova()
        >>> traj = tl.glucose.simulate(model, tl.glucose.patient("adult#001"), tl.glucose.Schedule(), minutes=60)
        >>> traj.bg.shape
        (61,)
    """
    solver = RK4() if solver is None else solver
    n = model.population_size(params)
    if inputs_batched:
        sizes = {jnp.shape(leaf)[0] for leaf in jax.tree_util.tree_leaves(inputs)}
        if n is None or sizes != {n}:
            raise ValueError(
                f"inputs_batched=True needs every input leaf to lead with the population axis ({n}); got leading "
                f"sizes {sorted(sizes)}. Fix: stack per-individual inputs along axis 0, or pass inputs_batched=False "
                "to share one input series across the population."
            )
    params, inputs = strong(params), strong(inputs)
    return _simulate_jit(model, params, inputs, strong(dt), strong(t0), solver, save_states, inputs_batched)


def strong(tree: PyTree) -> PyTree:
    """Leaves as strongly typed arrays: a Python float and a float array then share one compiled function.

    (JAX marks arrays made from Python scalars "weakly typed", and weak and strong types trace separately.)
    """

    def one(v: Any) -> jax.Array:
        v = jnp.asarray(v)
        return jnp.asarray(v, dtype=v.dtype)

    return jax.tree_util.tree_map(one, tree)
