"""Windows, batches, the training loop (progress, early stopping, ensembles) on a small synthetic graph signal."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from twinlab import gnn

RING = np.roll(np.eye(6), 1, axis=1) + np.roll(np.eye(6), -1, axis=1)


def _diffusion(steps: int = 160) -> np.ndarray:
    """(T, 6) a signal that diffuses around a ring of 6 nodes, with a daily-like forcing at node 0."""
    x = np.zeros((steps, 6))
    lap = RING - 2 * np.eye(6)
    for t in range(1, steps):
        x[t] = x[t - 1] + 0.3 * lap @ x[t - 1]
        x[t, 0] += np.sin(2 * np.pi * t / 24)
    return x


def _windows(series: np.ndarray, dtype=jnp.float32) -> gnn.Windows:
    return gnn.make_windows(series[..., None], series, 6, 3, dtype=dtype)


def test_windows_gather_the_right_steps():
    series = np.arange(40.0).reshape(20, 2)
    w = _windows(series)
    assert w.count == 20 - 9 + 1
    b = gnn.take_batch(w, jnp.asarray([[0, 3]]))
    assert b.inputs.shape == (1, 2, 6, 2, 1) and b.targets.shape == (1, 2, 3, 2)
    np.testing.assert_array_equal(b.inputs[0, 1, :, 0, 0], series[3:9, 0])
    np.testing.assert_array_equal(b.targets[0, 1], series[9:12])
    assert bool(jnp.all(b.weights == 1))


def test_window_errors_name_the_problem():
    with pytest.raises(ValueError, match=r"needs 6 input \+ 30 horizon = 36 steps but the series has 20"):
        gnn.make_windows(np.zeros((20, 2, 1)), np.zeros((20, 2)), 6, 30)
    with pytest.raises(ValueError, match="NaN/inf"):
        gnn.make_windows(np.full((20, 2, 1), np.nan), np.zeros((20, 2)), 6, 3)
    with pytest.raises(ValueError, match="same T, N"):
        gnn.make_windows(np.zeros((20, 3, 1)), np.zeros((20, 2)), 6, 3)
    with pytest.raises(ValueError, match="loss must be one of"):
        gnn.TrainConfig(loss="huber")
    with pytest.raises(ValueError, match="schedule must be one of"):
        gnn.TrainConfig(schedule="step")
    with pytest.raises(ValueError, match="make no batch of 64"):
        gnn.train(
            lambda r: gnn.SpatioTemporalForecaster(1, 4, 3, rngs=r),
            gnn.from_adjacency(RING),
            _windows(_diffusion(40)),
            _windows(_diffusion(40)),
            gnn.TrainConfig(batch_size=64),
        )


def test_ensemble_learns_reports_progress_and_stops_early():
    series = _diffusion()
    train_w, val_w = _windows(series[:120]), _windows(series[110:])
    graph = gnn.from_adjacency(RING)

    def make(rngs: nnx.Rngs) -> gnn.SpatioTemporalForecaster:
        return gnn.SpatioTemporalForecaster(1, 8, 3, rngs=rngs)

    seen = []
    config = gnn.TrainConfig(epochs=6, batch_size=16, members=3, patience=6, learning_rate=1e-2, loss="mse")
    result = gnn.train(make, graph, train_w, val_w, config, progress=seen.append)
    assert [r.epoch for r in seen] == list(range(6)) and seen == result.history
    assert result.history[-1].val_loss < 0.5 * result.history[0].val_loss
    leaves = jax.tree.leaves(result.states)
    assert all(a.shape[0] == 3 for a in leaves)
    assert not np.allclose(leaves[-1][0], leaves[-1][1])  # members differ
    np.testing.assert_allclose(
        gnn.evaluate_loss(result.graphdef, result.states, graph, val_w, "mse"), result.best_val_loss, rtol=1e-5
    )
    per_kind = {k: gnn.evaluate_loss(result.graphdef, result.states, graph, val_w, k) for k in gnn.LOSSES}
    np.testing.assert_allclose(per_kind["mae+mse"], per_kind["mae"] + per_kind["mse"], rtol=1e-5)
    frozen = gnn.TrainConfig(epochs=50, batch_size=16, patience=2, learning_rate=0.0)
    stopped = gnn.train(make, graph, train_w, val_w, frozen)
    assert len(stopped.history) == 3  # epoch 0 sets the best; two epochs without improvement end it
    preds = gnn.ensemble_apply(result.graphdef, result.states, gnn.take_batch(val_w, jnp.arange(4)).inputs, graph)
    assert preds.shape == (3, 4, 3, 6)


def test_cosine_schedule_falls_from_the_step_size_to_five_percent_over_the_epochs():
    from twinlab.gnn._train import _step_size

    config = gnn.TrainConfig(epochs=4, learning_rate=1e-2, schedule="cosine")
    size = _step_size(config, steps_per_epoch=10)
    np.testing.assert_allclose([size(0), size(20), size(40)], [1e-2, 0.525e-2, 0.05e-2], rtol=1e-6)
    assert _step_size(gnn.TrainConfig(learning_rate=1e-2), 10) == 1e-2
    series = _diffusion()
    result = gnn.train(
        lambda r: gnn.SpatioTemporalForecaster(1, 8, 3, rngs=r),
        gnn.from_adjacency(RING),
        _windows(series[:120]),
        _windows(series[110:]),
        gnn.TrainConfig(epochs=6, batch_size=16, patience=6, learning_rate=1e-2, loss="mse", schedule="cosine"),
    )
    assert result.history[-1].val_loss < 0.5 * result.history[0].val_loss
