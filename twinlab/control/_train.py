"""`train`: dosing policies learned in the twin, by analytic policy gradients or by Brax's PPO or SAC.

``method="apg"`` differentiates whole closed-loop episodes through the simulator (pump rounding passed straight
through) and follows the gradient of the mean return with optax's Adam, with the gradient norm clipped (gradients
through long horizons of a stiff model can be large). The network starts as the basal-bolus rule
(`NetworkPolicy`), so training only ever moves away from a clinical baseline.

``method="ppo"`` runs ``brax.training.agents.ppo`` on the same environment; its action is read through
`residual_dose` as well. ``method="sac"`` runs ``brax.training.agents.sac``, off-policy: the action (basal rate and
bolus) is continuous, so soft actor-critic fits, and its replay buffer reuses each simulated step many times, which
matters when every step is a stiff model's minutes of simulation.

Progress is reported through ``progress(step, metrics)`` (default: a line on stderr every tenth of the run);
``checkpoint=path`` saves the network's parameters atomically (safetensors) after every report.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from twinlab._atomic import atomic_write_bytes
from twinlab.control._env import GlucoseEnv
from twinlab.control._policies import ActionPolicy, NetworkPolicy
from twinlab.control._rollout import rollout
from twinlab.glucose._pump import InsulinPump

Progress = Callable[[int, dict[str, float]], None]


def _print_progress(step: int, metrics: dict[str, float]) -> None:
    shown = ", ".join(f"{k} {v:.4g}" for k, v in metrics.items())
    print(f"train step {step}: {shown}", file=sys.stderr, flush=True)


def _env_of(env_or_twin: Any, straight_through: bool, kwargs: dict[str, Any]) -> GlucoseEnv:
    if isinstance(env_or_twin, GlucoseEnv):
        if straight_through and not env_or_twin.pump.straight_through:
            raise ValueError(
                "method='apg' differentiates through the pump, whose rounding has a zero gradient. Fix: build the "
                "environment with pump=InsulinPump.named('Insulet', straight_through=True)."
            )
        return env_or_twin
    posterior = getattr(env_or_twin, "posterior", None)
    if posterior is None or not hasattr(posterior, "params"):
        raise TypeError(
            f"train needs a GlucoseEnv or a personalised tl.Twin; got {type(env_or_twin).__name__}. Fix: pass "
            "GlucoseEnv(tl.glucose.patients(names)) or twin = tl.Twin(...).personalise(...)."
        )
    pump = InsulinPump.named("Insulet", straight_through=straight_through)
    return GlucoseEnv.from_posterior(posterior, pump=pump, **kwargs)


def save_params(params: Any, path: str) -> None:
    """Write a parameter pytree atomically as safetensors (keys are the tree paths)."""
    from safetensors.numpy import save

    flat = {jax.tree_util.keystr(p): np.asarray(v) for p, v in jax.tree_util.tree_leaves_with_path(params)}
    atomic_write_bytes(path, save(flat, metadata={"format": "twinlab.control.params"}))


def load_params(template: Any, path: str) -> Any:
    """Read parameters saved by `save_params` into the structure of ``template``.

    Raises:
        ValueError: when the file's keys or shapes do not match the template's.
    """
    from safetensors.numpy import load

    with open(path, "rb") as f:
        flat = load(f.read())
    leaves = []
    for p, v in jax.tree_util.tree_leaves_with_path(template):
        key = jax.tree_util.keystr(p)
        if key not in flat or flat[key].shape != np.shape(v):
            raise ValueError(f"{path} does not hold a parameter {key} of shape {np.shape(v)}. Fix: load it into the "
                             "network it was saved from.")  # fmt: skip
        leaves.append(jnp.asarray(flat[key]))
    return jax.tree.unflatten(jax.tree.structure(template), leaves)


def train_apg(
    env: GlucoseEnv,
    key: jax.Array,
    *,
    steps: int = 100,
    batch: int = 8,
    learning_rate: float = 3e-3,
    max_grad_norm: float = 1.0,
    progress: Progress | None = _print_progress,
    checkpoint: str | None = None,
) -> NetworkPolicy:
    """Analytic policy gradients: Adam on the mean episode return of ``batch`` episodes per step."""
    k_init, k_train = jax.random.split(key)
    policy = NetworkPolicy.create(k_init, env.history_len)
    tx = optax.chain(optax.clip_by_global_norm(max_grad_norm), optax.adam(learning_rate))
    opt_state = tx.init(policy.params)

    def loss(params: Any, k: jax.Array) -> tuple[jax.Array, jax.Array]:
        k_people, k_eps = jax.random.split(k)
        people = jax.random.randint(k_people, (batch,), 0, env.n_people)
        eps = jax.vmap(lambda kk, i: rollout(env, policy.replace(params=params), kk, i))(
            jax.random.split(k_eps, batch), people
        )
        ret = jnp.mean(jnp.sum(eps.reward, -1))
        tir = jnp.mean(((eps.bg_mg_dl >= 70) & (eps.bg_mg_dl <= 180)).astype(ret.dtype))
        return -ret, tir

    @jax.jit
    def update(params: Any, opt_state: Any, k: jax.Array) -> tuple[Any, Any, jax.Array, jax.Array]:
        (value, tir), grad = jax.value_and_grad(loss, has_aux=True)(params, k)
        with jax.numpy_dtype_promotion("standard"):  # optax's step counter is int32
            updates, opt_state = tx.update(grad, opt_state, params)
            return optax.apply_updates(params, updates), opt_state, value, tir

    params = policy.params
    every = max(1, steps // 10)
    for i, k in enumerate(jax.random.split(k_train, steps)):
        params, opt_state, value, tir = update(params, opt_state, k)
        if not np.isfinite(float(value)):
            raise FloatingPointError(
                f"the episode return became non-finite at step {i}. Fix: a smaller learning_rate or max_grad_norm."
            )
        if (i + 1) % every == 0 or i + 1 == steps:
            if progress is not None:
                progress(i + 1, {"return": -float(value), "time_in_range": float(tir)})
            if checkpoint is not None:
                save_params(params, checkpoint)
    return policy.replace(params=params)


def _brax_seed(key: jax.Array) -> int:
    """A Brax trainer's integer seed drawn from a JAX key."""
    return int(jax.random.randint(key, (), 0, 2**31 - 1))


def _brax_progress(progress: Progress | None) -> Callable[[int, Any], None]:
    """Brax's ``progress_fn``: the scalar metrics passed on to ``progress`` as floats."""

    def report(step: int, metrics: Any) -> None:
        if progress is not None:
            progress(int(step), {k: float(v) for k, v in metrics.items() if np.ndim(v) == 0})

    return report


def _brax_policy(make_inference: Any, params: Any) -> ActionPolicy:
    """A trained Brax agent's deterministic policy as an `ActionPolicy` (actions in the observation's dtype)."""
    act = make_inference(params, deterministic=True)

    def action(obs_vector: jax.Array, k: jax.Array) -> jax.Array:
        with jax.numpy_dtype_promotion("standard"), jax.numpy_rank_promotion("allow"):  # brax's float32 networks
            return jnp.asarray(act(obs_vector, k)[0], obs_vector.dtype)

    return ActionPolicy(act=action)


def train_ppo(
    env: GlucoseEnv,
    key: jax.Array,
    *,
    num_timesteps: int = 1_000_000,
    num_envs: int = 64,
    progress: Progress | None = _print_progress,
    checkpoint: str | None = None,
    **ppo_kwargs: Any,
) -> ActionPolicy:
    """Brax's PPO on the environment (episodes of ``env.decisions`` steps); returns its deterministic policy.

    ``ppo_kwargs`` go to ``brax.training.agents.ppo.train``; it runs on one device unless ``max_devices_per_host``
    is raised (then ``num_envs`` must divide by the device count).
    """
    from brax.training.agents.ppo import train as ppo

    def keep(step: int, make_policy: Any, params: Any) -> None:
        del step, make_policy
        if checkpoint is not None:
            save_params(params, checkpoint)

    options = {"episode_length": env.decisions, "num_envs": num_envs, "batch_size": num_envs,
               "num_minibatches": 4, "unroll_length": 20, "normalize_observations": True, "discounting": 0.99,
               "learning_rate": 3e-4, "num_evals": 2, "num_eval_envs": num_envs, "max_devices_per_host": 1,
               **ppo_kwargs}  # fmt: skip
    with jax.numpy_dtype_promotion("standard"), jax.numpy_rank_promotion("allow"):
        make_inference, params, _ = ppo.train(
            environment=env, num_timesteps=num_timesteps, seed=_brax_seed(key), progress_fn=_brax_progress(progress),
            policy_params_fn=keep, **options,
        )  # fmt: skip
    return _brax_policy(make_inference, params)


def train_sac(
    env: GlucoseEnv,
    key: jax.Array,
    *,
    num_timesteps: int = 200_000,
    num_envs: int = 16,
    progress: Progress | None = _print_progress,
    checkpoint: str | None = None,
    **sac_kwargs: Any,
) -> ActionPolicy:
    """Brax's SAC on the environment (episodes of ``env.decisions`` steps); returns its deterministic policy.

    ``sac_kwargs`` go to ``brax.training.agents.sac.train`` (for example ``batch_size``, ``min_replay_size``,
    ``grad_updates_per_step``); ``checkpoint`` saves the final parameters atomically (safetensors).
    """
    from brax.training.agents.sac import train as sac

    options = {"episode_length": env.decisions, "num_envs": num_envs, "num_eval_envs": num_envs, "batch_size": 256,
               "min_replay_size": min(8 * 256, num_timesteps // 4), "grad_updates_per_step": 1,
               "normalize_observations": True, "discounting": 0.99, "learning_rate": 3e-4, "num_evals": 2,
               "deterministic_eval": True, "max_devices_per_host": 1, **sac_kwargs}  # fmt: skip
    with jax.numpy_dtype_promotion("standard"), jax.numpy_rank_promotion("allow"):
        make_inference, params, _ = sac.train(
            environment=env, num_timesteps=num_timesteps, seed=_brax_seed(key), progress_fn=_brax_progress(progress),
            **options,
        )  # fmt: skip
    if checkpoint is not None:
        save_params(params, checkpoint)
    return _brax_policy(make_inference, params)


def train(env_or_twin: Any, method: str = "apg", *, key: jax.Array, **kwargs: Any) -> Any:
    """Train a dosing policy in a twin.

    Args:
        env_or_twin: a `GlucoseEnv` (e.g. over the 30 virtual patients), or a personalised ``tl.Twin`` (its
            posterior's draws become the environment's population: the policy is trained over the person's
            uncertainty).
        method: ``"apg"`` (analytic policy gradients through the simulator), ``"ppo"`` or ``"sac"``
            (brax.training).
        key: a JAX random key.
        **kwargs: options of `train_apg`, `train_ppo` or `train_sac`; for a twin, ``env_kwargs`` for the `GlucoseEnv`.

    Returns:
        A policy (``init``/``__call__``): wrap it in a `SafetyLayer` before use.

    Raises:
        ValueError: for an unknown method, or an APG environment whose pump does not pass gradients.
    """
    trainers: dict[str, Callable[..., Any]] = {"apg": train_apg, "ppo": train_ppo, "sac": train_sac}
    if method not in trainers:
        raise ValueError(f"unknown method {method!r}. Fix: method='apg', 'ppo' or 'sac' (or use MPC).")
    env = _env_of(env_or_twin, method == "apg", kwargs.pop("env_kwargs", {}))
    return trainers[method](env, key, **kwargs)
