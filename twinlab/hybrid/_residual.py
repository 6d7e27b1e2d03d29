"""`CompartmentResidual`: a message-passing network that reads the compartments and proposes a correction per node."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from flax import nnx


class CompartmentResidual(nnx.Module):
    """Node features (N, F) and a graph's (N, N) adjacency -> one number per node (N,).

    An embedding, then ``blocks`` message-passing steps ``h_i += tanh(W_u [h_i, mean_{j -> i} tanh(W_m h_j)])``,
    then a per-node read-out whose weights start at zero, so that a new network outputs exactly zero and the hybrid
    starts as the mechanistic model. Messages are summed with a dense row-normalised adjacency ``A[i, j]`` (weight of
    the link j -> i): for a graph of 15 nodes one matrix product is cheaper than a gather and a scatter (jraph's form;
    1.3x for the gradient through a simulated window on 2 CPU cores), and the network runs four times per minute.

    Args:
        in_features: F, features per node.
        hidden: width of the node states and messages.
        blocks: message-passing steps (how far information travels along the graph).
        rngs: flax random streams.
        dtype: parameter and computation dtype (the simulation's float dtype).
    """

    def __init__(
        self, in_features: int, *, hidden: int = 16, blocks: int = 2, rngs: nnx.Rngs, dtype: Any = jnp.float32
    ) -> None:
        kw: dict[str, Any] = {"rngs": rngs, "param_dtype": dtype, "dtype": dtype}
        self.embed = nnx.Linear(in_features, hidden, **kw)
        self.message = nnx.List([nnx.Linear(hidden, hidden, **kw) for _ in range(blocks)])
        self.update = nnx.List([nnx.Linear(2 * hidden, hidden, **kw) for _ in range(blocks)])
        zeros = nnx.initializers.zeros_init()
        self.readout = nnx.Linear(hidden, 1, kernel_init=zeros, bias_init=zeros, **kw)

    def __call__(self, x: jax.Array, adjacency: jax.Array) -> jax.Array:
        """(N, F) features and (N, N) adjacency -> (N,)."""
        h = jnp.tanh(self.embed(x))
        for message, update in zip(self.message, self.update, strict=True):
            agg = adjacency @ jnp.tanh(message(h))  # (N, hidden): the mean message into each node
            h = h + jnp.tanh(update(jnp.concatenate([h, agg], axis=-1)))
        return self.readout(h)[..., 0]
