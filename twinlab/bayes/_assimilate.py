"""`assimilate`: update a posterior with new readings without starting over (a particle filter with Liu-West moves).

Why this method. Each posterior draw becomes a particle carrying its parameters and the model's state at the end of
the data seen so far. A new reading moves every particle a few simulated minutes (a handful of RK4 steps, vmapped
over particles), reweights it by the reading's Student-t likelihood, and, when the weights degenerate (effective
sample size below half the particles), resamples them and jitters the parameters with the Liu-West kernel (shrinkage
towards the mean with a discount of 0.98, so the jitter does not inflate the posterior's variance). The cost per
reading is a few model steps per particle, independent of how much data came before, so it runs at every 5-minute
reading for many people at once. It keeps the full (non-Gaussian) posterior and the state uncertainty, where
"posterior as the next prior" by SVI keeps only a Gaussian summary and refits the whole history. The price is
particle degeneracy over long horizons; the effective sample size at each reading is recorded, and the gate withholds
the result when it falls below 100 particles (refit with NUTS then: `personalise` on the whole record).

Model error. A person is never exactly the model: between readings each particle's glucose masses take a small
random-walk step in log space (``glucose_drift_per_sqrt_min``, scaled together so the compartments stay in balance).
Without it the filter can correct a particle's state only by reweighting, and a state the model cannot reach stays
unreachable. Measured by ``benchmarks/bench_personalise.py refit`` (4 virtual people, 16 checkpoints): next-hour CRPS
6.67 mg/dL with the default drift, 8.49 without, 8.42 for a full SVI refit on all the data (34 s per refit against
1.6 ms per reading).
"""

from __future__ import annotations

from dataclasses import replace
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import logsumexp
from jax.scipy.stats import t as student_t

from twinlab.bayes._diagnostics import ESS_PER_CHAIN_MIN, Diagnostics
from twinlab.bayes._glucose import _GLUCOSE_STATES, INFERENCE_SOLVER, STUDENT_DF, record_data, with_params
from twinlab.bayes._posterior import Posterior
from twinlab.glucose._params import PatientParams
from twinlab.glucose._record import GlucoseRecord
from twinlab.glucose._uva_padova import GlucoseInputs, UVAPadova
from twinlab.sim import SimState

#: Default model error of the filter's state (see `assimilate`); chosen by `bench_personalise.py refit`.
GLUCOSE_DRIFT_PER_SQRT_MIN = 0.01

#: Liu-West discount: the kernel shrinks towards the particle mean by a and adds h^2 = 1 - a^2 of the covariance.
DISCOUNT = 0.98


def _systematic(key: jax.Array, log_w: jax.Array) -> jax.Array:
    """Indices of a systematic resample of ``S`` particles with log-weights ``log_w`` (S,)."""
    n = log_w.shape[0]
    w = jax.nn.softmax(log_w)
    u = (jax.random.uniform(key, dtype=log_w.dtype) + jnp.arange(n, dtype=log_w.dtype)) / n
    return jnp.clip(jnp.searchsorted(jnp.cumsum(w), u), 0, n - 1)


def _liu_west(key: jax.Array, x: jax.Array) -> jax.Array:
    """Liu-West move of equally weighted particles ``x`` (S, d): shrink to the mean, add matching Gaussian jitter."""
    a = (3.0 * DISCOUNT - 1.0) / (2.0 * DISCOUNT)
    mean = jnp.mean(x, axis=0)
    cov = jnp.cov(x, rowvar=False).reshape(x.shape[1], x.shape[1]) + 1e-12 * jnp.eye(x.shape[1], dtype=x.dtype)
    chol = jnp.linalg.cholesky(cov)
    noise = jax.random.normal(key, x.shape, dtype=x.dtype) @ chol.T
    return a * x + (1.0 - a) * mean[None, :] + jnp.sqrt(1.0 - a**2) * noise


@partial(jax.jit, static_argnames=("model", "free"))
def _filter(
    model: UVAPadova,
    free: tuple[str, ...],
    base: PatientParams,
    theta: jax.Array,
    log_sigma: jax.Array,
    states: SimState,
    arrays: tuple[jax.Array, ...],
    key: jax.Array,
    drift_per_sqrt_min: jax.Array | float = 0.0,
) -> tuple[jax.Array, jax.Array, SimState, jax.Array, jax.Array, jax.Array]:
    """Run the filter over a record's minutes.

    Returns theta, log_sigma, states, ESS per minute, resample flags per minute, and the log predictive density of
    each minute's reading given the readings before it (0 where there is none; their sum estimates the log evidence).

    ``drift_per_sqrt_min``: sd of a per-minute random log-scaling of each particle's glucose masses (model error).
    """
    k = len(free)
    n = theta.shape[0]
    cho, bolus, rate, own, obs_at, obs_val, meal_log_sd_at = arrays
    k_meal, k_run = jax.random.split(key)
    # Each particle eats its own draw of every uncertain meal (log-normal around the estimate).
    meal_eps = jax.random.normal(k_meal, (n, cho.shape[0]), dtype=theta.dtype)

    def weigh(log_w: jax.Array, bg: jax.Array, y: jax.Array, has: jax.Array, log_sig: jax.Array) -> jax.Array:
        ll = student_t.logpdf(y, STUDENT_DF, bg, jnp.exp(log_sig))
        return log_w + jnp.where(has, ll, 0.0)

    def maybe_resample(carry: tuple, key: jax.Array) -> tuple[tuple, jax.Array, jax.Array]:
        th, ls, st, log_w = carry
        w = jax.nn.softmax(log_w)
        ess = 1.0 / jnp.sum(w**2)
        k1, k2 = jax.random.split(key)

        def resample(_: None) -> tuple:
            idx = _systematic(k1, log_w)
            moved = _liu_west(k2, jnp.concatenate([th[idx][:, :k], ls[idx][:, None]], axis=1))
            th2 = th[idx].at[:, :k].set(moved[:, :k])
            return th2, moved[:, k], jax.tree.map(lambda v: v[idx], st), jnp.zeros_like(log_w)

        do = ess < 0.5 * n
        out = jax.lax.cond(do, resample, lambda _: (th, ls, st, log_w), None)
        return out, ess, do

    def params_of(th: jax.Array) -> PatientParams:
        return with_params(base, free, jnp.exp(th[:k]))

    def step_one(th: jax.Array, st: SimState, cho_m: jax.Array, ins_m: jax.Array, own_m: jax.Array) -> tuple:
        params = params_of(th)
        u = GlucoseInputs(cho_g=cho_m, insulin_u_per_min=ins_m + params.basal_u_per_min * own_m)
        st, held = model.hold(st, u, params)
        x = INFERENCE_SOLVER.step(lambda s, x, a: model.vector_field(s, x, a[0], a[1]), 0.0, st.x, 1.0, (held, params))
        return st.replace(x=x), x[12] / params.Vg

    glucose = jnp.asarray(np.isin(np.arange(13), _GLUCOSE_STATES))

    def body(carry: tuple, m: jax.Array) -> tuple[tuple, tuple[jax.Array, jax.Array, jax.Array]]:
        th, ls, st, log_w, key = carry
        key, k_res, k_drift = jax.random.split(key, 3)
        cho_m = cho[m] * jnp.exp(meal_log_sd_at[m] * meal_eps[:, m])
        ins_m = rate[m] / 60.0 + bolus[m]
        st, bg = jax.vmap(step_one, in_axes=(0, 0, 0, None, None))(th, st, cho_m, ins_m, own[m])
        # Model error as a random walk in log glucose: the glucose masses of a particle move together, so the
        # model's internal balance between plasma, tissue and interstitial glucose is kept.
        drift = jnp.exp(drift_per_sqrt_min * jax.random.normal(k_drift, (n,), dtype=theta.dtype))
        st = st.replace(x=st.x * jnp.where(glucose, drift[:, None], 1.0))
        bg = bg * drift
        before = log_w
        log_w = weigh(log_w, bg, obs_val[m + 1], obs_at[m + 1], ls)
        log_pred = logsumexp(log_w) - logsumexp(before)
        (th, ls, st, log_w), ess, did = maybe_resample((th, ls, st, log_w), k_res)
        return (th, ls, st, log_w, key), (jnp.where(obs_at[m + 1], ess, jnp.nan), did, log_pred)

    bg0 = jax.vmap(lambda th, st: st.x[12] / params_of(th).Vg)(theta, states)
    log_w0 = weigh(jnp.zeros(n, theta.dtype), bg0, obs_val[0], obs_at[0], log_sigma)
    carry = (theta, log_sigma, states, log_w0, k_run)
    (th, ls, st, log_w, key), (ess, did, log_pred) = jax.lax.scan(body, carry, jnp.arange(cho.shape[0]))
    log_pred = jnp.concatenate([(logsumexp(log_w0) - jnp.log(n))[None], log_pred])
    # End with equally weighted particles: a final resample if the last readings left unequal weights.
    resampled = _systematic(key, log_w)
    idx = jnp.where(jnp.all(log_w == log_w[0]), jnp.arange(n, dtype=resampled.dtype), resampled)
    return th[idx], ls[idx], jax.tree.map(lambda v: v[idx], st), ess, did, log_pred


def _record_arrays(record: GlucoseRecord) -> tuple[jax.Array, ...]:
    """The filter's per-minute arrays of a record: inputs, readings by minute (flag, value), meal log-sds."""
    data = record_data(record, require_readings=False)  # a stretch without readings still moves the state on
    t_len = record.minutes
    obs_at = np.zeros(t_len + 1, bool)
    obs_val = np.zeros(t_len + 1)
    obs_at[record.cgm_minute.astype(int)] = True
    obs_val[record.cgm_minute.astype(int)] = record.cgm_mg_dl
    meal_sd = np.zeros(t_len)
    meal_sd[np.asarray(data.meal_minute)] = np.asarray(data.meal_log_sd)
    return (
        data.cho_g, data.bolus_u, data.basal_u_per_h, data.own_basal,
        jnp.asarray(obs_at), jnp.asarray(obs_val), jnp.asarray(meal_sd),
    )  # fmt: skip


def assimilate(
    model: UVAPadova,
    post: Posterior,
    new_data: GlucoseRecord,
    *,
    key: jax.Array,
    glucose_drift_per_sqrt_min: float = GLUCOSE_DRIFT_PER_SQRT_MIN,
    allow_withheld: bool = False,
) -> Posterior:
    """Update ``post`` with readings that arrived after the data it has seen.

    Args:
        model: the model of the posterior.
        post: a `Posterior` with its end-of-data states (from `personalise` or an earlier `assimilate`).
        new_data: the readings, meals and insulin since then; its minute 0 is the end of the data ``post`` has seen
            (a reading at minute 0 is a reading at that same instant).
        key: PRNG key.
        glucose_drift_per_sqrt_min: model error the filter allows: each minute, every particle's glucose masses are
            scaled together by ``exp(N(0, q^2))`` (q in 1/sqrt(minute); 0 trusts the model exactly, and the state can
            then only be corrected by reweighting).
        allow_withheld: update a posterior the gate withheld anyway.

    Returns:
        A `Posterior` (method "particle-filter") whose draws are the updated particles, with states at the end of
        ``new_data``; its diagnostics record the effective sample size at each reading, and the gate withholds it when
        that fell below 100 particles. ``extras["log_evidence"]`` is the filter's estimate of the log density of the
        new readings given everything before them (log(1/(mg/dL)) summed over ``extras["readings"]`` readings).
    """
    post.require_ok(allow_withheld)
    if post.state is None:
        raise ValueError(
            "this posterior carries no end-of-data states; make it with tl.bayes.personalise (which records them)."
        )
    if not isinstance(new_data, GlucoseRecord):
        raise TypeError(f"new_data must be a tl.glucose.GlucoseRecord; got {type(new_data).__name__}")
    q = float(glucose_drift_per_sqrt_min)
    if not (np.isfinite(q) and 0.0 <= q < 0.2):
        raise ValueError(
            f"glucose_drift_per_sqrt_min must be finite and in [0, 0.2); got {glucose_drift_per_sqrt_min!r}"
        )
    arrays = _record_arrays(new_data)
    t_len = new_data.minutes
    shape = post.theta.shape
    theta = post.flat_theta()
    log_sigma = jnp.log(jnp.asarray(post.sigma_mg_dl.reshape(-1)))
    # Standard promotion inside: the filter mixes index dtypes (int32 from searchsorted, int64 under x64).
    with jax.numpy_dtype_promotion("standard"), jax.numpy_rank_promotion("allow"):
        th, ls, st, ess, did, log_pred = _filter(
            model, post.free, post.base, theta, log_sigma, post.state, arrays, key, q
        )
    ess_at_readings = np.asarray(ess)[~np.isnan(np.asarray(ess))]
    n = theta.shape[0]
    floor = min(ESS_PER_CHAIN_MIN, n / 2)
    failures = []
    if not np.all(np.isfinite(np.asarray(th))) or not np.all(np.isfinite(np.asarray(ls))):
        failures.append("non-finite particles")
    low = ess_at_readings[ess_at_readings < floor]
    if low.size:
        failures.append(f"particle ESS fell to {low.min():.0f} (< {floor:.0f}) at {low.size} readings: refit with NUTS")
    diag = Diagnostics(
        rhat={},
        ess_bulk={},
        ess_tail={},
        divergences=0,
        ebfmi=(),
        chains=shape[0],
        draws=shape[1],
        method="particle-filter",
        failures=tuple(failures),
    )
    extras = {
        "parent": post.method,
        "ess_at_readings": ess_at_readings,
        "resamples": int(np.sum(np.asarray(did))),
        "log_evidence": float(np.sum(np.asarray(log_pred))),
        "readings": int(np.sum(np.asarray(arrays[4]))),
    }
    return replace(
        post,
        method="particle-filter",
        theta=np.asarray(th).reshape(shape),
        sigma_mg_dl=np.exp(np.asarray(ls)).reshape(shape[:2]),
        diagnostics=diag,
        minutes=post.minutes + t_len,
        state=st,
        meal_log_sd=post.meal_log_sd,
        extras=extras,
    )
