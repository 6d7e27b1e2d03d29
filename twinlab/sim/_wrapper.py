"""`ModelWrapper`: a model that wraps another and changes part of it (a sensor, a pump, a delay)."""

from __future__ import annotations

from typing import Any

import jax

from twinlab.sim._model import Model, SimState

PyTree = Any


class ModelWrapper(Model):
    """Delegates every part of the model contract to ``model``; subclasses override only what they change.

    Attributes:
        model: the wrapped `Model`.
    """

    model: Model

    @property
    def state_names(self) -> tuple[str, ...]:  # type: ignore[override]
        """The wrapped model's state names."""
        return tuple(self.model.state_names)

    @property
    def state_units(self) -> tuple[str, ...]:  # type: ignore[override]
        """The wrapped model's state units."""
        return tuple(self.model.state_units)

    @property
    def time_unit(self) -> str:
        """The wrapped model's time unit."""
        return getattr(self.model, "time_unit", "")

    @property
    def output_units(self) -> dict[str, str]:  # type: ignore[override]
        """The wrapped model's output units."""
        return dict(self.model.output_units)

    def population_size(self, params: PyTree) -> int | None:
        """The wrapped model's population size of ``params``."""
        return self.model.population_size(params)

    def init(self, params: PyTree) -> SimState:
        """The wrapped model's initial state."""
        return self.model.init(params)

    def hold(self, state: SimState, inputs: PyTree, params: PyTree) -> tuple[SimState, PyTree]:
        """The wrapped model's discrete update."""
        return self.model.hold(state, inputs, params)

    def vector_field(self, t: jax.Array, x: jax.Array, held: PyTree, params: PyTree) -> jax.Array:
        """The wrapped model's vector field."""
        return self.model.vector_field(t, x, held, params)

    def observe(self, state: SimState, params: PyTree) -> dict[str, jax.Array]:
        """The wrapped model's outputs."""
        return self.model.observe(state, params)
