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
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Independent posteriors of P people (``data`` and ``lik.base`` lead with P).

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

        def run(key: jax.Array, lik_i: Any, data_i: Any) -> tuple[dict[str, jax.Array], tuple[jax.Array, ...]]:
            k_init, k_run = jax.random.split(key)
            leaves, tree = jax.tree.flatten(template)
            keys = list(jax.random.split(k_init, len(leaves)))
            init = jax.tree.unflatten(
                tree,
                [
                    jax.random.uniform(k, jnp.shape(v), minval=-0.5, maxval=0.5)
                    for k, v in zip(keys, leaves, strict=True)
                ],
            )
            args = (lik_i, data_i)
            state = init_kernel(init, warmup, dense_mass=True, target_accept_prob=target_accept_prob,
                                max_tree_depth=max_tree_depth, model_args=args, rng_key=k_run)  # fmt: skip
            state, _ = jax.lax.scan(lambda s, _: (sample_kernel(s, model_args=args), None), state, None, length=warmup)

            def draw(s: Any, _: None) -> tuple[Any, tuple]:
                s = sample_kernel(s, model_args=args)
                return s, (info.postprocess_fn(*args)(s.z), (s.diverging, s.energy, s.num_steps))

            _, out = jax.lax.scan(draw, state, None, length=samples)
            return out

        keys = jax.random.split(key, n_people * chains)
        keys = keys.reshape(n_people, chains, *keys.shape[1:])  # raw uint32 keys carry a trailing axis of 2
        return jax.vmap(jax.vmap(run, in_axes=(0, None, None)))(keys, liks, datas)

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
