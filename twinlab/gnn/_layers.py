"""Graph layers as flax.nnx modules: graph convolution, graph attention and a general message-passing block.

Every layer is called as ``layer(x, graph)`` with node features ``x`` of shape (..., N, F): any leading axes (batch,
time) are carried through, so one graph serves a whole batch of time windows without copying it. The graph supplies
``senders``/``receivers`` (E,) and ``edges``: (E,) non-negative weights, where a zero weight means "no edge" (a road
closed or a padding edge) so that removing an edge never changes a shape.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import jraph
from flax import nnx

__all__ = ["GraphAttention", "GraphConv", "MessagePassing", "gather_nodes", "lift", "scatter_sum"]


def gather_nodes(x: jax.Array, index: jax.Array) -> jax.Array:
    """(..., N, F) node features -> (..., E, F) features of the nodes ``index`` (E,) points at."""
    return jnp.take(x, index, axis=-2)


def scatter_sum(messages: jax.Array, index: jax.Array, n_node: int) -> jax.Array:
    """Sum (..., E, F) edge messages into (..., N, F) at nodes ``index`` (E,) (jraph.segment_sum on axis -2)."""
    out = jnp.zeros((*messages.shape[:-2], n_node, messages.shape[-1]), messages.dtype)
    return out.at[..., index, :].add(messages)


def lift(v: jax.Array, ndim: int) -> jax.Array:
    """Prepend unit axes so that ``v`` has ``ndim`` axes (strict rank promotion forbids implicit broadcasting)."""
    return v.reshape((1,) * (ndim - v.ndim) + v.shape)


def _weights(graph: jraph.GraphsTuple, dtype: Any) -> jax.Array:
    w = graph.edges
    if w is None or w.ndim != 1:
        raise ValueError(
            "this layer reads graph.edges as (E,) edge weights; got "
            f"{None if w is None else w.shape}. Fix: build the graph with from_adjacency/from_edge_list (1-D weights)."
        )
    return w.astype(dtype)


class GraphConv(nnx.Module):
    """Graph convolution with symmetric degree normalisation and a separate self connection.

    ``out_i = W_self x_i + W_nbr sum_j (w_ji / sqrt(d_j d_i)) x_j + b``, where ``d`` are weighted degrees (in for
    receivers, out for senders). Zero-weight edges contribute nothing; nodes without edges keep only the self term.

    Args:
        in_features: F_in.
        out_features: F_out.
        rngs: flax random streams for initialisation.
        dtype: parameter and computation dtype.
    """

    def __init__(self, in_features: int, out_features: int, *, rngs: nnx.Rngs, dtype: Any = jnp.float32) -> None:
        self.self_linear = nnx.Linear(in_features, out_features, rngs=rngs, param_dtype=dtype, dtype=dtype)
        self.nbr_linear = nnx.Linear(
            in_features, out_features, use_bias=False, rngs=rngs, param_dtype=dtype, dtype=dtype
        )

    def __call__(self, x: jax.Array, graph: jraph.GraphsTuple) -> jax.Array:
        """(..., N, F_in) -> (..., N, F_out)."""
        n = x.shape[-2]
        w = _weights(graph, x.dtype)
        d_in = jnp.zeros(n, x.dtype).at[graph.receivers].add(w)
        d_out = jnp.zeros(n, x.dtype).at[graph.senders].add(w)
        # Guard isolated nodes: 1/sqrt(0) would give inf * 0 = NaN on edges of weight zero.
        inv_in = jnp.where(d_in > 0, jax.lax.rsqrt(jnp.maximum(d_in, 1e-12)), 0.0)
        inv_out = jnp.where(d_out > 0, jax.lax.rsqrt(jnp.maximum(d_out, 1e-12)), 0.0)
        norm = w * inv_out[graph.senders] * inv_in[graph.receivers]
        h = self.nbr_linear(x)
        msg = gather_nodes(h, graph.senders)
        agg = scatter_sum(msg * lift(norm[:, None], msg.ndim), graph.receivers, n)
        return self.self_linear(x) + agg


class GraphAttention(nnx.Module):
    """Graph attention (multi-head, concatenated): each node attends over its incoming edges and itself.

    ``alpha_ji = softmax_j(leaky_relu(a_s . z_j + a_r . z_i))`` over edges with non-zero weight into ``i`` plus the
    self loop; ``out_i = concat_heads(sum_j alpha_ji z_j)``.

    Args:
        in_features: F_in.
        out_features: F_out, a multiple of ``heads``.
        heads: number of attention heads.
        rngs: flax random streams for initialisation.
        dtype: parameter and computation dtype.
    """

    def __init__(
        self, in_features: int, out_features: int, *, heads: int = 1, rngs: nnx.Rngs, dtype: Any = jnp.float32
    ) -> None:
        if out_features % heads:
            raise ValueError(f"out_features ({out_features}) must be a multiple of heads ({heads})")
        self.heads = heads
        self.proj = nnx.Linear(in_features, out_features, rngs=rngs, param_dtype=dtype, dtype=dtype)
        init = nnx.initializers.lecun_normal()
        shape = (heads, out_features // heads)
        self.att_send = nnx.Param(init(rngs.params(), shape, dtype))
        self.att_recv = nnx.Param(init(rngs.params(), shape, dtype))

    def __call__(self, x: jax.Array, graph: jraph.GraphsTuple) -> jax.Array:
        """(..., N, F_in) -> (..., N, F_out)."""
        z = self.proj(x)
        z = z.reshape(*z.shape[:-1], self.heads, -1)  # (..., N, H, F/H)
        s_score = jnp.sum(z * lift(self.att_send[...], z.ndim), axis=-1)  # (..., N, H)
        r_score = jnp.sum(z * lift(self.att_recv[...], z.ndim), axis=-1)
        keep = _weights(graph, x.dtype) > 0
        logits = jax.nn.leaky_relu(
            jnp.take(s_score, graph.senders, axis=-2) + jnp.take(r_score, graph.receivers, axis=-2), 0.2
        )
        self_logits = jax.nn.leaky_relu(s_score + r_score, 0.2)
        logits = jnp.where(lift(keep[:, None], logits.ndim), logits, -jnp.inf)
        # Softmax per receiver, stabilised by the receiver's maximum (the self loop keeps it finite).
        top = jnp.maximum(self_logits, jnp.full_like(self_logits, -jnp.inf).at[..., graph.receivers, :].max(logits))
        e_edge = jnp.exp(logits - jnp.take(top, graph.receivers, axis=-2))
        e_self = jnp.exp(self_logits - top)
        denom = e_self + jnp.zeros_like(e_self).at[..., graph.receivers, :].add(e_edge)
        msg = jnp.take(z, graph.senders, axis=-3) * e_edge[..., None]
        agg = jnp.zeros_like(z).at[..., graph.receivers, :, :].add(msg) + z * e_self[..., None]
        out = agg / denom[..., None]
        return out.reshape(*out.shape[:-2], -1)


class MessagePassing(nnx.Module):
    """A general message-passing (graph-network) block: an edge model, sum aggregation, a node model.

    ``m_ji = MLP_e([x_j, x_i, w_ji]) * [w_ji > 0]``; ``x_i' = MLP_n([x_i, sum_j m_ji])``. The edge weight is an input
    to the edge model, so the block can learn how strongly each link couples its ends.

    Args:
        in_features: F_in.
        out_features: F_out.
        hidden: width of the edge and node MLPs.
        rngs: flax random streams for initialisation.
        dtype: parameter and computation dtype.
    """

    def __init__(
        self, in_features: int, out_features: int, *, hidden: int = 32, rngs: nnx.Rngs, dtype: Any = jnp.float32
    ) -> None:
        kw: dict[str, Any] = {"rngs": rngs, "param_dtype": dtype, "dtype": dtype}
        self.edge_in = nnx.Linear(2 * in_features + 1, hidden, **kw)
        self.edge_out = nnx.Linear(hidden, hidden, **kw)
        self.node_in = nnx.Linear(in_features + hidden, hidden, **kw)
        self.node_out = nnx.Linear(hidden, out_features, **kw)

    def __call__(self, x: jax.Array, graph: jraph.GraphsTuple) -> jax.Array:
        """(..., N, F_in) -> (..., N, F_out)."""
        n = x.shape[-2]
        w = _weights(graph, x.dtype)
        xs, xr = gather_nodes(x, graph.senders), gather_nodes(x, graph.receivers)
        w_feat = jnp.broadcast_to(w[:, None], (*xs.shape[:-1], 1))
        m = self.edge_out(nnx.relu(self.edge_in(jnp.concatenate([xs, xr, w_feat], axis=-1))))
        m = m * lift((w > 0).astype(x.dtype)[:, None], m.ndim)
        agg = scatter_sum(m, graph.receivers, n)
        return self.node_out(nnx.relu(self.node_in(jnp.concatenate([x, agg], axis=-1))))
