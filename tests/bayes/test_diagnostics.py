"""Convergence diagnostics against ArviZ, and the gate on known-good and known-bad posteriors."""

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist
import pytest
from numpyro.infer import MCMC, NUTS

from twinlab import bayes

with warnings.catch_warnings():
    warnings.simplefilter("ignore", FutureWarning)  # ArviZ 0.x announces its 1.0 refactor on import
    import arviz as az


def _ar1(seed: int, chains: int = 4, n: int = 500, rho: float = 0.6, shift: float = 0.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = np.zeros((chains, n))
    for t in range(1, n):
        x[:, t] = rho * x[:, t - 1] + rng.normal(size=chains)
    return x + shift * np.arange(chains)[:, None]


@pytest.mark.parametrize("shift", [0.0, 0.5])
def test_rhat_and_ess_match_arviz(shift):
    x = _ar1(0, shift=shift)
    ds = az.convert_to_dataset({"a": x})
    assert bayes.rhat(x) == pytest.approx(float(az.rhat(ds, method="rank")["a"]), rel=1e-10)
    assert bayes.ess_bulk(x) == pytest.approx(float(az.ess(ds, method="bulk")["a"]), rel=1e-6)
    assert bayes.ess_tail(x) == pytest.approx(float(az.ess(ds, method="tail")["a"]), rel=1e-6)


def test_ebfmi_and_psis_match_arviz():
    energy = _ar1(1, rho=0.9)
    np.testing.assert_allclose(bayes.ebfmi(energy), az.bfmi(energy), rtol=1e-10)
    for lw in (np.random.default_rng(2).normal(size=1000), np.random.default_rng(3).standard_t(2, size=1000)):
        assert bayes.psis_khat(lw) == pytest.approx(float(az.psislw(lw.copy())[1]), rel=1e-10)


def test_gate_passes_independent_draws_and_names_each_failed_rule():
    rng = np.random.default_rng(4)
    good = bayes.diagnose({"a": rng.normal(size=(4, 400)), "v": rng.normal(size=(4, 400, 2))}, method="test")
    assert good.ok and set(good.rhat) == {"a", "v[0]", "v[1]"}

    few = bayes.diagnose({"a": rng.normal(size=(2, 400))}, method="test")
    assert any("2 chains < 4" in f for f in few.failures)

    stuck = bayes.diagnose({"a": _ar1(5, shift=2.0)}, method="test")
    assert any(f.startswith("R-hat >= 1.01: a ") for f in stuck.failures)

    short = bayes.diagnose({"a": _ar1(6, n=60, rho=0.95)}, method="test")
    assert any("ESS < 100 per chain" in f for f in short.failures)

    nan = rng.normal(size=(4, 400))
    nan[2, 17] = np.nan
    bad = bayes.diagnose({"a": nan}, method="test")
    assert any("non-finite draws in a" in f for f in bad.failures)

    div = bayes.diagnose(
        {"a": rng.normal(size=(4, 400))}, method="test", divergences=np.eye(4, 400, dtype=bool), energy=_ar1(7)
    )
    assert "4 divergent transitions after warm-up" in div.failures
    sticky = bayes.diagnose({"a": rng.normal(size=(4, 400))}, method="test", energy=np.cumsum(_ar1(8), axis=1))
    assert any(f.startswith("E-BFMI < 0.3") for f in sticky.failures)


def _eight_schools(sigma, y=None):
    mu = numpyro.sample("mu", dist.Normal(0.0, 5.0))
    tau = numpyro.sample("tau", dist.HalfCauchy(5.0))
    with numpyro.plate("J", len(sigma)):
        theta = numpyro.sample("theta", dist.Normal(mu, tau))
        numpyro.sample("obs", dist.Normal(theta, sigma), obs=y)


def test_gate_withholds_the_centred_eight_schools():
    y = jnp.array([28.0, 8.0, -3.0, 7.0, -1.0, 1.0, 18.0, 12.0])
    sigma = jnp.array([15.0, 10.0, 16.0, 11.0, 9.0, 11.0, 10.0, 18.0])
    mcmc = MCMC(NUTS(_eight_schools), num_warmup=300, num_samples=300, num_chains=4, progress_bar=False,
                chain_method="vectorized")  # fmt: skip
    with jax.numpy_dtype_promotion("standard"):  # NumPyro's NUTS mixes int and float
        mcmc.run(jax.random.key(0), sigma, y=y, extra_fields=("diverging", "energy"))
    extra = mcmc.get_extra_fields(group_by_chain=True)
    draws = {k: np.asarray(v) for k, v in mcmc.get_samples(group_by_chain=True).items()}
    diag = bayes.diagnose(draws, method="nuts", divergences=np.asarray(extra["diverging"]),
                          energy=np.asarray(extra["energy"]))  # fmt: skip
    assert not diag.ok
    assert any("divergent transitions" in f for f in diag.failures)
    assert "gate: WITHHELD" in str(diag)
