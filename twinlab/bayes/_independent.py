"""NUTS for many people at once, each with their own chains and their own adaptation, in one vmapped program.

A joint NUTS over a group couples everyone's trajectories through one step size and one tree depth; here every
(person, chain) pair runs its own sampler (NumPyro's functional ``hmc`` kernel: init, warm-up with step-size and
dense mass-matrix adaptation, draws) and the pairs are vmapped, so one batched simulation serves all of them.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from twinlab.bayes._glucose import GlucoseData, GlucoseLikelihood, numpyro_model


def nuts_independent(
    lik: GlucoseLikelihood,
    data: GlucoseData,
    key: jax.Array,
    *,
    warmup: int,
    samples: int,
    chains: int,
    max_tree_depth: int = 8,
    target_accept_prob: float = 0.9,
    progress: bool = False,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Independent posteriors of P people (``data`` and ``lik.base`` lead with P).

    ``progress`` prints the iteration every tenth of the warm-up and of the draws (all people and chains advance
    together).

    Returns:
        ``(samples, stats)``: sites of `numpyro_model` as (chains, samples, P, ...) arrays in constrained space, and
        ``diverging``, ``energy``, ``num_steps`` as (chains, samples, P).
    """
    from numpyro.infer.hmc import hmc
    from numpyro.infer.util import initialize_model

    n_people = data.obs_mg_dl.shape[0]
    # One person per program: a leading person axis of 1, as numpyro_model expects.
    liks = jax.tree.map(lambda v: v[:, None], lik)
    datas = jax.tree.map(lambda v: v[:, None], data)
    model = partial(numpyro_model, hierarchical=False)

    def program(key: jax.Array, liks: Any, datas: Any) -> tuple[dict[str, jax.Array], tuple[jax.Array, ...]]:
        # NumPyro's set-up (initialize_model) traced into the one program with the sampler: run op by op, each of its
        # small operations would be compiled and kept by JAX for the process's life (about 1.5 MB each, measured).
        first = (jax.tree.map(lambda v: v[0], liks), jax.tree.map(lambda v: v[0], datas))
        info = initialize_model(key, model, model_args=first, dynamic_args=True)
        init_kernel, sample_kernel = hmc(potential_fn_gen=info.potential_fn, algo="NUTS")
        template = info.param_info.z

        def init(key: jax.Array, lik_i: Any, data_i: Any) -> Any:
            k_init, k_run = jax.random.split(key)
            leaves, tree = jax.tree.flatten(template)
            keys = list(jax.random.split(k_init, len(leaves)))
            z0 = [
                jax.random.uniform(k, jnp.shape(v), minval=-0.5, maxval=0.5) for k, v in zip(keys, leaves, strict=True)
            ]
            return init_kernel(jax.tree.unflatten(tree, z0), warmup, dense_mass=True,
                               target_accept_prob=target_accept_prob, max_tree_depth=max_tree_depth,
                               model_args=(lik_i, data_i), rng_key=k_run)  # fmt: skip

        def step(state: Any, lik_i: Any, data_i: Any) -> Any:
            return sample_kernel(state, model_args=(lik_i, data_i))

        def record(state: Any, lik_i: Any, data_i: Any) -> tuple:
            return info.postprocess_fn(lik_i, data_i)(state.z), (state.diverging, state.energy, state.num_steps)

        # (person, chain) pairs: chains share their person's data. The loop over iterations stays outside the
        # vmaps, so progress is reported once per iteration for the whole batch.
        def each(f: Any) -> Any:
            return jax.vmap(jax.vmap(f, in_axes=(0, None, None)))

        keys = jax.random.split(key, n_people * chains)
        keys = keys.reshape(n_people, chains, *keys.shape[1:])  # raw uint32 keys carry a trailing axis of 2
        state = each(init)(keys, liks, datas)

        def warm(state: Any, i: jax.Array) -> tuple[Any, None]:
            _report(progress, "warm-up", i, warmup)
            return each(step)(state, liks, datas), None

        def draw(state: Any, i: jax.Array) -> tuple[Any, tuple]:
            _report(progress, "draws", i, samples)
            state = each(step)(state, liks, datas)
            return state, each(record)(state, liks, datas)

        state, _ = jax.lax.scan(warm, state, jnp.arange(warmup))
        _, out = jax.lax.scan(draw, state, jnp.arange(samples))
        return jax.tree.map(lambda v: jnp.moveaxis(v, 0, 2), out)  # (samples, P, chains, ...) -> (P, chains, samples)

    with jax.numpy_dtype_promotion("standard"), jax.numpy_rank_promotion("allow"):  # NumPyro mixes int and float
        sites, (diverging, energy, steps) = jax.jit(program)(key, liks, datas)

    def person_last(v: Any) -> np.ndarray:
        a = np.asarray(v)  # (P, chains, samples, 1, ...) -> (chains, samples, P, ...)
        return np.moveaxis(a[:, :, :, 0], 0, 2)

    out = {k: person_last(v) for k, v in sites.items() if k in ("z", "bg0_eps", "meal_eps", "sigma_mg_dl")}
    stats = {
        "diverging": np.moveaxis(np.asarray(diverging), 0, 2),
        "energy": np.moveaxis(np.asarray(energy), 0, 2),
        "num_steps": np.moveaxis(np.asarray(steps), 0, 2),
    }
    return out, stats


def _report(progress: bool, phase: str, i: jax.Array, total: int) -> None:
    """Print ``phase i/total`` from inside the compiled loop at every tenth of it (nothing when not ``progress``)."""
    if not progress:
        return
    every = max(total // 10, 1)

    def show(i: Any) -> None:
        print(f"NUTS {phase} {int(i) + 1}/{total}", flush=True)

    jax.lax.cond((i + 1) % every == 0, lambda: jax.debug.callback(show, i), lambda: None)
