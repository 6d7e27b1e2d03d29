"""Fixed-step integrators: one step of ``dx/dt = f(t, x, args)`` over ``[t, t + dt]``.

An integrator is an immutable pytree with one pure method, ``step(f, t, x, dt, args) -> x_next``. Fixed-step methods
keep the simulation one ``lax.scan`` with static shapes, so it compiles once and vmaps over individuals.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
from flax import struct

VectorField = Callable[..., jax.Array]


class RK4(struct.PyTreeNode):
    """Classical 4th-order Runge-Kutta with ``substeps`` equal sub-steps per simulation step.

    Attributes:
        substeps: sub-steps per step (static); the local error falls as ``substeps**-4``.

    Example:
        >>> import jax.numpy as jnp
        >>> x1 = RK4().step(lambda t, x, a: -x, 0.0, jnp.ones(1), 0.1, None)
        >>> round(float(x1[0]), 6)  # exp(-0.1) = 0.904837...
        0.904837
    """

    substeps: int = struct.field(pytree_node=False, default=1)

    def step(self, f: VectorField, t: Any, x: jax.Array, dt: Any, args: Any) -> jax.Array:
        """Advance ``x`` from ``t`` to ``t + dt``."""
        h = dt / self.substeps

        def one(i: int, x: jax.Array) -> jax.Array:
            s = t + i * h
            k1 = f(s, x, args)
            k2 = f(s + h / 2, x + h / 2 * k1, args)
            k3 = f(s + h / 2, x + h / 2 * k2, args)
            k4 = f(s + h, x + h * k3, args)
            return x + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)

        if self.substeps == 1:
            return one(0, x)
        return jax.lax.fori_loop(0, self.substeps, one, x)


class Euler(struct.PyTreeNode):
    """Explicit Euler with ``substeps`` sub-steps per step: cheap, first order; for tests and stiff-free toys."""

    substeps: int = struct.field(pytree_node=False, default=1)

    def step(self, f: VectorField, t: Any, x: jax.Array, dt: Any, args: Any) -> jax.Array:
        """Advance ``x`` from ``t`` to ``t + dt``."""
        h = dt / self.substeps
        return jax.lax.fori_loop(0, self.substeps, lambda i, x: x + h * f(t + i * h, x, args), x)
