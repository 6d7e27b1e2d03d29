"""Graph neural networks: graphs (jraph), layers and models (flax.nnx), training (optax), checkpoints.

Needs the ``gnn`` extra (``pip install twinlab[gnn]``) for jraph. Models are flax.nnx modules; the rest of twinlab
holds them as pure ``(graphdef, state)`` pairs (``nnx.split``) and runs them with `apply`.
"""

from twinlab.gnn._checkpoint import CheckpointError, checkpoint_arrays, load_checkpoint, save_checkpoint
from twinlab.gnn._graph import (
    batch_graphs,
    edge_mask,
    from_adjacency,
    from_edge_list,
    from_networkx,
    graph_mask,
    node_mask,
    pad_graph,
    remove_edges,
    unbatch_graphs,
)
from twinlab.gnn._layers import GraphAttention, GraphConv, MessagePassing
from twinlab.gnn._models import LAYERS, GraphGRUCell, SpatioTemporalForecaster, apply
from twinlab.gnn._train import (
    LOSSES,
    SCHEDULES,
    EpochReport,
    TrainConfig,
    TrainResult,
    ensemble_apply,
    evaluate_loss,
    init_ensemble,
    train,
)
from twinlab.gnn._windows import BATCH_AXIS, Batch, Windows, batch_mesh, make_windows, shard_batch, take_batch

__all__ = [
    "BATCH_AXIS",
    "LAYERS",
    "LOSSES",
    "SCHEDULES",
    "Batch",
    "CheckpointError",
    "EpochReport",
    "GraphAttention",
    "GraphConv",
    "GraphGRUCell",
    "MessagePassing",
    "SpatioTemporalForecaster",
    "TrainConfig",
    "TrainResult",
    "Windows",
    "apply",
    "batch_graphs",
    "batch_mesh",
    "checkpoint_arrays",
    "edge_mask",
    "ensemble_apply",
    "evaluate_loss",
    "from_adjacency",
    "from_edge_list",
    "from_networkx",
    "graph_mask",
    "init_ensemble",
    "load_checkpoint",
    "make_windows",
    "node_mask",
    "pad_graph",
    "remove_edges",
    "save_checkpoint",
    "shard_batch",
    "take_batch",
    "train",
    "unbatch_graphs",
]
