"""A spatio-temporal forecaster: a GRU whose gates pass messages along the graph (T-GCN's idea), as a flax.nnx module.

Shapes: inputs (B, T_in, N, F) (B windows, T_in past steps, N nodes, F features per node and step); outputs
(B, H, N), the next H steps of the target at every node, in the units the model was trained on.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import jraph
from flax import nnx

from twinlab.gnn._layers import GraphAttention, GraphConv, MessagePassing

__all__ = ["LAYERS", "GraphGRUCell", "SpatioTemporalForecaster", "apply"]

LAYERS = ("gcn", "gat", "mpnn", "none")


class _NodeLinear(nnx.Module):
    """A per-node linear map with the graph layers' call signature: the "no graph" choice."""

    def __init__(self, in_features: int, out_features: int, *, rngs: nnx.Rngs, dtype: Any) -> None:
        self.linear = nnx.Linear(in_features, out_features, rngs=rngs, param_dtype=dtype, dtype=dtype)

    def __call__(self, x: jax.Array, graph: jraph.GraphsTuple) -> jax.Array:
        del graph  # each node on its own
        return self.linear(x)


def _layer(kind: str, in_features: int, out_features: int, *, rngs: nnx.Rngs, dtype: Any) -> nnx.Module:
    if kind == "gcn":
        return GraphConv(in_features, out_features, rngs=rngs, dtype=dtype)
    if kind == "gat":
        return GraphAttention(in_features, out_features, heads=2, rngs=rngs, dtype=dtype)
    if kind == "mpnn":
        return MessagePassing(in_features, out_features, hidden=out_features, rngs=rngs, dtype=dtype)
    if kind == "none":
        return _NodeLinear(in_features, out_features, rngs=rngs, dtype=dtype)
    raise ValueError(f"unknown layer {kind!r}; choose one of {LAYERS}")


class GraphGRUCell(nnx.Module):
    """A GRU cell whose update, reset and candidate maps are graph layers over ``[x_t, h]``.

    Args:
        in_features: F, features per node and step.
        hidden: H_hidden, state size per node.
        layer: ``"gcn"``, ``"gat"``, ``"mpnn"`` or ``"none"`` (a plain per-node GRU, no graph).
        rngs: flax random streams.
        dtype: parameter and computation dtype.
    """

    def __init__(self, in_features: int, hidden: int, *, layer: str, rngs: nnx.Rngs, dtype: Any) -> None:
        self.hidden = hidden
        self.gates = _layer(layer, in_features + hidden, 2 * hidden, rngs=rngs, dtype=dtype)
        self.candidate = _layer(layer, in_features + hidden, hidden, rngs=rngs, dtype=dtype)

    def __call__(self, h: jax.Array, x: jax.Array, graph: jraph.GraphsTuple) -> jax.Array:
        """State (B, N, H_hidden) and input (B, N, F) -> the next state (B, N, H_hidden)."""
        gates = jax.nn.sigmoid(self.gates(jnp.concatenate([x, h], axis=-1), graph))
        reset, update = gates[..., : self.hidden], gates[..., self.hidden :]
        cand = jnp.tanh(self.candidate(jnp.concatenate([x, reset * h], axis=-1), graph))
        return update * h + (1.0 - update) * cand


class SpatioTemporalForecaster(nnx.Module):
    """Encode the last T_in steps with a graph GRU, then read the next H steps at every node from its final state.

    Args:
        in_features: F, features per node and step (for traffic: speed, an observed flag, time of day, and
            optionally the historical-average speed one horizon ahead).
        hidden: state size per node (32-64 is plenty for a few hundred nodes).
        horizon_steps: H, how many future steps to predict.
        layer: graph layer inside the GRU gates: ``"gcn"``, ``"gat"``, ``"mpnn"``, or ``"none"`` (no graph).
        rngs: flax random streams.
        dtype: parameter and computation dtype.

    Example:
        >>> import jax.numpy as jnp
        >>> from flax import nnx
        >>> from twinlab.gnn import from_adjacency
        >>> g = from_adjacency(jnp.eye(3))
        >>> model = SpatioTemporalForecaster(2, 8, 4, rngs=nnx.Rngs(0))
        >>> model(jnp.zeros((5, 12, 3, 2), jnp.float32), g).shape
        (5, 4, 3)
    """

    def __init__(
        self,
        in_features: int,
        hidden: int,
        horizon_steps: int,
        *,
        layer: str = "gcn",
        rngs: nnx.Rngs,
        dtype: Any = jnp.float32,
    ) -> None:
        self.in_features = in_features
        self.cell = GraphGRUCell(in_features, hidden, layer=layer, rngs=rngs, dtype=dtype)
        self.head = nnx.Linear(hidden, horizon_steps, rngs=rngs, param_dtype=dtype, dtype=dtype)
        self.dtype = dtype

    def __call__(self, x: jax.Array, graph: jraph.GraphsTuple) -> jax.Array:
        """(B, T_in, N, F) -> (B, H, N)."""
        if x.ndim != 4 or x.shape[-1] != self.in_features:
            raise ValueError(f"expected inputs (B, T_in, N, {self.in_features}); got {x.shape}")
        x = x.astype(self.dtype)
        h0 = jnp.zeros((x.shape[0], x.shape[2], self.cell.hidden), self.dtype)

        def step(h: jax.Array, x_t: jax.Array) -> tuple[jax.Array, None]:
            return self.cell(h, x_t, graph), None

        # Scan over time (axis 1), so compile time does not grow with T_in.
        h, _ = jax.lax.scan(step, h0, jnp.swapaxes(x, 0, 1))
        return jnp.swapaxes(self.head(h), -1, -2)


def apply(graphdef: nnx.GraphDef[Any], state: nnx.State, x: jax.Array, graph: jraph.GraphsTuple) -> jax.Array:
    """Run a model given as a pure ``(graphdef, state)`` pair (``nnx.split(model)``); shapes as its ``__call__``.

    This is the form the rest of twinlab holds, jits and vmaps.
    """
    return nnx.merge(graphdef, state)(x, graph)
