"""`personalise`: one person's posterior from their record, by NUTS (default) or SVI."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from twinlab.bayes._diagnostics import diagnose
from twinlab.bayes._forecast import end_states
from twinlab.bayes._glucose import BG0_PRIOR_SD_MG_DL, GlucoseLikelihood, numpyro_model, stack_data
from twinlab.bayes._independent import nuts_independent
from twinlab.bayes._posterior import Posterior
from twinlab.bayes._prior import Prior, population_prior
from twinlab.bayes._psis import KHAT_MAX, psis_khat
from twinlab.glucose._params import MODEL_FIELDS, PatientParams, patient, patient_names, patients
from twinlab.glucose._record import GlucoseRecord
from twinlab.glucose._uva_padova import UVAPadova

METHODS = ("nuts", "svi")
#: The latent sites of `numpyro_model`.
_SITES = ("z", "bg0_eps", "meal_eps", "sigma_mg_dl", "mu", "tau")


def reference_patient(group: str | None = "adult") -> PatientParams:
    """The virtual patient closest to its cohort's centre: the default fixed parameters for a real person.

    The medoid in log-parameter space (standardised per parameter) of the cohort ("adolescent", "adult", "child"; None
    for all 30). A real person's non-free parameters stay at this patient's values; its initial state is consistent
    with them (an average of patients' fields would not be).
    """
    names = [n for n in patient_names() if group is None or n.startswith(group)]
    pop = patients(names)
    logs = np.stack([np.log(np.abs(np.asarray(getattr(pop, f))) + 1e-12) for f in MODEL_FIELDS], axis=1)
    std = logs.std(axis=0)
    z = (logs - logs.mean(axis=0)) / np.where(std > 0, std, 1.0)
    return patient(names[int(np.argmin(np.sum(z**2, axis=1)))])


def personalise(
    model: UVAPadova,
    data: GlucoseRecord,
    free: Sequence[str] = ("kp2", "Vmx", "kabs"),
    *,
    method: str = "nuts",
    key: jax.Array,
    prior: Prior | None = None,
    base: PatientParams | None = None,
    num_warmup: int = 500,
    num_samples: int = 500,
    num_chains: int = 4,
    svi_steps: int = 3000,
    svi_guide: str = "lowrank",
    progress: bool = False,
) -> Posterior:
    """One person's posterior over ``free`` parameters of the glucose model, given their record.

    Args:
        model: `tl.glucose.UVAPadova()`.
        data: the person's `tl.glucose.GlucoseRecord` (CGM readings, meals, insulin).
        free: fields of `tl.glucose.PatientParams` to personalise; the rest stay at ``base``.
        method: "nuts" (No-U-Turn sampler, ``num_chains`` chains run as one vectorised batch) or "svi" (stochastic
            variational inference with a low-rank multivariate normal guide, or "normal" for a diagonal one).
        key: PRNG key.
        prior: prior on ``free`` (default: `population_prior(free)`, the virtual population's spread).
        base: the fixed parameters (default: `reference_patient()`, the adult cohort's medoid).
        num_warmup: NUTS warm-up iterations per chain.
        num_samples: draws kept per chain (NUTS) or per pseudo-chain (SVI).
        num_chains: chains (the gate needs at least 4).
        svi_steps: optimisation steps of SVI.
        svi_guide: "lowrank" or "normal".
        progress: show a progress bar.

    Returns:
        A `Posterior`; check ``post.ok`` (the gate) and ``post.diagnostics``.
    """
    return personalise_group(
        model, [data], free, method=method, key=key, prior=prior, base=base, hierarchical=False,
        num_warmup=num_warmup, num_samples=num_samples, num_chains=num_chains, svi_steps=svi_steps,
        svi_guide=svi_guide, progress=progress,
    ).people[0]  # fmt: skip


@dataclass(frozen=True)
class GroupPosterior:
    """Posteriors of a group fitted together.

    Attributes:
        people: one `Posterior` per record, in order (each with its own diagnostics; joint sampler failures such as
            divergences count against every person).
        hierarchical: whether the group was partially pooled.
        population: with pooling, draws (chains, draws, k) of the population's log-mean ``mu`` and log-sd ``tau``.
    """

    people: list[Posterior]
    hierarchical: bool
    population: dict[str, np.ndarray]

    @property
    def ok(self) -> bool:
        """True when every person's posterior passes the gate."""
        return all(p.ok for p in self.people)


#: With less than a day of 5-minute readings per person the data leave parameters weakly identified, and pooling
#: through the population borrows strength; with more, independent fits (no coupling) are faster to sample.
POOLING_READINGS = 288


def personalise_group(
    model: UVAPadova,
    records: Sequence[GlucoseRecord],
    free: Sequence[str] = ("kp2", "Vmx", "kabs"),
    *,
    method: str = "nuts",
    key: jax.Array,
    hierarchical: bool | str = "auto",
    prior: Prior | None = None,
    base: PatientParams | None = None,
    num_warmup: int = 500,
    num_samples: int = 500,
    num_chains: int = 4,
    svi_steps: int = 3000,
    svi_guide: str = "lowrank",
    progress: bool = False,
    mesh: jax.sharding.Mesh | None = None,
) -> GroupPosterior:
    """Personalise several people at once: one batched simulation per gradient for the whole group.

    Args:
        model: `tl.glucose.UVAPadova()`.
        records: one `GlucoseRecord` per person (padded to the longest; the same number of uncertain meals each).
        free: parameters to personalise.
        method: "nuts" or "svi" (see `personalise`).
        key: PRNG key.
        hierarchical: True for partial pooling (population log-mean ``mu`` and log-sd ``tau`` learned, the prior as
            their hyper-prior), False for independent priors, "auto" to pool when the group has at least 3 people
            with a median of fewer than `POOLING_READINGS` readings each.
        prior: prior on ``free`` (default `population_prior(free)`).
        base: fixed parameters for everyone (default `reference_patient()`), or a population pytree with one
            individual per record.
        mesh: a one-axis device mesh to shard the people over (``jax.make_mesh((n,), ("people",), axis_types=
            (jax.sharding.AxisType.Auto,))``); the number of
            people must divide evenly.
        num_warmup: NUTS warm-up iterations per chain.
        num_samples: draws kept per chain.
        num_chains: chains (the gate needs at least 4).
        svi_steps: optimisation steps of SVI.
        svi_guide: "lowrank" or "normal".
        progress: show a progress bar.

    Returns:
        A `GroupPosterior`.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}; got {method!r}")
    records = list(records)
    bad = [i for i, r in enumerate(records) if not isinstance(r, GlucoseRecord)]
    if bad or not records:
        raise TypeError(f"records must be a non-empty list of tl.glucose.GlucoseRecord; items {bad} are not.")
    prior = population_prior(free) if prior is None else prior
    if tuple(free) != prior.names:
        raise ValueError(f"the prior is over {prior.names} but free is {tuple(free)}; give matching names.")
    if hierarchical == "auto":
        hierarchical = len(records) >= 3 and float(np.median([r.n_readings for r in records])) < POOLING_READINGS
    elif not isinstance(hierarchical, bool):
        raise ValueError(f"hierarchical must be True, False or 'auto'; got {hierarchical!r}")
    n_people = len(records)
    if jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
        key = jax.random.key_data(key)  # NumPyro's samplers assert the raw uint32 key layout in places
    base = reference_patient() if base is None else base
    if jnp.ndim(base.BW) == 0:
        group_base = jax.tree.map(lambda v: jnp.broadcast_to(jnp.asarray(v), (n_people, *jnp.shape(v))), base)
    elif jnp.shape(base.BW) == (n_people,):
        group_base = base
    else:
        raise ValueError(f"base must be one person or one per record ({n_people}); got {jnp.shape(base.BW)[0]}.")
    arrays = stack_data(records)
    if mesh is not None:
        arrays, group_base = shard_people(mesh, (arrays, group_base))
    lik = GlucoseLikelihood(model=model, base=group_base, prior=prior)
    started = time.perf_counter()
    if method == "nuts" and not hierarchical:
        samples, stats = nuts_independent(
            lik, arrays, key, warmup=num_warmup, samples=num_samples, chains=num_chains, progress=progress
        )
        extras = {"mean_leapfrog_steps": float(np.mean(stats["num_steps"]))}
        joint = None
    elif method == "nuts":
        samples, joint, extras = _nuts(lik, arrays, key, hierarchical, num_warmup, num_samples, num_chains, progress)
    else:
        samples, joint, extras = _svi(
            lik, arrays, key, hierarchical, svi_steps, svi_guide, num_samples, num_chains, progress
        )
    extras["seconds"] = time.perf_counter() - started
    theta = _theta(lik, samples, arrays, hierarchical)
    sigma = np.asarray(samples["sigma_mg_dl"])
    population: dict[str, np.ndarray] = {k: np.asarray(samples[k]) for k in ("mu", "tau") if k in samples}
    people = []
    for i, record in enumerate(records):
        meal_log_sd = np.asarray(arrays.meal_log_sd[i])
        quantities = _natural(prior, theta[:, :, i], sigma[:, :, i], meal_log_sd)
        if hierarchical:
            quantities |= {f"{k}_{n}": population[k][..., j] for k in population for j, n in enumerate(prior.names)}
        if joint is None:  # independent samplers: each person's own divergences and energies
            person: dict[str, Any] = {"divergences": stats["diverging"][:, :, i], "energy": stats["energy"][:, :, i]}
            diag = diagnose(quantities, method=method, **person)
        else:
            diag = diagnose(quantities, method=method, **joint)
        post = Posterior(
            method=method,
            prior=prior,
            base=jax.tree.map(lambda v, i=i: v[i], group_base),
            theta=theta[:, :, i],
            sigma_mg_dl=sigma[:, :, i],
            diagnostics=diag,
            minutes=record.minutes,
            meal_log_sd=meal_log_sd,
            extras=extras,
        )
        # Each draw's state at the end of the data: forecasts and assimilation continue from here.
        people.append(replace(post, state=end_states(model, post, record, np.arange(post.n_draws))))
    return GroupPosterior(people=people, hierarchical=hierarchical, population=population)


def shard_people(mesh: jax.sharding.Mesh, tree: Any) -> Any:
    """Place every leaf's leading (people) axis across the mesh's first axis."""
    axis = mesh.axis_names[0]
    n = jax.tree.leaves(tree)[0].shape[0]
    if n % mesh.shape[axis]:
        raise ValueError(
            f"{n} people do not divide evenly over {mesh.shape[axis]} devices. Fix: use a group size that is a "
            "multiple of the device count, or a smaller mesh."
        )

    def put(v: jax.Array) -> jax.Array:
        spec = jax.sharding.PartitionSpec(axis, *([None] * (jnp.ndim(v) - 1)))
        return jax.device_put(v, jax.sharding.NamedSharding(mesh, spec))

    return jax.tree.map(put, tree)


def _natural(prior: Prior, theta: np.ndarray, sigma: np.ndarray, meal_log_sd: np.ndarray) -> dict[str, np.ndarray]:
    k = len(prior.names)
    out = {n: np.exp(theta[..., i]) for i, n in enumerate(prior.names)}
    out["bg0_mg_dl"] = theta[..., k]
    out["sigma_mg_dl"] = sigma
    if theta.shape[-1] > k + 1:
        out["meal_factor"] = np.exp(meal_log_sd * theta[..., k + 1 :])
    return out


def _theta(lik: GlucoseLikelihood, samples: dict[str, Any], data: Any, hierarchical: bool) -> np.ndarray:
    """(chains, draws, P, k + 1 + M): log-parameters, bg0 (mg/dL) and meal eps of each person."""
    z = np.asarray(samples["z"])
    if hierarchical:
        loc, scale = np.asarray(samples["mu"])[:, :, None], np.asarray(samples["tau"])[:, :, None]
    else:
        loc, scale = lik.prior.loc, lik.prior.scale
    logs = loc + scale * z
    bg0 = np.asarray(data.bg0_mg_dl) + BG0_PRIOR_SD_MG_DL * np.asarray(samples["bg0_eps"])
    eps = np.asarray(samples["meal_eps"]) if "meal_eps" in samples else np.zeros((*z.shape[:3], 0))
    return np.concatenate([logs, bg0[..., None], eps], axis=-1)


def _nuts(
    lik: GlucoseLikelihood,
    data: Any,
    key: jax.Array,
    hierarchical: bool,
    warmup: int,
    samples: int,
    chains: int,
    progress: bool,
) -> tuple[dict[str, np.ndarray], dict[str, Any], dict[str, Any]]:
    from numpyro.infer import MCMC, NUTS, init_to_uniform

    kernel = NUTS(
        partial(numpyro_model, hierarchical=hierarchical),
        target_accept_prob=0.9,
        init_strategy=init_to_uniform(radius=0.5),
        max_tree_depth=8,
        # Diagonal: the pooled posterior has 2k + P(k + 2) coordinates, too many for a dense metric to be learnt in a
        # short warm-up. Measured (benchmarks/bench_pymc.py --hours 2 --warmup 200 --draws 200, 4 people): dense
        # R-hat 1.37, 25 divergences, min ESS 16; diagonal R-hat 1.009, 4 divergences, min ESS 733. (Each person's
        # own sampler, `nuts_independent`, keeps a dense metric over its few coordinates: kp2 and Vmx trade off.)
        dense_mass=False,
    )
    mcmc = MCMC(
        kernel,
        num_warmup=warmup,
        num_samples=samples,
        num_chains=chains,
        chain_method="vectorized",  # one batched simulation for all chains: ~the cost of one on a CPU
        progress_bar=progress,
    )
    # NumPyro's NUTS divides float by int and broadcasts ranks: it fails under "strict" / "raise" settings.
    with jax.numpy_dtype_promotion("standard"), jax.numpy_rank_promotion("allow"):
        mcmc.run(key, lik, data, extra_fields=("diverging", "energy", "num_steps"))
    out = {k: np.asarray(v) for k, v in mcmc.get_samples(group_by_chain=True).items()}
    extra = mcmc.get_extra_fields(group_by_chain=True)
    diverging = np.asarray(extra["diverging"])
    energy = np.asarray(extra["energy"])
    extras = {"diverging": diverging, "energy": energy, "mean_leapfrog_steps": float(np.mean(extra["num_steps"]))}
    return out, {"divergences": diverging, "energy": energy}, extras


def _svi(
    lik: GlucoseLikelihood,
    data: Any,
    key: jax.Array,
    hierarchical: bool,
    steps: int,
    guide_kind: str,
    samples: int,
    chains: int,
    progress: bool,
) -> tuple[dict[str, np.ndarray], dict[str, Any], dict[str, Any]]:
    import numpyro
    from numpyro.infer import SVI, Trace_ELBO, init_to_median
    from numpyro.infer.autoguide import AutoLowRankMultivariateNormal, AutoNormal

    model = partial(numpyro_model, hierarchical=hierarchical)
    if guide_kind == "lowrank":
        guide: Any = AutoLowRankMultivariateNormal(model, init_loc_fn=init_to_median(num_samples=15))
    elif guide_kind == "normal":
        guide = AutoNormal(model, init_loc_fn=init_to_median(num_samples=15))
    else:
        raise ValueError(f"svi_guide must be 'lowrank' or 'normal'; got {guide_kind!r}")
    svi = SVI(model, guide, numpyro.optim.ClippedAdam(step_size=0.01, clip_norm=10.0), Trace_ELBO())
    n = samples * chains
    report = max(steps // 10, 1)

    def fit(key: jax.Array, lik: GlucoseLikelihood, data: Any) -> tuple[jax.Array, jax.Array, dict[str, jax.Array]]:
        # Set-up, optimisation and the guide's draws in one program. Run op by op (as `SVI.run` sets up), each of
        # NumPyro's hundreds of small operations is compiled and kept by JAX for the process's life (about 1.5 MB
        # each, measured); compiled here as one function that is dropped with this call, they are freed with it.
        k_run, k_draw = jax.random.split(key)
        state = svi.init(k_run, lik, data)

        def step(state: Any, i: jax.Array) -> tuple[Any, jax.Array]:
            state, loss = svi.update(state, lik, data)
            if progress:
                jax.lax.cond(
                    (i + 1) % report == 0,
                    lambda: jax.debug.print("svi step {i}/{n}: loss {loss:.1f}", i=i + 1, n=steps, loss=loss),
                    lambda: None,
                )
            return state, loss

        state, losses = jax.lax.scan(step, state, jnp.arange(steps))
        draw = partial(_guide_draw, model, guide, svi.get_params(state), lik, data)
        lw, sites = jax.lax.map(draw, jax.random.split(k_draw, n), batch_size=min(n, 256))
        return losses, lw, sites

    # NumPyro's internals mix int and float and broadcast ranks: they fail under "strict" / "raise" settings.
    with jax.numpy_dtype_promotion("standard"), jax.numpy_rank_promotion("allow"):
        losses, lw, sites = jax.jit(fit)(key, lik, data)
    khat = psis_khat(np.asarray(lw))
    out = {k: np.asarray(v).reshape(chains, samples, *np.shape(v)[1:]) for k, v in sites.items()}
    failures = () if khat <= KHAT_MAX else (f"PSIS k-hat {khat:.2f} > {KHAT_MAX}: the variational fit is unreliable",)
    return out, {"extra_failures": failures}, {"psis_khat": khat, "elbo_loss": np.asarray(losses)}


def _guide_draw(
    model: Any, guide: Any, params: dict[str, Any], lik: Any, data: Any, key: jax.Array
) -> tuple[jax.Array, dict[str, jax.Array]]:
    """One draw of the guide and its log importance ratio ``log p(theta, y) - log q(theta)`` (what PSIS smooths)."""
    from numpyro import handlers
    from numpyro.infer.util import log_density

    tr = handlers.trace(handlers.seed(handlers.substitute(guide, data=params), key)).get_trace(lik, data)
    sample_sites = {k: v for k, v in tr.items() if v["type"] == "sample" and not v["is_observed"]}
    log_q = sum(jnp.sum(v["fn"].log_prob(v["value"])) for v in sample_sites.values())
    values = {k: v["value"] for k, v in sample_sites.items() if k in _SITES}
    log_p, _ = log_density(model, (lik, data), {}, values)
    return log_p - log_q, values
