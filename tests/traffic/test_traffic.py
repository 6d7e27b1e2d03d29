"""The traffic twin on the real Los Angeles data: protocol, baselines, a small trained ensemble, streaming, what-ifs."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from twinlab import gnn, traffic
from twinlab.datasets import DataFileError

SMALL = traffic.Protocol(input_steps=12, horizon_steps=6, report_steps=(3, 6))


@pytest.fixture(scope="module")
def small(los):
    """8 neighbouring sensors, the first three days."""
    return traffic.prepare(los.subset(traffic.nearby_sensors(los.adjacency, 8)).head(864), SMALL)


def test_los_loop_loads_with_its_graph(real_data, los):
    assert los.speed_mph.shape == (2016, 207) and los.adjacency.shape == (207, 207)
    assert np.allclose(los.adjacency, los.adjacency.T) and los.speed_mph.min() > 0 and los.speed_mph.max() == 70.0
    assert los.steps_per_day == 288 and los.step_of_day()[288] == 0
    prep = traffic.prepare(los)
    assert (prep.train.count, prep.val.count, prep.test.count, prep.split_step) == (1429, 150, 380, 1613)
    assert prep.mean_mph == pytest.approx(los.speed_mph[:1613].mean())  # training part only


def test_bad_inputs_are_named():
    with pytest.raises(ValueError, match=r"adjacency is \(3, 3\) but there are 4 sensors"):
        traffic.speed_data(np.ones((50, 4)), np.eye(3))
    with pytest.raises(ValueError, match="NaN or inf"):
        traffic.speed_data(np.full((50, 2), np.nan), np.eye(2))
    with pytest.raises(ValueError, match=r"needs 12 input \+ 60 horizon = 72"):
        traffic.prepare(traffic.speed_data(np.ones((300, 2)), np.eye(2)), traffic.Protocol(horizon_steps=60))
    with pytest.raises(ValueError, match="report_steps"):
        traffic.Protocol(horizon_steps=6)


def test_missing_or_damaged_data_files_are_refused(monkeypatch, tmp_path):
    monkeypatch.setenv("TWINLAB_DATA_DIR", str(tmp_path))
    with pytest.raises(DataFileError, match=r"'tgcn_los_loop' file 'los_speed.csv' not found"):
        traffic.load_los_loop()
    (tmp_path / "tgcn_los_loop").mkdir()
    (tmp_path / "tgcn_los_loop" / "los_speed.csv").write_text("1,2\n3,4\n")
    with pytest.raises(DataFileError, match="damaged or a different version"):
        traffic.load_los_loop()


def test_baselines_use_only_what_they_may(los):
    prep = traffic.prepare(los)
    last = traffic.last_value(prep)
    w = 17
    np.testing.assert_array_equal(last[w, 4], los.speed_mph[prep.split_step + w + 11])
    ha = traffic.historical_average(prep)
    changed = traffic.speed_data(np.where(np.arange(2016)[:, None] >= 1613, 0.0, los.speed_mph), los.adjacency)
    np.testing.assert_array_equal(ha, traffic.historical_average(traffic.prepare(changed)))  # no test data used
    scores = traffic.mae_rmse(last, prep.test_truth_mph(), (3, 12))
    assert 3.0 < scores[3][0] < scores[12][0] and scores[3][1] > scores[3][0]


@pytest.fixture(scope="module")
def trained(small, tmp_path_factory):
    path = tmp_path_factory.mktemp("ckpt") / "best.npz"
    config = gnn.TrainConfig(epochs=4, batch_size=16, members=2, patience=4, drop_nodes=0.1, learning_rate=1e-2)
    model, result = traffic.fit_forecaster(small, config, hidden=8, checkpoint=path)
    return model, result, path


def test_ensemble_trains_calibrates_and_checkpoints(small, trained):
    model, result, path = trained
    assert model.members == 2 and len(result.history) == 4
    assert result.history[-1].val_loss < result.history[0].val_loss
    fc = model.predict_windows(small.test)
    truth = small.test_truth_mph()
    assert fc.mean_mph.shape == truth.shape and fc.members_mph.shape == (2, *truth.shape)
    assert bool(jnp.all(fc.std_mph > 0)) and np.all(model.noise_var > 0)
    ours = traffic.mae_rmse(np.asarray(fc.mean_mph), truth, (3,))[3][0]
    assert ours < traffic.mae_rmse(traffic.historical_average(small), truth, (3,))[3][0]
    lo, hi = fc.interval(0.9)
    assert 0.6 < traffic.coverage(np.asarray(lo), np.asarray(hi), truth) <= 1.0
    saved, meta = gnn.load_checkpoint(path, result.states)
    assert meta["members"] == 2
    for a, b in zip(jax.tree.leaves(saved), jax.tree.leaves(result.states), strict=True):
        np.testing.assert_array_equal(a, b)


def test_calibrated_intervals_cover_their_level_on_the_calibration_windows(small, trained):
    model = trained[0]
    scale = np.asarray(model.interval_scale)
    assert scale.shape == (SMALL.horizon_steps, len(traffic.INTERVAL_LEVELS))
    assert np.all(np.diff(scale, axis=1) >= 0), "multipliers must grow with the level"
    val = model.predict_windows(small.val)
    truth = np.asarray(gnn.take_batch(small.val, jnp.arange(small.val.count)).targets) * small.std_mph + small.mean_mph
    for level in (0.5, 0.8, 0.95):
        lo, hi = val.interval(level)
        assert abs(traffic.coverage(np.asarray(lo), np.asarray(hi), truth) - level) < 0.02
    gaussian = val.replace(interval_scale=None)
    np.testing.assert_allclose(np.asarray(gaussian.multiplier(0.9)).ravel(), 1.6448536, rtol=1e-6)
    with pytest.raises(ValueError, match="Fix: pick a level"):
        val.interval(0.995)


def test_streaming_replay_matches_batch_forecasts_and_takes_missing_readings(small, trained):
    model = trained[0]
    twin = traffic.TrafficTwin(model, small.data.steps_per_day, SMALL.input_steps)
    speed = small.data.speed_mph[small.split_step :]
    tod = small.data.step_of_day()[small.split_step :]
    ones = np.ones_like(speed)
    window = twin.start(speed[:12], ones[:12], tod[:12])
    fc = twin.replay(window, speed[12:40], ones[12:40], tod[12:40])
    batch = model.predict_windows(small.test)
    np.testing.assert_allclose(fc.mean_mph[:20], batch.mean_mph[1:21], rtol=1e-4, atol=1e-3)
    gaps = ones[12:40].copy()
    gaps[5:, 3] = 0.0  # sensor 3 goes quiet
    holes = np.where(gaps > 0, speed[12:40], np.nan)  # what it "reports" is NaN
    fc_gap = twin.replay(window, holes, gaps, tod[12:40])
    assert bool(jnp.all(jnp.isfinite(fc_gap.mean_mph)))
    np.testing.assert_allclose(fc_gap.mean_mph[:5], fc.mean_mph[:5], rtol=1e-5)
    assert float(jnp.max(jnp.abs(fc_gap.mean_mph[10:, :, 3] - fc.mean_mph[10:, :, 3]))) > 0.01


def test_what_if_sensor_lost_and_road_closed(small, trained):
    model = trained[0]
    twin = traffic.TrafficTwin(model, small.data.steps_per_day, SMALL.input_steps)
    window = gnn.take_batch(small.test, jnp.arange(1)).inputs[0]
    base, lost = twin.what_if(window, lost_sensors=[2])
    np.testing.assert_allclose(base.mean_mph, twin.forecast(window).mean_mph)
    assert float(jnp.max(jnp.abs(lost.mean_mph[..., 2] - base.mean_mph[..., 2]))) > 0.01
    assert float(jnp.max(jnp.abs(lost.std_mph[..., 2] - base.std_mph[..., 2]))) > 1e-4
    pair = next((int(a), int(b)) for a, b in zip(small.graph.senders, small.graph.receivers, strict=True) if a != b)
    _, closed = twin.what_if(window, closed_roads=[pair])
    assert float(jnp.max(jnp.abs(closed.mean_mph[..., pair[1]] - base.mean_mph[..., pair[1]]))) > 1e-4


def test_sharded_batches_train_to_the_same_model(los):
    # float64, so that the only difference, the order of the cross-device gradient sum, stays invisible after Adam.
    prep = traffic.prepare(los.subset(traffic.nearby_sensors(los.adjacency, 8)).head(300), SMALL, dtype=jnp.float64)
    config = gnn.TrainConfig(epochs=1, batch_size=16, members=1, patience=1)
    plain = traffic.fit_forecaster(prep, config, hidden=4)[1]
    sharded = traffic.fit_forecaster(prep, config, hidden=4, mesh=gnn.batch_mesh())[1]
    assert len(jax.devices()) == 8 and len(plain.history) == 1
    for a, b in zip(jax.tree.leaves(plain.states), jax.tree.leaves(sharded.states), strict=True):
        assert a.dtype == jnp.float64
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
