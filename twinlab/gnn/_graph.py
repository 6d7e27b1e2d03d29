"""Building ``jraph.GraphsTuple``s from adjacency matrices, edge lists and networkx graphs, with checks.

Shapes follow jraph's conventions for one graph of N nodes and E edges:

| field | shape | meaning |
|---|---|---|
| ``nodes`` | (N, F_node) or None | node features |
| ``edges`` | (E,) or (E, F_edge) | edge features; a 1-D array is read as edge weights |
| ``senders``, ``receivers`` | (E,) int32 | edge ``k`` carries a message from ``senders[k]`` to ``receivers[k]`` |
| ``globals`` | (1, F_global) or None | graph-level features |
| ``n_node``, ``n_edge`` | (1,) int32 | counts per graph (several graphs are concatenated by ``batch_graphs``) |

A road closed or a link removed can keep every shape static: set its weight to zero (the layers in this package treat
a zero weight as "no edge"), see `remove_edges`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import jraph
import numpy as np

__all__ = [
    "batch_graphs",
    "edge_mask",
    "from_adjacency",
    "from_edge_list",
    "from_networkx",
    "graph_mask",
    "node_mask",
    "pad_graph",
    "remove_edges",
    "unbatch_graphs",
]

ArrayLike = Any


def _check_finite(name: str, values: np.ndarray | None) -> None:
    if values is not None and not np.all(np.isfinite(values)):
        bad = int(np.size(values) - np.count_nonzero(np.isfinite(values)))
        raise ValueError(
            f"{name} has {bad} non-finite value(s) (NaN or inf). Graph layers would spread them to every neighbour; "
            f"fix: fill or drop them before building the graph (a missing reading belongs in a mask, not a NaN)."
        )


def _features(name: str, values: ArrayLike | None, rows: int, what: str, dtype: Any) -> jnp.ndarray | None:
    if values is None:
        return None
    arr = np.asarray(values)
    if arr.ndim == 0 or arr.shape[0] != rows:
        raise ValueError(
            f"{name} has shape {arr.shape} but the graph has {rows} {what}: the first axis must be one row per "
            f"{what[:-1]} ({rows}). Fix: check that features and the adjacency/edge list describe the same graph."
        )
    _check_finite(name, arr)
    return jnp.asarray(arr, dtype=dtype)


def _globals(values: ArrayLike | None, dtype: Any) -> jnp.ndarray | None:
    if values is None:
        return None
    arr = np.atleast_1d(np.asarray(values))
    _check_finite("global_features", arr)
    return jnp.asarray(arr.reshape(1, -1), dtype=dtype)


def from_edge_list(
    senders: ArrayLike,
    receivers: ArrayLike,
    n_node: int,
    *,
    node_features: ArrayLike | None = None,
    edge_features: ArrayLike | None = None,
    global_features: ArrayLike | None = None,
    dtype: Any = jnp.float32,
) -> jraph.GraphsTuple:
    """One graph from an edge list.

    Args:
        senders: (E,) integer node indices where each edge starts.
        receivers: (E,) integer node indices where each edge ends.
        n_node: number of nodes N.
        node_features: (N, ...) node features, or None.
        edge_features: (E,) edge weights or (E, ...) edge features, or None (then every weight is 1).
        global_features: (F_global,) graph-level features, or None.
        dtype: float dtype of the features.

    Returns:
        A ``jraph.GraphsTuple`` holding one graph.

    Example:
        >>> g = from_edge_list([0, 1], [1, 2], 3)
        >>> g.n_edge.tolist(), g.edges.tolist()
        ([2], [1.0, 1.0])
    """
    s = np.asarray(senders)
    r = np.asarray(receivers)
    if s.ndim != 1 or s.shape != r.shape:
        raise ValueError(f"senders {s.shape} and receivers {r.shape} must be 1-D arrays of the same length (E,)")
    if s.size and not (np.issubdtype(s.dtype, np.integer) and np.issubdtype(r.dtype, np.integer)):
        raise TypeError(f"senders and receivers must be integer node indices; got {s.dtype} and {r.dtype}")
    if s.size and (min(s.min(), r.min()) < 0 or max(s.max(), r.max()) >= n_node):
        raise ValueError(
            f"edge list refers to node indices {min(s.min(), r.min())}..{max(s.max(), r.max())} but the graph has "
            f"{n_node} nodes (0..{n_node - 1}). Fix: renumber the nodes or pass the right n_node."
        )
    edges = np.ones(s.size) if edge_features is None else edge_features
    return jraph.GraphsTuple(
        nodes=_features("node_features", node_features, n_node, "nodes", dtype),
        edges=_features("edge_features", edges, s.size, "edges", dtype),
        senders=jnp.asarray(s, dtype=jnp.int32),
        receivers=jnp.asarray(r, dtype=jnp.int32),
        globals=_globals(global_features, dtype),
        n_node=jnp.asarray([n_node], dtype=jnp.int32),
        n_edge=jnp.asarray([s.size], dtype=jnp.int32),
    )


def from_adjacency(
    adjacency: ArrayLike,
    *,
    node_features: ArrayLike | None = None,
    global_features: ArrayLike | None = None,
    self_loops: bool = True,
    dtype: Any = jnp.float32,
) -> jraph.GraphsTuple:
    """One graph from a weighted adjacency matrix; every non-zero entry ``A[i, j]`` becomes an edge i -> j.

    Args:
        adjacency: (N, N) weights, zero where there is no edge; a symmetric matrix gives both directions.
        node_features: (N, ...) node features, or None.
        global_features: (F_global,) graph-level features, or None.
        self_loops: keep non-zero diagonal entries as edges i -> i (False drops them).
        dtype: float dtype of the features.

    Returns:
        A ``jraph.GraphsTuple`` whose ``edges`` are the (E,) weights.

    Example:
        >>> g = from_adjacency([[1.0, 0.5], [0.5, 1.0]], self_loops=False)
        >>> g.senders.tolist(), g.receivers.tolist(), g.edges.tolist()
        ([0, 1], [1, 0], [0.5, 0.5])
    """
    adj = np.asarray(adjacency)
    if adj.ndim != 2 or adj.shape[0] != adj.shape[1]:
        raise ValueError(f"adjacency must be a square (N, N) matrix; got shape {adj.shape}")
    _check_finite("adjacency", adj)
    if not self_loops:
        adj = adj * (1 - np.eye(adj.shape[0], dtype=adj.dtype))
    s, r = np.nonzero(adj)
    return from_edge_list(
        s,
        r,
        adj.shape[0],
        node_features=node_features,
        edge_features=adj[s, r],
        global_features=global_features,
        dtype=dtype,
    )


def from_networkx(
    graph: Any,
    *,
    node_features: Sequence[str] = (),
    weight: str | None = "weight",
    global_features: ArrayLike | None = None,
    dtype: Any = jnp.float32,
) -> tuple[jraph.GraphsTuple, list[Any]]:
    """One graph from a networkx graph (networkx itself is optional: only this function needs it).

    Undirected graphs give both directions of every edge. Nodes are numbered in ``graph.nodes`` order.

    Args:
        graph: a ``networkx.Graph`` or ``networkx.DiGraph``.
        node_features: names of node attributes to stack, in order, into (N, len(node_features)) features.
        weight: the edge attribute holding the weight (missing ones count 1), or None for all ones.
        global_features: (F_global,) graph-level features, or None.
        dtype: float dtype of the features.

    Returns:
        ``(graphs_tuple, node_names)``: the graph and the networkx node of each row.
    """
    names = list(graph.nodes)
    index = {n: i for i, n in enumerate(names)}
    senders, receivers, weights = [], [], []
    for u, v, data in graph.edges(data=True):
        w = 1.0 if weight is None else float(data.get(weight, 1.0))
        pairs = [(u, v)] if graph.is_directed() or u == v else [(u, v), (v, u)]
        for a, b in pairs:
            senders.append(index[a])
            receivers.append(index[b])
            weights.append(w)
    feats = None
    if node_features:
        missing = [(n, k) for n in names for k in node_features if k not in graph.nodes[n]]
        if missing:
            raise KeyError(f"node {missing[0][0]!r} has no attribute {missing[0][1]!r} (asked for {node_features})")
        feats = np.asarray([[float(graph.nodes[n][k]) for k in node_features] for n in names])
    g = from_edge_list(
        np.asarray(senders, dtype=np.int64),
        np.asarray(receivers, dtype=np.int64),
        len(names),
        node_features=feats,
        edge_features=np.asarray(weights),
        global_features=global_features,
        dtype=dtype,
    )
    return g, names


def remove_edges(graph: jraph.GraphsTuple, pairs: Sequence[tuple[int, int]], *, both_ways: bool = True) -> Any:
    """The same graph with the edges between the given node pairs set to weight zero (shapes unchanged).

    Args:
        graph: a graph whose ``edges`` are (E,) weights.
        pairs: ``(sender, receiver)`` node indices of the edges to remove.
        both_ways: also remove ``(receiver, sender)``.

    Raises:
        ValueError: a pair that is not an edge of the graph.
    """
    senders = np.asarray(graph.senders)
    receivers = np.asarray(graph.receivers)
    weights = np.array(graph.edges)
    for s, r in pairs:
        for a, b in [(s, r), (r, s)] if both_ways else [(s, r)]:
            hit = (senders == a) & (receivers == b)
            if not hit.any():
                raise ValueError(f"there is no edge {a} -> {b} in this graph; nothing to remove")
            weights[hit] = 0.0
    return graph._replace(edges=jnp.asarray(weights, dtype=graph.edges.dtype))


def pad_graph(graph: jraph.GraphsTuple, n_node: int, n_edge: int, n_graph: int = 2) -> jraph.GraphsTuple:
    """Pad to fixed sizes (so one compiled function serves graphs of many sizes) with jraph's padding graph.

    Args:
        graph: one graph or a batch of graphs.
        n_node: total nodes after padding; at least the real nodes plus one.
        n_edge: total edges after padding; at least the real edges.
        n_graph: total graphs after padding; at least the real graphs plus one.

    Returns:
        The padded graph; `node_mask`, `edge_mask` and `graph_mask` tell real entries from padding.
    """
    real_nodes, real_edges, real_graphs = int(np.sum(graph.n_node)), int(np.sum(graph.n_edge)), len(graph.n_node)
    if n_node < real_nodes + 1 or n_edge < real_edges or n_graph < real_graphs + 1:
        raise ValueError(
            f"cannot pad a graph with {real_nodes} nodes, {real_edges} edges, {real_graphs} graph(s) to "
            f"({n_node}, {n_edge}, {n_graph}): padding needs at least one more node and one more graph than the "
            f"real ones. Fix: n_node >= {real_nodes + 1}, n_edge >= {real_edges}, n_graph >= {real_graphs + 1}."
        )
    return jraph.pad_with_graphs(graph, n_node=n_node, n_edge=n_edge, n_graph=n_graph)


def node_mask(graph: jraph.GraphsTuple) -> jnp.ndarray:
    """(N,) bool, true for real nodes of a padded graph (equivalent to slicing off the padding, but jittable).

    The padding is the last graph, as `pad_graph` makes it. (jraph's own mask helpers mix int32 and int64, which
    strict dtype promotion refuses.)
    """
    total = graph.senders.shape[0] if graph.nodes is None else jax.tree.leaves(graph.nodes)[0].shape[0]
    return jnp.arange(total, dtype=jnp.int32) < total - graph.n_node[-1]


def edge_mask(graph: jraph.GraphsTuple) -> jnp.ndarray:
    """(E,) bool, true for real edges of a padded graph."""
    total = graph.senders.shape[0]
    return jnp.arange(total, dtype=jnp.int32) < total - graph.n_edge[-1]


def graph_mask(graph: jraph.GraphsTuple) -> jnp.ndarray:
    """(G,) bool, true for real graphs of a padded batch."""
    total = graph.n_node.shape[0]
    return jnp.arange(total) < total - 1


def batch_graphs(graphs: Sequence[jraph.GraphsTuple]) -> jraph.GraphsTuple:
    """Concatenate graphs into one disconnected graph (node indices shifted); `unbatch_graphs` undoes it."""
    if not graphs:
        raise ValueError("batch_graphs needs at least one graph")
    # jraph.batch adds int64 offsets to int32 indices, which strict dtype promotion refuses: offset in int32 here.
    offsets = np.cumsum([0] + [int(np.sum(g.n_node)) for g in graphs[:-1]]).astype(np.int32)

    def cat(parts: list[Any]) -> Any:
        return None if parts[0] is None else jax.tree.map(lambda *a: jnp.concatenate(a), *parts)

    return jraph.GraphsTuple(
        nodes=cat([g.nodes for g in graphs]),
        edges=cat([g.edges for g in graphs]),
        senders=jnp.concatenate([g.senders + jnp.int32(o) for g, o in zip(graphs, offsets, strict=True)]),
        receivers=jnp.concatenate([g.receivers + jnp.int32(o) for g, o in zip(graphs, offsets, strict=True)]),
        globals=cat([g.globals for g in graphs]),
        n_node=jnp.concatenate([g.n_node for g in graphs]),
        n_edge=jnp.concatenate([g.n_edge for g in graphs]),
    )


def unbatch_graphs(graph: jraph.GraphsTuple) -> list[jraph.GraphsTuple]:
    """Split a batch made by `batch_graphs` back into its graphs."""
    return list(jraph.unbatch(graph))
