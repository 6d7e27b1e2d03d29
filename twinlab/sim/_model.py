"""The simulator contract: what a twinlab model is.

A model describes *structure*: state names and units, the inputs it takes, the discrete update it makes at the start
of each step and the continuous vector field it integrates over the step. Parameter *values* are a separate pytree
(one individual: scalar leaves; a population: the same pytree with a leading axis). The integrator is a third object
and `twinlab.sim.simulate` the fourth: the driver.

Each step of length ``dt`` runs, for a model ``m``::

    state, held = m.hold(state, inputs_k, params)                 # discrete part: events, memories, zero-order hold
    state.x     = solver.step(m.vector_field, t_k, state.x, dt, (held, params))   # continuous part
    outputs     = m.observe(state, params)
"""

from __future__ import annotations

from typing import Any, ClassVar

import jax
import jax.numpy as jnp
from flax import struct

PyTree = Any


class SimState(struct.PyTreeNode):
    """The state a simulation carries from step to step.

    Attributes:
        x: continuous state vector, shape (n_states,), integrated by the solver.
        z: discrete memory (a pytree; an empty tuple when the model has none), changed only by ``Model.hold``.
    """

    x: jax.Array
    z: PyTree = ()


class Model(struct.PyTreeNode):
    """Base class of simulator models (an immutable pytree; configuration fields are static).

    Subclasses set the class attributes ``state_names``/``state_units``/``output_units`` and implement
    ``init``, ``vector_field`` and ``observe``; ``hold`` defaults to passing the step's inputs through unchanged.
    """

    state_names: ClassVar[tuple[str, ...]] = ()
    state_units: ClassVar[tuple[str, ...]] = ()
    output_units: ClassVar[dict[str, str]] = {}

    def init(self, params: PyTree) -> SimState:
        """Initial state of one individual."""
        raise NotImplementedError(f"{type(self).__name__} must implement init(params)")  # abstract

    def hold(self, state: SimState, inputs: PyTree, params: PyTree) -> tuple[SimState, PyTree]:
        """Discrete update at the start of a step; returns the new state and the inputs held over the step."""
        del params
        return state, inputs

    def vector_field(self, t: jax.Array, x: jax.Array, held: PyTree, params: PyTree) -> jax.Array:
        """Time derivative of the continuous state, shape (n_states,)."""
        raise NotImplementedError(f"{type(self).__name__} must implement vector_field")  # abstract

    def observe(self, state: SimState, params: PyTree) -> dict[str, jax.Array]:
        """Named outputs of one state (scalars or small arrays), in the units of ``output_units``."""
        raise NotImplementedError(f"{type(self).__name__} must implement observe")  # abstract

    def population_size(self, params: PyTree) -> int | None:
        """Size of the population axis of ``params``, or None for one individual.

        The default treats parameters as scalars per individual; models with array-valued parameters override it.
        """
        return population_size(params)


def population_size(params: PyTree) -> int | None:
    """Leading population axis of a pytree of per-individual scalars, or None when every leaf is a scalar.

    Raises:
        ValueError: when some leaves are batched and others are not, or batched leaves disagree in size.
    """
    leaves = jax.tree_util.tree_leaves(params)
    shapes = [jnp.shape(leaf) for leaf in leaves]
    if all(len(s) == 0 for s in shapes):
        return None
    sizes = {s[0] if len(s) >= 1 else None for s in shapes}
    if len(sizes) != 1 or None in sizes:
        paths = [
            f"{jax.tree_util.keystr(p)}: {jnp.shape(v)}" for p, v in jax.tree_util.tree_flatten_with_path(params)[0]
        ]
        raise ValueError(
            "Mismatched population shapes: every parameter must be a scalar (one individual) or carry the same "
            "leading population axis. Got shapes:\n  " + "\n  ".join(paths) + "\nFix: stack individuals with "
            "twinlab.sim.stack (or tl.glucose.patients(names)) so that every leaf has the same leading axis."
        )
    (size,) = sizes
    assert size is not None  # excluded above
    return int(size)


def stack(individuals: list[PyTree]) -> PyTree:
    """Stack individual parameter pytrees into a population pytree with a leading axis.

    Args:
        individuals: pytrees of identical structure.

    Returns:
        One pytree whose leaves have shape (len(individuals), ...).
    """
    if not individuals:
        raise ValueError("stack() needs at least one individual; got an empty list.")
    return jax.tree_util.tree_map(lambda *xs: jnp.stack(xs), *individuals)


def unstack(population: PyTree) -> list[PyTree]:
    """Split a population pytree into a list of individuals (the inverse of `stack`)."""
    n = population_size(population)
    if n is None:
        return [population]
    return [jax.tree_util.tree_map(lambda v, i=i: v[i], population) for i in range(n)]
