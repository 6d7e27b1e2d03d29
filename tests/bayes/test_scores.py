"""Proper scores: CRPS against its closed form and the pairwise definition; the log score against SciPy."""

import numpy as np
import pytest
from scipy import stats

from twinlab import bayes
from twinlab.bayes import Forecast


def _crps_normal(mu: float, sd: float, y: np.ndarray) -> np.ndarray:
    z = (y - mu) / sd
    return sd * (z * (2 * stats.norm.cdf(z) - 1) + 2 * stats.norm.pdf(z) - 1 / np.sqrt(np.pi))


def test_crps_matches_the_pairwise_definition():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(37, 5)), rng.normal(size=5)
    pairwise = np.mean(np.abs(x - y), axis=0) - 0.5 * np.mean(np.abs(x[:, None] - x[None, :]), axis=(0, 1))
    np.testing.assert_allclose(bayes.crps_ensemble(x, y), pairwise, rtol=1e-12)


def test_crps_of_a_point_forecast_is_the_absolute_error():
    np.testing.assert_allclose(bayes.crps_ensemble(np.array([[3.0, -1.0]]), np.array([1.0, 1.0])), [2.0, 2.0])


def test_crps_of_a_large_normal_ensemble_matches_the_closed_form():
    y = np.array([-2.0, 0.0, 0.3, 4.0])
    draws = np.random.default_rng(1).normal(1.0, 2.0, size=(200_000, 1)) * np.ones((1, 4))
    # Monte Carlo error of the estimate is ~ sd / sqrt(S) = 0.0045; the bias of the V-statistic is ~ sd / S.
    np.testing.assert_allclose(bayes.crps_ensemble(draws, y), _crps_normal(1.0, 2.0, y), atol=0.02)


def test_crps_prefers_the_distribution_the_data_come_from():
    rng = np.random.default_rng(2)
    y = rng.normal(size=2000)
    true, shifted, wide = (rng.normal(m, s, size=(500, 1)) for m, s in ((0, 1), (0.5, 1), (0, 2)))
    score = {name: bayes.crps_ensemble(d * np.ones((1, y.size)), y).mean()
             for name, d in (("true", true), ("shifted", shifted), ("wide", wide))}  # fmt: skip
    assert score["true"] < score["shifted"] and score["true"] < score["wide"]


def test_crps_rejects_bad_shapes_and_missing_values():
    with pytest.raises(ValueError, match=r"\(S, n\)"):
        bayes.crps_ensemble(np.zeros((3, 2)), np.zeros(3))
    with pytest.raises(ValueError, match="finite"):
        bayes.crps_ensemble(np.zeros((3, 2)), np.array([1.0, np.nan]))


def test_log_score_of_one_draw_is_the_student_t_density():
    y, loc, scale = np.array([90.0, 150.0]), np.array([[100.0, 140.0]]), np.array([8.0])
    expected = stats.t.logpdf(y, 5.0, loc=loc[0], scale=8.0)
    np.testing.assert_allclose(bayes.log_score_mixture(loc, scale, y, 5.0), expected, rtol=1e-12)


def test_log_score_is_the_log_of_the_mixture_density():
    rng = np.random.default_rng(3)
    loc, scale, y = rng.normal(100, 10, size=(6, 3)), rng.uniform(5, 10, size=6), np.array([95.0, 100.0, 130.0])
    dens = np.mean([stats.t.pdf(y, 4.0, loc=loc[s], scale=scale[s]) for s in range(6)], axis=0)
    np.testing.assert_allclose(bayes.log_score_mixture(loc, scale, y, 4.0), np.log(dens), rtol=1e-10)


def test_forecast_scores_readings_at_their_minutes():
    rng = np.random.default_rng(4)
    bg = 120.0 + rng.normal(0, 5, size=(400, 1)) + np.arange(61)[None, :]  # rising 1 mg/dL per minute
    sigma = np.full(400, 6.0)
    fc = Forecast(minute=np.arange(600, 661), bg=bg, cgm=bg + rng.standard_t(5, bg.shape) * 6.0, sigma_mg_dl=sigma)
    minute, cgm = np.array([605.0, 630.0]), np.array([125.0, 150.0])
    np.testing.assert_allclose(fc.crps(minute, cgm), bayes.crps_ensemble(fc.cgm[:, [5, 30]], cgm))
    np.testing.assert_allclose(fc.log_score(minute, cgm), bayes.log_score_mixture(bg[:, [5, 30]], sigma, cgm, 5.0))
    assert fc.log_score(minute, cgm)[0] > fc.log_score(minute, cgm + 40.0)[0]
    with pytest.raises(ValueError, match="within the forecast"):
        fc.crps(np.array([599.0]), np.array([120.0]))
    with pytest.raises(ValueError, match="whole minutes"):
        fc.log_score(np.array([605.5]), np.array([120.0]))
