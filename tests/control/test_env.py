"""The Brax environment, the baselines, evaluation and training, on small cohorts."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import twinlab as tl
from twinlab import control

NAMES = ["adult#001", "child#002"]


@pytest.fixture(scope="module")
def env() -> control.GlucoseEnv:
    pump = tl.glucose.InsulinPump.named("Insulet", straight_through=True)
    return control.GlucoseEnv(tl.glucose.patients(NAMES), days=1, pump=pump)


def test_reset_and_step_follow_the_brax_contract(env) -> None:
    states = jax.jit(jax.vmap(env.reset))(jax.random.split(jax.random.key(0), 3))
    assert states.obs.shape == (3, env.observation_size) and env.action_size == 2
    cgm = np.asarray(states.pipeline_state.cgm_mg_dl)
    assert np.all(np.ptp(cgm, axis=-1) > 0)  # the warm-up filled the history with real (noisy) readings
    assert np.all(np.asarray(states.pipeline_state.minute) == env.warmup_min)
    step = jax.jit(jax.vmap(env.step))
    after = step(states, jnp.zeros((3, 2)))
    assert np.all(np.asarray(after.pipeline_state.minute) == env.warmup_min + env.interval_min)
    assert after.reward.shape == (3,) and np.all(np.isfinite(after.reward)) and not np.any(after.done)


def test_action_zero_is_the_basal_bolus_rule(env) -> None:
    state = env.reset_person(jax.random.key(1), 0)
    obs = env.observation(state.pipeline_state).replace(carbs_g=jnp.float64(60.0))
    dose = control.residual_dose(obs, jnp.zeros(2))
    _, bb = control.BasalBolus()((), obs, jax.random.key(0))
    assert float(dose.basal_u_per_h) == pytest.approx(float(bb.basal_u_per_h))
    assert float(dose.bolus_u) == pytest.approx(float(bb.bolus_u)) and float(bb.bolus_u) > 0


@pytest.mark.slow
def test_episode_return_is_differentiable_in_a_dose_scale(env) -> None:
    def ret(scale):
        policy = control.NetworkPolicy.create(jax.random.key(0), env.history_len)
        policy = policy.replace(to_dose=lambda o, a: control.Dose(o.basal_u_per_h * scale, control.meal_bolus_u(o)))
        return jnp.sum(control.rollout(env, policy, jax.random.key(2), 0).reward)

    g = jax.jit(jax.grad(ret))(1.0)
    assert np.isfinite(g) and g != 0


def test_evaluate_is_paired_and_audited() -> None:
    safe = control.SafetyLayer.for_age_group(control.BasalBolus(), "adult")
    a = control.evaluate(safe, NAMES, days=1, seed=4)
    b = control.evaluate(safe, NAMES, days=1, seed=4)
    assert list(a.table.index) == [*NAMES, "cohort mean"]
    assert np.array_equal(a.table.values, b.table.values, equal_nan=True)  # same seed, same days
    bg = np.asarray(a.episodes.bg_mg_dl)
    assert bg.shape == (2, 1440 - 60) and np.all(bg > 0)
    tir = 100 * np.mean((bg >= 70) & (bg <= 180), axis=-1)
    np.testing.assert_allclose(a.table.loc[NAMES, "tir_70_180_percent"], tir)
    table = a.audit_table()
    assert set(",".join(table.reasons).split(",")) <= set(control.REASONS)
    # Minutes count from the episode's start: the first decision is at the end of the warm-up.
    who, when = np.nonzero(np.asarray(a.episodes.audit.reasons))
    assert len(table) == len(who) > 0
    np.testing.assert_array_equal(table.minute, a.warmup_min + a.interval_min * when)
    assert a.warmup_min == 1440 - bg.shape[1]
    meals = control.meals_of(NAMES, 1, 4)
    assert meals.shape == (2, 1440) and meals.sum() > 0
    # They are these episodes' meals: basal-bolus boluses at the decision after each meal's minute, and only there.
    plain = control.evaluate(control.BasalBolus(), NAMES, days=1, seed=4)
    with pytest.raises(ValueError, match="without a safety layer"):
        plain.audit_table()
    bolused = np.asarray(plain.episodes.dose.bolus_u) > 0
    decisions = bolused.shape[1]
    for i in range(len(NAMES)):
        after_meal = {(int(m) - plain.warmup_min) // plain.interval_min + 1 for m in np.nonzero(meals[i])[0]}
        assert set(np.nonzero(bolused[i])[0]) == {j for j in after_meal if j < decisions}, NAMES[i]


def test_bad_arguments_are_named() -> None:
    pop = tl.glucose.patients(NAMES)
    with pytest.raises(ValueError, match="days must be a positive"):
        control.GlucoseEnv(pop, days=0)
    with pytest.raises(ValueError, match="unknown reward 'fun'"):
        control.GlucoseEnv(pop, reward="fun")
    with pytest.raises(ValueError, match="interval_min=3"):
        control.GlucoseEnv(pop, safety=control.SafetyLayer(interval_min=5))
    with pytest.raises(ValueError, match="straight_through=True"):
        control.train(control.GlucoseEnv(pop), "apg", key=jax.random.key(0))
    with pytest.raises(ValueError, match="unknown method 'dqn'"):
        control.train(control.GlucoseEnv(pop), "dqn", key=jax.random.key(0))
    with pytest.raises(TypeError, match=r"personalised tl\.Twin"):
        control.train(object(), "apg", key=jax.random.key(0))


@pytest.mark.slow
def test_apg_trains_and_checkpoints(env, tmp_path) -> None:
    path = tmp_path / "policy.safetensors"
    seen = []
    policy = control.train(
        env, "apg", key=jax.random.key(0), steps=4, batch=2, progress=lambda i, m: seen.append((i, m)),
        checkpoint=str(path),
    )  # fmt: skip
    assert [i for i, _ in seen] == [1, 2, 3, 4] and all(np.isfinite(m["return"]) for _, m in seen)
    moved = jax.tree.leaves(jax.tree.map(lambda a, b: jnp.max(jnp.abs(a - b)), policy.params,
                                         control.NetworkPolicy.create(jax.random.key(0)).params))  # fmt: skip
    assert max(float(m) for m in jax.tree.leaves(moved)) > 0
    loaded = control.load_params(policy.params, str(path))
    assert all(
        np.array_equal(a, b) for a, b in zip(jax.tree.leaves(loaded), jax.tree.leaves(policy.params), strict=True)
    )


def test_gymnasium_wrapper_runs_an_episode_step(env) -> None:
    gym_env = control.GymEnv(env, seed=0)
    obs, _ = gym_env.reset(seed=3)
    assert obs.shape == gym_env.observation_space.shape and obs.dtype == np.float32
    _, reward, terminated, truncated, info = gym_env.step(np.zeros(2, np.float32))
    assert np.isfinite(reward) and not terminated and not truncated and info["bg_mg_dl"].shape == (3,)
    with pytest.raises(ValueError, match="action must be 2 finite numbers"):
        gym_env.step(np.array([np.nan, 0.0]))


@pytest.mark.slow
def test_ppo_runs_on_the_environment(env) -> None:
    seen = []
    policy = control.train(
        env, "ppo", key=jax.random.key(0), num_timesteps=2_000, num_envs=4, batch_size=4, num_minibatches=1,
        unroll_length=10, num_evals=2, num_eval_envs=4, progress=lambda i, m: seen.append(i),
    )  # fmt: skip
    assert seen  # progress reported
    state = env.reset_person(jax.random.key(5), 1)
    _, dose = policy((), env.observation(state.pipeline_state), jax.random.key(6))
    assert np.isfinite(float(dose.basal_u_per_h)) and float(dose.basal_u_per_h) >= 0


@pytest.mark.slow
def test_sac_runs_on_the_environment_and_saves_its_parameters(env, tmp_path) -> None:
    seen = []
    path = tmp_path / "sac.safetensors"
    policy = control.train(
        env, "sac", key=jax.random.key(0), num_timesteps=1_024, num_envs=4, num_eval_envs=4, batch_size=32,
        min_replay_size=64, num_evals=2, progress=lambda i, m: seen.append(i), checkpoint=str(path),
    )  # fmt: skip
    assert seen and path.stat().st_size > 0
    state = env.reset_person(jax.random.key(5), 1)
    _, dose = policy((), env.observation(state.pipeline_state), jax.random.key(6))
    assert np.isfinite(float(dose.basal_u_per_h)) and float(dose.basal_u_per_h) >= 0
