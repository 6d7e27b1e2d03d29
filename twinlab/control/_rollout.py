"""Closed-loop episodes of a policy in a `GlucoseEnv`: `rollout` (one person, differentiable) and `evaluate`."""

from __future__ import annotations

import functools
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
from flax import struct

from twinlab.control._env import GlucoseEnv
from twinlab.control._safety import Audit, SafetyLayer, audit_table
from twinlab.control._types import Dose
from twinlab.glucose._metrics import metrics_table
from twinlab.glucose._params import patients as patient_params


@struct.dataclass
class Episode:
    """One or more closed-loop episodes (leading axis P when batched).

    Attributes:
        bg_mg_dl: (..., T) true blood glucose at each minute after the warm-up, mg/dL.
        cgm_mg_dl: (..., D) the reading at each decision, mg/dL.
        dose: the delivered `Dose` at each decision, leaves (..., D).
        reward: (..., D) the environment's reward.
        audit: the safety layer's `Audit` at each decision (None without a safety layer in the policy).
    """

    bg_mg_dl: jax.Array
    cgm_mg_dl: jax.Array
    dose: Dose
    reward: jax.Array
    audit: Audit | None


def _episode_keys(key: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
    """An episode's key split into (reset: meals and sensor noise, policy init, policy acts); `meals_of` uses it too."""
    k_reset, k_policy, k_act = jax.random.split(key, 3)
    return k_reset, k_policy, k_act


def rollout(env: GlucoseEnv, policy: Any, key: jax.Array, index: jax.Array | int = 0) -> Episode:
    """Run ``policy`` for one episode of person ``index`` (pure: jit, vmap and grad apply).

    A `SafetyLayer` policy is recorded with its audit; the environment's own safety layer (if any) still applies.
    """
    k_reset, k_policy, k_act = _episode_keys(key)
    state = env.reset_person(k_reset, index)
    pstate = policy.init(k_policy)
    safe = isinstance(policy, SafetyLayer)

    def body(carry: tuple[Any, Any], k: jax.Array) -> tuple[tuple[Any, Any], Any]:
        s, ps = carry
        obs = env.observation(s.pipeline_state)
        out = policy(ps, obs, k)
        ps, dose = out[0], out[1]
        s = env.step_dose(s, dose)
        audit = out[2] if safe else None
        return (s, ps), (s.info["bg_mg_dl"], s.pipeline_state.cgm_mg_dl[-1], s.info["dose"], s.reward, audit)

    keys = jax.random.split(k_act, env.decisions)
    _, (bg, cgm, dose, reward, audit) = jax.lax.scan(body, (state, pstate), keys)
    return Episode(bg_mg_dl=bg.reshape(-1), cgm_mg_dl=cgm, dose=dose, reward=reward, audit=audit)


@functools.lru_cache(maxsize=8)
def _env_for(names: tuple[str, ...], days: int, sensor_noise: bool, kwargs: tuple[tuple[str, Any], ...]) -> GlucoseEnv:
    """One environment per configuration, so that repeated evaluations reuse the compiled episode."""
    return GlucoseEnv(patient_params(list(names)), days=days, sensor_noise=sensor_noise, **dict(kwargs))


@partial(jax.jit, static_argnums=(0, 3))
def _episodes(env: GlucoseEnv, policy: Any, keys: jax.Array, stacked: bool) -> Episode:
    run = jax.vmap(lambda p, k, i: rollout(env, p, k, i), in_axes=(0 if stacked else None, 0, 0))
    return run(policy, keys, jnp.arange(env.n_people))


#: Glucose counted in the metrics for model glucose at or below zero (a lethal overdose in the model), mg/dL.
FLOOR_MG_DL = 1.0


@struct.dataclass
class Evaluation:
    """The outcome of `evaluate`.

    Attributes:
        table: per-person glycaemic metrics (rows: names, then ``"cohort mean"``), a pandas DataFrame.
        episodes: the `Episode` of every person (leading axis P).
        names: the people's names.
        interval_min: minutes between decisions.
        warmup_min: the minute of the first decision; decision j is at minute ``warmup_min + j * interval_min``.
    """

    table: pd.DataFrame = struct.field(pytree_node=False)
    episodes: Episode
    names: tuple[str, ...] = struct.field(pytree_node=False)
    interval_min: int = struct.field(pytree_node=False)
    warmup_min: int = struct.field(pytree_node=False)

    def audit_table(self) -> pd.DataFrame:
        """Every dose the safety layer changed, with the minute of each decision from the episode's start.

        Raises:
            ValueError: when the policy had no safety layer (nothing was audited).
        """
        if self.episodes.audit is None:
            raise ValueError("this policy ran without a safety layer, so nothing was audited. Fix: evaluate "
                             "tl.control.SafetyLayer.for_age_group(policy, group).")  # fmt: skip
        return audit_table(self.episodes.audit, self.interval_min, list(self.names), start_min=self.warmup_min)


def evaluate(
    policy: Any,
    patients: list[str],
    days: int = 3,
    seed: int = 0,
    *,
    sensor_noise: bool = True,
    stacked: bool = False,
    env_kwargs: dict[str, Any] | None = None,
) -> Evaluation:
    """Run a policy on each named virtual patient for ``days`` days: metrics per patient and for the cohort.

    Each patient gets its own random meal days and sensor noise from ``seed`` (the same for every policy given the
    same seed and patients, so policies are compared on identical days). The policy sees only the CGM, insulin on
    board, announced meals, the time and the therapy settings. Metrics use the true glucose of every minute after
    the one-hour warm-up (`GlucoseEnv`); model glucose at or below 0 (a lethal overdose) counts as 1 mg/dL in the
    metrics and shows in the ``min_bg_mg_dl`` column. ``stacked=True`` takes one policy per patient: a policy
    pytree whose leaves have a leading axis P in the order of ``patients`` (`stack_policies`), e.g. each patient's
    own `MPC`.

    Returns:
        An `Evaluation`; ``.table`` has the columns of `twinlab.glucose.METRIC_NAMES` (``tir_70_180_percent``,
        ``below_70_percent``, ``below_54_percent``, ``lbgi``, ``risk_index``, ...) per patient.
    """
    if not patients:
        raise ValueError("patients is empty. Fix: pass names such as tl.glucose.patient_names().")
    kwargs = tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in (env_kwargs or {}).items()))
    env = _env_for(tuple(patients), days, sensor_noise, kwargs)
    keys = jax.random.split(jax.random.key(seed), len(patients))
    episodes = _episodes(env, policy, keys, stacked)
    bg = np.asarray(episodes.bg_mg_dl)
    # A dose large enough to drive the model's glucose to or below zero is the worst outcome, not missing data:
    # it counts at 1 mg/dL (below every threshold); the raw minimum stays in min_bg_mg_dl.
    table = metrics_table(np.maximum(bg, FLOOR_MG_DL), names=list(patients))
    table["min_bg_mg_dl"] = bg.min(axis=-1)
    table.loc["cohort mean"] = table.mean(numeric_only=True)
    return Evaluation(
        table=table, episodes=episodes, names=tuple(patients), interval_min=env.interval_min, warmup_min=env.warmup_min
    )


def stack_policies(policies: list[Any]) -> Any:
    """One policy pytree with a leading axis from per-patient policies of the same kind (for ``stacked=True``).

    Raises:
        ValueError: when the policies differ in kind or in static settings.
    """
    structures = {jax.tree.structure(p) for p in policies}
    if len(structures) != 1:
        raise ValueError("the policies differ in kind or static settings. Fix: build them from one constructor.")
    return jax.tree.map(lambda *leaves: jnp.stack([jnp.asarray(v) for v in leaves]), *policies)


def meals_of(patients: list[str], days: int, seed: int) -> np.ndarray:
    """(P, days * 1440) carbohydrate announced at each minute in `evaluate`'s scenario for these arguments, g.

    The same meals `evaluate` gives each patient for the same ``patients``, ``days`` and ``seed`` (the same keys),
    so that another simulator can be run on them.
    """
    env = GlucoseEnv(patient_params(list(patients)), days=days, sensor_noise=False)
    keys = jax.random.split(jax.random.key(seed), len(patients))
    reset = jax.vmap(lambda k, i: env.reset_person(_episode_keys(k)[0], i).pipeline_state)
    cores = reset(keys, jnp.arange(len(patients)))
    return np.asarray(cores.cho_g)
