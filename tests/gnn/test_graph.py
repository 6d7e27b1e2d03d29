"""Graph construction, checks, padding, masks, batching."""

import jax.numpy as jnp
import networkx as nx
import numpy as np
import pytest

from twinlab import gnn


def test_adjacency_edges_weights_and_features():
    adj = np.array([[1.0, 0.5, 0.0], [0.5, 1.0, 0.2], [0.0, 0.2, 1.0]])
    g = gnn.from_adjacency(adj, node_features=np.arange(6.0).reshape(3, 2), global_features=[7.0])
    assert g.n_node.tolist() == [3] and g.n_edge.tolist() == [7]
    pairs = {(int(s), int(r)): float(w) for s, r, w in zip(g.senders, g.receivers, g.edges, strict=True)}
    assert pairs[(0, 1)] == pairs[(1, 0)] == 0.5 and pairs[(1, 2)] == pytest.approx(0.2) and pairs[(2, 2)] == 1.0
    assert g.nodes.shape == (3, 2) and g.nodes.dtype == jnp.float32 and g.globals.shape == (1, 1)
    assert gnn.from_adjacency(adj, self_loops=False).n_edge.tolist() == [4]


def test_edge_list_and_networkx_agree():
    graph = nx.Graph()
    graph.add_nodes_from([(i, {"x": float(i)}) for i in range(4)])
    graph.add_weighted_edges_from([(0, 1, 0.3), (1, 2, 0.9), (2, 3, 0.1)])
    g, names = gnn.from_networkx(graph, node_features=["x"])
    assert names == [0, 1, 2, 3] and g.nodes[:, 0].tolist() == [0, 1, 2, 3]
    h = gnn.from_edge_list([0, 1, 1, 2, 2, 3], [1, 0, 2, 1, 3, 2], 4, edge_features=[0.3, 0.3, 0.9, 0.9, 0.1, 0.1])
    as_set = lambda t: sorted(zip(t.senders.tolist(), t.receivers.tolist(), np.round(t.edges, 6).tolist(), strict=True))  # noqa: E731
    assert as_set(g) == as_set(h)
    directed, _ = gnn.from_networkx(nx.DiGraph([(0, 1)]), weight=None)
    assert directed.senders.tolist() == [0] and directed.edges.tolist() == [1.0]


def test_bad_inputs_are_named():
    with pytest.raises(ValueError, match=r"has shape \(4, 2\) but the graph has 3 nodes"):
        gnn.from_adjacency(np.eye(3), node_features=np.zeros((4, 2)))
    with pytest.raises(ValueError, match="non-finite"):
        gnn.from_adjacency(np.eye(2), node_features=np.array([[1.0], [np.nan]]))
    with pytest.raises(ValueError, match="square"):
        gnn.from_adjacency(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"node indices 0..5 but the graph has 3 nodes"):
        gnn.from_edge_list([0], [5], 3)
    with pytest.raises(ValueError, match="non-finite"):
        gnn.from_adjacency([[1.0, np.inf], [0.0, 1.0]])
    with pytest.raises(KeyError, match="no attribute 'y'"):
        gnn.from_networkx(nx.path_graph(2), node_features=["y"])


def test_padding_masks_and_batching():
    a = gnn.from_adjacency(np.eye(2) + np.eye(2, k=1), node_features=np.ones((2, 1)))
    b = gnn.from_adjacency(np.eye(3), node_features=np.full((3, 1), 2.0))
    both = gnn.batch_graphs([a, b])
    assert both.n_node.tolist() == [2, 3] and both.senders.max() == 4
    padded = gnn.pad_graph(both, n_node=8, n_edge=10, n_graph=3)
    assert padded.nodes.shape == (8, 1) and padded.senders.shape == (10,)
    assert gnn.node_mask(padded).tolist() == [True] * 5 + [False] * 3
    assert int(gnn.edge_mask(padded).sum()) == 6 and gnn.graph_mask(padded).tolist() == [True, True, False]
    back = gnn.unbatch_graphs(both)
    assert [int(g.n_node[0]) for g in back] == [2, 3]
    with pytest.raises(ValueError, match="at least one more node"):
        gnn.pad_graph(both, n_node=5, n_edge=10, n_graph=3)


def test_remove_edges_keeps_shapes():
    g = gnn.from_adjacency(np.array([[1.0, 0.5], [0.5, 1.0]]))
    cut = gnn.remove_edges(g, [(0, 1)])
    assert cut.edges.shape == g.edges.shape and sorted(cut.edges.tolist()) == [0.0, 0.0, 1.0, 1.0]
    with pytest.raises(ValueError, match="no edge 0 -> 5"):
        gnn.remove_edges(g, [(0, 5)])
