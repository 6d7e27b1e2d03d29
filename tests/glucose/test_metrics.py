"""Glycaemic metrics: hand-computed values, batching, NaN masking, jit, simglucose's risk index, errors."""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest

from twinlab.glucose._metrics import (
    CONSENSUS_TARGETS,
    METRIC_NAMES,
    cv_percent,
    glycaemic_metrics,
    gmi_percent,
    hbgi,
    lbgi,
    mean_mg_dl,
    meets_consensus,
    metrics_table,
    risk_function,
    risk_index,
    sd_mg_dl,
    time_above,
    time_below,
    time_in_range,
)

EXPECTED_KEYS = [
    "mean_mg_dl",
    "sd_mg_dl",
    "cv_percent",
    "gmi_percent",
    "tir_70_180_percent",
    "below_70_percent",
    "below_54_percent",
    "above_180_percent",
    "above_250_percent",
    "lbgi",
    "hbgi",
    "risk_index",
]

# Ten readings, chosen so that each threshold is hit on and beside its boundary.
SERIES = [40.0, 54.0, 60.0, 70.0, 120.0, 180.0, 200.0, 250.0, 260.0, 300.0]


@pytest.fixture
def x64() -> Iterator[None]:
    previous = jax.config.read("jax_enable_x64")
    jax.config.update("jax_enable_x64", True)
    yield
    jax.config.update("jax_enable_x64", previous)


def _numpy_risk(bg: np.ndarray) -> tuple[float, float]:
    """Kovatchev's LBGI and HBGI, straight from the published formula: means over all readings."""
    f = 1.509 * (np.log(bg) ** 1.084 - 5.381)
    return float(np.mean(np.where(f < 0, 10 * f**2, 0.0))), float(np.mean(np.where(f > 0, 10 * f**2, 0.0)))


def _simglucose_risk(bg: float) -> tuple[float, float, float]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from simglucose.analysis.risk import risk_index as reference_risk_index
    low, high, total = reference_risk_index([bg], 1)
    return float(low), float(high), float(total)


def _population(shape: tuple[int, ...], seed: int = 0) -> jax.Array:
    rng = np.random.default_rng(seed)
    return jnp.asarray(np.exp(rng.normal(np.log(140.0), 0.45, size=shape)))


def test_hand_computed_times_in_ranges(x64: None) -> None:
    bg = jnp.asarray(SERIES)
    assert float(time_in_range(bg)) == pytest.approx(30.0)  # 70, 120, 180: both bounds count
    assert float(time_below(bg, 70.0)) == pytest.approx(30.0)  # 40, 54, 60
    assert float(time_below(bg, 54.0)) == pytest.approx(10.0)  # 40 only: strictly below
    assert float(time_above(bg, 180.0)) == pytest.approx(40.0)  # 200, 250, 260, 300
    assert float(time_above(bg, 250.0)) == pytest.approx(20.0)  # 260, 300: strictly above
    assert float(time_in_range(bg, low=54.0, high=250.0)) == pytest.approx(70.0)


def test_hand_computed_mean_sd_cv_gmi(x64: None) -> None:
    bg = jnp.asarray([100.0, 200.0])
    assert float(mean_mg_dl(bg)) == pytest.approx(150.0)
    assert float(sd_mg_dl(bg)) == pytest.approx(50.0)
    assert float(sd_mg_dl(bg, ddof=1)) == pytest.approx(50.0 * np.sqrt(2.0))
    assert float(cv_percent(bg)) == pytest.approx(100.0 / 3.0)
    assert float(gmi_percent(bg)) == pytest.approx(3.31 + 0.02392 * 150.0)
    m = glycaemic_metrics(jnp.asarray(SERIES))
    assert float(m["mean_mg_dl"]) == pytest.approx(153.4)
    assert float(m["gmi_percent"]) == pytest.approx(6.979328)


def test_risk_zero_near_112_5_mg_dl_and_sides(x64: None) -> None:
    rl, rh = risk_function(jnp.asarray([60.0, 112.5, 300.0]))
    assert float(rl[0]) > 0
    assert float(rh[0]) == 0
    assert float(rl[1]) == pytest.approx(0.0, abs=1e-4)
    assert float(rh[1]) == pytest.approx(0.0, abs=1e-4)
    assert float(rl[2]) == 0
    assert float(rh[2]) > 0
    f = 1.509 * (np.log(60.0) ** 1.084 - 5.381)
    assert float(rl[0]) == pytest.approx(10 * f**2, rel=1e-12)


@pytest.mark.parametrize("bg", [20.0, 39.0, 54.0, 70.0, 100.0, 112.0, 113.0, 150.0, 180.0, 250.0, 400.0, 600.0])
def test_single_reading_matches_simglucose(x64: None, bg: float) -> None:
    low, high, total = _simglucose_risk(bg)
    series = jnp.asarray([bg])
    assert float(lbgi(series)) == pytest.approx(low, abs=1e-9)
    assert float(hbgi(series)) == pytest.approx(high, abs=1e-9)
    assert float(risk_index(series)) == pytest.approx(total, abs=1e-9)


def test_series_risk_is_the_published_mean_over_all_readings(x64: None) -> None:
    bg = np.asarray(SERIES)
    low, high = _numpy_risk(bg)
    assert float(lbgi(jnp.asarray(bg))) == pytest.approx(low, rel=1e-12)
    assert float(hbgi(jnp.asarray(bg))) == pytest.approx(high, rel=1e-12)
    assert float(risk_index(jnp.asarray(bg))) == pytest.approx(low + high, rel=1e-12)


def test_simglucose_subset_mean_differs_for_mixed_series(x64: None) -> None:
    # simglucose averages rl over the low readings only; the published LBGI averages over all readings.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from simglucose.analysis.risk import risk_index as reference_risk_index
    bg = np.asarray([60.0, 200.0])
    reference_low, reference_high, _ = reference_risk_index(bg, 2)
    assert float(lbgi(jnp.asarray(bg))) == pytest.approx(reference_low / 2, rel=1e-12)
    assert float(hbgi(jnp.asarray(bg))) == pytest.approx(reference_high / 2, rel=1e-12)


def test_keys_are_exactly_the_documented_ones(x64: None) -> None:
    assert list(glycaemic_metrics(jnp.asarray(SERIES))) == EXPECTED_KEYS
    assert list(METRIC_NAMES) == EXPECTED_KEYS


def test_batch_shapes_and_per_series_agreement(x64: None) -> None:
    bg = _population((3, 5, 96))
    m = glycaemic_metrics(bg)
    for key in EXPECTED_KEYS:
        assert m[key].shape == (3, 5), key
    for i, j in [(0, 0), (1, 3), (2, 4)]:
        single = glycaemic_metrics(bg[i, j])
        for key in EXPECTED_KEYS:
            np.testing.assert_allclose(np.asarray(m[key][i, j]), np.asarray(single[key]), rtol=1e-12, err_msg=key)
    assert time_in_range(bg).shape == (3, 5)
    assert lbgi(bg).shape == (3, 5)
    low, _ = _numpy_risk(np.asarray(bg[1, 2]))
    assert float(m["lbgi"][1, 2]) == pytest.approx(low, rel=1e-12)
    np.testing.assert_allclose(np.asarray(m["sd_mg_dl"]), np.std(np.asarray(bg), axis=-1), rtol=1e-12)


def test_nan_readings_are_left_out(x64: None) -> None:
    bg = np.asarray(SERIES)
    with_gaps = np.insert(bg, [0, 3, 3, 10], np.nan)
    full = glycaemic_metrics(jnp.asarray(bg))
    gappy = glycaemic_metrics(jnp.asarray(with_gaps))
    for key in EXPECTED_KEYS:
        assert float(gappy[key]) == pytest.approx(float(full[key]), rel=1e-12), key
    rl, rh = risk_function(jnp.asarray(np.nan))
    assert np.isnan(float(rl))
    assert np.isnan(float(rh))


def test_all_nan_series_gives_nan_and_leaves_others_alone(x64: None) -> None:
    bg = jnp.stack([jnp.asarray(SERIES), jnp.full(len(SERIES), jnp.nan)])
    m = glycaemic_metrics(bg)
    for key in EXPECTED_KEYS:
        assert np.isfinite(float(m[key][0])), key
        assert np.isnan(float(m[key][1])), key


def test_jit_equals_eager(x64: None) -> None:
    bg = _population((4, 288), seed=1).at[0, 5].set(jnp.nan)
    eager = glycaemic_metrics(bg)
    jitted = jax.jit(glycaemic_metrics)(bg)
    for key in EXPECTED_KEYS:
        np.testing.assert_allclose(np.asarray(jitted[key]), np.asarray(eager[key]), rtol=1e-12, err_msg=key)
    vmapped = jax.vmap(glycaemic_metrics)(bg)
    for key in EXPECTED_KEYS:
        np.testing.assert_allclose(np.asarray(vmapped[key]), np.asarray(eager[key]), rtol=1e-12, err_msg=key)


def test_float32_input_keeps_its_dtype_and_accuracy(x64: None) -> None:
    bg = np.asarray(SERIES)
    m = glycaemic_metrics(jnp.asarray(bg, dtype=jnp.float32))
    assert m["lbgi"].dtype == jnp.float32
    low, high = _numpy_risk(bg)
    assert float(m["lbgi"]) == pytest.approx(low, rel=1e-5)
    assert float(m["hbgi"]) == pytest.approx(high, rel=1e-5)


def test_integer_readings_are_accepted(x64: None) -> None:
    assert float(mean_mg_dl(jnp.asarray([100, 200]))) == pytest.approx(150.0)


def test_smooth_metrics_have_finite_gradients(x64: None) -> None:
    bg = _population((48,), seed=2)
    for fn in (mean_mg_dl, sd_mg_dl, cv_percent, gmi_percent, lbgi, hbgi, risk_index):
        grad = jax.grad(fn)(bg)
        assert np.all(np.isfinite(np.asarray(grad))), fn.__name__
    np.testing.assert_allclose(np.asarray(jax.grad(mean_mg_dl)(bg)), np.full(48, 1 / 48), rtol=1e-12)


@pytest.mark.parametrize("bad", [0.0, -5.0, np.inf, -np.inf])
def test_bad_readings_raise_with_a_fix(x64: None, bad: float) -> None:
    bg = jnp.asarray([100.0, 120.0, bad, 90.0])
    for fn in (glycaemic_metrics, time_in_range, lbgi, mean_mg_dl, metrics_table):
        with pytest.raises(ValueError, match=r"zero, negative or infinite.*index \(2,\).*Fix: mark missing"):
            fn(bg)


def test_scalar_input_raises(x64: None) -> None:
    with pytest.raises(ValueError, match="time on the last axis"):
        glycaemic_metrics(jnp.asarray(120.0))


def test_check_is_skipped_under_tracing(x64: None) -> None:
    # Values are unknown while tracing: a zero reading cannot be caught there, and must not crash the trace.
    tir = jax.jit(time_in_range)(jnp.asarray([0.0, 100.0]))
    assert float(tir) == pytest.approx(50.0)


def test_metrics_table_rows_and_columns(x64: None) -> None:
    bg = _population((3, 96), seed=3)
    table = metrics_table(bg, names=["adult#001", "adult#002", "child#001"])
    assert isinstance(table, pd.DataFrame)
    assert list(table.columns) == EXPECTED_KEYS
    assert list(table.index) == ["adult#001", "adult#002", "child#001"]
    m = glycaemic_metrics(bg)
    np.testing.assert_allclose(table["risk_index"].to_numpy(), np.asarray(m["risk_index"]), rtol=1e-12)
    assert list(metrics_table(bg).index) == ["0", "1", "2"]
    one = metrics_table(bg[0])
    assert list(one.index) == ["0"]
    assert one.loc["0", "mean_mg_dl"] == pytest.approx(float(m["mean_mg_dl"][0]))


def test_metrics_table_bad_names_and_shapes(x64: None) -> None:
    bg = _population((3, 96), seed=3)
    with pytest.raises(ValueError, match="2 names for 3 individuals"):
        metrics_table(bg, names=["a", "b"])
    with pytest.raises(ValueError, match="single string"):
        metrics_table(bg, names="abc")
    with pytest.raises(ValueError, match=r"got shape \(3, 2, 48\).*reshape"):
        metrics_table(bg.reshape(3, 2, 48))


def test_consensus_targets() -> None:
    assert dict(CONSENSUS_TARGETS) == {
        "tir_70_180_percent": (">", 70.0),
        "below_70_percent": ("<", 4.0),
        "below_54_percent": ("<", 1.0),
        "above_250_percent": ("<", 5.0),
        "above_180_percent": ("<", 25.0),
        "cv_percent": ("<=", 36.0),
    }
    with pytest.raises(TypeError):
        CONSENSUS_TARGETS["cv_percent"] = ("<=", 40.0)  # type: ignore[index]


def test_meets_consensus_per_series(x64: None) -> None:
    steady = jnp.full(100, 120.0).at[:10].set(150.0)
    low_heavy = jnp.full(100, 120.0).at[:5].set(50.0)  # 5 % below 70 and below 54
    high_heavy = jnp.full(100, 120.0).at[:40].set(300.0)
    result = meets_consensus(glycaemic_metrics(jnp.stack([steady, low_heavy, high_heavy])))
    assert list(result) == list(CONSENSUS_TARGETS)
    assert all(v.dtype == jnp.bool_ and v.shape == (3,) for v in result.values())
    assert np.asarray(result["tir_70_180_percent"]).tolist() == [True, True, False]
    assert np.asarray(result["below_70_percent"]).tolist() == [True, False, True]
    assert np.asarray(result["below_54_percent"]).tolist() == [True, False, True]
    assert np.asarray(result["above_180_percent"]).tolist() == [True, True, False]
    assert np.asarray(result["above_250_percent"]).tolist() == [True, True, False]
    assert np.asarray(result["cv_percent"]).tolist() == [True, True, False]


def test_meets_consensus_boundaries_and_missing_keys() -> None:
    on_the_line = {key: limit for key, (_, limit) in CONSENSUS_TARGETS.items()}
    result = meets_consensus(on_the_line)
    assert bool(result["cv_percent"])  # CV <= 36 % is met at 36 %
    assert not bool(result["tir_70_180_percent"])  # TIR must exceed 70 %
    assert not bool(result["below_70_percent"])
    with pytest.raises(ValueError, match=r"\['cv_percent'\].*glycaemic_metrics"):
        meets_consensus({k: v for k, v in on_the_line.items() if k != "cv_percent"})
