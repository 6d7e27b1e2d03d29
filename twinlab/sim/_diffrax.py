"""Adaptive integration through diffrax, as an integrator with the same ``step`` contract."""

from __future__ import annotations

from typing import Any

import jax
from flax import struct

from twinlab.sim._integrators import VectorField

MSG_NO_DIFFRAX = (
    "twinlab.sim.Diffrax needs the optional dependency diffrax. Fix: pip install 'twinlab[adaptive]' "
    "(or use the default fixed-step twinlab.sim.RK4)."
)


class Diffrax(struct.PyTreeNode):
    """Adaptive-step integration of each simulation step with ``diffrax.diffeqsolve``.

    Inputs are held constant over a step, so each step is one smooth initial-value problem; diffrax chooses its own
    sub-steps inside it with a PID step-size controller.

    Attributes:
        solver: a diffrax solver instance (default ``diffrax.Tsit5()``); static.
        rtol: relative tolerance.
        atol: absolute tolerance.
        max_steps: most internal steps per simulation step (static).
    """

    solver: Any = struct.field(pytree_node=False, default=None)
    rtol: float = struct.field(pytree_node=False, default=1e-6)
    atol: float = struct.field(pytree_node=False, default=1e-9)
    max_steps: int = struct.field(pytree_node=False, default=4096)

    def step(self, f: VectorField, t: Any, x: jax.Array, dt: Any, args: Any) -> jax.Array:
        """Advance ``x`` from ``t`` to ``t + dt`` adaptively."""
        try:
            import diffrax
        except ImportError as err:  # optional dependency
            raise ImportError(MSG_NO_DIFFRAX) from err
        solver = self.solver if self.solver is not None else diffrax.Tsit5()
        sol = diffrax.diffeqsolve(
            diffrax.ODETerm(f),
            solver,
            t0=t,
            t1=t + dt,
            dt0=dt,
            y0=x,
            args=args,
            stepsize_controller=diffrax.PIDController(rtol=self.rtol, atol=self.atol),
            saveat=diffrax.SaveAt(t1=True),
            max_steps=self.max_steps,
        )
        assert sol.ys is not None  # SaveAt(t1=True) always saves
        return sol.ys[-1]
