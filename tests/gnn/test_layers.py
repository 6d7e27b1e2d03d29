"""Layers against dense reference formulas; the models as pure (graphdef, state) pairs; checkpoints."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from twinlab import gnn

ADJ = np.array([[0.0, 0.5, 0.0, 0.0], [0.5, 0.0, 0.8, 0.0], [0.0, 0.8, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]])


def test_graph_conv_matches_dense_normalised_adjacency():
    g = gnn.from_adjacency(ADJ, dtype=jnp.float64)
    layer = gnn.GraphConv(3, 2, rngs=nnx.Rngs(0), dtype=jnp.float64)
    x = jax.random.normal(jax.random.key(1), (5, 4, 3), jnp.float64)
    deg = ADJ.sum(axis=0)
    inv = np.where(deg > 0, 1 / np.sqrt(np.where(deg > 0, deg, 1.0)), 0.0)
    a_hat = inv[:, None] * ADJ * inv[None, :]
    w_self, b = np.asarray(layer.self_linear.kernel[...]), np.asarray(layer.self_linear.bias[...])
    w_nbr = np.asarray(layer.nbr_linear.kernel[...])
    expected = np.asarray(x) @ w_self + b + np.einsum("ij,bjf->bif", a_hat.T, np.asarray(x) @ w_nbr)
    np.testing.assert_allclose(layer(x, g), expected, rtol=1e-12, atol=1e-12)


def test_attention_matches_dense_softmax_and_ignores_zero_weight_edges():
    g = gnn.from_adjacency(ADJ, dtype=jnp.float64)
    layer = gnn.GraphAttention(3, 4, heads=2, rngs=nnx.Rngs(0), dtype=jnp.float64)
    x = jax.random.normal(jax.random.key(2), (4, 3), jnp.float64)
    z = np.asarray(layer.proj(x)).reshape(4, 2, 2)
    s = np.einsum("nhf,hf->nh", z, np.asarray(layer.att_send[...]))
    r = np.einsum("nhf,hf->nh", z, np.asarray(layer.att_recv[...]))
    linked = (ADJ > 0) | np.eye(4, dtype=bool)  # linked[j, i]: j sends to i
    logits = s[:, None, :] + r[None, :, :]  # (j, i, h)
    logits = np.where(logits > 0, logits, 0.2 * logits)
    logits = np.where(linked[:, :, None], logits, -np.inf)
    alpha = np.exp(logits - logits.max(axis=0, keepdims=True))
    alpha /= alpha.sum(axis=0, keepdims=True)
    expected = np.einsum("jih,jhf->ihf", alpha, z).reshape(4, 4)
    np.testing.assert_allclose(layer(x, g), expected, rtol=1e-10, atol=1e-12)
    cut = gnn.remove_edges(g, [(1, 2)])
    changed = np.abs(np.asarray(layer(x, cut)) - expected).max(axis=1)
    assert changed[1] > 1e-6 and changed[2] > 1e-6 and changed[0] < 1e-12 and changed[3] < 1e-12


def test_message_passing_only_reaches_neighbours():
    g = gnn.from_adjacency(ADJ, dtype=jnp.float64)
    layer = gnn.MessagePassing(2, 3, hidden=8, rngs=nnx.Rngs(0), dtype=jnp.float64)
    x = jnp.zeros((4, 2), jnp.float64)
    bumped = x.at[0].set(1.0)
    diff = np.abs(np.asarray(layer(bumped, g) - layer(x, g))).max(axis=1)
    assert diff[0] > 0 and diff[1] > 0 and diff[2] == 0 and diff[3] == 0  # node 2 is two hops from node 0


@pytest.mark.parametrize("layer", gnn.LAYERS)
def test_forecaster_is_a_pure_pytree_pair(layer):
    g = gnn.from_adjacency(ADJ + np.eye(4))
    model = gnn.SpatioTemporalForecaster(3, 8, 5, layer=layer, rngs=nnx.Rngs(0))
    graphdef, state = nnx.split(model)
    x = jax.random.normal(jax.random.key(0), (2, 6, 4, 3), jnp.float32)
    y = jax.jit(gnn.apply, static_argnums=0)(graphdef, state, x, g)
    assert y.shape == (2, 5, 4) and y.dtype == jnp.float32 and bool(jnp.all(jnp.isfinite(y)))
    np.testing.assert_allclose(y, model(x, g), rtol=1e-5, atol=1e-6)
    grads = jax.grad(lambda s: jnp.sum(gnn.apply(graphdef, s, x, g) ** 2))(state)
    assert all(bool(jnp.all(jnp.isfinite(v))) for v in jax.tree.leaves(grads))
    with pytest.raises(ValueError, match=r"expected inputs \(B, T_in, N, 3\)"):
        model(x[..., :2], g)


def test_checkpoint_roundtrip_and_refusals(tmp_path):
    model = gnn.SpatioTemporalForecaster(3, 8, 5, rngs=nnx.Rngs(0))
    _, state = nnx.split(model)
    path = gnn.save_checkpoint(tmp_path / "m.npz", state, {"epoch": 3})
    loaded, meta = gnn.load_checkpoint(path, state)
    assert meta == {"epoch": 3}
    for a, b in zip(jax.tree.leaves(state), jax.tree.leaves(loaded), strict=True):
        np.testing.assert_array_equal(a, b)
    assert not list(tmp_path.glob(".*.tmp"))
    other = nnx.split(gnn.SpatioTemporalForecaster(3, 16, 5, rngs=nnx.Rngs(0)))[1]
    with pytest.raises(gnn.CheckpointError, match="expects"):
        gnn.load_checkpoint(path, other)
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(gnn.CheckpointError, match="damaged"):
        gnn.load_checkpoint(path, state)
    with pytest.raises(gnn.CheckpointError, match="no checkpoint"):
        gnn.load_checkpoint(tmp_path / "none.npz", state)


def test_checkpoint_keeps_named_arrays_beside_the_state(tmp_path):
    state = nnx.split(gnn.SpatioTemporalForecaster(2, 4, 3, rngs=nnx.Rngs(0)))[1]
    table = np.arange(12.0).reshape(3, 4)
    path = gnn.save_checkpoint(tmp_path / "m.npz", state, {"epoch": 1}, arrays={"table": table})
    arrays = gnn.checkpoint_arrays(path)
    assert list(arrays) == ["table"] and arrays["table"].dtype == np.float64
    np.testing.assert_array_equal(arrays["table"], table)
    loaded, meta = gnn.load_checkpoint(path, state)  # the side arrays are not part of the state
    assert meta == {"epoch": 1} and len(jax.tree.leaves(loaded)) == len(jax.tree.leaves(state))
    assert gnn.checkpoint_arrays(gnn.save_checkpoint(tmp_path / "plain.npz", state)) == {}
    with pytest.raises(gnn.CheckpointError, match="no checkpoint"):
        gnn.checkpoint_arrays(tmp_path / "none.npz")
