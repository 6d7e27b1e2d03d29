"""The hybrid fitted to a person's own record: one window from the first reading, readings held out at the end."""

import jax.numpy as jnp
import numpy as np
import pytest

import twinlab as tl
from twinlab import hybrid
from twinlab.glucose import GlucoseRecord, Schedule

PATIENT = tl.glucose.patient("adult#002", dtype=jnp.float64)


@pytest.fixture(scope="module")
def record() -> GlucoseRecord:
    return tl.dash.simulated_record("adult#002", 240, seed=0)


def test_a_record_is_one_window_from_its_first_reading(record: GlucoseRecord) -> None:
    _, start = hybrid.init_hybrid(PATIENT)
    w = hybrid.record_windows(record, start)
    assert w.count == 1 and w.cgm_every_min == 1 and w.cgm_mg_dl.shape == (1, 235)
    readings = np.asarray(w.cgm_mg_dl[0])
    np.testing.assert_array_equal(np.flatnonzero(~np.isnan(readings)) + 1, record.cgm_minute[1:])
    np.testing.assert_array_equal(readings[~np.isnan(readings)], record.cgm_mg_dl[1:])
    assert float(w.state0.x[0, 12] / PATIENT.Vg) == pytest.approx(record.cgm_mg_dl[0])  # starts at the first reading
    np.testing.assert_array_equal(w.state0.x[0, 13:], [0.0, 0.0])  # no heart rate: the filters at rest
    assert float(jnp.sum(w.inputs.cho_g)) == 45.0 and np.all(np.isnan(np.asarray(w.bg_mg_dl)))


def test_a_new_hybrid_on_a_record_scores_as_the_base_model(record: GlucoseRecord) -> None:
    model, start = hybrid.init_hybrid(PATIENT)
    w = hybrid.record_windows(record, start)
    base = hybrid.reading_rmse(model.replace(use_residual=False), start, w)
    np.testing.assert_allclose(hybrid.reading_rmse(model, start, w), base)
    bg = np.asarray(hybrid.forecast_bg(model, start, w)[0])
    expected = np.sqrt(np.mean((bg[record.cgm_minute[1:].astype(int)] - record.cgm_mg_dl[1:]) ** 2))
    assert float(base[0]) == pytest.approx(expected)


def test_fitting_on_the_head_lowers_the_training_loss_and_the_tail_is_held_out(record: GlucoseRecord) -> None:
    prior = PATIENT.replace(Vmx=PATIENT.Vmx * 1.5)  # a wrong starting point that the fit must move away from
    model, start = hybrid.init_hybrid(prior, seed=0)
    train, test = hybrid.split_readings(hybrid.record_windows(record, start), held_out_min=60)
    n_train, n_test = (int(np.sum(~np.isnan(np.asarray(p.cgm_mg_dl)))) for p in (train, test))
    assert (n_train, n_test) == (35, 12)
    fitted = hybrid.fit(model, start, train, steps=8, learning_rate=1e-2)
    assert np.all(np.isfinite(fitted.losses)) and fitted.losses[-1] < fitted.losses[0]
    assert float(hybrid.reading_rmse(model, fitted.params, train)[0]) < float(
        hybrid.reading_rmse(model, start, train)[0]
    )
    assert np.isfinite(hybrid.reading_rmse(model, fitted.params, test)).all()


def test_bad_records_and_splits_are_refused(record: GlucoseRecord) -> None:
    _, start = hybrid.init_hybrid(PATIENT)
    short = GlucoseRecord(np.array([0.0, 5.0]), np.array([100.0, 101.0]), Schedule(), minutes=10)
    with pytest.raises(ValueError, match="span 5 minutes"):
        hybrid.record_windows(short, start)
    w = hybrid.record_windows(record, start)
    with pytest.raises(ValueError, match="held_out_min must be"):
        hybrid.split_readings(w, held_out_min=0)
    with pytest.raises(ValueError, match="training readings of a window would be empty"):
        hybrid.split_readings(w, held_out_min=234)
