"""The historical-average feature: leave-one-day-out values, no test data in training, the twin, the checkpoint."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from twinlab import gnn, traffic
from twinlab.traffic._history import ha_ahead

SMALL = traffic.Protocol(input_steps=12, horizon_steps=6, report_steps=(3, 6))


@pytest.fixture(scope="module")
def patch(los):
    """8 neighbouring sensors, the first three days."""
    return los.subset(traffic.nearby_sensors(los.adjacency, 8)).head(864)


def _ha_mph(windows: gnn.Windows, prep: traffic.Prepared) -> np.ndarray:
    """(T, N) the historical-average feature of a part's steps, back in mph."""
    return np.asarray(windows.features[..., 4]) * prep.std_mph + prep.mean_mph


def test_leave_one_day_out_matches_a_hand_computation():
    # 5 days of 3 eight-hour steps; 12 training steps (4 days: the last one validation), 3 test steps.
    speed = np.random.default_rng(0).uniform(20.0, 70.0, (15, 2))
    data = traffic.speed_data(speed, np.eye(2), step_minutes=480)
    protocol = traffic.Protocol(input_steps=1, horizon_steps=2, report_steps=(1, 2), val_fraction=0.25)
    prep = traffic.prepare(data, protocol, ha_feature=True, dtype=jnp.float64)
    assert (prep.split_step, prep.n_features, prep.ha_table_mph.shape) == (12, 5, (2, 3))
    train, test = _ha_mph(prep.train, prep), _ha_mph(prep.test, prep)
    # Step 4 (day 1, 08:00) looks at step 6 (day 2, 00:00): midnight on training days 0, 1 and 3, not day 2.
    np.testing.assert_allclose(train[4], (speed[0] + speed[3] + speed[9]) / 3, rtol=1e-12)
    # Step 7 looks at step 9, a validation target (day 3): days 0-2 only, as for the test part.
    np.testing.assert_allclose(train[7], (speed[0] + speed[3] + speed[6]) / 3, rtol=1e-12)
    # Step 12 (the test part) looks at step 14 (16:00): every training day's 16:00.
    np.testing.assert_allclose(test[0], (speed[2] + speed[5] + speed[8] + speed[11]) / 4, rtol=1e-12)
    np.testing.assert_allclose(prep.ha_table_mph[:, 2], test[0], rtol=1e-12)
    np.testing.assert_allclose(np.asarray(prep.train.features[..., 0]), (speed[:9] - prep.mean_mph) / prep.std_mph)


def test_leave_one_day_out_falls_back_when_no_other_day_has_that_step():
    speed = np.array([[50.0], [52.0], [40.0], [44.0], [60.0], [62.0]])  # 1.5 days of 4 steps, all training
    day, tod = np.array([0, 0, 0, 0, 1, 1]), np.array([0, 1, 2, 3, 0, 1])
    got = ha_ahead(speed, tod, day, 6, 4, 2)[:, 0]
    # Steps 0, 1 look at 02:00 and 03:00 of day 0, seen on no other day: the sensor's mean over day 1 instead.
    # Steps 2, 3 look at day 1's first steps: day 0's. Steps 4, 5 look past the split: the full table.
    np.testing.assert_allclose(got, [61.0, 61.0, 50.0, 52.0, 40.0, 44.0])
    # A training part inside one day: no other day at all, so the training mean (the normalisation constant).
    np.testing.assert_allclose(ha_ahead(speed[:4], tod[:4], day[:4], 3, 4, 1)[:2, 0], [142.0 / 3] * 2)


def test_no_test_speed_and_no_own_target_enters_a_training_feature(patch):
    # Both series as fresh C-ordered copies, so that even the last bit of the training mean agrees.
    prep = traffic.prepare(
        traffic.speed_data(patch.speed_mph.copy(), patch.adjacency), SMALL, ha_feature=True, dtype=jnp.float64
    )
    split = prep.split_step
    changed = patch.speed_mph.copy()
    changed[split:] = 5.0
    other = traffic.prepare(traffic.speed_data(changed, patch.adjacency), SMALL, ha_feature=True, dtype=jnp.float64)
    for part in ("train", "val"):
        np.testing.assert_array_equal(getattr(other, part).features, getattr(prep, part).features)
    np.testing.assert_array_equal(other.ha_table_mph, prep.ha_table_mph)
    np.testing.assert_array_equal(other.test.features[..., 4], prep.test.features[..., 4])  # from the table
    assert not np.allclose(other.test.features[..., 0], prep.test.features[..., 0])  # the speeds did change
    # A training reading is not in its own step's feature (H steps before it), but is on other days.
    u, h = 300, SMALL.horizon_steps
    bumped = patch.speed_mph.copy()
    bumped[u, 0] += 20.0
    again = traffic.prepare(traffic.speed_data(bumped, patch.adjacency), SMALL, ha_feature=True, dtype=jnp.float64)
    before, after = _ha_mph(prep.train, prep), _ha_mph(again.train, again)
    assert after[u - h, 0] == pytest.approx(before[u - h, 0], abs=1e-9)
    assert after[u - h + 288, 0] - before[u - h + 288, 0] == pytest.approx(20.0 / 2, abs=1e-9)  # 3 days: 2 others


def _untrained(prep: traffic.Prepared, dtype=jnp.float64) -> traffic.TrafficForecaster:
    h = prep.protocol.horizon_steps
    graphdef, states = gnn.init_ensemble(
        lambda r: gnn.SpatioTemporalForecaster(prep.n_features, 4, h, rngs=r, dtype=dtype), 1, 0
    )
    return traffic.TrafficForecaster(
        graphdef, states, prep.graph, prep.mean_mph, prep.std_mph, np.zeros(h), ha_table_mph=prep.ha_table_mph
    )


def test_the_twin_computes_the_prepared_features_from_its_table(patch):
    prep = traffic.prepare(patch, SMALL, ha_feature=True, dtype=jnp.float64)
    twin = traffic.TrafficTwin(_untrained(prep), patch.steps_per_day, SMALL.input_steps)
    assert twin.forecaster.n_features == 5
    speed = patch.speed_mph[prep.split_step :]
    tod = patch.step_of_day()[prep.split_step :]
    seen = np.ones_like(speed)
    feats = jax.jit(twin.features)(speed, seen, tod)
    np.testing.assert_allclose(feats, prep.test.features, rtol=1e-12, atol=1e-12)
    window = twin.assimilate(twin.start(speed[:12], seen[:12], tod[:12]), speed[12], seen[12], tod[12])
    np.testing.assert_allclose(window, prep.test.features[1:13], rtol=1e-12, atol=1e-12)
    gaps = seen.copy()
    gaps[:, 3] = 0.0
    missing = twin.features(np.where(gaps > 0, speed, np.nan), gaps, tod)
    np.testing.assert_array_equal(missing[:, 3], 0.0)  # all features, the historical average included
    np.testing.assert_allclose(np.delete(missing, 3, axis=1), np.delete(feats, 3, axis=1))
    with pytest.raises(ValueError, match="steps_per_day=96"):
        traffic.TrafficTwin(twin.forecaster, 96, SMALL.input_steps)


def test_the_checkpoint_keeps_the_table(patch, tmp_path):
    prep = traffic.prepare(patch, SMALL, ha_feature=True)
    path = tmp_path / "ha.npz"
    config = gnn.TrainConfig(epochs=1, batch_size=64, members=1, patience=1)
    model, _ = traffic.fit_forecaster(prep, config, hidden=4, checkpoint=path)
    np.testing.assert_array_equal(gnn.checkpoint_arrays(path)["ha_table_mph"], prep.ha_table_mph)
    loaded = traffic.load_forecaster(prep, path, members=1, hidden=4)
    np.testing.assert_array_equal(loaded.ha_table_mph, model.ha_table_mph)
    np.testing.assert_allclose(loaded.predict_windows(prep.test).mean_mph, model.predict_windows(prep.test).mean_mph)
    plain = traffic.prepare(patch, SMALL, ha_feature=False)
    with pytest.raises(gnn.CheckpointError, match=r"saved with the historical-average feature.*ha_feature"):
        traffic.load_forecaster(plain, path, members=1, hidden=4)
    with pytest.raises(gnn.CheckpointError, match="other sensors, days or split"):
        traffic.load_forecaster(traffic.prepare(patch.head(800), SMALL, ha_feature=True), path, members=1, hidden=4)
    no_table = gnn.save_checkpoint(tmp_path / "plain.npz", _untrained(plain, jnp.float32).states)
    with pytest.raises(gnn.CheckpointError, match="saved without the historical-average feature"):
        traffic.load_forecaster(prep, no_table, members=1, hidden=4)
    assert traffic.load_forecaster(plain, no_table, members=1, hidden=4).n_features == 4
