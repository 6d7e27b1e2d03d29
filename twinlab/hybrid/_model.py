"""`HybridUVAPadova`: the UVA/Padova vector field plus a learned correction from a graph network over its compartments.

::

    dx/dt = f_UVA/Padova(x[:13], inputs; patient)  +  mask * scale * GNN(features(x, heart rate); graph)
    dE_fast/dt = (u - E_fast) / tau_fast,   dE_slow/dt = (u - E_slow) / tau_slow,   u = (HR - HR_rest) / 50 bpm

The base model ignores the heart rate. The hybrid carries two first-order filters of it (a generic memory of recent
effort, fixed time constants, not a model of how exercise acts) as extra states and nodes, so the network can learn
effects that last after a session ends. The network's read-out starts at zero: a new hybrid is the base model.
"""

from __future__ import annotations

from typing import Any, ClassVar

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx, struct

from twinlab.glucose import ExerciseHeld, ExerciseInputs, GlucoseInputs, PatientParams, UVAPadova
from twinlab.hybrid._graph import EXERCISE_NODES, NODE_NAMES, compartment_adjacency
from twinlab.hybrid._residual import CompartmentResidual
from twinlab.sim import Model, SimState

#: Typical size of each state's excursion from the basal state, in the state's own unit: features are x / scale.
STATE_SCALES: tuple[float, ...] = (
    50_000.0, 50_000.0, 20_000.0, 100.0, 100.0, 5.0, 50.0, 100.0, 100.0, 5.0, 100.0, 100.0, 100.0, 1.0, 1.0,
)  # fmt: skip
#: States the network may correct (glucose masses and insulin action); the rest stay purely mechanistic.
CORRECTED: tuple[str, ...] = ("Gp", "Gt", "X")
#: One unit of network output is this much per minute of the corrected state: 1 mg/kg/min for Gp and Gt.
CORRECTION_PER_MIN: float = 0.01
#: Heart rate above rest that makes one unit of the filtered exercise input, bpm.
HR_SCALE_BPM: float = 50.0


class HybridParams(struct.PyTreeNode):
    """Parameters of the hybrid for one person.

    Attributes:
        patient: the mechanistic part, `PatientParams`.
        net: the residual network's parameters (an ``nnx.State``, from `init_hybrid`).
        hr_rest_bpm: the person's resting heart rate, bpm (scalar).
    """

    patient: PatientParams
    net: Any
    hr_rest_bpm: jax.Array


class HybridUVAPadova(Model):
    """UVA/Padova plus a learned residual: 15 states (the base model's 13, then ``E_fast`` and ``E_slow``).

    Takes `twinlab.glucose.ExerciseInputs` (meals, insulin, heart rate) and gives the base model's outputs. Built by
    `init_hybrid`; runs under ``tl.sim.simulate``, ``jax.jit``, ``jax.vmap`` and ``jax.grad`` like any model.

    Attributes:
        graphdef: the network's structure (``nnx.split``), static.
        adjacency: the compartment graph's row-normalised (N, N) adjacency as nested tuples, static.
        tau_fast_min: time constant of the fast exercise filter, min (static).
        tau_slow_min: time constant of the slow exercise filter, min (static).
        use_residual: False gives the base model alone (with the filters carried along), static.
    """

    graphdef: Any = struct.field(pytree_node=False)
    adjacency: tuple[tuple[float, ...], ...] = struct.field(pytree_node=False)
    tau_fast_min: float = struct.field(pytree_node=False, default=10.0)
    tau_slow_min: float = struct.field(pytree_node=False, default=180.0)
    use_residual: bool = struct.field(pytree_node=False, default=True)

    time_unit: ClassVar[str] = "min"
    state_names: ClassVar[tuple[str, ...]] = NODE_NAMES
    state_units: ClassVar[tuple[str, ...]] = (*UVAPadova.state_units, "-", "-")
    output_units: ClassVar[dict[str, str]] = UVAPadova.output_units

    def population_size(self, params: HybridParams) -> int | None:
        """Population axis of the patient parameters (the network must then carry the same axis), or None."""
        return UVAPadova().population_size(params.patient)

    def init(self, params: HybridParams) -> SimState:
        """The patient's basal state with the exercise filters at rest."""
        state = UVAPadova().init(params.patient)
        return state.replace(x=jnp.concatenate([state.x, jnp.zeros(len(EXERCISE_NODES), state.x.dtype)]))

    def hold(self, state: SimState, inputs: ExerciseInputs, params: HybridParams) -> tuple[SimState, ExerciseHeld]:
        """The base model's meal memory; the heart rate is held over the minute."""
        state, held = UVAPadova().hold(state, GlucoseInputs(inputs.cho_g, inputs.insulin_u_per_min), params.patient)
        return state, ExerciseHeld(base=held, heart_rate_bpm=inputs.heart_rate_bpm)

    def residual(self, x: jax.Array, params: HybridParams) -> jax.Array:
        """The network's correction to dx/dt, shape (15,), in each state's unit per minute (zero off `CORRECTED`)."""
        dtype = x.dtype
        scale = jnp.asarray(STATE_SCALES, dtype)
        basal = jnp.concatenate([jnp.asarray(params.patient.x0, dtype), jnp.zeros(len(EXERCISE_NODES), dtype)])
        n = len(NODE_NAMES)
        features = jnp.concatenate([((x - basal) / scale)[:, None], jnp.eye(n, dtype=dtype)], axis=1)  # (N, 1 + N)
        net = nnx.merge(self.graphdef, params.net)
        out = net(features, jnp.asarray(self.adjacency, dtype))
        mask = np.isin(np.asarray(NODE_NAMES), CORRECTED).astype(np.float64)
        return out * jnp.asarray(mask * CORRECTION_PER_MIN, dtype) * scale

    def vector_field(self, t: jax.Array, x: jax.Array, held: ExerciseHeld, params: HybridParams) -> jax.Array:
        """dx/dt of the 15 states, shape (15,), per minute."""
        u = (held.heart_rate_bpm - params.hr_rest_bpm) / HR_SCALE_BPM
        taus = jnp.asarray([self.tau_fast_min, self.tau_slow_min], x.dtype)
        d_filters = (u - x[13:]) / taus
        dx = jnp.concatenate([UVAPadova().vector_field(t, x[:13], held.base, params.patient), d_filters])
        if not self.use_residual:  # static: the base model alone
            return dx
        return dx + self.residual(x, params)

    def observe(self, state: SimState, params: HybridParams) -> dict[str, jax.Array]:
        """The base model's outputs (``bg`` in mg/dL and the applied inputs)."""
        return UVAPadova().observe(state, params.patient)


def init_hybrid(
    patient: PatientParams, *, hr_rest_bpm: float = 60.0, hidden: int = 16, seed: int = 0
) -> tuple[HybridUVAPadova, HybridParams]:
    """A hybrid for one patient whose network starts at zero output (so it starts as the base model).

    Args:
        patient: one patient's `PatientParams` (scalar leaves); its dtype sets the network's.
        hr_rest_bpm: the person's resting heart rate, bpm.
        hidden: width of the network.
        seed: seed of the network's initial weights.

    Returns:
        ``(model, params)``.

    Example:
        >>> import twinlab as tl
        >>> model, params = tl.hybrid.init_hybrid(tl.glucose.patient("adult#001"))
        >>> model.state_names[-2:]
        ('E_fast', 'E_slow')
    """
    if jnp.ndim(patient.BW) != 0:
        raise ValueError(
            f"init_hybrid builds one person's hybrid; got a population of {jnp.shape(patient.BW)[0]} patients. "
            "Fix: pass tl.glucose.patient(name), and stack the resulting params with tl.sim.stack for a population."
        )
    if not np.isfinite(hr_rest_bpm) or not 30.0 <= hr_rest_bpm <= 120.0:
        raise ValueError(f"hr_rest_bpm must be a resting heart rate between 30 and 120 bpm; got {hr_rest_bpm!r}.")
    dtype = jnp.asarray(patient.BW).dtype
    net = CompartmentResidual(1 + len(NODE_NAMES), hidden=hidden, rngs=nnx.Rngs(seed), dtype=dtype)
    graphdef, state = nnx.split(net)
    adjacency = tuple(tuple(float(v) for v in row) for row in compartment_adjacency())
    model = HybridUVAPadova(graphdef=graphdef, adjacency=adjacency)
    return model, HybridParams(patient=patient, net=state, hr_rest_bpm=jnp.asarray(hr_rest_bpm, dtype))
