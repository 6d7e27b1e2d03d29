"""Personalisation end to end on a small synthetic person: posterior, forecast, what-if, assimilation, the gate."""

from dataclasses import replace

import jax
import numpy as np
import pytest
from scipy import stats

import twinlab as tl
from twinlab import bayes
from twinlab.bayes._glucose import STUDENT_DF

from .synthetic import synthetic_record

MODEL = tl.glucose.UVAPadova()
FREE = ("Vmx", "kabs")  # insulin action and meal absorption: each has its own signature in a meal response


@pytest.fixture(scope="module")
def fitted():
    true, record = synthetic_record("adult#003", 420, seed=0)
    fit, rest = record.split(300)
    post = bayes.personalise(MODEL, fit, FREE, method="svi", key=jax.random.key(0), base=true, svi_steps=1500,
                             num_samples=100)  # fmt: skip
    return true, fit, rest, post


def test_posterior_shapes_and_units(fitted):
    post = fitted[3]
    assert post.method == "svi" and post.free == FREE and post.minutes == 300
    assert post.theta.shape == (4, 100, len(FREE) + 1)  # two log-parameters and the initial glucose; no meal latents
    assert set(post.draws) == {"Vmx", "kabs", "bg0_mg_dl", "sigma_mg_dl"}
    assert jax.tree.leaves(post.state)[0].shape[0] == 400
    table = post.summary()
    assert list(table.index) == ["Vmx", "kabs", "bg0_mg_dl", "sigma_mg_dl"] and "r_hat" in table
    idata = post.to_arviz()
    assert set(idata.posterior.data_vars) == {"Vmx", "kabs", "bg0_mg_dl", "sigma_mg_dl"}


def test_posterior_finds_the_true_parameters(fitted):
    true, _, _, post = fitted
    assert "PSIS" not in " ".join(post.diagnostics.failures), post.diagnostics
    for i, name in enumerate(FREE):
        logs = np.log(post.draws[name])
        # one short record: the posterior must move towards the truth and shrink, not pin it (coverage over many
        # people is checked in test_recovery.py)
        assert abs(np.median(logs) - np.log(float(getattr(true, name)))) < post.prior.scale[i], name
        assert logs.std() < 0.7 * post.prior.scale[i]  # the data taught it something
    # the noise was Gaussian with sd 8; a Student-t(5) of scale s has sd s * sqrt(5/3)
    assert 5.0 < float(np.median(post.draws["sigma_mg_dl"])) * np.sqrt(5 / 3) < 11.0


def test_forecast_bands_hold_the_truth(fitted):
    true, fit, _, post = fitted
    fc = bayes.forecast(MODEL, post, fit, horizon_min=60, key=jax.random.key(1), allow_withheld=True)
    assert fc.bg.shape == (400, 61) and fc.minute[0] == 300 and fc.minute[-1] == 360
    lo, hi = fc.bands(0.9)
    assert np.all(lo <= fc.median()) and np.all(fc.median() <= hi)
    truth = np.asarray(
        tl.glucose.simulate(
            MODEL,
            true,
            tl.glucose.Schedule(
                meals=[(30, 50.0), (330, 70.0)], boluses=[(30, 50.0 / float(true.therapy.carb_ratio_g_per_u))]
            ),
            minutes=361,
        ).bg
    )
    # the plan ahead is empty here, so compare with the truth before the next meal (minute 330)
    glo, ghi = fc.bands(0.9, readings=False)
    inside = (truth[300:331] >= glo[:31] - 2.0) & (truth[300:331] <= ghi[:31] + 2.0)
    assert inside.mean() > 0.9


def test_whatif_extra_insulin_lowers_glucose(fitted):
    _, fit, _, post = fitted
    wi = bayes.whatif(MODEL, post, fit, 120, plan=None, changed=tl.glucose.Schedule(boluses=[(0, 2.0)]),
                      key=jax.random.key(2), allow_withheld=True)  # fmt: skip
    lo, hi = wi.effect_bands(0.9)
    assert hi[-1] < -5.0 and lo[0] == hi[0] == 0.0


def test_assimilate_continues_the_clock_and_records_particle_health(fitted):
    _, fit, rest, post = fitted
    nxt, _ = rest.split(30)
    post2 = bayes.assimilate(MODEL, post, nxt, key=jax.random.key(3), allow_withheld=True)
    assert post2.method == "particle-filter" and post2.minutes == 330
    assert post2.extras["ess_at_readings"].shape == (5,)  # readings at minutes 5..25 (minute 0 weighs the start)
    assert np.all(post2.extras["ess_at_readings"] > 0)
    assert post2.theta.shape == post.theta.shape
    record_to_now = tl.glucose.GlucoseRecord(
        np.concatenate([fit.cgm_minute, nxt.cgm_minute + 300]), np.concatenate([fit.cgm_mg_dl, nxt.cgm_mg_dl]),
        tl.glucose.Schedule(meals=[(30, 50.0)]), minutes=330,
    )  # fmt: skip
    fc = bayes.forecast(MODEL, post2, record_to_now, 30, key=jax.random.key(4), allow_withheld=True)
    assert fc.minute[0] == 330 and np.all(np.isfinite(fc.bg))


def test_a_withheld_posterior_is_refused_downstream_unless_overridden(fitted):
    _, fit, rest, post = fitted
    withheld = replace(post, diagnostics=replace(post.diagnostics, failures=("R-hat >= 1.01: kp2 1.0500",)))
    assert not withheld.ok
    with pytest.raises(bayes.PosteriorWithheldError, match=r"R-hat >= 1.01: kp2 1.0500[\s\S]*allow_withheld=True"):
        bayes.forecast(MODEL, withheld, fit, 30, key=jax.random.key(0))
    with pytest.raises(bayes.PosteriorWithheldError):
        bayes.assimilate(MODEL, withheld, rest.split(10)[0], key=jax.random.key(0))
    assert bayes.forecast(MODEL, withheld, fit, 30, key=jax.random.key(0), allow_withheld=True).bg.shape[1] == 31


def test_bad_requests_are_explained(fitted):
    _, fit, _, post = fitted
    with pytest.raises(ValueError, match="method must be one of"):
        bayes.personalise(MODEL, fit, FREE, method="mh", key=jax.random.key(0))
    with pytest.raises(ValueError, match="unknown parameters"):
        bayes.population_prior(["kp2", "insulin_sensitivity"])
    with pytest.raises(ValueError, match="the prior is over"):
        bayes.personalise(MODEL, fit, ("kp2",), prior=bayes.population_prior(FREE), key=jax.random.key(0))
    with pytest.raises(TypeError, match="GlucoseRecord"):
        bayes.personalise(MODEL, {"cgm": [1, 2]}, FREE, key=jax.random.key(0))
    with pytest.raises(ValueError, match="fitted on 300 minutes"):
        bayes.forecast(MODEL, replace(post, state=None), fit.split(200)[0], 30, key=jax.random.key(0),
                       allow_withheld=True)  # fmt: skip
    with pytest.raises(ValueError, match="horizon_min"):
        bayes.forecast(MODEL, post, fit, 0, key=jax.random.key(0), allow_withheld=True)


def test_population_prior_reflects_the_virtual_cohort():
    prior = bayes.population_prior(["Vmx", "kp2"], group="adult")
    adults = tl.glucose.patients([n for n in tl.glucose.patient_names() if n.startswith("adult")])
    assert prior.loc[0] == pytest.approx(np.mean(np.log(np.asarray(adults.Vmx))))
    lo, hi = prior.interval(0.9)["Vmx"]
    assert lo < prior.median()["Vmx"] < hi
    assert bayes.reference_patient().BW.shape == ()


def test_twin_forecasts_assimilates_and_round_trips_through_a_file(fitted, tmp_path):
    _, fit, rest, post = fitted
    twin = tl.Twin(MODEL, post, fit, "adult#003")
    nxt, _ = rest.split(10)
    later = twin.assimilate(nxt, key=jax.random.key(5), allow_withheld=True)
    assert later.minutes == 310 and later.record.n_readings == fit.n_readings + 2
    path = later.save(tmp_path / "twin.twinlab")
    back = tl.Twin.load(path)
    np.testing.assert_array_equal(back.posterior.theta, later.posterior.theta)
    np.testing.assert_array_equal(back.record.cgm_mg_dl, later.record.cgm_mg_dl)
    a = later.forecast(30, key=jax.random.key(6), allow_withheld=True)
    b = back.forecast(30, key=jax.random.key(6), allow_withheld=True)
    np.testing.assert_allclose(a.bg, b.bg, rtol=1e-12)


def test_a_twin_with_fixed_parameters_follows_its_record():
    true, record = synthetic_record("adult#001", 240, seed=1, noise_mg_dl=0.0)
    fit, rest = record.split(180)
    twin = tl.Twin.from_params(MODEL, true, fit)
    fc = twin.forecast(55, key=jax.random.key(0))
    assert fc.bg.shape == (1, 56)
    np.testing.assert_allclose(fc.bg[0, [0, 55]], rest.cgm_mg_dl[[0, 11]], atol=0.5)
    assert twin.assimilate(rest, key=jax.random.key(1)).minutes == 240


def test_priors_compare_by_value_and_fits_run_back_to_back(fitted):
    a, b = bayes.population_prior(FREE, group="adult"), bayes.population_prior(FREE, group="adult")
    assert a == b and hash(a) == hash(b) and a != bayes.population_prior(FREE)
    # A second fit in the same process, with another prior: the likelihood's static prior is hashed by JAX's caches.
    fit = fitted[1].split(120)[0]
    for prior in (a, b):
        post = bayes.personalise(MODEL, fit, FREE, method="svi", key=jax.random.key(1), prior=prior, svi_steps=20,
                                 num_samples=25)  # fmt: skip
        assert post.theta.shape == (4, 25, len(FREE) + 1) and np.all(np.isfinite(post.theta))


def test_glucose_drift_lets_the_filter_follow_what_the_model_cannot_explain(fitted):
    _, _, rest, post = fitted
    nxt = rest.split(90)[0]
    # The sensor now reads 30 mg/dL above anything the fitted model predicts: a model error no parameter explains.
    shifted = replace(nxt, cgm_mg_dl=nxt.cgm_mg_dl + 30.0)
    last = shifted.cgm_mg_dl[-1]

    def gap(q: float) -> float:
        p = bayes.assimilate(MODEL, post, shifted, key=jax.random.key(5), glucose_drift_per_sqrt_min=q,
                             allow_withheld=True)  # fmt: skip
        bg = np.asarray(p.state.x[:, 12] / p.base.Vg)  # each particle's interstitial glucose now, mg/dL
        return abs(float(np.median(bg)) - last)

    # A random walk of 0.01 per sqrt(minute) spreads glucose ~10% in 90 minutes: enough to close most of the gap;
    # without it, reweighting the particles cannot close any of it.
    assert gap(0.01) < 15.0 and gap(0.0) > 30.0  # measured 10.5 and 37.8 mg/dL
    with pytest.raises(ValueError, match="glucose_drift_per_sqrt_min"):
        bayes.assimilate(MODEL, post, nxt, key=jax.random.key(5), glucose_drift_per_sqrt_min=-0.1, allow_withheld=True)


def test_nuts_runs_every_chain_and_reports_progress(fitted, capfd):
    true, fit, _, _ = fitted
    short = fit.split(120)[0]
    post = bayes.personalise(MODEL, short, ("Vmx",), method="nuts", key=jax.random.key(2), base=true, num_warmup=40,
                             num_samples=30, progress=True)  # fmt: skip
    out = capfd.readouterr().out
    assert "NUTS warm-up 4/40" in out and "NUTS warm-up 40/40" in out and "NUTS draws 30/30" in out
    assert post.method == "nuts" and post.theta.shape == (4, 30, 2) and np.all(np.isfinite(post.theta))
    assert post.diagnostics.chains == 4 and "mean_leapfrog_steps" in post.extras


def test_the_filter_log_evidence_is_the_exact_predictive_density_for_one_known_person():
    true, record = synthetic_record("adult#001", 240, seed=2)
    fit, rest = record.split(120)
    twin = tl.Twin.from_params(MODEL, true, fit)
    post = bayes.assimilate(MODEL, twin.posterior, rest, key=jax.random.key(0), glucose_drift_per_sqrt_min=0.0)
    # One particle with no model error: each reading's predictive density is the sensor's Student-t around the
    # simulated glucose, so the evidence is their sum, computed here from an independent simulation.
    bg = np.asarray(tl.glucose.simulate(MODEL, true, record.schedule, minutes=240).bg)
    sigma = float(twin.posterior.sigma_mg_dl.reshape(-1)[0])
    expected = stats.t.logpdf(rest.cgm_mg_dl, STUDENT_DF, bg[rest.cgm_minute.astype(int) + 120], sigma)
    assert post.extras["readings"] == rest.cgm_minute.size
    assert post.extras["log_evidence"] == pytest.approx(float(np.sum(expected)), rel=1e-3)


def test_tune_drift_allows_model_error_only_where_the_readings_need_it(fitted):
    _, _, rest, post = fitted
    nxt = rest  # two hours of 5-minute readings
    qs = (0.0, 0.01, 0.04)
    exact = bayes.tune_drift(MODEL, post, nxt, key=jax.random.key(7), candidates=qs, allow_withheld=True)
    # The sensor drifts 40 mg/dL upwards over two hours: a model error no parameter explains.
    ramp = replace(nxt, cgm_mg_dl=nxt.cgm_mg_dl + 40.0 * nxt.cgm_minute / 120.0)
    drifting = bayes.tune_drift(MODEL, post, ramp, key=jax.random.key(7), candidates=qs, allow_withheld=True)
    assert exact.drift_per_sqrt_min == 0.0 < drifting.drift_per_sqrt_min, (exact.table(), drifting.table())
    assert drifting.posterior.minutes == post.minutes + nxt.minutes and "<" in drifting.table()
    twin, choice = tl.Twin(MODEL, post, fitted[1]).tune_drift(ramp, key=jax.random.key(7), candidates=qs,
                                                              allow_withheld=True)  # fmt: skip
    assert twin.glucose_drift_per_sqrt_min == choice.drift_per_sqrt_min == drifting.drift_per_sqrt_min
    assert twin.minutes == post.minutes + nxt.minutes
    with pytest.raises(ValueError, match="at least 24"):
        bayes.tune_drift(MODEL, post, rest.split(30)[0], key=jax.random.key(0), allow_withheld=True)
    with pytest.raises(ValueError, match="distinct"):
        bayes.tune_drift(MODEL, post, nxt, key=jax.random.key(0), candidates=(0.01, 0.01), allow_withheld=True)
    with pytest.raises(ValueError, match=r"glucose_drift_per_sqrt_min must be finite and in \[0, 0.2\)"):
        replace(twin, glucose_drift_per_sqrt_min=-1.0)


def test_refilter_brings_a_wrong_models_state_to_the_readings():
    _, record = synthetic_record("adult#003", 360, seed=3)
    # A population ensemble around another person: the open-loop end states miss the last readings.
    twin = tl.dash.prior_ensemble(MODEL, record, FREE, n_particles=200, key=jax.random.key(0),
                                  base=tl.glucose.patient("adolescent#002"))  # fmt: skip

    def gap(t: tl.Twin) -> float:
        bg = np.asarray(t.posterior.state.x[:, 12] / t.posterior.base.Vg)
        return abs(float(np.median(bg)) - float(np.mean(record.cgm_mg_dl[-3:])))

    new, choice = twin.refilter(key=jax.random.key(1), candidates=(0.0, 0.01, 0.04), allow_withheld=True)
    assert new.record is twin.record and new.minutes == twin.minutes == new.posterior.minutes
    assert new.glucose_drift_per_sqrt_min == choice.drift_per_sqrt_min and len(choice.log_evidence) == 3
    assert gap(new) < 0.5 * gap(twin), (gap(new), gap(twin))
    with pytest.raises(ValueError, match="already assimilated"):
        new.refilter(key=jax.random.key(2), allow_withheld=True)
    with pytest.raises(ValueError, match="pass the record it was fitted on"):
        bayes.refilter(MODEL, twin.posterior, record.window(0, 300), key=jax.random.key(2), allow_withheld=True)
