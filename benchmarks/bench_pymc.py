"""Effective samples per second of twinlab's NUTS against PyMC's NUTS and nutpie, on one hierarchical model and data.

    python benchmarks/bench_pymc.py [--people 4] [--hours 4] [--warmup 300] [--draws 300] [--chains 4]

What is compared. The group model of `twinlab.bayes` with partial pooling (`numpyro_model(..., hierarchical=True)`):
population log-mean ``mu`` (k,) ~ Normal(prior.loc, prior.scale) and log-sd ``tau`` (k,) ~ HalfNormal(prior.scale);
per person ``z`` (P, k) ~ Normal(0, 1), ``bg0_eps`` (P,) ~ Normal(0, 1) and ``sigma_mg_dl`` (P,) ~ LogNormal(log 10,
0.5); CGM readings ~ Student-t(5, predicted, sigma). The data: P synthetic people (virtual adults #001, #002, ...) with
a few hours of 5-minute CGM (noise sd 8 mg/dL), meals with known carbohydrate (no meal latents), free ("Vmx",
"kabs"), the other parameters at the adult reference patient. The same arrays feed all three samplers.

How. twinlab runs its own sampler path (`twinlab.bayes._personalise._nuts`, exactly what `personalise_group(...,
method="nuts", hierarchical=True)` runs: NumPyro NUTS, diagonal mass matrix, chains vectorised into one batched
simulation). PyMC gets a model with the same priors on the same latent variables; its predicted readings come from
twinlab's own simulator (`GlucoseLikelihood.predict_one`, vmapped, forward-mode gradient) wrapped as a PyTensor op
(`pytensor.wrap_jax`, gradient by JAX), so every sampler evaluates the identical simulator and the comparison is of
the samplers and their overheads. Before any timing the script checks that PyMC's log density (``compile_logp``,
Jacobians of the log transforms included) equals minus NumPyro's potential energy at a random unconstrained point.

- "twinlab": NumPyro NUTS (target accept 0.9, max tree depth 8, diagonal metric), 4 chains vectorised in one process.
- "pymc": `pm.sample` with PyMC's NUTS (target accept 0.9, max tree depth 8, its default diagonal metric), the
  logp/gradient function compiled by PyTensor's C backend calling the JAX op (forward pass, then a VJP op that runs
  the forward-mode Jacobian: one extra simulation per gradient), chains run one after another (``cores=1``:
  forking processes after JAX has started is unsafe, and the machine has 2 cores).
- "nutpie": `nutpie.compile_pymc_model(model, backend="jax", gradient_backend="jax")` (the whole log density and its
  gradient one jitted JAX function), `nutpie.sample` (target accept 0.9, max depth 8, its default diagonal
  gradient-based metric), chains on threads (``cores=2``).

Timing: "wall" is everything from compilation to the last draw. "compile" is the explicit build steps (PyMC's
`pm.NUTS` step construction with its first logp/gradient call; nutpie's `compile_pymc_model`) plus the union of
JAX's own tracing, lowering and XLA compile spans (`jax.monitoring`) while the sampler runs; "sample" = wall -
compile. ESS: ArviZ rank-normalised bulk ESS for every sampler, over the person-level quantities (each person's k
log-parameters, initial glucose and sigma; monotone transforms leave bulk ESS unchanged); max R-hat also over
``mu`` and ``tau``. ESS/s is min bulk ESS / wall and / sample time. Ratios are twinlab over the peer (>1: twinlab
is faster per effective sample). Seeds are fixed; CPU timings vary by a few per cent from run to run.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from collections.abc import Callable
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

jax.config.update("jax_enable_x64", True)

import arviz as az  # noqa: E402

import twinlab as tl  # noqa: E402
from twinlab import bayes  # noqa: E402
from twinlab.bayes._glucose import (  # noqa: E402
    BG0_PRIOR_SD_MG_DL,
    SIGMA_PRIOR_LOG_SD,
    SIGMA_PRIOR_MEDIAN_MG_DL,
    STUDENT_DF,
    GlucoseData,
    GlucoseLikelihood,
    forward_mode_grad,
    numpyro_model,
    stack_data,
)
from twinlab.bayes._personalise import _nuts  # noqa: E402

MODEL = tl.glucose.UVAPadova()
FREE = ("Vmx", "kabs")
TARGET_ACCEPT = 0.9
MAX_TREE_DEPTH = 8
#: Largest allowed |log p_PyMC - log p_NumPyro| / |log p| at the check point. PyMC's Student-t and log-normal terms
#: differ from NumPyro's (and SciPy's, which NumPyro matches) by ~2e-9 per element: ~5e-7 absolute at 200 readings.
LOGP_RTOL = 1e-9
_COMPILE_EVENTS = (
    "/jax/core/compile/jaxpr_trace_duration",
    "/jax/core/compile/jaxpr_to_mlir_module_duration",
    "/jax/core/compile/backend_compile_duration",
)


def synthetic_records(people: int, hours: float, seed: int = 0) -> list[tl.glucose.GlucoseRecord]:
    """P records of virtual adults #001.. with 5-minute CGM over ``hours`` (noise sd 8 mg/dL), known carbohydrate."""
    minutes = int(hours * 60)
    rng = np.random.default_rng(seed)
    out = []
    for i in range(people):
        true = tl.glucose.patient(f"adult#{i % 10 + 1:03d}")
        meals = [(m, g) for m, g in ((30, 50.0 + 10.0 * i), (210, 40.0)) if m < minutes]
        schedule = tl.glucose.Schedule(meals=meals, boluses=[(m, g / 10.0) for m, g in meals])
        bg_mg_dl = np.asarray(tl.glucose.simulate(MODEL, true, schedule, minutes=minutes).bg)
        t_min = np.arange(0, minutes, 5)
        y_mg_dl = bg_mg_dl[t_min] + rng.normal(0.0, 8.0, t_min.size)
        out.append(tl.glucose.GlucoseRecord(t_min.astype(float), y_mg_dl, schedule, minutes=minutes,
                                            meal_carbs_sd_g=None, subject=f"adult#{i % 10 + 1:03d}"))  # fmt: skip
    return out


def group_likelihood(records: list[tl.glucose.GlucoseRecord]) -> tuple[GlucoseLikelihood, GlucoseData]:
    """The likelihood and stacked arrays exactly as `personalise_group` builds them (reference patient as base)."""
    base = bayes.reference_patient()
    n = len(records)
    group_base = jax.tree.map(lambda v: jnp.broadcast_to(jnp.asarray(v), (n, *jnp.shape(v))), base)
    prior = bayes.population_prior(FREE)
    return GlucoseLikelihood(model=MODEL, base=group_base, prior=prior), stack_data(records)


def predictor(lik: GlucoseLikelihood, data: GlucoseData) -> Callable[[jax.Array], jax.Array]:
    """theta (P, k + 1) -> predicted readings (P, n), mg/dL: `numpyro_model`'s simulator call, gradient included."""
    predict = forward_mode_grad(lambda th, d: jax.vmap(lik.predict_one)(th, d[0], d[1]))
    return lambda theta: predict(theta, (data, lik.base))


def pymc_model(lik: GlucoseLikelihood, data: GlucoseData) -> Any:
    """The PyMC twin of `numpyro_model(lik, data, hierarchical=True)` for records without meal latents."""
    import pymc as pm
    import pytensor.tensor as pt
    from pytensor import wrap_jax

    n_people, k = data.obs_mg_dl.shape[0], lik.k
    if data.meal_minute.shape[-1]:
        raise ValueError("the PyMC model has no meal latents: give records with known carbohydrate.")
    mask = np.asarray(data.obs_mask) > 0
    predict = predictor(lik, data)

    @wrap_jax
    def twinlab_readings(theta: jax.Array) -> jax.Array:
        return predict(theta)[mask]  # the mask is static: only real readings leave the op

    with pm.Model() as model:
        mu = pm.Normal("mu", mu=np.asarray(lik.prior.loc), sigma=np.asarray(lik.prior.scale), shape=(k,))
        tau = pm.HalfNormal("tau", sigma=np.asarray(lik.prior.scale), shape=(k,))
        z = pm.Normal("z", 0.0, 1.0, shape=(n_people, k))
        bg0_eps = pm.Normal("bg0_eps", 0.0, 1.0, shape=(n_people,))
        sigma = pm.LogNormal("sigma_mg_dl", mu=np.log(SIGMA_PRIOR_MEDIAN_MG_DL), sigma=SIGMA_PRIOR_LOG_SD,
                             shape=(n_people,))  # fmt: skip
        bg0 = np.asarray(data.bg0_mg_dl) + BG0_PRIOR_SD_MG_DL * bg0_eps
        theta = pt.concatenate([mu[None, :] + tau[None, :] * z, bg0[:, None]], axis=1)
        mean = twinlab_readings(pt.specify_shape(theta, (n_people, k + 1)))
        scale = pt.broadcast_to(sigma[:, None], mask.shape)[mask]
        pm.StudentT("cgm", nu=STUDENT_DF, mu=mean, sigma=scale, observed=np.asarray(data.obs_mg_dl)[mask])
    return model


def check_log_density(model: Any, lik: GlucoseLikelihood, data: GlucoseData, seed: int = 7) -> float:
    """|log p_PyMC - (-potential energy of NumPyro)| at a random unconstrained point; raises above `LOGP_RTOL`."""
    from numpyro.infer.util import potential_energy

    rng = np.random.default_rng(seed)
    n_people, k = data.obs_mg_dl.shape[0], lik.k
    u = {
        "mu": np.asarray(lik.prior.loc) + 0.3 * rng.normal(size=k),
        "tau": rng.normal(-1.0, 0.3, size=k),  # log tau
        "z": rng.normal(size=(n_people, k)),
        "bg0_eps": 0.5 * rng.normal(size=n_people),
        "sigma_mg_dl": np.log(10.0) + 0.3 * rng.normal(size=n_people),  # log sigma
    }
    pe = float(potential_energy(partial(numpyro_model, hierarchical=True), (lik, data), {}, u))
    names = {"tau": "tau_log__", "sigma_mg_dl": "sigma_mg_dl_log__"}
    logp = float(model.compile_logp(jacobian=True)({names.get(n, n): v for n, v in u.items()}))
    diff = abs(logp + pe)
    print(f"log density check: PyMC {logp:.9f}, NumPyro {-pe:.9f}, |difference| {diff:.2e} "
          f"(relative {diff / abs(pe):.1e})", flush=True)  # fmt: skip
    if not diff <= LOGP_RTOL * abs(pe):
        raise AssertionError(f"PyMC and twinlab's log densities differ by {diff:.3e} (relative > {LOGP_RTOL}): not the "
                             "same model.")  # fmt: skip
    return diff


class CompileClock:
    """Union of JAX's trace / lowering / XLA compile time spans while active, s (nested spans counted once)."""

    def __init__(self) -> None:
        self.spans: list[tuple[float, float]] = []

    def _listen(self, event: str, start: float, end: float, **_: Any) -> None:
        if event in _COMPILE_EVENTS:
            self.spans.append((start, end))

    def __enter__(self) -> CompileClock:
        jax.monitoring.register_event_time_span_listener(self._listen)
        return self

    def __exit__(self, *exc: Any) -> None:
        jax.monitoring.unregister_event_time_span_listener(self._listen)

    @property
    def seconds(self) -> float:
        total, end = 0.0, -np.inf
        for s, e in sorted(self.spans):
            if e > end:
                total += e - max(s, end)
                end = e
        return total


def quantities(mu: np.ndarray, tau: np.ndarray, z: np.ndarray, bg0_eps: np.ndarray, sigma: np.ndarray) -> tuple:
    """(person-level draws, population draws) as name -> (chains, draws); inputs lead with (chains, draws)."""
    logs = mu[:, :, None, :] + tau[:, :, None, :] * z
    person = {}
    for i in range(z.shape[2]):
        person |= {f"log_{n}[{i}]": logs[:, :, i, j] for j, n in enumerate(FREE)}
        person[f"bg0_eps[{i}]"] = bg0_eps[:, :, i]
        person[f"sigma_mg_dl[{i}]"] = sigma[:, :, i]
    population = {f"{s}_{n}": v[:, :, j] for s, v in (("mu", mu), ("tau", tau)) for j, n in enumerate(FREE)}
    return person, population


def summary(name: str, draws: dict[str, np.ndarray], wall_s: float, compile_s: float, divergences: int,
            steps: float, cores: int) -> dict[str, Any]:  # fmt: skip
    """One table row: ArviZ bulk ESS (min, median over person-level), max R-hat, ESS/s."""
    person, population = quantities(*(np.asarray(draws[k]) for k in ("mu", "tau", "z", "bg0_eps", "sigma_mg_dl")))
    ess = az.ess(az.convert_to_dataset(person), method="bulk")
    ess_values = np.array([float(ess[k]) for k in person])
    rhat = az.rhat(az.convert_to_dataset(person | population))
    sample_s = wall_s - compile_s
    return {
        "sampler": name, "cores": cores, "wall_s": wall_s, "compile_s": compile_s, "sample_s": sample_s,
        "ess_min": ess_values.min(), "ess_median": float(np.median(ess_values)),
        "ess_per_s": ess_values.min() / wall_s, "ess_per_sample_s": ess_values.min() / sample_s,
        "divergences": divergences, "rhat_max": max(float(rhat[k]) for k in rhat.data_vars), "steps": steps,
    }  # fmt: skip


def run_twinlab(lik: GlucoseLikelihood, data: GlucoseData, warmup: int, draws: int, chains: int) -> dict[str, Any]:
    """twinlab's hierarchical NUTS (what `personalise_group(method="nuts", hierarchical=True)` runs)."""
    with CompileClock() as clock:
        t0 = time.perf_counter()
        samples, _, extras = _nuts(lik, data, jax.random.key_data(jax.random.key(0)), True, warmup, draws, chains,
                                   False)  # fmt: skip
        wall_s = time.perf_counter() - t0
    return summary("twinlab", samples, wall_s, clock.seconds, int(np.sum(extras["diverging"])),
                   extras["mean_leapfrog_steps"], 1)  # fmt: skip


def run_pymc(model: Any, warmup: int, draws: int, chains: int) -> dict[str, Any]:
    """PyMC's own NUTS (C backend around the JAX op), chains one after another."""
    import pymc as pm
    from pymc.blocking import DictToArrayBijection

    with CompileClock() as clock:
        t0 = time.perf_counter()
        with model:
            step = pm.NUTS(target_accept=TARGET_ACCEPT, max_treedepth=MAX_TREE_DEPTH)
            x0 = model.initial_point()
            q0 = DictToArrayBijection.map({v.name: x0[v.name] for v in step.vars})
            step._logp_dlogp_func(q0, extra_vars={})  # first call: the op's JAX functions compile here
            built_s = time.perf_counter() - t0
            t_built = time.time()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                idata = pm.sample(draws=draws, tune=warmup, chains=chains, cores=1, step=step, random_seed=1,
                                  progressbar=False, compute_convergence_checks=False)  # fmt: skip
        wall_s = time.perf_counter() - t0
    late = CompileClock()
    late.spans = [(s, e) for s, e in clock.spans if s >= t_built]  # spans during the build are in built_s
    post = {k: idata.posterior[k].values for k in idata.posterior.data_vars}
    stats = idata.sample_stats
    loop_s = stats.attrs.get("sampling_time", 0.0)
    print(f"  pymc: step built in {built_s:.1f} s; PyMC's own sampling_time {loop_s:.1f} s", flush=True)
    return summary("pymc (NUTS)", post, wall_s, built_s + late.seconds, int(stats["diverging"].values.sum()),
                   float(stats["n_steps"].values.mean()), 1)  # fmt: skip


def run_nutpie(model: Any, warmup: int, draws: int, chains: int, cores: int) -> dict[str, Any]:
    """nutpie on the model compiled to one JAX function (log density and gradient by JAX)."""
    import nutpie

    with CompileClock() as clock:
        t0 = time.perf_counter()
        compiled = nutpie.compile_pymc_model(model, backend="jax", gradient_backend="jax")
        built_s = time.perf_counter() - t0
        t_built = time.time()
        idata = nutpie.sample(compiled, draws=draws, tune=warmup, chains=chains, cores=cores, seed=2,
                              save_warmup=False, progress_bar=False, target_accept=TARGET_ACCEPT,
                              maxdepth=MAX_TREE_DEPTH)  # fmt: skip
        wall_s = time.perf_counter() - t0
    late = CompileClock()
    late.spans = [(s, e) for s, e in clock.spans if s >= t_built]
    post = {k: idata.posterior[k].values for k in idata.posterior.data_vars}
    stats = idata.sample_stats
    return summary("nutpie (JAX)", post, wall_s, built_s + late.seconds, int(stats["diverging"].values.sum()),
                   float(stats["n_steps"].values.mean()), cores)  # fmt: skip


def print_table(rows: list[dict[str, Any]]) -> None:
    head = (f"{'sampler':<14}{'cores':>6}{'wall s':>9}{'compile s':>10}{'sample s':>10}{'ESS min':>9}{'ESS med':>9}"
            f"{'ESS/s':>8}{'ESS/s*':>8}{'div':>5}{'R-hat':>7}{'steps':>7}")  # fmt: skip
    print("\n" + head)
    for r in rows:
        print(f"{r['sampler']:<14}{r['cores']:>6}{r['wall_s']:>9.1f}{r['compile_s']:>10.1f}{r['sample_s']:>10.1f}"
              f"{r['ess_min']:>9.0f}{r['ess_median']:>9.0f}{r['ess_per_s']:>8.2f}{r['ess_per_sample_s']:>8.2f}"
              f"{r['divergences']:>5d}{r['rhat_max']:>7.3f}{r['steps']:>7.1f}")  # fmt: skip
    print(
        "ESS: ArviZ bulk, min/median over person-level quantities; ESS/s = min ESS / wall s; ESS/s* = min ESS /"
        " sample s (compile excluded); steps: mean leapfrog steps per draw; R-hat: max incl. mu, tau."
    )
    tw = rows[0]
    for r in rows[1:]:
        print(
            f"ratio twinlab / {r['sampler']}: ESS/s {tw['ess_per_s'] / r['ess_per_s']:.2f}x (wall), "
            f"{tw['ess_per_sample_s'] / r['ess_per_sample_s']:.2f}x (compile excluded)"
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=4)
    parser.add_argument("--hours", type=float, default=4.0)
    parser.add_argument("--warmup", type=int, default=300)
    parser.add_argument("--draws", type=int, default=300)
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--nutpie-cores", type=int, default=2)
    parser.add_argument("--samplers", nargs="+", default=["twinlab", "pymc", "nutpie"])
    args = parser.parse_args(argv)
    records = synthetic_records(args.people, args.hours)
    lik, data = group_likelihood(records)
    print(
        f"{args.people} people x {args.hours:g} h of 5-min CGM ({int(np.sum(data.obs_mask))} readings), free "
        f"{FREE}, hierarchical; {args.chains} chains x ({args.warmup} warm-up + {args.draws} draws)",
        flush=True,
    )
    model = pymc_model(lik, data)
    check_log_density(model, lik, data)
    rows = []
    if "twinlab" in args.samplers:
        rows.append(run_twinlab(lik, data, args.warmup, args.draws, args.chains))
        print(f"  twinlab done: {rows[-1]['wall_s']:.1f} s", flush=True)
    if "pymc" in args.samplers:
        rows.append(run_pymc(model, args.warmup, args.draws, args.chains))
        print(f"  pymc done: {rows[-1]['wall_s']:.1f} s", flush=True)
    if "nutpie" in args.samplers:
        rows.append(run_nutpie(model, args.warmup, args.draws, args.chains, args.nutpie_cores))
        print(f"  nutpie done: {rows[-1]['wall_s']:.1f} s", flush=True)
    print_table(rows)


if __name__ == "__main__":
    sys.exit(main())
